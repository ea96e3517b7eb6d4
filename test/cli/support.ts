/**
 * Running the commands in this process (src/cli/commands.ts's runCli, as the
 * bin does), the real bin (`node dist/cli/index.js`) and the real server
 * (`node dist/main.js`) as child processes, in temp directories. The
 * integration project builds dist/ when it is stale before these files run
 * (test/support/build-setup.ts), with `npm test` as with `npx vitest run test/cli`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { runCli } from '../../src/cli/commands.js';
import { redacting } from '../../src/cli/io.js';
import { clearSecrets } from '../../src/telemetry/redact.js';
import { REPO_ROOT } from '../support/prereq.js';
import { baseChildEnv } from '../support/child-env.js';

export const BIN = resolve(REPO_ROOT, 'dist/cli/index.js');
export const MAIN = resolve(REPO_ROOT, 'dist/main.js');
export const PROTO_DIR = FIXTURE_PROTO_DIR;

export function assertBuilt(): void {
  if (!existsSync(BIN) || !existsSync(MAIN)) throw new Error(`${BIN} is missing: run "npm run build" first (npm test does it)`);
}

/** A clean environment: nothing of the developer's AGS settings leaks into the child; the run's TZ does (test/support/child-env.ts). */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { ...baseChildEnv(), PROTO_DIR, LOG_LEVEL: 'info', NO_COLOR: '1' };
  return { ...env, ...extra };
}

import { workspace as sharedWorkspace } from '../support/workspace.js';
import type { Workspace } from '../support/workspace.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';

export type { Workspace };

export function workspace(): Workspace {
  return sharedWorkspace('eer-cli-');
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `extend-event-rules <args>` to completion as a real process (`node dist/cli/index.js`).
 * Each test file keeps a few of these, one per command family, to prove the bin
 * itself; the other cases use {@link runCommand}.
 */
export function runBin(args: string[], opts: { cwd: string; env?: Record<string, string>; stdin?: string }): Promise<RunResult> {
  return runBinAt(BIN, args, opts);
}

/** Runs the bin at `bin` (e.g. in a copy of the project) to completion. */
export function runBinAt(bin: string, args: string[], opts: { cwd: string; env?: Record<string, string>; stdin?: string }): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: opts.cwd, env: childEnv(opts.env ?? {}), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

/**
 * The commands a runner process runs (see {@link runCommandsAt}): each is read
 * from its stdin as JSON `[{ args, stdin? }]`; the results go as JSON to fd 3,
 * so what a command writes to the process's own stdout or stderr stays apart.
 */
const COMMANDS_RUNNER = `
import { PassThrough, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { createWriteStream } from 'node:fs';
const root = process.argv[1];
const at = (f) => import(pathToFileURL(join(root, 'dist', f)).href);
const [{ runCli }, { redacting }, { clearSecrets }] = await Promise.all([at('cli/commands.js'), at('cli/io.js'), at('telemetry/redact.js')]);
let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const run of JSON.parse(input)) {
  const text = { stdout: '', stderr: '' };
  const sink = (key) => redacting(new Writable({ decodeStrings: false, write(c, _e, cb) { text[key] += typeof c === 'string' ? c : Buffer.from(c).toString('utf8'); cb(); } }));
  const stdout = sink('stdout');
  const stderr = sink('stderr');
  const stdin = new PassThrough();
  stdin.end(run.stdin ?? '');
  clearSecrets();
  const code = await runCli(run.args, { stdout, stderr, stdin });
  stdout.end();
  stderr.end();
  await Promise.all([finished(stdout), finished(stderr)]);
  results.push({ code, ...text });
}
const out = createWriteStream('', { fd: 3 });
out.end(JSON.stringify(results));
await finished(out);
`;

/**
 * Runs several `extend-event-rules` commands one after the other in ONE child
 * process of the built project at `root` (its `dist/cli/commands.js` runCli,
 * with the redacting streams, as its bin runs each; no secret registered
 * before each), in `opts.cwd` with {@link childEnv}: the results of
 * `runBinAt(<root>/dist/cli/index.js, args)` for each, for one node start-up
 * and one loading of the modules instead of one per command (about 0.6 CPU s
 * each). For commands whose claim is their output in a copy of the project;
 * keep a {@link runBinAt} of that project to prove its bin. Output written
 * outside the commands' streams is returned as `stray` (the runner's stdout and stderr).
 */
export async function runCommandsAt(root: string, runs: { args: string[]; stdin?: string }[], opts: { cwd: string; env?: Record<string, string> }): Promise<{ results: RunResult[]; stray: string }> {
  const child = await new Promise<RunResult & { results: string }>((resolvePromise, reject) => {
    const proc = spawn(process.execPath, ['--input-type=module', '-e', COMMANDS_RUNNER, root], { cwd: opts.cwd, env: childEnv(opts.env ?? {}), stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let results = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    (proc.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (results += d.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => resolvePromise({ code, stdout, stderr, results }));
    proc.stdin.end(JSON.stringify(runs));
  });
  if (child.code !== 0) throw new Error(`the commands runner exited ${String(child.code)}: ${child.stderr}${child.stdout}`);
  return { results: JSON.parse(child.results) as RunResult[], stray: `${child.stdout}${child.stderr}` };
}

/** Polls until `check` returns a value (test/support/wait.ts). */
export { waitFor } from '../support/wait.js';
import { waitFor } from '../support/wait.js';

export interface LogLine {
  readonly msg?: string;
  readonly [key: string]: unknown;
}

export interface RunningServer {
  readonly port: number;
  readonly metricsPort: number;
  readonly child: ChildProcess;
  /** Every JSON line the server wrote on stdout so far. */
  lines(): LogLine[];
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `node dist/main.js` (dry run: no AGS credentials) on free ports and waits until it serves. */
export async function startServer(cwd: string, env: Record<string, string>): Promise<RunningServer> {
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: childEnv({ PORT: '0', PROMETHEUS_PORT: '0', RULES_WATCH: 'false', DEAD_LETTER_FILE: join(cwd, 'dead-letters.jsonl'), ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const lines = (): LogLine[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  const server = {
    child,
    lines,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  try {
    const ready = await waitFor('the server to listen', () => {
      if (child.exitCode !== null) throw new Error(`the server exited ${child.exitCode}: ${err}${out}`);
      return lines().find((l) => typeof l.metricsPort === 'number' && typeof l.port === 'number');
    });
    return { ...server, port: ready.port as number, metricsPort: ready.metricsPort as number };
  } catch (e) {
    await server.stop();
    throw e;
  }
}

let commandQueue: Promise<unknown> = Promise.resolve();

/**
 * Runs `extend-event-rules <args>` in this process, as the bin does (runCli
 * with redacting stdout/stderr, stdin a pipe holding `opts.stdin`): in `opts.cwd`,
 * with the environment {@link childEnv} gives the bin (the test process's own
 * variables are set aside meanwhile), no secret registered before. The same
 * exit code, stdout and stderr as {@link runBin}, without starting node.
 * Calls are serialised (cwd and env are the process's); the vitest pool must
 * be `forks` (process.chdir).
 */
export function runCommand(args: string[], opts: { cwd: string; env?: Record<string, string>; stdin?: string }): Promise<RunResult> {
  const run = commandQueue.then(() => runCommandNow(args, opts));
  commandQueue = run.catch(() => undefined);
  return run;
}

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: unknown, _encoding, callback) {
      text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      callback();
    },
  });
  return { stream, text: () => text };
}

async function runCommandNow(args: string[], opts: { cwd: string; env?: Record<string, string>; stdin?: string }): Promise<RunResult> {
  const savedEnv = { ...process.env };
  const savedCwd = process.cwd();
  const out = capture();
  const err = capture();
  const stdout = redacting(out.stream);
  const stderr = redacting(err.stream);
  const stdin = new PassThrough();
  stdin.end(opts.stdin ?? '');
  const env = childEnv(opts.env ?? {}); // read before the test process's variables (TZ among them) are set aside
  for (const key of Object.keys(process.env)) if (!key.startsWith('VITEST')) delete process.env[key];
  Object.assign(process.env, env);
  clearSecrets();
  process.chdir(opts.cwd);
  try {
    const code = await runCli(args, { stdout, stderr, stdin });
    stdout.end();
    stderr.end();
    await Promise.all([finished(stdout), finished(stderr)]);
    return { code, stdout: out.text(), stderr: err.text() };
  } finally {
    process.chdir(savedCwd);
    clearSecrets();
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  }
}
