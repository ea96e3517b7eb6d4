/**
 * Environment -> compiled options, in three steps as OpenTelemetry's file configuration and
 * Temporal's worker options do it: typed definitions ({@link DEFINITIONS}: name, default,
 * description, reader) -> parse (every variable read, every problem collected) -> compiled
 * {@link Config} (cross-variable rules checked, derived values). Any problem at all is one
 * {@link ConfigError} listing each of them, so three bad variables take one restart, not three.
 * The only module that reads `process.env` (plus `.env` in the working directory, if present,
 * for local runs). docs/configuration.md and `.env.template` list {@link ENV_VARS} (a test keeps
 * the three in step). Defaults are the modules' own constants, imported: written once.
 * Parsing registers nothing: the wiring hands {@link configSecrets} to the redactor.
 *
 * To add a variable: one entry in {@link DEFINITIONS} (its place is its row in the docs), read it
 * as `vars.<name>` (typed; a misspelt name does not compile) in {@link compile}, `npm run docs`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EXPORTER_CREDENTIAL_ENV, forbiddenEnvReason } from './rules/index.js';
import { DEFAULT_METRICS_PATH, DEFAULT_METRICS_PORT } from './telemetry/index.js';
import { DEFAULT_AGS_MAX_ATTEMPTS, DEFAULT_AGS_MAX_IN_FLIGHT, DEFAULT_AGS_QUEUE_WAIT_MS, DEFAULT_AGS_TIMEOUT_MS, namespaceProblem } from './ags/index.js';
import { DEFAULT_BREAKER_AUTH_FAILURES, DEFAULT_DEAD_LETTER_CAPACITY, DEFAULT_BREAKER_PERMANENT_FAILURES, DEFAULT_BREAKER_PROBE_INTERVAL_MS, DEFAULT_EVENT_DEADLINE_MS, DEFAULT_LEASE_MS, DEFAULT_RETENTION_MS } from './delivery/index.js';
import { DEFAULT_GRPC_LIMITS, DEFAULT_PORT } from './contract/index.js';
import { didYouMean } from './text/index.js';
import { DEFAULT_MEMORY_MAX_BYTES } from './store/index.js';

/** A documented environment variable. */
export interface EnvVar {
  readonly name: string;
  /** The default as a user would write it; '' means unset. */
  readonly default: string;
  readonly description: string;
}

/** One variable's definition: its default (as written in `.env`), its description, and how its text is read. */
export interface Definition<T> extends Omit<EnvVar, 'name'> {
  /** The typed value of the text (the default when unset or empty). @throws {@link Refused} with the reason. */
  readonly read: (raw: string) => T;
}

/** Thrown by a {@link Definition}'s reader: why the text is refused (the variable's name is added by the parser). */
class Refused extends Error {}

const HOUR_MS = 3_600_000;

function text(defaultValue: string, description: string): Definition<string> {
  return { default: defaultValue, description, read: (raw) => raw };
}

function flag(defaultValue: 'true' | 'false', description: string): Definition<boolean> {
  return {
    default: defaultValue,
    description,
    read(raw) {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      throw new Refused(`"${raw}" is not a boolean: use true or false`);
    },
  };
}

function integer(defaultValue: number, description: string, min = 0): Definition<number> {
  return {
    default: String(defaultValue),
    description,
    read(raw) {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min) throw new Refused(`"${raw}" is not an integer >= ${min}`);
      return n;
    },
  };
}

/** One of `values` (trimmed, lower-cased); '' is the default when `defaultValue` is ''. */
function choice<T extends string>(values: readonly T[], defaultValue: T | '', description: string, refusal?: (v: string) => string): Definition<T | ''> {
  return {
    default: defaultValue,
    description,
    read(raw) {
      const v = raw.trim().toLowerCase();
      if (v === '' || (values as readonly string[]).includes(v)) return v as T | '';
      const hint = didYouMean(v, values);
      throw new Refused(refusal?.(v) ?? `"${v}" is not one of ${values.join(', ')}${hint ? ` (${hint})` : ''}`);
    },
  };
}

/** The log levels of pino, lowest first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** How log lines are written (LOG_FORMAT): src/telemetry/logger.ts. */
export const LOG_FORMATS = ['json', 'pretty'] as const;

/** Every variable, in documentation order: the templates' five first. */
export const DEFINITIONS = {
  // the five of the official templates
  AB_BASE_URL: text('https://test.accelbyte.io', 'AGS environment base URL.'),
  AB_CLIENT_ID: text('', 'Confidential IAM client id. AB_BASE_URL, AB_CLIENT_ID and AB_CLIENT_SECRET all unset: dry run; one of them set: AB_CLIENT_ID, AB_CLIENT_SECRET and AB_NAMESPACE are required.'),
  AB_CLIENT_SECRET: text('', 'Its secret. Never logged. Required as AB_CLIENT_ID is.'),
  AB_NAMESPACE: text('', 'Game namespace: the default namespace of every action (letters, digits, single hyphens). Required in a live run (dry run without it: "mygame").'),
  ITEM_ID_TO_GRANT: text('', 'Item the shipped rules grant on login (dry run without it: "demo-item-id").'),
  // ours
  PORT: integer(DEFAULT_PORT, 'gRPC port (the sidecar calls it).'),
  ASYNC_MESSAGING_PUBLISHER_GRPC_PORT: integer(7474, 'Port of the Extend Async Messaging publisher sidecar on localhost (publishMessage; set by Extend).', 1),
  PROTO_DIR: text('proto', 'Comma-separated directories of .proto files to load.'),
  RULES_FILE: text('rules.yaml', 'The rules file.'),
  ACTIONS_DIR: text('actions', 'Folder of custom action modules (.ts compiled by npm run build, or .js/.mjs), loaded next to the built-ins.'),
  RULES_WATCH: flag('true', 'Reload the rules file when it changes.'),
  EVENTS: choice(['all'], '', 'Which events to serve: empty = those the rules target; "all" = every loaded event.', (v) => `"${v}" is not supported: leave it empty or set "all"`),
  DRY_RUN: flag('false', 'Plan and log actions, send nothing (also the case when none of AB_BASE_URL, AB_CLIENT_ID, AB_CLIENT_SECRET is set; a partial AGS configuration refuses to start).'),
  STATE_STORE: choice(['cloudsave', 'redis', 'memory'], '', 'Where idempotency marks (and rule state) live: cloudsave (AGS Cloud Save admin records), redis (REDIS_URL) or memory (one process, lost on restart). Empty: redis when REDIS_URL is set, else cloudsave; memory in dry run.'),
  REDIS_URL: text('', 'Redis of the redis state store (STATE_STORE=redis, the default when set): redis://[[user]:password@]host[:port][/db], rediss:// for TLS; percent-encode the password\'s reserved characters (@ : / ? # %). A malformed one stops the start, naming REDIS_URL (never its value).'),
  DEDUPE_RETENTION_HOURS: integer(DEFAULT_RETENTION_MS / HOUR_MS, 'How long a done action is remembered (default 7 days).', 1),
  DEDUPE_LEASE_MS: integer(DEFAULT_LEASE_MS, 'Lease of an idempotency claim: a claim left by a crashed replica expires after it. Must exceed EVENT_DEADLINE_MS plus the smaller of AGS_TIMEOUT_MS and EVENT_DEADLINE_MS (a request sent just before the deadline is awaited that long).', 1),
  REDIS_CONNECT_TIMEOUT_MS: integer(5000, 'At start-up, how long to wait for REDIS_URL to answer before exiting with an error.', 1),
  DEDUPE_MAX_KEYS: integer(100_000, 'Size bound of the memory state store: most players (partitions) remembered.', 1),
  DEDUPE_MAX_BYTES: integer(DEFAULT_MEMORY_MAX_BYTES, 'Size bound of the memory state store in bytes (the estimated JSON size of its documents; default 256 MiB): past it, or past DEDUPE_MAX_KEYS, the least recently written players are forgotten.', 1),
  DEAD_LETTER_FILE: text('dead-letters.jsonl', 'JSON Lines file of events that failed permanently (STATE_STORE=memory; cloudsave and redis keep them in the store).'),
  DEAD_LETTER_RETENTION_HOURS: integer(336, 'How long a dead letter is kept in the state store (cloudsave, redis) before it expires (default 14 days; kept up to 6 h longer: pages expire whole). Each expiry is logged and counted in event_rules_dead_letters_expired_total.', 1),
  DEAD_LETTER_CAPACITY: integer(DEFAULT_DEAD_LETTER_CAPACITY, 'Most dead letters the state store (cloudsave, redis) holds, over 8 shards of capacity/8 each; when a shard is full the event is answered UNAVAILABLE (redelivered), never dropped.', 8),
  EVENT_DEADLINE_MS: integer(DEFAULT_EVENT_DEADLINE_MS, 'Time budget of one event (all its actions and retries).', 1),
  SHUTDOWN_GRACE_MS: integer(20_000, 'On SIGTERM, how long calls in flight may take to finish.'),
  AGS_TIMEOUT_MS: integer(DEFAULT_AGS_TIMEOUT_MS, 'Timeout of one HTTP attempt to AGS.', 1),
  AGS_MAX_ATTEMPTS: integer(DEFAULT_AGS_MAX_ATTEMPTS, 'Attempts per AGS call (retries of 429/5xx/timeouts).', 1),
  AGS_MAX_IN_FLIGHT: integer(DEFAULT_AGS_MAX_IN_FLIGHT, 'Most requests one replica has in flight to one AGS service (Platform, Cloud Save, IAM...); more wait (first come, first served) up to AGS_QUEUE_WAIT_MS. 0: no bound.'),
  AGS_QUEUE_WAIT_MS: integer(DEFAULT_AGS_QUEUE_WAIT_MS, 'Longest a request waits for a slot of its AGS service, or for the end of a 429\'s hold (Retry-After: the whole service waits, no retry storm), before it is refused unsent: its event is answered UNAVAILABLE and redelivered.'),
  BREAKER_AUTH_FAILURES: integer(
    DEFAULT_BREAKER_AUTH_FAILURES,
    'Circuit breaker: distinct events in a row whose action AGS refused with 401 (after a fresh login) or 403 that pause the action (its events answered UNAVAILABLE until a probe succeeds). Until then such an event is answered UNAVAILABLE until the action succeeds for another event (then dead-lettered) or for 10 deliveries. 0: never pause nor hold (docs/delivery.md).',
  ),
  BREAKER_PERMANENT_FAILURES: integer(
    DEFAULT_BREAKER_PERMANENT_FAILURES,
    'Circuit breaker: distinct events in a row whose action failed with the same permanent AGS error (operation, status, errorCode: an item or namespace that does not exist) that pause the action; the events before are dead-lettered. 0: never.',
  ),
  BREAKER_PROBE_INTERVAL_MS: integer(DEFAULT_BREAKER_PROBE_INTERVAL_MS, 'Circuit breaker: while an action is paused, one event per interval is let through as the probe; its success resumes the action.', 1),
  GRPC_MAX_CONCURRENT_STREAMS: integer(DEFAULT_GRPC_LIMITS.maxConcurrentStreams, 'Calls one gRPC (HTTP/2) connection may have in flight; more are refused until one ends (the sidecar waits).', 1),
  GRPC_MAX_MESSAGE_BYTES: integer(DEFAULT_GRPC_LIMITS.maxReceiveMessageBytes, 'Largest event message accepted, bytes; larger ones answer RESOURCE_EXHAUSTED.', 1),
  LOG_LEVEL: choice(LOG_LEVELS, 'info', 'trace, debug, info, warn, error, fatal or silent.'),
  LOG_FORMAT: choice(LOG_FORMATS, '', 'Log lines: json (one JSON object a line: what Extend\'s log pipeline and Loki read) or pretty (pino-pretty: time, level, message, then the fields; colours on a terminal). Empty: pretty when stdout is a terminal, else json.'),
  LOG_PAYLOADS: flag('false', 'Log each event payload at debug level, with personal fields masked.'),
  ENABLE_HEALTH_CHECK: flag('true', 'Serve grpc.health.v1.Health.'),
  ENABLE_REFLECTION: flag('true', 'Serve gRPC server reflection (v1alpha and v1); the sidecar needs it.'),
  ENABLE_PROMETHEUS: flag('true', 'Serve Prometheus metrics.'),
  PROMETHEUS_PORT: integer(DEFAULT_METRICS_PORT, 'Metrics port.'),
  PROMETHEUS_ENDPOINT: text(DEFAULT_METRICS_PATH, 'Metrics path.'),
  PROMETHEUS_PREFIX: text('', 'Prefix of the Node process/runtime metrics.'),
  ENABLE_ZIPKIN: flag('true', 'Export traces to Zipkin when OTEL_EXPORTER_ZIPKIN_ENDPOINT is set (templates\' switch).'),
  OTEL_SERVICE_NAME: text('', 'Service name: extend-app-eh-<lowercased name> (default extend-app-event-handler).'),
  OTEL_TRACES_EXPORTER: choice(['zipkin', 'otlp', 'console', 'none'], '', 'zipkin, otlp, console or none; empty: zipkin if its endpoint is set, else none.'),
  OTEL_EXPORTER_ZIPKIN_ENDPOINT: text('', 'Zipkin spans URL, e.g. http://localhost:9411/api/v2/spans.'),
  OTEL_EXPORTER_OTLP_ENDPOINT: text('', 'OTLP/HTTP endpoint, e.g. http://localhost:4318.'),
  OTEL_EXPORTER_OTLP_HEADERS: text('', 'Headers of OTLP export, key=value pairs separated by commas (read by the OpenTelemetry exporter); their values are redacted wherever displayed.'),
  TEST_CLOCK_FILE: text('', 'Tests only: a file holding an ISO 8601 instant, read per event as the clock of rules (limits, windows). Never set it in production.'),
};

/** A variable's name: reading one that is not defined does not compile. */
export type VarName = keyof typeof DEFINITIONS;

/** The parsed values, typed per variable. */
export type Vars = { readonly [K in VarName]: ReturnType<(typeof DEFINITIONS)[K]['read']> };

/** The variables as documented (docs/configuration.md's table, `.env.template`), in order. */
export const ENV_VARS: readonly EnvVar[] = Object.entries(DEFINITIONS).map(([name, d]) => ({ name, default: d.default, description: d.description }));

/** Values used for the two business variables in dry run when unset, so the quick start works. */
export const DRY_RUN_DEMO_ENV: Readonly<Record<string, string>> = {
  AB_NAMESPACE: 'mygame',
  ITEM_ID_TO_GRANT: 'demo-item-id',
};

/** One refused variable (or combination of variables) and why. */
export interface ConfigProblem {
  /** The variable, or the variables joined with ", " when the problem is their combination. */
  readonly variable: string;
  readonly reason: string;
}

/**
 * The configuration is refused: every problem found, at once. `variable` and `reason` are the
 * first problem's (kept for callers of one problem); the message lists them all, one per line.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly variable: string;
  readonly reason: string;
  constructor(readonly problems: readonly [ConfigProblem, ...ConfigProblem[]]) {
    super(
      problems.length === 1
        ? `${problems[0].variable}: ${problems[0].reason}`
        : `${problems.length} configuration problems:\n${problems.map((p) => `  ${p.variable}: ${p.reason}`).join('\n')}`,
    );
    this.variable = problems.map((p) => p.variable).join(', ');
    this.reason = problems[0].reason;
  }
}

export interface Config {
  /** TEST_CLOCK_FILE: tests only, the rules' clock is read from this file per event. */
  readonly testClockFile?: string;
  readonly port: number;
  /** ASYNC_MESSAGING_PUBLISHER_GRPC_PORT: the publisher sidecar's port on localhost (publishMessage). */
  readonly publisherPort: number;
  readonly protoDirs: readonly string[];
  readonly rulesFile: string;
  /** Folder of custom action modules (`ACTIONS_DIR`), relative to the working directory. */
  readonly actionsDir: string;
  readonly rulesWatch: boolean;
  readonly serveAllEvents: boolean;
  readonly dryRun: boolean;
  /** Why dry run is on, for the start-up line. */
  readonly dryRunReason?: string;
  /** Demo values applied because of dry run (names only). */
  readonly demoEnv: readonly string[];
  readonly ags: {
    readonly baseUrl: string;
    readonly clientId: string;
    readonly clientSecret: string;
    readonly namespace: string;
    readonly timeoutMs: number;
    readonly maxAttempts: number;
    /** Most requests in flight to one AGS service (`AGS_MAX_IN_FLIGHT`); 0: no bound. */
    readonly maxInFlight: number;
    /** Longest wait for a slot or a 429's hold, ms (`AGS_QUEUE_WAIT_MS`). */
    readonly queueWaitMs: number;
  };
  readonly redisUrl?: string;
  /** STATE_STORE resolved: the explicit choice, else redis with REDIS_URL, else cloudsave; memory in dry run. */
  readonly stateStore: 'cloudsave' | 'redis' | 'memory';
  /** STATE_STORE was set explicitly. */
  readonly stateStoreExplicit: boolean;
  readonly dedupeRetentionMs: number;
  readonly dedupeMaxKeys: number;
  /** DEDUPE_MAX_BYTES: the memory store's bound in bytes. */
  readonly dedupeMaxBytes: number;
  /** Lease of a claim, ms (DEDUPE_LEASE_MS); always above `eventDeadlineMs` plus the smaller of the AGS timeout and `eventDeadlineMs`. */
  readonly dedupeLeaseMs: number;
  /** Start-up wait for Redis, ms (REDIS_CONNECT_TIMEOUT_MS). */
  readonly redisConnectTimeoutMs: number;
  readonly deadLetterFile: string;
  /** How long a dead letter stays in the state store, ms (DEAD_LETTER_RETENTION_HOURS). */
  readonly deadLetterRetentionMs: number;
  /** Most dead letters the state store holds (DEAD_LETTER_CAPACITY). */
  readonly deadLetterCapacity: number;
  readonly eventDeadlineMs: number;
  readonly shutdownGraceMs: number;
  /** The circuit breaker's thresholds (BREAKER_AUTH_FAILURES, BREAKER_PERMANENT_FAILURES, BREAKER_PROBE_INTERVAL_MS). */
  readonly breaker: { readonly authFailures: number; readonly permanentFailures: number; readonly probeIntervalMs: number };
  /** gRPC server limits (GRPC_MAX_CONCURRENT_STREAMS, GRPC_MAX_MESSAGE_BYTES). */
  readonly grpc: { readonly maxConcurrentStreams: number; readonly maxReceiveMessageBytes: number };
  /** LOG_LEVEL, checked. */
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** LOG_FORMAT; undefined: by the terminal (pretty when stdout is one, else json), decided by the wiring. */
  readonly logFormat: (typeof LOG_FORMATS)[number] | undefined;
  readonly logPayloads: boolean;
  readonly health: boolean;
  readonly reflection: boolean;
  readonly prometheus: { readonly enabled: boolean; readonly port: number; readonly path: string; readonly prefix: string };
  readonly tracing: {
    readonly exporter: 'zipkin' | 'otlp' | 'console' | 'none';
    readonly serviceName: string;
    readonly zipkinEndpoint: string;
    readonly otlpEndpoint: string;
    /** OTEL_EXPORTER_OTLP_HEADERS as given (the exporter reads it itself; its values are secrets). */
    readonly otlpHeaders: string;
    /**
     * The signal-specific OTLP variables the exporter reads itself, by name (`OTEL_EXPORTER_OTLP_TRACES_HEADERS`,
     * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`...): their header values and userinfo are secrets.
     */
    readonly signalEnv: Readonly<Record<string, string>>;
  };
  /** The environment rules see (`${env.X}`): the process env plus dry-run demo values. */
  readonly rulesEnv: Readonly<Record<string, string | undefined>>;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Step 2: every defined variable read (unset or empty: its default); refused ones noted in `problems`. */
function parseVars(env: Env, problems: ConfigProblem[]): { vars: Vars; given: ReadonlySet<VarName>; refused: ReadonlySet<VarName> } {
  const vars: Record<string, unknown> = {};
  const given = new Set<VarName>();
  const refused = new Set<VarName>();
  for (const [name, def] of Object.entries(DEFINITIONS) as [VarName, Definition<unknown>][]) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') given.add(name);
    try {
      vars[name] = def.read(given.has(name) ? raw! : def.default);
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      problems.push({ variable: name, reason: error.message });
      refused.add(name);
      vars[name] = def.read(def.default); // a default always reads: later checks see a sane value
    }
  }
  return { vars: vars as Vars, given, refused };
}

/** Parses `KEY=VALUE` lines (comments, blank lines, optional quotes, `export `). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    let value = m[2] ?? '';
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    out[m[1]!] = value;
  }
  return out;
}

/** The process environment merged over `.env` in `cwd` (real env wins), as docker compose does. */
export function readEnvironment(processEnv: Env = process.env, cwd = process.cwd()): Env {
  const file = resolve(cwd, '.env');
  if (!existsSync(file)) return processEnv;
  const fromFile = parseEnvFile(readFileSync(file, 'utf8'));
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [k, v] of Object.entries(processEnv)) if (v !== undefined && v !== '') merged[k] = v;
  return merged;
}

/** The password of a URL's userinfo (`redis://:pw@host`), if any. */
function passwordOf(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p === '' ? undefined : decodeURIComponent(p);
  } catch {
    return undefined;
  }
}

/**
 * The credentials an http(s) URL carries in its userinfo: the password (`https://user:pw@host`), else a
 * lone user part (`https://<token>@host`, a common way to pass a token), each as written and decoded.
 */
function httpUserinfoSecretsOf(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    return [];
  }
  const part = u.password !== '' ? u.password : u.username;
  if (part === '') return [];
  let decoded = part;
  try {
    decoded = decodeURIComponent(part);
  } catch {
    // as written
  }
  return [part, decoded];
}

/** `url` without the `user:password@` of its authority (as written otherwise); as is when it has none or does not parse. */
function withoutUserinfo(url: string): string {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    return url;
  }
  if (u.username === '' && u.password === '') return url;
  const at = url.indexOf('@', url.indexOf('//') + 2);
  return at < 0 ? url : `${url.slice(0, url.indexOf('//') + 2)}${url.slice(at + 1)}`;
}

/** The signal-specific OTLP variables of `env` (see `Config['tracing']['signalEnv']`). */
function signalExporterEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value && /^OTEL_EXPORTER_OTLP_[A-Z]+_/.test(name) && EXPORTER_CREDENTIAL_ENV.test(name)) out[name] = value;
  return out;
}

/** A Redis URL's password: its userinfo's, or its `password` query parameter (ioredis reads both). */
function redisPasswordsOf(url: string): Array<string | undefined> {
  let query: string | undefined;
  try {
    query = new URL(url).searchParams.get('password') ?? undefined;
  } catch {
    query = undefined;
  }
  return [passwordOf(url), query];
}

/**
 * The variables that say "talk to AGS": all unset is a dry run; one set needs {@link AGS_REQUIRED}.
 * AB_NAMESPACE alone is no such sign: a dry run uses it for its plans (with a demo default).
 */
export const AGS_VARIABLES = ['AB_BASE_URL', 'AB_CLIENT_ID', 'AB_CLIENT_SECRET'] as const;
/** What a live run needs besides AB_BASE_URL (which defaults to the templates' https://test.accelbyte.io). */
export const AGS_REQUIRED = ['AB_CLIENT_ID', 'AB_CLIENT_SECRET', 'AB_NAMESPACE'] as const;

/**
 * Dry run, or the live AGS settings. Dry run only when asked (`DRY_RUN=true`) or when no AGS
 * variable is set at all; a partial configuration (an id without its secret, a base URL without
 * credentials) is a problem naming every missing variable, never a silent dry run.
 */
function agsMode(vars: Vars, given: ReadonlySet<VarName>, problems: ConfigProblem[]): { dryRun: boolean; dryRunReason?: string } {
  if (vars.DRY_RUN) return { dryRun: true, dryRunReason: 'DRY_RUN=true' };
  const set = AGS_VARIABLES.filter((n) => given.has(n));
  if (set.length === 0) return { dryRun: true, dryRunReason: `no AGS credential is set (${AGS_VARIABLES.join(', ')})` };
  const missing = AGS_REQUIRED.filter((n) => !given.has(n));
  if (missing.length > 0) {
    problems.push({
      variable: missing.join(', '),
      reason: `${missing.length === 1 ? 'is' : 'are'} missing while ${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set: a live run needs ${AGS_REQUIRED.join(', ')} (set the missing ones; for a dry run unset ${AGS_VARIABLES.join(', ')} or set DRY_RUN=true)`,
    });
    return { dryRun: false };
  }
  const problem = namespaceProblem(vars.AB_NAMESPACE);
  if (problem !== undefined) problems.push({ variable: 'AB_NAMESPACE', reason: problem });
  return { dryRun: false };
}

/** The environment rules see (`${env.X}`): credentials removed, dry-run demo values added (`demoEnv` names them). */
function rulesEnvOf(env: Env, dryRun: boolean): { rulesEnv: Record<string, string | undefined>; demoEnv: string[] } {
  const rulesEnv: Record<string, string | undefined> = { ...env };
  for (const name of Object.keys(rulesEnv)) if (forbiddenEnvReason(name) !== undefined) delete rulesEnv[name];
  // the AGS base URL without the credentials of its userinfo (registered secrets: see configSecrets)
  if (rulesEnv.AB_BASE_URL) rulesEnv.AB_BASE_URL = withoutUserinfo(rulesEnv.AB_BASE_URL);
  const demoEnv: string[] = [];
  if (dryRun) {
    for (const [k, v] of Object.entries(DRY_RUN_DEMO_ENV)) {
      if (!rulesEnv[k]) {
        rulesEnv[k] = v;
        demoEnv.push(`${k}=${v}`);
      }
    }
  }
  return { rulesEnv, demoEnv };
}

/** Traces: the exporter (explicit, else zipkin when its endpoint is set and ENABLE_ZIPKIN), the service name, the exporter's credentials. */
function tracingOf(vars: Vars, env: Env, problems: ConfigProblem[]): Config['tracing'] {
  const zipkinEndpoint = vars.OTEL_EXPORTER_ZIPKIN_ENDPOINT;
  let exporter: Config['tracing']['exporter'] = vars.OTEL_TRACES_EXPORTER || (zipkinEndpoint ? 'zipkin' : 'none');
  if (exporter === 'zipkin' && !vars.ENABLE_ZIPKIN) exporter = 'none';
  if (exporter === 'zipkin' && !zipkinEndpoint) {
    problems.push({ variable: 'OTEL_EXPORTER_ZIPKIN_ENDPOINT', reason: 'is required when OTEL_TRACES_EXPORTER=zipkin' });
  }
  const name = vars.OTEL_SERVICE_NAME;
  return {
    exporter,
    serviceName: name ? `extend-app-eh-${name.toLowerCase()}` : 'extend-app-event-handler',
    zipkinEndpoint,
    otlpEndpoint: vars.OTEL_EXPORTER_OTLP_ENDPOINT,
    otlpHeaders: vars.OTEL_EXPORTER_OTLP_HEADERS,
    signalEnv: signalExporterEnv(env),
  };
}

/**
 * Why ioredis could not use `url` as REDIS_URL, or undefined: the forms it reads (ioredis 5 `parseURL`:
 * a port number, a Unix socket path, `redis://` or `rediss://` URLs, `//host` and `host:port`),
 * checked the way it parses them (WHATWG `URL`). The reason never holds the value: a URL that does
 * not parse may hold a password the redactor could not find in it (a `/`, `#` or `?` not
 * percent-encoded ends the userinfo early).
 */
export function redisUrlProblem(url: string): string | undefined {
  const raw = url.trim();
  if (/^\d+$/.test(raw) || (raw.startsWith('/') && !raw.startsWith('//'))) return undefined;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(raw)?.[1];
  if (scheme !== undefined && !/^rediss?$/i.test(scheme)) return `starts with ${scheme}://: a Redis URL is redis://[[user]:password@]host[:port][/db] (rediss:// for TLS)`;
  try {
    new URL(scheme !== undefined ? raw : raw.startsWith('//') ? `redis:${raw}` : `redis://${raw}`);
    return undefined;
  } catch {
    return (
      'is not a valid URL (its value is not shown: it may hold a password): expected redis://[[user]:password@]host[:port][/db] ' +
      '(rediss:// for TLS); percent-encode reserved characters in the user and password (@ : / ? # % and spaces, as encodeURIComponent does), ' +
      'and check that the port is a number up to 65535'
    );
  }
}

/** STATE_STORE resolved (explicit, else redis with REDIS_URL, else cloudsave; memory in dry run); redis needs REDIS_URL, a valid one. */
function stateStoreOf(vars: Vars, dryRun: boolean, problems: ConfigProblem[]): Config['stateStore'] {
  if (vars.STATE_STORE === 'redis' && !vars.REDIS_URL) problems.push({ variable: 'STATE_STORE', reason: 'redis needs REDIS_URL' });
  const store = vars.STATE_STORE || (dryRun ? 'memory' : vars.REDIS_URL ? 'redis' : 'cloudsave');
  const urlProblem = store === 'redis' && vars.REDIS_URL ? redisUrlProblem(vars.REDIS_URL) : undefined;
  if (urlProblem !== undefined) problems.push({ variable: 'REDIS_URL', reason: urlProblem });
  return store;
}

/**
 * How long after an event starts one of its AGS requests may still be in flight: sent just before EVENT_DEADLINE_MS,
 * then awaited (its outcome must be known) for at most an attempt's timeout, itself bounded by the call's budget
 * (the AGS client's deadline is EVENT_DEADLINE_MS per call). A claim's lease must outlast it.
 */
function inFlightBound(vars: { readonly EVENT_DEADLINE_MS: number; readonly AGS_TIMEOUT_MS: number }): number {
  return vars.EVENT_DEADLINE_MS + Math.min(vars.AGS_TIMEOUT_MS, vars.EVENT_DEADLINE_MS);
}

/** Step 3: the parsed variables -> the options the modules take; cross-variable problems noted in `problems`. */
function compile(env: Env, parsed: ReturnType<typeof parseVars>, problems: ConfigProblem[]): Config {
  const { vars, given, refused } = parsed;
  const { dryRun, dryRunReason } = agsMode(vars, given, problems);
  const { rulesEnv, demoEnv } = rulesEnvOf(env, dryRun);
  if (!refused.has('DEDUPE_LEASE_MS') && !refused.has('EVENT_DEADLINE_MS') && vars.DEDUPE_LEASE_MS <= vars.EVENT_DEADLINE_MS) {
    // a claim expiring under a live holder would let another replica run the action too
    problems.push({ variable: 'DEDUPE_LEASE_MS', reason: `${vars.DEDUPE_LEASE_MS} must be greater than EVENT_DEADLINE_MS (${vars.EVENT_DEADLINE_MS}), or a slow event's claim expires while it runs` });
  } else if (!refused.has('DEDUPE_LEASE_MS') && !refused.has('EVENT_DEADLINE_MS') && !refused.has('AGS_TIMEOUT_MS') && vars.DEDUPE_LEASE_MS <= inFlightBound(vars)) {
    // a request sent just before the event's deadline is awaited (its outcome must be known): a claim expiring
    // meanwhile lets another replica take it over, find nothing applied yet, and send it again
    problems.push({
      variable: 'DEDUPE_LEASE_MS',
      reason:
        `${vars.DEDUPE_LEASE_MS} must be greater than EVENT_DEADLINE_MS + the smaller of AGS_TIMEOUT_MS and EVENT_DEADLINE_MS (${inFlightBound(vars)}): ` +
        'a request sent just before the deadline may be in flight that much longer, and another replica taking the claim over meanwhile would send it again',
    });
  }
  return {
    port: vars.PORT,
    publisherPort: vars.ASYNC_MESSAGING_PUBLISHER_GRPC_PORT,
    protoDirs: vars.PROTO_DIR.split(',')
      .map((d) => d.trim())
      .filter(Boolean),
    rulesFile: vars.RULES_FILE,
    actionsDir: vars.ACTIONS_DIR,
    rulesWatch: vars.RULES_WATCH,
    serveAllEvents: vars.EVENTS === 'all',
    dryRun,
    ...(dryRunReason ? { dryRunReason } : {}),
    demoEnv,
    ags: {
      baseUrl: vars.AB_BASE_URL.replace(/\/+$/, ''),
      clientId: vars.AB_CLIENT_ID,
      clientSecret: vars.AB_CLIENT_SECRET,
      namespace: rulesEnv.AB_NAMESPACE ?? '',
      timeoutMs: vars.AGS_TIMEOUT_MS,
      maxAttempts: vars.AGS_MAX_ATTEMPTS,
      maxInFlight: vars.AGS_MAX_IN_FLIGHT,
      queueWaitMs: vars.AGS_QUEUE_WAIT_MS,
    },
    ...(vars.REDIS_URL ? { redisUrl: vars.REDIS_URL } : {}),
    stateStore: stateStoreOf(vars, dryRun, problems),
    stateStoreExplicit: vars.STATE_STORE !== '',
    dedupeRetentionMs: vars.DEDUPE_RETENTION_HOURS * HOUR_MS,
    dedupeMaxKeys: vars.DEDUPE_MAX_KEYS,
    dedupeMaxBytes: vars.DEDUPE_MAX_BYTES,
    dedupeLeaseMs: vars.DEDUPE_LEASE_MS,
    redisConnectTimeoutMs: vars.REDIS_CONNECT_TIMEOUT_MS,
    deadLetterFile: vars.DEAD_LETTER_FILE,
    deadLetterRetentionMs: vars.DEAD_LETTER_RETENTION_HOURS * HOUR_MS,
    deadLetterCapacity: vars.DEAD_LETTER_CAPACITY,
    eventDeadlineMs: vars.EVENT_DEADLINE_MS,
    shutdownGraceMs: vars.SHUTDOWN_GRACE_MS,
    breaker: { authFailures: vars.BREAKER_AUTH_FAILURES, permanentFailures: vars.BREAKER_PERMANENT_FAILURES, probeIntervalMs: vars.BREAKER_PROBE_INTERVAL_MS },
    grpc: { maxConcurrentStreams: vars.GRPC_MAX_CONCURRENT_STREAMS, maxReceiveMessageBytes: vars.GRPC_MAX_MESSAGE_BYTES },
    logLevel: vars.LOG_LEVEL || 'info',
    logFormat: vars.LOG_FORMAT || undefined,
    logPayloads: vars.LOG_PAYLOADS,
    health: vars.ENABLE_HEALTH_CHECK,
    reflection: vars.ENABLE_REFLECTION,
    prometheus: { enabled: vars.ENABLE_PROMETHEUS, port: vars.PROMETHEUS_PORT, path: vars.PROMETHEUS_ENDPOINT, prefix: vars.PROMETHEUS_PREFIX },
    tracing: tracingOf(vars, env, problems),
    rulesEnv,
    ...(vars.TEST_CLOCK_FILE ? { testClockFile: vars.TEST_CLOCK_FILE } : {}),
  };
}

/**
 * The compiled options of an environment (typically {@link readEnvironment}'s). Registers nothing:
 * hand {@link configSecrets} to the redactor.
 * @throws {@link ConfigError} listing every problem (refused values, missing or clashing variables).
 */
export function loadConfig(env: Env): Config {
  const problems: ConfigProblem[] = [];
  const config = compile(env, parseVars(env, problems), problems);
  const [first, ...rest] = problems;
  if (first !== undefined) throw new ConfigError([first, ...rest]);
  return config;
}

/** The value of one `key=value` pair of OTEL_EXPORTER_OTLP_HEADERS (percent-decoded, as the exporter reads it), if any. */
function headerValueOf(pair: string): string | undefined {
  const at = pair.indexOf('=');
  if (at < 0) return undefined;
  const raw = pair.slice(at + 1).trim();
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The secret forms of one `key=value` pair of OTEL_EXPORTER_OTLP_HEADERS: the value, and, for a
 * value of an HTTP auth scheme (`Bearer <token>`, `Basic <credential>`, `ApiKey <key>`), the
 * credential alone too (a collector refusing it may echo the token without its scheme).
 */
function headerSecretsOf(pair: string): string[] {
  const value = headerValueOf(pair);
  if (value === undefined || value === '') return [];
  const credential = /^[A-Za-z][A-Za-z0-9-]*\s+(\S+)$/.exec(value)?.[1];
  return credential !== undefined ? [value, credential] : [value];
}

/**
 * The secrets of compiled options, for the redactor (`registerSecret` of each, by the wiring):
 * the IAM client secret, the userinfo credentials of AB_BASE_URL and the trace endpoints (a
 * password, else a lone token), REDIS_URL's password (userinfo or `?password=`), the values of
 * OTEL_EXPORTER_OTLP_HEADERS. Credentials never reach the environment rules see (`rulesEnv`).
 */
export function configSecrets(config: Config): string[] {
  const secrets = [
    config.ags.clientSecret,
    ...httpUserinfoSecretsOf(config.ags.baseUrl),
    ...redisPasswordsOf(config.redisUrl ?? ''),
    ...httpUserinfoSecretsOf(config.tracing.otlpEndpoint),
    ...httpUserinfoSecretsOf(config.tracing.zipkinEndpoint),
    ...config.tracing.otlpHeaders.split(',').flatMap(headerSecretsOf),
    ...Object.entries(config.tracing.signalEnv).flatMap(([name, value]) => (name.endsWith('_HEADERS') ? value.split(',').flatMap(headerSecretsOf) : httpUserinfoSecretsOf(value))),
  ];
  return [...new Set(secrets.filter((v): v is string => v !== undefined && v !== ''))];
}
