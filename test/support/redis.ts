/** A real redis-server child process for tests (Debian's `redis-server`), on a loopback port. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { workspace, freePort } from './workspace.js';

export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  /** Stop it (SIGTERM, SIGKILL after 10 s; with persistence on, the data survives a restart). */
  stop(): Promise<void>;
  /** Start it again on the same port and data directory. */
  start(): Promise<void>;
}

export interface StartRedisOptions {
  /** Port to listen on. Default: a free one. */
  readonly port?: number;
  /** Append-only file, fsync always: data survives `stop()` / `start()`. Default: false. */
  readonly persist?: boolean;
}

const running = new Set<ChildProcess>();

/** Answers PING with +PONG? */
export function redisPing(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      res(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      answer += d.toString('utf8');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  running.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((res) => child.once('exit', res));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Starts a redis-server and waits until it answers PING. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const dir = workspace('eer-redis-').dir;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  if (options.persist) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  else args.push('--appendonly', 'no');
  let child: ChildProcess | undefined;
  const redis: RedisProcess = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const c = spawn('redis-server', args, { stdio: 'ignore' });
      child = c;
      running.add(c);
      let exited = false;
      c.once('exit', () => (exited = true));
      const end = Date.now() + 30_000;
      while (!(await redisPing(port))) {
        if (exited) throw new Error(`redis-server exited at start (port ${port})`);
        if (Date.now() > end) throw new Error(`redis-server on port ${port} did not answer PING within 30 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (child) await stopChild(child);
      child = undefined;
    },
  };
  await redis.start();
  return redis;
}

/** Stops every redis-server started here (for afterEach / afterAll). */
export async function stopAllRedis(): Promise<void> {
  await Promise.all([...running].map((c) => stopChild(c)));
}
