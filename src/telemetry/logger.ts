/**
 * The app's logger: pino, JSON to stdout, `LOG_LEVEL` (default `info`).
 * Secret-bearing keys are redacted wherever they appear, so a stray
 * `logger.info({ headers })` cannot leak an Authorization header or a token.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values never reach a log line, at any depth up to 4. */
export const REDACTED_KEYS = [
  'authorization',
  'Authorization',
  'access_token',
  'accessToken',
  'token',
  'clientSecret',
  'client_secret',
  'AB_CLIENT_SECRET',
  'password',
  'secret',
  'cookie',
  'Cookie',
];

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of REDACTED_KEYS) {
    paths.push(key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`);
  }
  return paths;
}

export interface LoggerOptions {
  /** pino level: trace, debug, info, warn, error, fatal, silent. Default: `info`. */
  readonly level?: string;
  /** Where lines go. Default: stdout. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'extend-event-rules' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths(), censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
