/**
 * End-to-end helpers: the real app as a child process (`node dist/main.js`),
 * a real `redis-server`, a real gRPC sender that retries UNAVAILABLE like the
 * Extend sidecar, and events encoded with the project's own protos.
 *
 * Every process started here is tracked; call {@link stopAll} in afterEach /
 * afterAll. Nothing sleeps for a fixed time: everything waits for a condition.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog, DecodedEvent, EventService } from '../../src/events/types.js';
import { REPO_ROOT } from '../support/prereq.js';
import { freePort } from '../support/workspace.js';
import { fileRandom } from '../support/seed.js';
import { stopAllRedis } from '../support/redis.js';
import { baseChildEnv } from '../support/child-env.js';
import type { Prereq } from '../support/prereq.js';
import { healthCheck, healthClient } from '../server/support.js';
import { FIXTURE_PROTO_DIR, FIXTURE_RULES_FILE } from '../support/app-fixture.js';
import { liveEnv, useAgsStandIn } from '../support/ags-fixture.js';
import type { AgsStandIn, AgsStandInOptions } from '../support/ags-stand-in.js';

export const DIST_MAIN = resolve(REPO_ROOT, 'dist', 'main.js');
export const DIST_CLI = resolve(REPO_ROOT, 'dist', 'cli', 'index.js');
export const PROTO_DIR = FIXTURE_PROTO_DIR;
export const RULES_FILE = FIXTURE_RULES_FILE;

export const LOGIN_SERVICE = 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService';
export const THIRD_PARTY_SERVICE = 'accelbyte.iam.account.v1.UserAuthenticationUserThirdPartyLoggedInService';

/** The app must be built (the integration project builds a stale dist/ before its files run: test/support/build-setup.ts). */
export function builtApp(): Prereq {
  return { ok: existsSync(DIST_MAIN) && existsSync(DIST_CLI), reason: `${DIST_MAIN} not found: run npm run build first (npm test does)` };
}

/** Polls `predicate` until it holds (test/support/wait.ts). */
export { waitFor, waitUntil } from '../support/wait.js';
import { waitUntil } from '../support/wait.js';

export { freePort };

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A rules file with one rule, `on-login`, on userLoggedIn doing `action` (YAML of one `do` item): its RULES_FILE. */
export function onLoginRule(action: string): Record<string, string> {
  const rules = join(tempDir('eer-e2e-rules-'), 'rules.yaml');
  writeFileSync(rules, `version: 1\nrules:\n  - name: on-login\n    on: userLoggedIn\n    do:\n      - ${action}\n`);
  return { RULES_FILE: rules };
}

/**
 * A rules file with one rule per entry of `actions` (a name -> the YAML of one `do` item), each on userLoggedIn: the rule
 * `on-<name>` takes only the logins whose event id starts with `<name>-`. One app then serves the tests of several
 * actions, each sending events of its own: its RULES_FILE.
 */
export function onLoginRules(actions: Readonly<Record<string, string>>): Record<string, string> {
  const rules = join(tempDir('eer-e2e-rules-'), 'rules.yaml');
  const each = Object.entries(actions).map(([name, action]) => `  - name: on-${name}\n    on: userLoggedIn\n    when: { startsWith: [{ var: id }, "${name}-"] }\n    do:\n      - ${action}\n`);
  writeFileSync(rules, `version: 1\nrules:\n${each.join('')}`);
  return { RULES_FILE: rules };
}

/** Calls of `operation` for `user` that took effect at the stand-in (`applied`), whatever was answered. */
export function appliedCalls(ags: AgsStandIn, operation: string, user: string): number {
  return ags.serviceRequests().filter((r) => r.operation === operation && r.applied === true && r.path.includes(`/users/${user}/`)).length;
}

/** A 32-hex AGS user id. */
export function userId(): string {
  return randomBytes(16).toString('hex');
}

// ---------------------------------------------------------------- processes

const running = new Set<ChildProcess>();

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const closed = new WeakMap<ChildProcess, Promise<Exit>>();

/**
 * Resolves once the child has exited AND its stdout and stderr are read to the end ('close', not 'exit': at 'exit' the
 * last lines may still be in the pipe, and a test reading them then races the event loop). Call it right after spawning.
 */
function exitOf(child: ChildProcess): Promise<Exit> {
  let done = closed.get(child);
  if (!done) {
    done = new Promise((res) => child.once('close', (code: number | null, signal: NodeJS.Signals | null) => res({ code, signal })));
    closed.set(child, done);
  }
  return done;
}

/** Stops one child: SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<Exit> {
  const exited = exitOf(child);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const exit = await exited;
    clearTimeout(timer);
    running.delete(child);
    return exit;
  }
  running.delete(child);
  return exited;
}

/** Stops every process started by these helpers. */
export async function stopAll(): Promise<void> {
  await Promise.all([...[...running].map((c) => stopChild(c)), stopAllRedis()]);
}

export interface AppProcess {
  readonly child: ChildProcess;
  /** The gRPC port the app bound (it is given PORT=0): read from its start-up line; throws before that line. */
  readonly port: number;
  /** The metrics port the app bound (PROMETHEUS_PORT=0), likewise. */
  readonly metricsPort: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** Parsed JSON log lines from stdout so far. */
  readonly logs: Record<string, unknown>[];
  /** Raw stderr so far. */
  stderr(): string;
  /** Waits for a log line whose `msg` matches (and that satisfies `filter`). */
  waitForLog(msg: RegExp, filter?: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /**
   * Waits until at least `count` log lines match, then returns all lines that match. The app writes a line before it
   * answers the call that caused it, but its stdout reaches the test through a pipe after the gRPC answer may have:
   * count lines with this, never with `logsMatching` right after a call.
   */
  waitForLogs(msg: RegExp, count: number, timeoutMs?: number): Promise<Record<string, unknown>[]>;
  /** Log lines whose `msg` matches so far (see `waitForLogs` before counting lines a call has just caused). */
  logsMatching(msg: RegExp): Record<string, unknown>[];
  /** Resolves when the process exits. */
  readonly exited: Promise<Exit>;
  /** SIGTERM (SIGKILL after 10 s) and wait for the exit. */
  stop(): Promise<Exit>;
  /** The Prometheus text of the metrics endpoint. */
  metrics(): Promise<string>;
}

export interface StartAppOptions {
  /** Environment of the app (merged over the defaults below; PORT/PROMETHEUS_PORT are picked here). */
  readonly env: Readonly<Record<string, string>>;
  /** Wait for health SERVING. Default: true. */
  readonly waitServing?: boolean;
  /** The app's entry point. Default: {@link DIST_MAIN} (a copy of the project may bring its own). */
  readonly main?: string;
}

/**
 * Spawns `node dist/main.js` in an empty temporary working directory (so no
 * `.env` is read), with the shipped rules and protos, JSON logs on stdout.
 * Resolves once gRPC health says SERVING (unless `waitServing: false`).
 */
export async function startApp(options: StartAppOptions): Promise<AppProcess> {
  const cwd = tempDir('eer-e2e-app-');
  const env: Record<string, string> = {
    ...baseChildEnv(),
    // port 0: the app binds free ports itself and says which in its start-up line (no race with other tests)
    PORT: '0',
    PROMETHEUS_PORT: '0',
    PROTO_DIR: PROTO_DIR,
    RULES_FILE: RULES_FILE,
    RULES_WATCH: 'false',
    DEAD_LETTER_FILE: join(cwd, 'dead-letters.jsonl'),
    LOG_LEVEL: 'info',
    ...options.env,
  };
  const child = spawn(process.execPath, [options.main ?? DIST_MAIN], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line, unparsed: true });
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = exitOf(child);
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });

  const logsMatching = (msg: RegExp): Record<string, unknown>[] => logs.filter((l) => typeof l.msg === 'string' && msg.test(l.msg));
  /** A port from the start-up line `serving N events on :PORT` (its fields `port`, `metricsPort`). */
  const bound = (field: 'port' | 'metricsPort'): number => {
    const line = logsMatching(/^serving \d+ events on :/)[0];
    const value = line?.[field];
    if (typeof value !== 'number' || value === 0) throw new Error(`the app has not logged its ${field} yet (stderr: ${stderr.slice(-300)})`);
    return value;
  };
  const app: AppProcess = {
    child,
    get port() {
      return bound('port');
    },
    get metricsPort() {
      return bound('metricsPort');
    },
    get address() {
      return `127.0.0.1:${bound('port')}`;
    },
    logs,
    stderr: () => stderr,
    logsMatching,
    async waitForLog(msg, filter = () => true, timeoutMs = 20_000) {
      let found: Record<string, unknown> | undefined;
      await waitUntil(`log line ${String(msg)} (stderr: ${stderr.slice(-500)})`, () => {
        found = logsMatching(msg).find(filter);
        return found !== undefined || hasExited;
      }, timeoutMs);
      if (!found) throw new Error(`the app exited before logging ${String(msg)}: ${stderr.slice(-1000)}`);
      return found;
    },
    async waitForLogs(msg, count, timeoutMs = 20_000) {
      await waitUntil(`${count} log line(s) ${String(msg)} (stderr: ${stderr.slice(-500)})`, () => logsMatching(msg).length >= count || hasExited, timeoutMs);
      return logsMatching(msg);
    },
    exited,
    stop: () => stopChild(child),
    async metrics() {
      const res = await fetch(`http://127.0.0.1:${bound('metricsPort')}/metrics`);
      return await res.text();
    },
  };

  if (options.waitServing ?? true) {
    await app.waitForLog(/^serving \d+ events on :/, undefined, 30_000);
    const health = healthClient(app.address);
    try {
      await waitUntil(
        `health SERVING on ${app.address}`,
        async () => {
          if (hasExited) throw new Error(`the app exited during start-up: ${stderr.slice(-1000)}`);
          try {
            return (await healthCheck(health)) === 'SERVING';
          } catch {
            return false;
          }
        },
        30_000,
      );
    } finally {
      health.close();
    }
  }
  return app;
}

/**
 * One app for the tests of a suite that need no process of their own (no kill,
 * no restart, no environment of their own): started by the first test that asks
 * for it, stopped after the suite; {@link stopAll} leaves it running. Its logs
 * keep the lines of earlier tests: a test reading them looks for its own event
 * ids. Call it at collection time, after `useAgsStandIn()` (hooks after the tests
 * run in reverse order: the app stops before the stand-in closes).
 */
export function sharedApp(options: () => StartAppOptions): () => Promise<AppProcess> {
  let app: Promise<AppProcess> | undefined;
  afterAll(async () => {
    const started = await app?.catch(() => undefined);
    app = undefined;
    if (started) await stopChild(started.child);
  });
  return () => {
    app ??= startApp(options()).then((started) => {
      running.delete(started.child);
      return started;
    });
    return app;
  };
}

/** What {@link useLiveApps} gives a suite. */
export interface LiveApps {
  /** The AGS stand-in ({@link useAgsStandIn}: started before the suite, reset after each test unless told otherwise). */
  readonly ags: AgsStandIn;
  /** gRPC clients of the apps, closed with the apps. */
  readonly clients: ReturnType<typeof clientPool>;
  /** The environment of an app pointed at the stand-in ({@link liveEnv}), `extra` over it. */
  readonly env: (extra?: Readonly<Record<string, string>>) => Record<string, string>;
}

/**
 * The set-up of an e2e suite whose apps talk to the AGS stand-in: the stand-in, a client pool, the live
 * environment; the clients are closed and every app started by {@link startApp} stopped after each test
 * (`stop: 'each'`, the default) or after the suite (`stop: 'all'`); a {@link sharedApp} stops after the suite.
 * Call it first in the suite (its hooks then run after the suite's own).
 */
export function useLiveApps(options: AgsStandInOptions = {}, hooks: { readonly stop?: 'each' | 'all'; readonly resetAfterEach?: boolean } = {}): LiveApps {
  const ags = useAgsStandIn(options, hooks.resetAfterEach === undefined ? {} : { resetAfterEach: hooks.resetAfterEach });
  const clients = clientPool();
  const stop = async (): Promise<void> => {
    clients.closeAll();
    await stopAll();
  };
  if ((hooks.stop ?? 'each') === 'each') afterEach(stop);
  else afterAll(stop);
  return { ags, clients, env: (extra = {}) => liveEnv(ags, extra) };
}

/** Reads one counter/gauge sample (sum over label sets matching `labels`) from Prometheus text. */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labelText = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) total += Number(m[3]);
  }
  return total;
}

// ---------------------------------------------------------------- redis

export { startRedis } from '../support/redis.js';
export type { RedisProcess } from '../support/redis.js';

// ---------------------------------------------------------------- events and the sender

let catalogPromise: Promise<Catalog> | undefined;

/** The project's protos, loaded once. */
export function catalog(): Promise<Catalog> {
  catalogPromise ??= loadCatalog({ dirs: [PROTO_DIR] });
  return catalogPromise;
}

export async function service(fullName: string): Promise<EventService> {
  const c = await catalog();
  const found = c.services.find((s) => s.fullName === fullName);
  if (!found) throw new Error(`service ${fullName} is not in ${PROTO_DIR}`);
  return found;
}

/** A login event as AGS sends it. */
export function loginEvent(fields: { id: string; userId: string; namespace?: string; country?: string }): DecodedEvent {
  const namespace = fields.namespace ?? 'mygame';
  return {
    id: fields.id,
    version: 1,
    name: 'userLoggedIn',
    namespace,
    timestamp: '2026-01-01T00:00:00Z',
    clientId: 'game-client',
    userId: fields.userId,
    traceId: 'trace',
    payload: { userAccount: { userId: fields.userId, namespace, country: fields.country ?? 'FR' }, userAuthentication: { platformId: 'steam' } },
  };
}

export interface Encoded {
  readonly path: string;
  readonly bytes: Uint8Array;
}

export async function encode(serviceName: string, event: DecodedEvent): Promise<Encoded> {
  const s = await service(serviceName);
  return { path: s.path, bytes: (await catalog()).codec(s).encode(event) };
}

export interface CallResult {
  readonly code: grpc.status;
  readonly details: string;
}

/** One unary call with raw bytes (the reply must be an Empty), with optional metadata (e.g. `traceparent`, B3 headers). */
export function callOnce(client: grpc.Client, e: Encoded, timeoutMs = 30_000, headers: Readonly<Record<string, string>> = {}): Promise<CallResult> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return new Promise((res) => {
    client.makeUnaryRequest(
      e.path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(e.bytes),
      metadata,
      { deadline: Date.now() + timeoutMs },
      (err) => res(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '' }),
    );
  });
}

export function client(address: string): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure());
}

/** Clients of the apps a test talks to, closed together (in afterEach). */
export function clientPool(): { readonly connect: (app: { readonly address: string }) => grpc.Client; readonly closeAll: () => void } {
  const clients: grpc.Client[] = [];
  return {
    connect: (app) => {
      const c = client(app.address);
      clients.push(c);
      return c;
    },
    closeAll: () => {
      for (const c of clients.splice(0)) c.close();
    },
  };
}

/**
 * Delivers an event until it is answered OK, as the sidecar does: UNAVAILABLE
 * (and DEADLINE_EXCEEDED) are retried with a short backoff, each attempt on
 * `pick()` (which replica takes it); any other code fails the delivery.
 * Returns the number of attempts.
 */
export async function deliverUntilOk(pick: () => grpc.Client, e: Encoded, timeoutMs = 60_000): Promise<{ attempts: number; codes: grpc.status[] }> {
  const until = Date.now() + timeoutMs;
  const codes: grpc.status[] = [];
  for (let attempt = 1; ; attempt++) {
    const r = await callOnce(pick(), e);
    codes.push(r.code);
    if (r.code === grpc.status.OK) return { attempts: attempt, codes };
    if (r.code !== grpc.status.UNAVAILABLE && r.code !== grpc.status.DEADLINE_EXCEEDED) {
      throw new Error(`delivery answered ${grpc.status[r.code]}: ${r.details}`);
    }
    if (Date.now() > until) throw new Error(`delivery not OK after ${attempt} attempts: ${grpc.status[r.code]} ${r.details}`);
    await new Promise((r2) => setTimeout(r2, Math.min(500, 20 * 2 ** Math.min(attempt, 5)) * fileRandom() + 10)); // jitter from the file's seed
  }
}

/** `n` login events, one fresh player each, with ids `<prefix>-<userId>`: the players and the encoded events, in the same order. */
export async function loginEvents(n: number, prefix: string): Promise<{ users: string[]; encoded: Encoded[] }> {
  const users = Array.from({ length: n }, () => userId());
  const encoded = await Promise.all(users.map((u) => encode(LOGIN_SERVICE, loginEvent({ id: `${prefix}-${u}`, userId: u }))));
  return { users, encoded };
}

export interface DeliverAllOptions {
  /** Deliveries in flight at once, as the sidecar's batch. Default: 6. */
  readonly concurrency?: number;
  /**
   * Without it, each event is redelivered on UNAVAILABLE until answered OK ({@link deliverUntilOk}). With it,
   * each event is delivered at most this many times whatever the answer, and failing when none was OK (a
   * permanent failure must not be answered UNAVAILABLE for ever).
   */
  readonly maxDeliveries?: number;
}

/** Delivers every event in `encoded` to the app `c` talks to until each is answered OK (see {@link DeliverAllOptions}). */
export async function deliverAll(c: grpc.Client, encoded: readonly Encoded[], options: DeliverAllOptions = {}): Promise<void> {
  const max = options.maxDeliveries;
  const once = async (e: Encoded): Promise<void> => {
    if (max === undefined) {
      await deliverUntilOk(() => c, e);
      return;
    }
    const codes: grpc.status[] = [];
    for (let i = 0; i < max; i++) {
      const r = await callOnce(c, e);
      codes.push(r.code);
      if (r.code === grpc.status.OK) return;
    }
    throw new Error(`event not answered OK in ${max} deliveries: ${codes.map((x) => grpc.status[x]).join(', ')}`);
  };
  await pool(
    encoded.map((e) => () => once(e)),
    options.concurrency ?? 6,
  );
}

// ---------------------------------------------------------------- the CLI

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `extend-event-rules <args>` to completion with `env` (over PATH, HOME, the run's TZ and PROTO_DIR, the
 * fixture's protos), as an operator runs it beside the server, in `cwd` (default: a new temporary folder).
 * By default in this process (`runCommand` of test/cli/support.ts: the bin's runCli with its cwd, environment
 * and redacting output; calls are serialised), which spares a node start-up per call; `bin: true` starts the
 * real bin (`node dist/cli/index.js`) as a process of its own, for what needs one (two commands at once).
 * The bin itself is proven per command family in test/cli and test/security/secrets.test.ts.
 */
export async function runCli(args: readonly string[], options: { readonly env: Readonly<Record<string, string>>; readonly cwd?: string; readonly bin?: boolean }): Promise<CliResult> {
  const cwd = options.cwd ?? tempDir('eer-e2e-cli-');
  if (!options.bin) {
    const { runCommand } = await import('../cli/support.js');
    return runCommand([...args], { cwd, env: { ...options.env } });
  }
  const child = spawn(process.execPath, [DIST_CLI, ...args], { cwd, env: { ...baseChildEnv(), PROTO_DIR, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('close', (code) => res({ code, stdout, stderr }));
  });
}

/** The dead letters (`dead-letters list --json`) the CLI reads with `env` (the server's environment: its store). */
export async function deadLetters(env: Readonly<Record<string, string>>, cwd?: string): Promise<Record<string, unknown>[]> {
  const r = await runCli(['dead-letters', 'list', '--json'], { env, ...(cwd === undefined ? {} : { cwd }) });
  if (r.code !== 0) throw new Error(`dead-letters list exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

/**
 * The dead letters the CLI reads with `env` that were not in `before` (the list when the test began): those a test
 * sharing its app and store with others has caused, whatever their event.
 */
export async function newDeadLetters(env: Readonly<Record<string, string>>, before: readonly Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
  const seen = new Set(before.map((l) => JSON.stringify(l)));
  return (await deadLetters(env)).filter((l) => !seen.has(JSON.stringify(l)));
}

/** Runs `tasks` with at most `concurrency` at a time; rejects with the first failure once all settled. */
export async function pool<T>(tasks: ReadonlyArray<() => Promise<T>>, concurrency: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  const errors: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      try {
        results[i] = await tasks[i]!();
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, () => worker()));
  if (errors.length > 0) throw errors[0] instanceof Error ? errors[0] : new Error(String(errors[0]));
  return results;
}

/** A copy of `items` in a random order (Fisher-Yates) drawn from the file's seed (`TEST_SEED`, printed: support/seed.ts). */
export function shuffle<T>(items: readonly T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(fileRandom() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
