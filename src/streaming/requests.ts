/**
 * What an Exec/Attach/PortForward RPC asked for, kept under a single-use random token
 * until the client connects to the URL. As the kubelet's request cache: a token lives
 * one minute, at most 1000 wait at once, and a token is gone once it has been used.
 */
import { randomBytes } from 'node:crypto';
import { ResourceExhaustedError } from '../errors.js';

export interface StdioOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export type StreamRequest =
  | ({ kind: 'exec'; containerId: string; cmd: string[] } & StdioOptions)
  | ({ kind: 'attach'; containerId: string } & StdioOptions)
  | { kind: 'portforward'; sandboxId: string; ports: number[] };

export type StreamKind = StreamRequest['kind'];

export interface RequestCacheOptions {
  ttlMs?: number;
  maxPending?: number;
  now?: () => number;
}

export class RequestCache {
  private readonly entries = new Map<string, { request: StreamRequest; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly maxPending: number;
  private readonly now: () => number;

  constructor(options: RequestCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxPending = options.maxPending ?? 1000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    this.evictExpired();
    return this.entries.size;
  }

  /** Stores the request and returns its token (URL-safe, 128 random bits). */
  insert(request: StreamRequest): string {
    this.evictExpired();
    if (this.entries.size >= this.maxPending) {
      throw new ResourceExhaustedError(`too many pending streaming requests (${this.maxPending}); retry later`);
    }
    const token = randomBytes(16).toString('base64url');
    this.entries.set(token, { request, expiresAt: this.now() + this.ttlMs });
    return token;
  }

  /** The request behind `token`, removing it; undefined when unknown, used or expired. */
  consume(token: string): StreamRequest | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    return entry.expiresAt > this.now() ? entry.request : undefined;
  }

  private evictExpired(): void {
    const now = this.now();
    // Insertion order is expiry order (one TTL for all), so stop at the first live one.
    for (const [token, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(token);
    }
  }
}
