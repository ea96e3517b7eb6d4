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

/**
 * pino's `isoTime` (`,"time":"2026-12-06T14:09:11.688Z"`: the same text), the date part made once
 * per second and the whole once per millisecond: `new Date().toISOString()` on every line was about
 * 1 µs of the 7 µs a summary line costs (a CPU profile of the no-match bench row), and the server
 * writes many lines within one millisecond.
 */
export function isoTime(): string {
  const now = Date.now();
  if (now !== isoLast.ms) {
    const second = now - (((now % 1000) + 1000) % 1000); // the second's start, also before 1970
    if (second !== isoLast.second) {
      const iso = new Date(second).toISOString(); // ...T14:09:11.000Z
      isoLast.second = second;
      isoLast.prefix = `,"time":"${iso.slice(0, iso.length - 4)}`; // up to and with the '.'
    }
    const ms = now - second;
    isoLast.ms = now;
    isoLast.text = `${isoLast.prefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
  }
  return isoLast.text;
}
const isoLast = { ms: Number.NaN, second: Number.NaN, prefix: '', text: '' };

/** The part of sonic-boom (in `contentMode: 'buffer'`) a {@link TickBatchedStdout} uses. */
interface LineSink {
  write(bytes: Buffer): boolean;
  flush(cb?: (err?: Error) => void): void;
  flushSync(): void;
}

/**
 * The default destination: stdout through sonic-boom (`pino.destination({ sync: false,
 * contentMode: 'buffer' })`). The first line of a run of the tick queue goes to sonic-boom at once,
 * as pino would write it; the other lines of that run are handed to it as one string at the end of
 * the run (`process.nextTick`), before the event loop turns. Each is handed over as UTF-8 bytes.
 *
 * Why: sonic-boom appends each line to the text waiting behind its write in flight and measures
 * that text (`Buffer.byteLength`) on every line, which flattens it: under load, with dozens of
 * lines behind one write, that copy was about 2 µs a line (a CPU profile of the no-match bench
 * row). Handed over at once, the text is measured once per run. In its text mode sonic-boom still
 * measured (so flattened) all the text waiting behind a write in flight at each hand-over, and
 * turned the written text into bytes again once written (`releaseWritingBuf`): about 6.5 KB
 * allocated per summary line under the no-match bench load (a sampling heap profile), a fifth of
 * the event's allocations. In its buffer mode it keeps the byte counts and writes the buffers as
 * they are: each line is encoded once.
 *
 * Nothing is held longer than before: after the first line sonic-boom has a write in flight
 * (asynchronous, in the thread pool) or had one already, and the next write starts only in that
 * write's callback, which runs after the tick queue; so every other line of the run would have
 * waited in sonic-boom until then anyway, and on kill -9 what is lost is what was lost before (lines
 * not yet handed to the kernel). No size or timer threshold (pino's `minLength` holds lines until
 * 4 KiB or a timer). On exit (`process.exit`, an uncaught exception: the `exit` event) and on
 * `logger.flush()` the waiting lines are handed over and written (synchronously on exit).
 */
export class TickBatchedStdout {
  #lines: string[] = [];
  #scheduled = false;
  readonly #handOver = (): void => {
    this.#scheduled = false;
    const lines = this.#lines;
    if (lines.length === 0) return;
    this.#lines = [];
    this.sink.write(Buffer.from(lines.length === 1 ? lines[0]! : lines.join('')));
  };

  constructor(readonly sink: LineSink) {
    for (const ref of batchedAlive) if (!ref.deref()) batchedAlive.delete(ref);
    batchedAlive.add(new WeakRef(this));
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', flushBatchedOnExit);
    }
  }

  write(line: string): boolean {
    if (this.#scheduled) {
      this.#lines.push(line);
      return true;
    }
    this.#scheduled = true;
    process.nextTick(this.#handOver);
    return this.sink.write(Buffer.from(line));
  }

  /** pino's `logger.flush(cb)`: the waiting lines go to sonic-boom, `cb` when it has written them. */
  flush(cb?: (err?: Error) => void): void {
    this.#handOver();
    this.sink.flush(cb);
  }

  /** Writes every waiting line now (synchronously). */
  flushSync(): void {
    this.#handOver();
    this.sink.flushSync();
  }
}

const batchedAlive = new Set<WeakRef<TickBatchedStdout>>();
let exitHooked = false;

/** On `exit` (no more ticks will run): every live {@link TickBatchedStdout}'s lines are written synchronously. */
function flushBatchedOnExit(): void {
  for (const ref of batchedAlive) {
    const batch = ref.deref();
    if (!batch) {
      batchedAlive.delete(ref);
      continue;
    }
    try {
      batch.flushSync();
    } catch {
      // stdout closed or not ready: nothing more can be written
    }
  }
}

/** stdout through sonic-boom in its buffer mode (its `write` takes bytes then; its types only know the text mode's). */
function stdoutBytes(pino: typeof PinoModule.pino): LineSink {
  return pino.destination({ fd: 1, sync: false, contentMode: 'buffer' }) as unknown as LineSink;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pino = loadPino();
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'extend-event-rules' },
      timestamp: isoTime,
      redact: { paths: redactPaths(), censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      // the last step of every line: registered secret values (see redact.ts) never leave the process
      hooks: { streamWrite: redactText },
    },
    options.format === 'pretty' ? prettyStream(options) : (options.destination ?? new TickBatchedStdout(stdoutBytes(pino))),
  );
}
