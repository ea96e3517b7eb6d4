/** Picks the idempotency store: Redis when a URL is given (several replicas), else in memory. */
import type { Logger } from 'pino';
import { MemoryDedupeStore } from './memory-store.js';
import { RedisDedupeStore } from './redis-store.js';
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
}

export function createStore(options: CreateStoreOptions = {}): DedupeStore {
  if (options.redisUrl) {
    return new RedisDedupeStore({
      url: options.redisUrl,
      ...(options.keyPrefix !== undefined ? { keyPrefix: options.keyPrefix } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }
  return new MemoryDedupeStore(options.maxKeys !== undefined ? { maxKeys: options.maxKeys } : {});
}
