/**
 * Redis {@link StateStore}: one hash per partition, `<prefix>s:<namespace>:<userId or ->`,
 * holding the document (`d`, JSON) and its version (`v`, a new random id on
 * every write: never the same twice, even after the key expired). `transact` reads both, runs `update`, and writes with a Lua
 * compare-and-set (the write happens only if `v` is still the one read), so
 * concurrent writers in any replica serialize; a loser re-reads and retries
 * (bounded, jittered).
 *
 * The document this process last wrote to a partition is remembered (frozen,
 * {@link freezeJson}; the most recent {@link RedisStateStoreOptions.cacheSize}
 * partitions): the read asks Redis for the document only if its version is not
 * that one, so a hot partition written by this replica is not parsed again, and
 * its next write serialises only what changed ({@link stringifyJson}).
 *
 * The client fails fast: with the offline queue off, a command issued while
 * Redis is unreachable rejects at once (or after `commandTimeoutMs`) and the
 * client reconnects in the background. Every failure surfaces as
 * {@link StateStoreUnavailableError}, so the event is redelivered rather than
 * processed without the store (fail closed). ioredis is imported lazily (only
 * when this backend is chosen).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { freezeJson, stringifyJson } from './frozen-json.js';
import { GroupCommit } from './group-commit.js';
import { StateStoreUnavailableError, UnreadableStateError } from './state-store.js';
import type { Change, Partition, StateDocument, StateStore, StoreCallOptions } from './state-store.js';

export interface RedisStateStoreOptions {
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
  /** Write attempts of one `transact` under conflicts before it gives up (unavailable). Default: 20. */
  readonly maxAttempts?: number;
  /** Expire a partition this long after its last write, ms (a player gone for longer loses nothing the sections still need). Default: none. */
  readonly ttlMs?: number;
  /** Partitions whose last written document is remembered (see the module). Default: 100. */
  readonly cacheSize?: number;
  /** Where connection losses and recoveries are logged (once per change). Default: none. */
  readonly logger?: Logger;
}

/** KEYS[1] the hash; ARGV: expected version ('0' = absent), new JSON, ttl ms ('0' = none), new version. Answers 1 (written) or 0 (conflict). */
const CAS = `
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'd', ARGV[2])
if ARGV[3] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`;

/** KEYS[1] the hash; ARGV[1] the version whose document the caller has. Answers { version } when it is current, else { version, document }. */
const READ = `
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v == ARGV[1] then return { v } end
return { v, redis.call('HGET', KEYS[1], 'd') }`;

/** The error's message without credentials a URL might carry. */
export function redactUrl(message: string): string {
  return message.replace(/\/\/[^@/\s]*@/g, '//[redacted]@');
}

function reasonOf(error: unknown): string {
  return redactUrl(error instanceof Error ? error.message : String(error));
}

export class RedisStateStore implements StateStore {
  readonly kind = 'redis' as const;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #logger: Logger | undefined;
  readonly #maxAttempts: number;
  readonly #ttl: string;
  readonly #cacheSize: number;
  /** Per Redis key: the version this process wrote last and its document (frozen). */
  readonly #written = new Map<string, { readonly version: string; readonly doc: StateDocument }>();
  readonly #batches = new GroupCommit('redis', (partition, update) => this.#transactOnce(partition, update));
  #healthy = true;
  #closed = false;

  /** Use {@link createRedisStateStore} (it imports ioredis lazily). */
  constructor(RedisClass: typeof Redis, options: RedisStateStoreOptions) {
    this.#prefix = options.keyPrefix ?? 'eer:';
    this.#logger = options.logger;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 20);
    this.#cacheSize = Math.max(0, options.cacheSize ?? 100);
    this.#ttl = options.ttlMs !== undefined ? String(Math.max(1, Math.round(options.ttlMs))) : '0';
    const maxDelay = options.maxReconnectDelayMs ?? 2000;
    this.#redis = new RedisClass(options.url, {
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
        this.#logger?.error({ store: 'redis', reason: reasonOf(error) }, 'state store (redis) unreachable: events with actions are answered UNAVAILABLE until it is back');
      }
    });
    this.#redis.on('ready', () => {
      if (!this.#healthy) this.#logger?.info({ store: 'redis' }, 'state store (redis) reachable again');
      this.#healthy = true;
    });
  }

  /** Resolves when connected (at most `timeoutMs`, default 5000); rejects with {@link StateStoreUnavailableError}. */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.#redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#redis.off('ready', onReady);
        reject(new StateStoreUnavailableError('redis', 'connect', `not connected after ${timeoutMs} ms`));
      }, timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.#redis.once('ready', onReady);
    });
  }

  /** The partition's hash, for error lines. */
  describe(p: Partition): string {
    return `hash ${this.#key(p)}`;
  }

  #key(p: Partition): string {
    return `${this.#prefix}s:${p.namespace}:${p.userId ?? (p.key !== undefined ? `#${p.key}` : '-')}`;
  }

  #check(operation: string, options?: StoreCallOptions): void {
    if (this.#closed) throw new StateStoreUnavailableError('redis', operation, 'the store is closed');
    if (options?.signal?.aborted) throw new StateStoreUnavailableError('redis', operation, 'aborted');
  }

  async #get(key: string): Promise<{ version: string; doc: StateDocument | undefined }> {
    const mine = this.#written.get(key);
    const answer = (await this.#redis.eval(READ, 1, key, mine?.version ?? '')) as [string, string | null | undefined] | [string];
    const version = answer[0];
    if (mine !== undefined && version === mine.version) return { version, doc: mine.doc };
    return { version, doc: this.#docOf(key, version !== '0', answer[1]) };
  }

  /**
   * The document of a hash read as its version field present or not and its `d` field: absent only
   * when the hash has neither; a version without a document (`d` emptied or removed) is content
   * this product did not write, never read as empty.
   */
  #docOf(key: string, versioned: boolean, d: string | null | undefined): StateDocument | undefined {
    if (d === null || d === undefined || d === '') {
      if (!versioned && d !== '') return undefined;
      throw new UnreadableStateError('redis', `hash ${key} (field d)`, d === '' ? 'it is empty' : 'it is missing while the hash has a version');
    }
    return this.#parse(key, d);
  }

  /** The stored document `d` of `key`; content this product did not write is never read as empty. */
  #parse(key: string, d: string): StateDocument {
    let doc: unknown;
    try {
      doc = JSON.parse(d);
    } catch {
      throw new UnreadableStateError('redis', `hash ${key} (field d)`, 'it is not JSON');
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new UnreadableStateError('redis', `hash ${key} (field d)`, `it is ${Array.isArray(doc) ? 'an array' : doc === null ? 'null' : `a ${typeof doc}`}, not an object`);
    return doc as StateDocument;
  }

  #remember(key: string, version: string, doc: StateDocument): void {
    if (this.#cacheSize === 0) return;
    this.#written.delete(key);
    this.#written.set(key, { version, doc });
    if (this.#written.size > this.#cacheSize) this.#written.delete(this.#written.keys().next().value!);
  }

  async read(partition: Partition, options?: StoreCallOptions): Promise<StateDocument | undefined> {
    this.#check('read', options);
    const key = this.#key(partition);
    let v: string | null | undefined;
    let d: string | null | undefined;
    try {
      [v, d] = await this.#redis.hmget(key, 'v', 'd'); // a copy of its own for the caller
    } catch (error) {
      throw new StateStoreUnavailableError('redis', 'read', reasonOf(error));
    }
    return this.#docOf(key, v !== null && v !== undefined, d ?? null);
  }

  /** Optimistic read-modify-write; concurrent calls of this process on one partition are applied together ({@link GroupCommit}). */
  transact<T>(partition: Partition, update: (current: StateDocument | undefined) => Change<T>, options?: StoreCallOptions): Promise<T> {
    try {
      this.#check('transact', options);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.#batches.transact(partition, update, options);
  }

  async #transactOnce<T>(partition: Partition, update: (current: StateDocument | undefined) => Change<T>): Promise<T> {
    const key = this.#key(partition);
    for (let attempt = 1; ; attempt++) {
      this.#check('transact');
      let current: { version: string; doc: StateDocument | undefined };
      try {
        current = await this.#get(key);
      } catch (error) {
        if (error instanceof UnreadableStateError) throw error;
        throw new StateStoreUnavailableError('redis', 'transact', reasonOf(error));
      }
      const change = update(current.doc); // its throw propagates as is: nothing written
      if (change.next === undefined) return change.result;
      const next = freezeJson(change.next) as StateDocument; // its TypeError (not JSON) propagates: nothing written
      const version = randomUUID();
      let written: number;
      try {
        written = Number(await this.#redis.eval(CAS, 1, key, current.version, stringifyJson(next), this.#ttl, version));
      } catch (error) {
        this.#written.delete(key);
        throw new StateStoreUnavailableError('redis', 'transact', reasonOf(error));
      }
      if (written === 1) {
        this.#remember(key, version, next);
        return change.result;
      }
      if (attempt >= this.#maxAttempts) throw new StateStoreUnavailableError('redis', 'transact', `still conflicting after ${attempt} attempts`);
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 * 2 ** attempt)));
    }
  }

  /** `DEL` of the partition's hash. */
  async delete(partition: Partition, options?: StoreCallOptions): Promise<void> {
    this.#check('delete', options);
    const key = this.#key(partition);
    this.#written.delete(key);
    try {
      await this.#redis.del(key);
    } catch (error) {
      throw new StateStoreUnavailableError('redis', 'delete', reasonOf(error));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#written.clear();
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

/** A {@link RedisStateStore}, importing ioredis only now. */
export async function createRedisStateStore(options: RedisStateStoreOptions): Promise<RedisStateStore> {
  const { Redis } = await import('ioredis');
  return new RedisStateStore(Redis, options);
}
