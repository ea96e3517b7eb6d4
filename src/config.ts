/**
 * Environment -> compiled options. The only module that reads `process.env`
 * (plus `.env` in the working directory, if present, for local runs).
 * Every variable is listed in {@link ENV_VARS} with its default; docs/configuration.md and
 * `.env.template` list the same set (a test keeps the three in step).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { forbiddenEnvReason } from './rules/index.js';
import { registerSecret } from './telemetry/index.js';
import { namespaceProblem } from './ags/index.js';

/** A documented environment variable. */
export interface EnvVar {
  readonly name: string;
  /** The default as a user would write it; '' means unset. */
  readonly default: string;
  readonly description: string;
}

export const ENV_VARS: readonly EnvVar[] = [
  // the five of the official templates
  { name: 'AB_BASE_URL', default: 'https://test.accelbyte.io', description: 'AGS environment base URL.' },
  { name: 'AB_CLIENT_ID', default: '', description: 'Confidential IAM client id. AB_BASE_URL, AB_CLIENT_ID and AB_CLIENT_SECRET all unset: dry run; one of them set: AB_CLIENT_ID, AB_CLIENT_SECRET and AB_NAMESPACE are required.' },
  { name: 'AB_CLIENT_SECRET', default: '', description: 'Its secret. Never logged. Required as AB_CLIENT_ID is.' },
  { name: 'AB_NAMESPACE', default: '', description: 'Game namespace: the default namespace of every action (letters, digits, single hyphens). Required in a live run (dry run without it: "mygame").' },
  { name: 'ITEM_ID_TO_GRANT', default: '', description: 'Item the shipped rules grant on login (dry run without it: "demo-item-id").' },
  // ours
  { name: 'PORT', default: '6565', description: 'gRPC port (the sidecar calls it).' },
  { name: 'ASYNC_MESSAGING_PUBLISHER_GRPC_PORT', default: '7474', description: 'Port of the Extend Async Messaging publisher sidecar on localhost (publishMessage; set by Extend).' },
  { name: 'PROTO_DIR', default: 'proto', description: 'Comma-separated directories of .proto files to load.' },
  { name: 'RULES_FILE', default: 'rules.yaml', description: 'The rules file.' },
  { name: 'ACTIONS_DIR', default: 'actions', description: 'Folder of custom action modules (.ts compiled by npm run build, or .js/.mjs), loaded next to the built-ins.' },
  { name: 'RULES_WATCH', default: 'true', description: 'Reload the rules file when it changes.' },
  { name: 'EVENTS', default: '', description: 'Which events to serve: empty = those the rules target; "all" = every loaded event.' },
  { name: 'DRY_RUN', default: 'false', description: 'Plan and log actions, send nothing (also the case when none of AB_BASE_URL, AB_CLIENT_ID, AB_CLIENT_SECRET is set; a partial AGS configuration refuses to start).' },
  { name: 'STATE_STORE', default: '', description: 'Where idempotency marks (and rule state) live: cloudsave (AGS Cloud Save admin records), redis (REDIS_URL) or memory (one process, lost on restart). Empty: redis when REDIS_URL is set, else cloudsave; memory in dry run.' },
  { name: 'REDIS_URL', default: '', description: 'Redis of the redis state store (STATE_STORE=redis, the default when set).' },
  { name: 'DEDUPE_RETENTION_HOURS', default: '168', description: 'How long a done action is remembered (default 7 days).' },
  { name: 'DEDUPE_LEASE_MS', default: '60000', description: 'Lease of an idempotency claim: a claim left by a crashed replica expires after it. Must exceed EVENT_DEADLINE_MS.' },
  { name: 'REDIS_CONNECT_TIMEOUT_MS', default: '5000', description: 'At start-up, how long to wait for REDIS_URL to answer before exiting with an error.' },
  { name: 'DEDUPE_MAX_KEYS', default: '100000', description: 'Size bound of the memory state store: most players (partitions) remembered.' },
  { name: 'DEAD_LETTER_FILE', default: 'dead-letters.jsonl', description: 'JSON Lines file of events that failed permanently (STATE_STORE=memory; cloudsave and redis keep them in the store).' },
  { name: 'DEAD_LETTER_RETENTION_HOURS', default: '336', description: 'How long a dead letter is kept in the state store (cloudsave, redis) before it is dropped (default 14 days; at most 500 are kept).' },
  { name: 'EVENT_DEADLINE_MS', default: '25000', description: 'Time budget of one event (all its actions and retries).' },
  { name: 'SHUTDOWN_GRACE_MS', default: '20000', description: 'On SIGTERM, how long calls in flight may take to finish.' },
  { name: 'AGS_TIMEOUT_MS', default: '10000', description: 'Timeout of one HTTP attempt to AGS.' },
  { name: 'AGS_MAX_ATTEMPTS', default: '4', description: 'Attempts per AGS call (retries of 429/5xx/timeouts).' },
  { name: 'GRPC_MAX_CONCURRENT_STREAMS', default: '100', description: 'Calls one gRPC (HTTP/2) connection may have in flight; more are refused until one ends (the sidecar waits).' },
  { name: 'GRPC_MAX_MESSAGE_BYTES', default: '4194304', description: 'Largest event message accepted, bytes; larger ones answer RESOURCE_EXHAUSTED.' },
  { name: 'LOG_LEVEL', default: 'info', description: 'trace, debug, info, warn, error, fatal or silent.' },
  { name: 'LOG_PAYLOADS', default: 'false', description: 'Log each event payload at debug level, with personal fields masked.' },
  { name: 'ENABLE_HEALTH_CHECK', default: 'true', description: 'Serve grpc.health.v1.Health.' },
  { name: 'ENABLE_REFLECTION', default: 'true', description: 'Serve gRPC server reflection (v1alpha and v1); the sidecar needs it.' },
  { name: 'ENABLE_PROMETHEUS', default: 'true', description: 'Serve Prometheus metrics.' },
  { name: 'PROMETHEUS_PORT', default: '8080', description: 'Metrics port.' },
  { name: 'PROMETHEUS_ENDPOINT', default: '/metrics', description: 'Metrics path.' },
  { name: 'PROMETHEUS_PREFIX', default: '', description: 'Prefix of the Node process/runtime metrics.' },
  { name: 'ENABLE_ZIPKIN', default: 'true', description: 'Export traces to Zipkin when OTEL_EXPORTER_ZIPKIN_ENDPOINT is set (templates\' switch).' },
  { name: 'OTEL_SERVICE_NAME', default: '', description: 'Service name: extend-app-eh-<lowercased name> (default extend-app-event-handler).' },
  { name: 'OTEL_TRACES_EXPORTER', default: '', description: 'zipkin, otlp, console or none; empty: zipkin if its endpoint is set, else none.' },
  { name: 'OTEL_EXPORTER_ZIPKIN_ENDPOINT', default: '', description: 'Zipkin spans URL, e.g. http://localhost:9411/api/v2/spans.' },
  { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', default: '', description: 'OTLP/HTTP endpoint, e.g. http://localhost:4318.' },
  { name: 'OTEL_EXPORTER_OTLP_HEADERS', default: '', description: 'Headers of OTLP export, key=value pairs separated by commas (read by the OpenTelemetry exporter); their values are redacted wherever displayed.' },
  { name: 'TEST_CLOCK_FILE', default: '', description: 'Tests only: a file holding an ISO 8601 instant, read per event as the clock of rules (limits, windows). Never set it in production.' },
];

/** Values used for the two business variables in dry run when unset, so the quick start works. */
export const DRY_RUN_DEMO_ENV: Readonly<Record<string, string>> = {
  AB_NAMESPACE: 'mygame',
  ITEM_ID_TO_GRANT: 'demo-item-id',
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`${variable}: ${reason}`);
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
  };
  readonly redisUrl?: string;
  /** STATE_STORE resolved: the explicit choice, else redis with REDIS_URL, else cloudsave; memory in dry run. */
  readonly stateStore: 'cloudsave' | 'redis' | 'memory';
  /** STATE_STORE was set explicitly. */
  readonly stateStoreExplicit: boolean;
  readonly dedupeRetentionMs: number;
  readonly dedupeMaxKeys: number;
  /** Lease of a claim, ms (DEDUPE_LEASE_MS); always above `eventDeadlineMs`. */
  readonly dedupeLeaseMs: number;
  /** Start-up wait for Redis, ms (REDIS_CONNECT_TIMEOUT_MS). */
  readonly redisConnectTimeoutMs: number;
  readonly deadLetterFile: string;
  /** How long a dead letter stays in the state store, ms (DEAD_LETTER_RETENTION_HOURS). */
  readonly deadLetterRetentionMs: number;
  readonly eventDeadlineMs: number;
  readonly shutdownGraceMs: number;
  /** gRPC server limits (GRPC_MAX_CONCURRENT_STREAMS, GRPC_MAX_MESSAGE_BYTES). */
  readonly grpc: { readonly maxConcurrentStreams: number; readonly maxReceiveMessageBytes: number };
  readonly logLevel: string;
  readonly logPayloads: boolean;
  readonly health: boolean;
  readonly reflection: boolean;
  readonly prometheus: { readonly enabled: boolean; readonly port: number; readonly path: string; readonly prefix: string };
  readonly tracing: {
    readonly exporter: 'zipkin' | 'otlp' | 'console' | 'none';
    readonly serviceName: string;
    readonly zipkinEndpoint: string;
    readonly otlpEndpoint: string;
  };
  /** The environment rules see (`${env.X}`): the process env plus dry-run demo values. */
  readonly rulesEnv: Readonly<Record<string, string | undefined>>;
}

type Env = Readonly<Record<string, string | undefined>>;

function str(env: Env, name: string): string {
  const v = env[name];
  if (v !== undefined && v !== '') return v;
  return ENV_VARS.find((e) => e.name === name)?.default ?? '';
}

function bool(env: Env, name: string): boolean {
  const v = str(env, name).trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `"${env[name]}" is not a boolean: use true or false`);
}

function int(env: Env, name: string, min = 0): number {
  const raw = str(env, name);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(name, `"${raw}" is not an integer >= ${min}`);
  return n;
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
 * The variables that say "talk to AGS": all unset is a dry run; one set needs {@link AGS_REQUIRED}.
 * AB_NAMESPACE alone is no such sign: a dry run uses it for its plans (with a demo default).
 */
export const AGS_VARIABLES = ['AB_BASE_URL', 'AB_CLIENT_ID', 'AB_CLIENT_SECRET'] as const;
/** What a live run needs besides AB_BASE_URL (which defaults to the templates' https://test.accelbyte.io). */
export const AGS_REQUIRED = ['AB_CLIENT_ID', 'AB_CLIENT_SECRET', 'AB_NAMESPACE'] as const;

/**
 * Dry run, or the live AGS settings. Dry run only when asked (`DRY_RUN=true`) or when no AGS
 * variable is set at all; a partial configuration (an id without its secret, a base URL without
 * credentials) is a {@link ConfigError} naming every missing variable, never a silent dry run.
 */
function agsMode(env: Env, dryRunFlag: boolean): { dryRun: boolean; dryRunReason?: string } {
  if (dryRunFlag) return { dryRun: true, dryRunReason: 'DRY_RUN=true' };
  const set = AGS_VARIABLES.filter((n) => (env[n] ?? '') !== '');
  if (set.length === 0) return { dryRun: true, dryRunReason: `no AGS credential is set (${AGS_VARIABLES.join(', ')})` };
  const missing = AGS_REQUIRED.filter((n) => (env[n] ?? '') === '');
  if (missing.length > 0) {
    throw new ConfigError(
      missing.join(', '),
      `${missing.length === 1 ? 'is' : 'are'} missing while ${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set: a live run needs ${AGS_REQUIRED.join(', ')} (set the missing ones; for a dry run unset ${AGS_VARIABLES.join(', ')} or set DRY_RUN=true)`,
    );
  }
  const problem = namespaceProblem(env.AB_NAMESPACE ?? '');
  if (problem !== undefined) throw new ConfigError('AB_NAMESPACE', problem);
  return { dryRun: false };
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

export function loadConfig(env: Env): Config {
  const clientId = str(env, 'AB_CLIENT_ID');
  const clientSecret = str(env, 'AB_CLIENT_SECRET');
  const { dryRun, dryRunReason } = agsMode(env, bool(env, 'DRY_RUN'));

  // Secrets read here are redacted wherever displayed; credentials are not in the environment rules see.
  registerSecret(clientSecret);
  registerSecret(passwordOf(str(env, 'REDIS_URL')));
  registerSecret(passwordOf(str(env, 'OTEL_EXPORTER_OTLP_ENDPOINT')));
  registerSecret(passwordOf(str(env, 'OTEL_EXPORTER_ZIPKIN_ENDPOINT')));
  for (const pair of str(env, 'OTEL_EXPORTER_OTLP_HEADERS').split(',')) registerSecret(headerValueOf(pair));
  const rulesEnv: Record<string, string | undefined> = { ...env };
  for (const name of Object.keys(rulesEnv)) if (forbiddenEnvReason(name) !== undefined) delete rulesEnv[name];
  const demoEnv: string[] = [];
  if (dryRun) {
    for (const [k, v] of Object.entries(DRY_RUN_DEMO_ENV)) {
      if (!rulesEnv[k]) {
        rulesEnv[k] = v;
        demoEnv.push(`${k}=${v}`);
      }
    }
  }

  const exporterRaw = str(env, 'OTEL_TRACES_EXPORTER').toLowerCase();
  const zipkinEndpoint = str(env, 'OTEL_EXPORTER_ZIPKIN_ENDPOINT');
  let exporter: Config['tracing']['exporter'];
  if (exporterRaw === '') exporter = zipkinEndpoint && bool(env, 'ENABLE_ZIPKIN') ? 'zipkin' : 'none';
  else if (['zipkin', 'otlp', 'console', 'none'].includes(exporterRaw)) exporter = exporterRaw as Config['tracing']['exporter'];
  else throw new ConfigError('OTEL_TRACES_EXPORTER', `"${exporterRaw}" is not one of zipkin, otlp, console, none`);
  if (exporter === 'zipkin' && !bool(env, 'ENABLE_ZIPKIN')) exporter = 'none';
  if (exporter === 'zipkin' && !zipkinEndpoint) {
    throw new ConfigError('OTEL_EXPORTER_ZIPKIN_ENDPOINT', 'is required when OTEL_TRACES_EXPORTER=zipkin');
  }
  const otelName = str(env, 'OTEL_SERVICE_NAME');

  const events = str(env, 'EVENTS').trim().toLowerCase();
  if (events !== '' && events !== 'all') throw new ConfigError('EVENTS', `"${events}" is not supported: leave it empty or set "all"`);

  const redisUrl = str(env, 'REDIS_URL');
  const stateStoreRaw = str(env, 'STATE_STORE').trim().toLowerCase();
  if (stateStoreRaw !== '' && !['cloudsave', 'redis', 'memory'].includes(stateStoreRaw)) {
    throw new ConfigError('STATE_STORE', `"${stateStoreRaw}" is not one of cloudsave, redis, memory`);
  }
  if (stateStoreRaw === 'redis' && !redisUrl) throw new ConfigError('STATE_STORE', 'redis needs REDIS_URL');
  const stateStore = (stateStoreRaw || (dryRun ? 'memory' : redisUrl ? 'redis' : 'cloudsave')) as Config['stateStore'];
  const eventDeadlineMs = int(env, 'EVENT_DEADLINE_MS', 1);
  const dedupeLeaseMs = int(env, 'DEDUPE_LEASE_MS', 1);
  if (dedupeLeaseMs <= eventDeadlineMs) {
    // a claim expiring under a live holder would let another replica run the action too
    throw new ConfigError('DEDUPE_LEASE_MS', `${dedupeLeaseMs} must be greater than EVENT_DEADLINE_MS (${eventDeadlineMs}), or a slow event's claim expires while it runs`);
  }
  return {
    port: int(env, 'PORT'),
    publisherPort: int(env, 'ASYNC_MESSAGING_PUBLISHER_GRPC_PORT', 1),
    protoDirs: str(env, 'PROTO_DIR')
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean),
    rulesFile: str(env, 'RULES_FILE'),
    actionsDir: str(env, 'ACTIONS_DIR'),
    rulesWatch: bool(env, 'RULES_WATCH'),
    serveAllEvents: events === 'all',
    dryRun,
    ...(dryRunReason ? { dryRunReason } : {}),
    demoEnv,
    ags: {
      baseUrl: str(env, 'AB_BASE_URL').replace(/\/+$/, ''),
      clientId,
      clientSecret,
      namespace: rulesEnv.AB_NAMESPACE ?? '',
      timeoutMs: int(env, 'AGS_TIMEOUT_MS', 1),
      maxAttempts: int(env, 'AGS_MAX_ATTEMPTS', 1),
    },
    ...(redisUrl ? { redisUrl } : {}),
    stateStore,
    stateStoreExplicit: stateStoreRaw !== '',
    dedupeRetentionMs: int(env, 'DEDUPE_RETENTION_HOURS', 1) * 3_600_000,
    dedupeMaxKeys: int(env, 'DEDUPE_MAX_KEYS', 1),
    dedupeLeaseMs,
    redisConnectTimeoutMs: int(env, 'REDIS_CONNECT_TIMEOUT_MS', 1),
    deadLetterFile: str(env, 'DEAD_LETTER_FILE'),
    deadLetterRetentionMs: int(env, 'DEAD_LETTER_RETENTION_HOURS', 1) * 3_600_000,
    eventDeadlineMs,
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS'),
    grpc: { maxConcurrentStreams: int(env, 'GRPC_MAX_CONCURRENT_STREAMS', 1), maxReceiveMessageBytes: int(env, 'GRPC_MAX_MESSAGE_BYTES', 1) },
    logLevel: str(env, 'LOG_LEVEL'),
    logPayloads: bool(env, 'LOG_PAYLOADS'),
    health: bool(env, 'ENABLE_HEALTH_CHECK'),
    reflection: bool(env, 'ENABLE_REFLECTION'),
    prometheus: {
      enabled: bool(env, 'ENABLE_PROMETHEUS'),
      port: int(env, 'PROMETHEUS_PORT'),
      path: str(env, 'PROMETHEUS_ENDPOINT'),
      prefix: str(env, 'PROMETHEUS_PREFIX'),
    },
    tracing: {
      exporter,
      serviceName: otelName ? `extend-app-eh-${otelName.toLowerCase()}` : 'extend-app-event-handler',
      zipkinEndpoint,
      otlpEndpoint: str(env, 'OTEL_EXPORTER_OTLP_ENDPOINT'),
    },
    rulesEnv,
    ...(str(env, 'TEST_CLOCK_FILE') ? { testClockFile: str(env, 'TEST_CLOCK_FILE') } : {}),
  };
}
