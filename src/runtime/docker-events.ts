/**
 * Docker's event stream for the containers this shim created, as a callback per
 * event. The stream is re-opened (from the last event's time, so nothing is missed)
 * whenever dockerd closes it or restarts.
 */
import type Docker from 'dockerode';
import type { Logger } from '../logger.js';
import { LABEL_MANAGED } from './labels.js';

export interface DockerContainerEvent {
  action: 'create' | 'start' | 'die' | 'oom' | 'destroy';
  id: string;
  labels: Record<string, string>;
  /** Unix nanoseconds, as a decimal string. */
  timeNano: string;
}

const ACTIONS = ['create', 'start', 'die', 'oom', 'destroy'];

type EventStream = NodeJS.ReadableStream & { destroy?: () => void };
const RETRY_MS = 1000;

interface RawEvent {
  Type?: string;
  Action?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  timeNano?: number | string;
}

function parse(line: string): DockerContainerEvent | undefined {
  let raw: RawEvent;
  try {
    raw = JSON.parse(line) as RawEvent;
  } catch {
    return undefined;
  }
  const action = raw.Action ?? '';
  const id = raw.Actor?.ID ?? raw.id ?? '';
  if (raw.Type !== 'container' || !ACTIONS.includes(action) || !id) return undefined;
  // JSON numbers lose the last digits of timeNano; the value is only used for ordering.
  return { action: action as DockerContainerEvent['action'], id, labels: raw.Actor?.Attributes ?? {}, timeNano: String(raw.timeNano ?? 0) };
}

export class DockerEventSource {
  private stream: EventStream | null = null;
  private readonly seenThisSecond = new Set<string>();
  private stopped = false;
  private sinceSeconds = Math.floor(Date.now() / 1000);
  private retry: NodeJS.Timeout | null = null;
  private unavailable = false;

  constructor(
    private readonly docker: Docker,
    private readonly logger: Logger,
    private readonly instance: string,
    private readonly onEvent: (event: DockerContainerEvent) => void,
    /** Called after a reconnect: events may have been missed, so state must be re-read. */
    private readonly onResync: () => void,
  ) {}

  async start(): Promise<void> {
    await this.open(false);
  }

  private async open(isReconnect: boolean): Promise<void> {
    if (this.stopped) return;
    let stream: EventStream;
    try {
      stream = (await this.docker.getEvents({
        since: this.sinceSeconds,
        filters: { type: ['container'], label: [`${LABEL_MANAGED}=${this.instance}`], event: ACTIONS },
      })) as EventStream;
    } catch (err) {
      // Once per outage, not once per retry.
      if (!this.unavailable) this.logger.warn({ err: (err as Error).message }, 'docker event stream unavailable; retrying');
      this.unavailable = true;
      this.reconnect();
      return;
    }
    if (this.stopped) {
      stream.destroy?.();
      return;
    }
    this.stream = stream;
    this.unavailable = false;
    let pending = '';
    stream.on('data', (chunk: Buffer) => {
      if (this.stream !== stream) return;
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const event = parse(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (event && this.isNew(event)) this.onEvent(event);
      }
    });
    // Only the current stream may trigger a reconnect: a late 'close' of an old one
    // would otherwise open a second stream and every event would arrive twice.
    const lost = () => {
      if (this.stream === stream) this.reconnect();
    };
    stream.on('end', lost);
    stream.on('error', lost);
    stream.on('close', lost);
    if (isReconnect) this.onResync();
  }

  /**
   * `since` has one-second granularity, so a reopened stream replays the events of
   * that second: drop the ones already delivered.
   */
  private isNew(event: DockerContainerEvent): boolean {
    const second = Math.floor(Number(event.timeNano) / 1e9);
    if (second > this.sinceSeconds) this.seenThisSecond.clear();
    this.sinceSeconds = Math.max(this.sinceSeconds, second);
    const key = `${event.id} ${event.action} ${event.timeNano}`;
    if (this.seenThisSecond.has(key)) return false;
    this.seenThisSecond.add(key);
    return true;
  }

  private reconnect(): void {
    if (this.stopped || this.retry) return;
    this.stream?.destroy?.();
    this.stream = null;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.open(true);
    }, RETRY_MS);
    this.retry.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.stream?.destroy?.();
    this.stream = null;
  }
}
