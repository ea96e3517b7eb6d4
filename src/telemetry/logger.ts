/**
 * The app's logger: pino, JSON to stdout (or, `LOG_FORMAT=pretty`, lines for
 * a person through pino-pretty), `LOG_LEVEL` (default `info`).
 *
 * Secrets are kept out of log lines by construction (the AGS client never
 * logs headers, bodies of logins or tokens; errors carry no secrets). As a
 * safety net, secret-bearing keys are redacted at the places a stray
 * `logger.info({ headers })` or `{ err }` would put them: the top level and
 * `headers`, `req.headers`, `request.headers`, `config`, `err`, `err.headers`,
 * `error`. Exact paths only: pino's wildcard paths (`*.token`) cost about
 * 100 µs per line, more than handling an event.
 */
import { createRequire } from 'node:module';
import type * as PinoModule from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { redactText } from './redact.js';

export type { Logger } from 'pino';

/** Keys whose values never reach a log line (at the places listed above). */
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
  'refresh_token',
  'refreshToken',
];

/** Where a secret-bearing key could appear in a logged object. */
const REDACTED_PARENTS = ['', 'headers.', 'req.headers.', 'request.headers.', 'config.', 'err.', 'err.headers.', 'error.'];

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const parent of REDACTED_PARENTS) for (const key of REDACTED_KEYS) paths.push(`${parent}${key}`);
  return paths;
}

/** Longest text taken from an event (its id...) put in a log line or span attribute, characters. */
export const MAX_LOG_FIELD = 200;

/**
 * A string taken from an event, bounded for log lines and spans: as is up to {@link MAX_LOG_FIELD}
 * characters, else its start and its length (an event id of 100,000 characters is not written in
 * full on every line of its event). Not a string: ''.
 */
export function logField(value: unknown): string {
  if (typeof value !== 'string') return '';
  return value.length <= MAX_LOG_FIELD ? value : `${value.slice(0, MAX_LOG_FIELD)}... (${value.length} characters)`;
}

export interface LoggerOptions {
  /** pino level: trace, debug, info, warn, error, fatal, silent. Default: `info`. */
  readonly level?: string;
  /** Where lines go. Default: stdout. */
  readonly destination?: DestinationStream;
  /**
   * `json` (default): one JSON object a line. `pretty`: pino-pretty's lines
   * (time, level, message, then the fields indented; colours when `colorize`),
   * made in-process from the JSON line after redaction, written to `destination`.
   */
  readonly format?: 'json' | 'pretty';
  /** Colours in pretty lines. Default: pino-pretty's (stdout a terminal with colours, NO_COLOR unset). */
  readonly colorize?: boolean;
}

type PrettyFactory = (options: Record<string, unknown>) => DestinationStream;

/** pino-pretty's stream (loaded only for pretty logs). */
function prettyStream(options: LoggerOptions): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as PrettyFactory;
  return pretty({
    destination: options.destination ?? 1,
    sync: options.destination === undefined,
    ...(options.colorize !== undefined ? { colorize: options.colorize } : {}), // default: pino-pretty's (a terminal that supports colour, NO_COLOR unset)
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    singleLine: false,
  });
}

let pinoModule: typeof PinoModule | undefined;

/**
 * pino, loaded on first use: the CLI's commands log nothing, and pino's 30 modules cost each of their starts
 * about 0.03 CPU s (test/cli/start-up.test.ts checks that validate does not load it).
 */
function loadPino(): typeof PinoModule.pino {
  pinoModule ??= createRequire(import.meta.url)('pino') as typeof PinoModule;
  return pinoModule.pino;
}

let silent: Logger | undefined;

/**
 * A logger that writes nothing (pino with `enabled: false`), made on first call: what the rules' load-time checks
 * and the authoring tools hand to an action's `normalize`/`plan` as `ctx.logger`. Give it through a getter
 * (`get logger() { return silentLogger(); }`) so that a command whose actions never log does not load pino.
 */
export function silentLogger(): Logger {
  silent ??= loadPino()({ enabled: false });
  return silent;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pino = loadPino();
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'extend-event-rules' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths(), censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      // the last step of every line: registered secret values (see redact.ts) never leave the process
      hooks: { streamWrite: redactText },
    },
    options.format === 'pretty' ? prettyStream(options) : (options.destination ?? pino.destination({ fd: 1, sync: false })),
  );
}
