/**
 * Redis idempotency store, shared by every replica. Claims are atomic (Lua:
 * get-then-set in one step), releases delete only our own claim (token check in
 * Lua). The client fails fast: with the offline queue off, a command issued
 * while Redis is unreachable rejects at once (or after `commandTimeoutMs`)
 * instead of waiting, and the client reconnects in the background. Every
 * failure surfaces as {@link DedupeStoreUnavailableError}, so the event is
 * redelivered rather than processed without protection (fail closed).
 *
 * Keys: `<prefix>k:<key>` holds `c:<token>` (claimed, TTL = lease), `d`
 * (succeeded) or `x` (dead-lettered), TTL = retention; `<prefix>f:<key>` counts
 * failed deliveries.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DedupeStoreUnavailableError } from './store.js';
import type { ClaimOptions, ClaimResult, DedupeStore, DoneState } from './store.js';

export interface RedisStoreOptions {
  /** `redis://[:password@]host:port[/db]` (`REDIS_URL`). Required. */
  readonly url: string;
  /** Prefix of every key. Default: `eer:`. */
  readonly keyPrefix?: string;
  /** Time to establish a connection, ms. Default: 1000. */
  readonly connectTimeoutMs?: number;
  /** Time a command may take before it rejects, ms. Default: 1000. */
  readonly commandTimeoutMs?: number;
  /** Longest pause between reconnection attempts, ms. Default: 2000. */
  readonly maxReconnectDelayMs?: number;
  /** Where connection losses and recoveries are logged (once per change). Default: none. */
  readonly logger?: Logger;
}

const CLAIM = `
local v = redis.call('GET', KEYS[1])
if (not v) or (v == 'x' and ARGV[3] == '1') then
  redis.call('SET', KEYS[1], 'c:' .. ARGV[1], 'PX', ARGV[2])
  return 'claimed'
end
return v`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const COUNT = `
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n`;

/** The error's message without credentials a URL might carry. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\/\/[^@/\s]*@/g, '//[redacted]@');
}

export class RedisDedupeStore implements DedupeStore {
  readonly kind = 'redis' as const;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #logger: Logger | undefined;
  #healthy = true;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    this.#prefix = options.keyPrefix ?? 'eer:';
    this.#logger = options.logger;
    const maxDelay = options.maxReconnectDelayMs ?? 2000;
    this.#redis = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: options.connectTimeoutMs ?? 1000,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
      enableReadyCheck: true,
    });
    this.#redis.on('error', (error: unknown) => {
      if (this.#healthy && !this.#closed) {
        this.#healthy = false;
        this.#logger?.error({ store: 'redis', reason: reasonOf(error) }, 'idempotency store (redis) unreachable: events are answered UNAVAILABLE until it is back');
      }
    });
    this.#redis.on('ready', () => {
      if (!this.#healthy) this.#logger?.info({ store: 'redis' }, 'idempotency store (redis) reachable again');
      this.#healthy = true;
    });
  }

  /** Resolves when connected (at most `timeoutMs`, default 5000); rejects with {@link DedupeStoreUnavailableError}. */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.#redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#redis.off('ready', onReady);
        reject(new DedupeStoreUnavailableError('redis', 'connect', `not connected after ${timeoutMs} ms`));
      }, timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.#redis.once('ready', onReady);
    });
  }

  async #run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new DedupeStoreUnavailableError('redis', operation, 'the store is closed');
    try {
      return await fn();
    } catch (error) {
      throw new DedupeStoreUnavailableError('redis', operation, reasonOf(error));
    }
  }

  claim(key: string, leaseMs: number, options: ClaimOptions = {}): Promise<ClaimResult> {
    const token = randomUUID();
    return this.#run('claim', async () => {
      const v = (await this.#redis.eval(CLAIM, 1, `${this.#prefix}k:${key}`, token, String(Math.max(1, Math.round(leaseMs))), options.reclaimDeadLettered ? '1' : '0')) as string;
      if (v === 'claimed') return { status: 'claimed', token };
      if (v === 'd') return { status: 'done', state: 'succeeded' };
      if (v === 'x') return { status: 'done', state: 'deadLettered' };
      return { status: 'busy' };
    });
  }

  complete(key: string, retentionMs: number, state: DoneState = 'succeeded'): Promise<void> {
    return this.#run('complete', async () => {
      await this.#redis.set(`${this.#prefix}k:${key}`, state === 'succeeded' ? 'd' : 'x', 'PX', Math.max(1, Math.round(retentionMs)));
    });
  }

  release(key: string, token: string): Promise<void> {
    return this.#run('release', async () => {
      await this.#redis.eval(RELEASE, 1, `${this.#prefix}k:${key}`, `c:${token}`);
    });
  }

  countFailure(key: string, ttlMs: number): Promise<number> {
    return this.#run('countFailure', async () => Number(await this.#redis.eval(COUNT, 1, `${this.#prefix}f:${key}`, String(Math.max(1, Math.round(ttlMs))))));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#redis.status === 'ready') {
      try {
        await this.#redis.quit();
        return;
      } catch {
        // fall through to a hard disconnect
      }
    }
    this.#redis.disconnect();
  }
}
