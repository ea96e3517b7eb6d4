/**
 * In-process idempotency store (one replica). Bounded: at most `maxKeys` keys;
 * when full, the least recently used keys are evicted (claims never while
 * live). Expired entries are dropped lazily, or when eviction reaches them.
 */
import { randomUUID } from 'node:crypto';
import { DedupeStoreUnavailableError } from './store.js';
import type { ClaimOptions, ClaimResult, DedupeStore, DoneState } from './store.js';

export interface MemoryStoreOptions {
  /** Most keys kept (claims, done keys and failure counters together). Default: 100000. */
  readonly maxKeys?: number;
  /** Clock, ms since epoch. Default: `Date.now`. */
  readonly now?: () => number;
}

/** Runs `fn` and turns its result or throw into a promise (so failures reject, never throw synchronously). */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

type Entry =
  | { readonly kind: 'claim'; readonly token: string; readonly expiresAt: number }
  | { readonly kind: 'done'; readonly state: DoneState; readonly expiresAt: number }
  | { readonly kind: 'failures'; readonly count: number; readonly expiresAt: number };

export class MemoryDedupeStore implements DedupeStore {
  readonly kind = 'memory' as const;
  readonly #maxKeys: number;
  readonly #now: () => number;
  /** Insertion order = recency order (re-inserted on use). */
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxKeys = Math.max(1, options.maxKeys ?? 100_000);
    this.#now = options.now ?? Date.now;
  }

  /** Keys currently held (expired ones may still count until touched or evicted). */
  get size(): number {
    return this.#entries.size;
  }

  #check(operation: string): void {
    if (this.#closed) throw new DedupeStoreUnavailableError('memory', operation, 'the store is closed');
  }

  #get(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #set(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#maxKeys) this.#evict();
  }

  #evict(): void {
    // Oldest first (the map is in recency order): expired entries and done keys / counters go, live
    // claims stay. One pass from the front, stopping as soon as the bound holds: O(1) amortized, where
    // a scan for expired entries across the whole map would cost O(maxKeys) on every insert once full.
    const now = this.#now();
    for (const [k, e] of this.#entries) {
      if (this.#entries.size <= this.#maxKeys) return;
      if (e.kind !== 'claim' || e.expiresAt <= now) this.#entries.delete(k);
    }
  }


  claim(key: string, leaseMs: number, options: ClaimOptions = {}): Promise<ClaimResult> {
    return settle(() => {
      this.#check('claim');
      const entry = this.#get(`k:${key}`);
      if (entry?.kind === 'claim') return { status: 'busy' };
      if (entry?.kind === 'done' && !(entry.state === 'deadLettered' && options.reclaimDeadLettered)) {
        this.#set(`k:${key}`, entry); // touch (LRU)
        return { status: 'done', state: entry.state };
      }
      const token = randomUUID();
      this.#set(`k:${key}`, { kind: 'claim', token, expiresAt: this.#now() + leaseMs });
      return { status: 'claimed', token };
    });
  }

  complete(key: string, retentionMs: number, state: DoneState = 'succeeded'): Promise<void> {
    return settle(() => {
      this.#check('complete');
      this.#set(`k:${key}`, { kind: 'done', state, expiresAt: this.#now() + retentionMs });
    });
  }

  release(key: string, token: string): Promise<void> {
    return settle(() => {
      this.#check('release');
      const entry = this.#get(`k:${key}`);
      if (entry?.kind === 'claim' && entry.token === token) this.#entries.delete(`k:${key}`);
    });
  }

  countFailure(key: string, ttlMs: number): Promise<number> {
    return settle(() => {
      this.#check('countFailure');
      const entry = this.#get(`f:${key}`);
      const count = (entry?.kind === 'failures' ? entry.count : 0) + 1;
      this.#set(`f:${key}`, { kind: 'failures', count, expiresAt: this.#now() + ttlMs });
      return count;
    });
  }

  close(): Promise<void> {
    return settle(() => {
      this.#closed = true;
      this.#entries.clear();
    });
  }
}
