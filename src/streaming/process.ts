/**
 * A process whose stdio we hold — an exec'd command or a container we attached to —
 * as the remote-command code sees it, whatever runs it.
 */
import type { Readable, Writable } from 'node:stream';
import type { TerminalSize } from './resize.js';

export interface AttachedProcess {
  /** Ending it closes the process's stdin (null when stdin was not asked for). */
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  resize(size: TerminalSize): Promise<void>;
  /** Resolves once the output has ended: the exit code, or null when there is none (attach). */
  wait(): Promise<number | null>;
  /** Lets go of the process's streams at once (the client went away). */
  detach(): void;
}
