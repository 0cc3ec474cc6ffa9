/**
 * One container's CRI log file, fed from Docker's json-file copy of its output.
 *
 * We follow `GET /containers/{id}/logs?follow=1&timestamps=1&since=…` rather than
 * attaching: the json-file copy is written by dockerd whether or not we listen, so
 * nothing is lost while the shim is down or the stream breaks, and its timestamps are
 * what lets a restarted shim resume exactly where the file ends (resume-window.ts).
 *
 * Writes are synchronous (`fs.writeSync`, one per chunk read from Docker, not per
 * line): a reopen or close then happens between two writes, never during one, and no
 * write of an old writer can land after a new one has read the file's end.
 */
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';
import { dockerStatus } from '../docker-errors.js';
import { dockerSince, encodeEntry, messageEntries, type LogMessage } from './cri-format.js';
import { DemuxError } from '../docker-demux.js';
import { multiplexedMessages, rawMessages } from './docker-messages.js';
import { ResumeWindow } from './resume-window.js';

export interface LogWriterOptions {
  docker: Docker;
  logger: Logger;
  containerId: string;
  path: string;
  tty: boolean;
  /** What the file (and the checkpoint) already hold. */
  window: ResumeWindow;
  /** Called once when the writer is done for good (the container stopped, or close()). */
  onDone?(): void;
  /** Wait before following again after the stream broke while the container runs. */
  retryMs?: number;
}

/** Opens (creating its directory if missing) a log file for appending. */
export function openLogFile(path: string): number {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  return openSync(path, 'a', 0o640);
}

export class ContainerLogWriter {
  private fd: number;
  private source: Readable | undefined;
  private closed = false;
  private running: Promise<void> | undefined;
  /** Bytes of an entry a failed write left unfinished at the file's end. */
  private fragment = 0;
  readonly window: ResumeWindow;

  /** Opens the file at once: it must exist when StartContainer returns. */
  constructor(private readonly opts: LogWriterOptions) {
    this.window = opts.window;
    this.fd = openLogFile(opts.path);
  }

  get following(): boolean {
    return this.running !== undefined && !this.closed;
  }

  get done(): boolean {
    return this.closed;
  }

  /** Starts copying in the background (idempotent); ends by itself when the container stops. */
  follow(): void {
    if (this.running || this.closed) return;
    this.running = this.loop().finally(() => this.finish());
  }

  /**
   * ReopenContainerLog: the kubelet has renamed the file; continue in a new one at the
   * same path. Between two synchronous writes, so no entry is split across files.
   */
  reopen(): void {
    if (this.closed) throw new Error('log writer is closed');
    const fd = openLogFile(this.opts.path);
    const old = this.fd;
    this.fd = fd;
    // An unfinished entry stays at the end of the old file: the new one starts clean.
    this.fragment = 0;
    closeSync(old);
  }

  /** Stops at once: no write happens after this returns. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.source?.destroy();
    if (!this.running) this.finish();
  }

  /** Resolves when the background copy has ended. */
  async wait(): Promise<void> {
    await this.running;
  }

  private finish(): void {
    this.closed = true;
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
      this.opts.onDone?.();
    }
  }

  private async loop(): Promise<void> {
    const { docker, containerId, logger } = this.opts;
    const container = docker.getContainer(containerId);
    while (!this.closed) {
      try {
        await this.copyOnce(container, true);
      } catch (err) {
        if (this.closed || dockerStatus(err) === 404) return;
        if (dockerStatus(err) !== undefined || err instanceof DemuxError) {
          // dockerd refuses (a container made with a log driver it cannot read back) or
          // sends what we cannot parse: trying again would only fail again.
          logger.error({ id: containerId, err: (err as Error).message }, 'cannot read the container log from dockerd; not writing it');
          return;
        }
        logger.warn({ id: containerId, err: (err as Error).message }, 'log stream from dockerd broke');
      }
      if (this.closed) return;
      let running = false;
      try {
        running = (await container.inspect()).State.Running;
      } catch (err) {
        if (dockerStatus(err) === 404) return;
        running = true; // dockerd is away: try again later
      }
      if (!running) {
        // dockerd 20.10 ends a follow when the container's logger closes, which can
        // race the last message (an unterminated final line): it is in the file by
        // then, so read once more without following.
        try {
          await this.copyOnce(container, false);
        } catch (err) {
          if (!this.closed && dockerStatus(err) !== 404) logger.warn({ id: containerId, err: (err as Error).message }, 'cannot read the end of the container log');
        }
        return;
      }
      // Still running: the stream broke (dockerd restarted). Follow again from the window.
      await new Promise((r) => setTimeout(r, this.opts.retryMs ?? 1000).unref());
    }
  }

  private async copyOnce(container: Docker.Container, follow: boolean): Promise<void> {
    const point = this.window.point();
    const options = {
      stdout: true,
      stderr: true,
      timestamps: true,
      // dockerode types `since` as a number; dockerd takes "<seconds>.<nanoseconds>".
      since: dockerSince(point.since) as unknown as number,
    };
    // Without follow, dockerode buffers the whole answer and resolves a Buffer.
    const res = follow ? await container.logs({ ...options, follow: true }) : await container.logs({ ...options, follow: false });
    const stream = Buffer.isBuffer(res) ? Readable.from([res]) : (res as unknown as Readable);
    this.source = stream;
    if (this.closed) {
      stream.destroy();
      return;
    }
    let skip = point.skip;
    const messages = this.opts.tty ? rawMessages(stream) : multiplexedMessages(stream);
    try {
      for await (const batch of messages) {
        if (this.closed) return;
        skip = this.write(batch, skip);
      }
    } finally {
      stream.destroy();
      this.source = undefined;
    }
  }

  /** Writes one batch as one write; the first `skip` entries are already in the file. */
  private write(batch: LogMessage[], skip: number): number {
    const parts: Buffer[] = [];
    for (const msg of batch) {
      for (const entry of messageEntries(msg)) {
        if (skip > 0) {
          skip--;
          continue;
        }
        this.window.add(entry);
        parts.push(encodeEntry(entry));
      }
    }
    if (parts.length) this.writeAll(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    return skip;
  }

  /**
   * Writes whole entries. A full disk must not take the shim down (Docker's copy still
   * has the lines), nor leave a fragment without its "\n" for the next entry to be glued
   * onto (the kubelet could read neither): after a short write the file is cut back to
   * its last whole entry, and if even that fails, the next write ends the fragment first.
   */
  private writeAll(data: Buffer): void {
    if (this.fragment && !this.cutFragment()) data = Buffer.concat([NEWLINE, data]);
    let off = 0;
    try {
      while (off < data.length) off += writeSync(this.fd, data, off);
    } catch (err) {
      this.opts.logger.error({ id: this.opts.containerId, path: this.opts.path, err: (err as Error).message }, 'cannot write container log');
      if (off > 0 && data[off - 1] !== 0x0a) {
        this.fragment = off - (data.lastIndexOf(0x0a, off - 1) + 1);
        this.cutFragment();
      } else if (off > 0) {
        this.fragment = 0;
      }
      return;
    }
    this.fragment = 0;
  }

  /** Cuts the unfinished entry left by a failed write off the file's end; false if it stays. */
  private cutFragment(): boolean {
    try {
      ftruncateSync(this.fd, fstatSync(this.fd).size - this.fragment);
      this.fragment = 0;
      return true;
    } catch (err) {
      this.opts.logger.error({ id: this.opts.containerId, path: this.opts.path, err: (err as Error).message }, 'cannot cut a partly written entry off the container log');
      return false;
    }
  }
}

const NEWLINE = Buffer.from('\n');
