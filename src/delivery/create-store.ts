/**
 * Picks the idempotency store: Redis when a URL is given (several replicas),
 * else in memory. The Redis client (ioredis) is imported only then.
 */
import type { Logger } from 'pino';
import { MemoryDedupeStore } from './memory-store.js';
import type { DedupeStore } from './store.js';

export interface CreateStoreOptions {
  /** `REDIS_URL`. Absent or empty: the in-memory store (one replica only). */
  readonly redisUrl?: string;
  /** Key prefix in Redis. Default: `eer:`. */
  readonly keyPrefix?: string;
  /** Size bound of the in-memory store. Default: 100000. */
  readonly maxKeys?: number;
  /** For Redis connection losses and recoveries. Default: none. */
  readonly logger?: Logger;
  /** Redis: wait this long for it to answer, else close and reject (fail fast at start). Absent: do not wait. */
  readonly connectTimeoutMs?: number;
}

export async function createStore(options: CreateStoreOptions = {}): Promise<DedupeStore> {
  if (options.redisUrl) {
    const { RedisDedupeStore } = await import('./redis-store.js');
    const store = new RedisDedupeStore({
      url: options.redisUrl,
      ...(options.keyPrefix !== undefined ? { keyPrefix: options.keyPrefix } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    if (options.connectTimeoutMs !== undefined) {
      try {
        await store.ready(options.connectTimeoutMs);
      } catch (error) {
        await store.close();
        throw error;
      }
    }
    return store;
  }
  return new MemoryDedupeStore(options.maxKeys !== undefined ? { maxKeys: options.maxKeys } : {});
}
