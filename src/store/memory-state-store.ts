/**
 * In-process {@link StateStore}: a Map of documents. For dry runs, tests, and
 * a single replica that accepts losing its state on restart.
 *
 * `transact` runs `update` and stores its `next` in the same tick, so there
 * are no conflicts inside one process. Documents are deep-copied through JSON
 * in and out, exactly like a remote backend, so a caller can never mutate the
 * stored state by accident (and non-JSON values fail here as they would there).
 */
import { partitionId, StateStoreUnavailableError } from './state-store.js';
import type { Change, Partition, StateDocument, StateStore, StoreCallOptions } from './state-store.js';

export interface MemoryStateStoreOptions {
  /** Most partitions kept; past it the least recently written is dropped. Default: 100000. */
  readonly maxPartitions?: number;
}

export class MemoryStateStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly #docs = new Map<string, string>();
  readonly #max: number;
  #closed = false;

  constructor(options: MemoryStateStoreOptions = {}) {
    this.#max = Math.max(1, options.maxPartitions ?? 100_000);
  }

  /** Partitions held. */
  get size(): number {
    return this.#docs.size;
  }

  #check(operation: string, options?: StoreCallOptions): void {
    if (this.#closed) throw new StateStoreUnavailableError('memory', operation, 'the store is closed');
    if (options?.signal?.aborted) throw new StateStoreUnavailableError('memory', operation, 'aborted');
  }

  read(partition: Partition, options?: StoreCallOptions): Promise<StateDocument | undefined> {
    try {
      this.#check('read', options);
      const text = this.#docs.get(partitionId(partition));
      return Promise.resolve(text === undefined ? undefined : (JSON.parse(text) as StateDocument));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  transact<T>(partition: Partition, update: (current: StateDocument | undefined) => Change<T>, options?: StoreCallOptions): Promise<T> {
    try {
      this.#check('transact', options);
      const id = partitionId(partition);
      const text = this.#docs.get(id);
      const change = update(text === undefined ? undefined : (JSON.parse(text) as StateDocument));
      if (change.next !== undefined) {
        this.#docs.delete(id);
        this.#docs.set(id, JSON.stringify(change.next));
        if (this.#docs.size > this.#max) {
          const oldest = this.#docs.keys().next().value;
          if (oldest !== undefined) this.#docs.delete(oldest);
        }
      }
      return Promise.resolve(change.result);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
