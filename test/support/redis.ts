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
export async function redisPing(port: number): Promise<boolean> {
  return (await redisAsk(port, 'PING', (answer) => (answer.includes('\r\n') ? answer.startsWith('+PONG') : undefined))) ?? false;
}

/** The process id of the redis-server answering on `port` (`INFO server`); -1 when it answers an error, undefined when none answers. */
export function redisProcessId(port: number): Promise<number | undefined> {
  return redisAsk(port, 'INFO server', (answer) => {
    const m = /\r\nprocess_id:(\d+)\r\n/.exec(answer);
    if (m) return Number(m[1]);
    return answer.startsWith('-') && answer.includes('\r\n') ? -1 : undefined; // an error (-LOADING...): no process id yet
  });
}

/** Sends one inline command; resolves with `read(answer so far)` once defined, undefined on error, close or 1 s without it. */
function redisAsk<T>(port: number, command: string, read: (answer: string) => T | undefined): Promise<T | undefined> {
  return new Promise((res) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const done = (value: T | undefined): void => {
      socket.destroy();
      res(value);
    };
    socket.setTimeout(1000, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (d: Buffer) => {
      answer += d.toString('utf8');
      const value = read(answer);
      if (value !== undefined) done(value);
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

/**
 * Starts a redis-server and waits until it answers PING. redis-server cannot
 * report a port it chose itself, so a free port is picked first; another
 * process (an outgoing connection's ephemeral port) may take it before
 * redis-server binds it: then redis-server exits at once and another free port
 * is tried (up to 5). A port given in `options` is used as is.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisProcess> {
  for (let attempt = 1; ; attempt++) {
    const redis = redisOn(options.port ?? (await freePort()), options);
    try {
      await redis.start();
      return redis;
    } catch (error) {
      if (options.port !== undefined || attempt >= 5 || !(error instanceof RedisExitedAtStart)) throw error;
    }
  }
}

class RedisExitedAtStart extends Error {}

function redisOn(port: number, options: StartRedisOptions): RedisProcess {
  const dir = workspace('eer-redis-').dir;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  if (options.persist) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  else args.push('--appendonly', 'no');
  let child: ChildProcess | undefined;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const c = spawn('redis-server', args, { stdio: 'ignore' });
      child = c;
      running.add(c);
      let exited = false;
      c.once('exit', () => (exited = true));
      const end = Date.now() + 30_000;
      // ours answers: another test's redis-server on a port taken in between would answer PING too (shared state between tests)
      while ((await redisProcessId(port)) !== c.pid || exited) {
        if (exited) {
          running.delete(c);
          throw new RedisExitedAtStart(`redis-server exited at start (port ${port} taken?)`);
        }
        if (Date.now() > end) throw new Error(`redis-server on port ${port} did not answer within 30 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (child) await stopChild(child);
      child = undefined;
    },
  };
}

/** Stops every redis-server started here (for afterEach / afterAll). */
export async function stopAllRedis(): Promise<void> {
  await Promise.all([...running].map((c) => stopChild(c)));
}
