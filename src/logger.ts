import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

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
  'credentials',
  '*.credentials',
  '*.identityToken',
  '*.registryToken',
  '*.identitytoken',
  '*.registrytoken',
  'authconfig',
  '*.authconfig',
  '*.headers["X-Registry-Auth"]',
];

/** `destination` defaults to stdout; tests pass a stream to read what was logged. */
export function createLogger(level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  const options = { level, base: { app: 'cri-shim' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that drops everything: the default for library code used outside the shim. */
export const silentLogger: Logger = pino({ level: 'silent' });
