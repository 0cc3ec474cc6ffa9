import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Paths that may hold credentials (PullImage auth, registry tokens). pino replaces
 * them before a line is written, so no code path can leak them by logging a request.
 */
const REDACT_PATHS = [
  'auth',
  'password',
  '*.auth',
  '*.password',
  '*.identity_token',
  '*.registry_token',
  'req.auth',
  'request.auth',
];

export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino({ level, base: { app: 'cri-shim' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}

/** A logger that drops everything: the default for library code used outside the shim. */
export const silentLogger: Logger = pino({ level: 'silent' });
