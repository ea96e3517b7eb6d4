/**
 * Helpers of the observability tests (issue 6): a gRPC call carrying
 * metadata (trace headers), Prometheus text parsing, and a log sink for an
 * in-process app.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { context, propagation, trace } from '@opentelemetry/api';
import { DIST_MAIN, PROTO_DIR, RULES_FILE, callOnce, tempDir, waitUntil } from '../e2e/support.js';
import type { CallResult, Encoded } from '../e2e/support.js';
import { baseChildEnv } from '../support/child-env.js';

/**
 * Forgets the OpenTelemetry globals (tracer provider, context manager, propagator) that an earlier file of this
 * worker registered: the integration project reuses a worker's modules (vitest.config.ts, isolate: false), and a
 * global already set is not replaced, so `startTracing` would leave this file's spans to the earlier provider.
 * Call it before tracing starts in this process and after it is shut down: as in a fresh process.
 */
export function resetTracingGlobals(): void {
  trace.disable();
  context.disable();
  propagation.disable();
}

/** One unary call with raw bytes and the given metadata (e.g. `traceparent`, B3 headers). */
export function callWithMetadata(client: grpc.Client, e: Encoded, headers: Readonly<Record<string, string>> = {}, timeoutMs = 30_000): Promise<CallResult> {
  return callOnce(client, e, timeoutMs, headers);
}

/** One sample line of Prometheus text. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Every sample of a Prometheus text exposition (comments skipped), label values unescaped. */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (const l of (m[2] ?? '').matchAll(labelRe)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels are exactly `labels` (0 when absent). */
export function exactValue(text: string, name: string, labels: Readonly<Record<string, string>>): number {
  const want = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
  const found = parseSamples(text).filter(
    (s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b))) === want,
  );
  if (found.length > 1) throw new Error(`${name}${want}: ${found.length} samples`);
  return found[0]?.value ?? 0;
}

/** A pino destination that keeps every JSON line, for an app started in-process. */
export class LogSink {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];

  write(msg: string): void {
    for (const line of msg.split('\n')) {
      if (line.trim() === '') continue;
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  }
}

/** The built app as a child process, every byte of its stdout and stderr kept as written. */
export interface RawApp {
  readonly child: ChildProcess;
  /** `127.0.0.1:<port>`: the port the app bound (it is given PORT=0), read from its start-up line; throws before that line. */
  readonly address: string;
  /** All stdout so far, unparsed. */
  stdout(): string;
  /** All stderr so far. */
  stderr(): string;
  /** stdout lines parsed as JSON (a line that is not JSON fails the test). */
  lines(): Record<string, unknown>[];
  /** Resolves with the exit code when the process exits. */
  readonly exited: Promise<number | null>;
  /** SIGTERM (SIGKILL after 10 s) and wait for the exit. */
  stop(): Promise<number | null>;
}

const rawApps = new Set<RawApp>();

/**
 * Spawns `node dist/main.js` in an empty temporary directory with the
 * shipped protos and rules and `env` on top; keeps stdout and stderr raw.
 * Does not wait for anything: see {@link waitServing}.
 */
export function spawnRawApp(env: Readonly<Record<string, string>>): Promise<RawApp> {
  const cwd = tempDir('eer-telemetry-app-');
  const child = spawn(
    process.execPath,
    [DIST_MAIN],
    {
      cwd,
      env: {
        ...baseChildEnv(),
        PORT: '0', // bound by the app itself: no window in which another process takes a port chosen here
        PROMETHEUS_PORT: '0',
        PROTO_DIR,
        RULES_FILE,
        RULES_WATCH: 'false',
        DEAD_LETTER_FILE: join(cwd, 'dead-letters.jsonl'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((res) => child.once('close', (code) => res(code)));
  const app: RawApp = {
    child,
    get address() {
      const line = out.split('\n').slice(0, -1).find((l) => l.includes('"msg":"serving ')); // complete lines only
      const port = line === undefined ? undefined : (JSON.parse(line) as { port?: unknown }).port;
      if (typeof port !== 'number' || port === 0) throw new Error(`the app has not logged its port yet (stderr: ${err.slice(-300)})`);
      return `127.0.0.1:${port}`;
    },
    stdout: () => out,
    stderr: () => err,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rawApps.delete(app);
      return await exited;
    },
  };
  rawApps.add(app);
  return Promise.resolve(app);
}

/** Waits for the app's start-up line (`serving N events on :port`); fails if it exits first. */
export async function waitServing(app: RawApp): Promise<void> {
  await waitUntil(`the app serves (stderr: ${app.stderr().slice(-300)})`, () => {
    if (app.child.exitCode !== null) throw new Error(`the app exited during start-up: ${app.stderr().slice(-1000)}`);
    return /"msg":"serving \d+ events/.test(app.stdout());
  });
}

/** Stops every app started by {@link spawnRawApp}. */
export async function stopRawApps(): Promise<void> {
  await Promise.all([...rawApps].map((a) => a.stop()));
}
