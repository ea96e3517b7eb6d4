/**
 * In-process {@link StateStore}: a Map of documents. For dry runs, tests, and
 * a single replica that accepts losing its state on restart.
 *
 * `transact` runs `update` and stores its `next` in the same tick, so there
 * are no conflicts inside one process. Documents are kept as deep-frozen JSON
 * values ({@link freezeJson}): `update` receives the stored document itself
 * (read-only: a mutation throws a TypeError and writes nothing), and `next` is
 * stored as `JSON.parse(JSON.stringify(next))` would give it (so non-JSON
 * values behave here as they would on a remote backend), reusing the parts of
 * the stored document it kept. A write therefore costs what changed, not the
 * whole document. `read` hands out a mutable copy.
 *
 * Bounded twice: at most `maxPartitions` documents and at most `maxBytes` of
 * documents (each counted by the estimated size of its JSON text,
 * {@link jsonSize}, kept per shared part so a write costs only what changed);
 * past either, the least recently written documents are dropped (never the one
 * just written). A dropped partition forgets its marks, as a restart would.
 */
import { freezeJson, jsonSize } from './frozen-json.js';
import { partitionId, StateStoreUnavailableError } from './state-store.js';
import type { Change, Partition, StateDocument, StateStore, StoreCallOptions } from './state-store.js';

/** Default most partitions of the memory store. */
export const DEFAULT_MEMORY_MAX_PARTITIONS = 100_000;
/** Default most bytes of documents in the memory store (their estimated JSON size): 256 MiB. */
export const DEFAULT_MEMORY_MAX_BYTES = 256 * 1024 * 1024;

export interface MemoryStateStoreOptions {
  /** Most partitions kept; past it the least recently written is dropped. Default: {@link DEFAULT_MEMORY_MAX_PARTITIONS}. */
  readonly maxPartitions?: number;
  /** Most bytes of documents kept (estimated JSON size, {@link jsonSize}); past it the least recently written are dropped. Default: {@link DEFAULT_MEMORY_MAX_BYTES}. */
  readonly maxBytes?: number;
}

/** `next` as stored: a frozen JSON object. */
function frozenDocument(next: StateDocument): StateDocument {
  const doc = freezeJson(next);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TypeError('a state document must be a JSON object');
  return doc as StateDocument;
}

export class MemoryStateStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly #docs = new Map<string, StateDocument>();
  readonly #max: number;
  readonly #maxBytes: number;
  #bytes = 0;
  #closed = false;

  constructor(options: MemoryStateStoreOptions = {}) {
    this.#max = Math.max(1, options.maxPartitions ?? DEFAULT_MEMORY_MAX_PARTITIONS);
    this.#maxBytes = Math.max(1, options.maxBytes ?? DEFAULT_MEMORY_MAX_BYTES);
  }

  /** Partitions held. */
  get size(): number {
    return this.#docs.size;
  }

  /** Estimated bytes of the documents held ({@link jsonSize}). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The partition's document, for error lines. */
  describe(partition: Partition): string {
    return `in-memory document of ${partitionId(partition)}`;
  }

  #check(operation: string, options?: StoreCallOptions): void {
    if (this.#closed) throw new StateStoreUnavailableError('memory', operation, 'the store is closed');
    if (options?.signal?.aborted) throw new StateStoreUnavailableError('memory', operation, 'aborted');
  }

  read(partition: Partition, options?: StoreCallOptions): Promise<StateDocument | undefined> {
    try {
      this.#check('read', options);
      const doc = this.#docs.get(partitionId(partition));
      return Promise.resolve(doc === undefined ? undefined : (JSON.parse(JSON.stringify(doc)) as StateDocument));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  transact<T>(partition: Partition, update: (current: StateDocument | undefined) => Change<T>, options?: StoreCallOptions): Promise<T> {
    try {
      this.#check('transact', options);
      const id = partitionId(partition);
      const change = update(this.#docs.get(id));
      if (change.next !== undefined) {
        const next = frozenDocument(change.next);
        const old = this.#docs.get(id);
        if (old !== undefined) {
          this.#bytes -= jsonSize(old);
          this.#docs.delete(id);
        }
        this.#docs.set(id, next);
        this.#bytes += jsonSize(next);
        // the least recently written first; the document just written stays
        while (this.#docs.size > 1 && (this.#docs.size > this.#max || this.#bytes > this.#maxBytes)) {
          const [oldest, doc] = this.#docs.entries().next().value!;
          this.#docs.delete(oldest);
          this.#bytes -= jsonSize(doc);
        }
      }
      return Promise.resolve(change.result);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  delete(partition: Partition, options?: StoreCallOptions): Promise<void> {
    try {
      this.#check('delete', options);
      this.#docs.delete(partitionId(partition));
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
