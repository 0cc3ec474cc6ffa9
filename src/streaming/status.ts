/**
 * How an exec or attach ended, and the `metav1.Status` that reports it on the error
 * stream. Clients (client-go) parse this JSON; we produce it byte for byte as the
 * kubelet's streaming library does (Go field order, omitempty, Go's HTML-safe string
 * escaping), so that a capture from the reference server and ours compare equal.
 */

export type Outcome =
  | { kind: 'success' }
  /** The process ran and exited non-zero. */
  | { kind: 'exit'; code: number; command: string[] }
  /** We could not run or attach (the message says why). */
  | { kind: 'error'; message: string };

/** JSON.stringify with Go's encoding/json escaping of <, >, &, U+2028 and U+2029. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The outcome as a Go error string (what v1–v3 clients get, and Status.message). */
export function outcomeMessage(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'success':
      return '';
    case 'exit':
      // containerd's wording (CodeExitError), wrapped as the kubelet's ServeExec does.
      return `command terminated with non-zero exit code: error executing command [${outcome.command.join(' ')}], exit code ${outcome.code}`;
    case 'error':
      return `Internal error occurred: ${outcome.message}`;
  }
}

/** v4/v5: the Status JSON written on the error stream (also for success). */
export function statusJson(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'success':
      return goJson({ metadata: {}, status: 'Success' });
    case 'exit':
      return goJson({
        metadata: {},
        status: 'Failure',
        message: outcomeMessage(outcome),
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: String(outcome.code) }] },
      });
    case 'error':
      // apierrors.NewInternalError
      return goJson({
        metadata: {},
        status: 'Failure',
        message: outcomeMessage(outcome),
        reason: 'InternalError',
        details: { causes: [{ message: outcome.message }] },
        code: 500,
      });
  }
}

/** What goes on the error stream for `version`; null when nothing is written (v1–v3 success). */
export function errorStreamPayload(outcome: Outcome, version: number): Buffer | null {
  if (version >= 4) return Buffer.from(statusJson(outcome));
  return outcome.kind === 'success' ? null : Buffer.from(outcomeMessage(outcome));
}
