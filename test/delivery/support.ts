/** Helpers of the delivery tests: a real redis-server child process, polling, test actions. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { ActionDefinition, ActionContext, ActionResult } from '../../src/actions/types.js';
import { ActionRegistry } from '../../src/actions/registry.js';

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

/** A redis-server on a loopback port, no persistence. `stop()` then `start()` again on the same port. */
export class RedisProcess {
  #child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.#child = child;
    let exited = false;
    child.once('exit', () => (exited = true));
    await waitFor(async () => {
      if (exited) throw new Error(`redis-server on port ${this.port} exited at start`);
      return ping(this.port);
    });
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  static async start(): Promise<RedisProcess> {
    const redis = new RedisProcess(await freePort());
    await redis.start();
    return redis;
  }
}

/** A pino logger whose lines are kept as parsed objects. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** What a test action does on one call: succeed, or throw an error. */
export type Behaviour = (call: { params: Record<string, unknown>; ctx: ActionContext }) => Promise<ActionResult> | ActionResult;

export class TransientError extends Error {
  override readonly name = 'TransientError';
  readonly retriable = true;
}
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  readonly retriable = false;
  constructor(
    message: string,
    readonly status = 400,
    readonly errorCode: number | string = 20002,
  ) {
    super(message);
  }
}

/**
 * A recording action: every execute is pushed to `calls`; `next` behaviours are
 * consumed in order (then it succeeds).
 */
export function recordingAction(name: string): ActionDefinition & { calls: { key: string; params: Record<string, unknown> }[]; next: Behaviour[] } {
  const calls: { key: string; params: Record<string, unknown> }[] = [];
  const next: Behaviour[] = [];
  return {
    name,
    description: `test action ${name}`,
    params: { type: 'object' },
    usesAgs: false,
    calls,
    next,
    normalize(params) {
      if (params.required === '') throw new PermanentError('parameter "required" is empty');
      return params;
    },
    plan(params) {
      return [{ operation: name, method: 'POST', path: `/test/${name}`, body: params }];
    },
    async execute(params, ctx) {
      calls.push({ key: ctx.idempotencyKey, params });
      const behaviour = next.shift();
      if (behaviour) return behaviour({ params, ctx });
      return { summary: `${name} done` };
    },
  };
}

export function registryOf(...actions: ActionDefinition[]): ActionRegistry {
  const registry = new ActionRegistry();
  for (const a of actions) registry.register(a);
  return registry;
}
