/**
 * Group commit for a remote {@link StateStore}: the `transact` calls of one
 * process on one partition never race each other. While a write to a
 * partition is in flight, the next calls on it wait in a queue; then they are
 * applied together, in arrival order, in ONE optimistic transaction (one read
 * if needed, one conditional write): each `update` receives the document as
 * the previous one left it. A hot player's or the game's concurrent events
 * then cost one write per batch instead of a storm of 412 conflicts between
 * the process's own writes.
 *
 * Each call keeps its own outcome: an `update` that throws rejects only its
 * caller (the others proceed on the document as it was before it); a batch
 * that cannot be written rejects every caller in it with the store's error
 * (nothing of the batch was written, or, as for any lost answer, the backend's
 * own write id tells on the next read). The combined update is pure when every
 * `update` is, so the backend may run it again on a conflict with another
 * replica. A caller whose signal aborted before its batch started is rejected
 * and left out; once its batch started, it waits for the batch (bounded by the
 * backend's own timeouts).
 */
import { freezeJson } from './frozen-json.js';
import { partitionId, StateStoreUnavailableError } from './state-store.js';
import type { Change, Partition, StateDocument, StoreCallOptions, StoreKind } from './state-store.js';

/** Most calls applied in one write. */
export const MAX_BATCH = 64;

interface Waiting {
  readonly update: (current: StateDocument | undefined) => Change<unknown>;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** One call's outcome in a batch. */
export type Outcome = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: unknown };

/** Runs the batches of one store (see the module). */
export class GroupCommit {
  readonly #queues = new Map<string, Waiting[]>();

  constructor(
    readonly kind: StoreKind,
    /** One optimistic transaction of the backend with `update` (its conflict retries included). */
    readonly transactOnce: (partition: Partition, update: (current: StateDocument | undefined) => Change<Outcome[]>) => Promise<Outcome[]>,
  ) {}

  /** The store's `transact` (see the module). */
  transact<T>(partition: Partition, update: (current: StateDocument | undefined) => Change<T>, options?: StoreCallOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiting: Waiting = { update, signal: options?.signal, resolve: resolve as (value: unknown) => void, reject };
      const id = partitionId(partition);
      const queue = this.#queues.get(id);
      if (queue) {
        queue.push(waiting);
        return;
      }
      this.#queues.set(id, [waiting]);
      void this.#drain(id, partition);
    });
  }

  async #drain(id: string, partition: Partition): Promise<void> {
    for (;;) {
      const queue = this.#queues.get(id)!;
      if (queue.length === 0) {
        this.#queues.delete(id);
        return;
      }
      const batch = queue.splice(0, MAX_BATCH).filter((w) => {
        if (!w.signal?.aborted) return true;
        w.reject(new StateStoreUnavailableError(this.kind, 'transact', 'aborted'));
        return false;
      });
      if (batch.length === 0) continue;
      try {
        const outcomes = await this.transactOnce(partition, (doc) => combined(batch, doc));
        outcomes.forEach((o, i) => (o.ok ? batch[i]!.resolve(o.result) : batch[i]!.reject(o.error)));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
  }
}

/** The updates of `batch` applied in order on `doc`: one change, every call's outcome. Pure when they are. */
function combined(batch: readonly Waiting[], doc: StateDocument | undefined): Change<Outcome[]> {
  let current = doc;
  let changed = false;
  const outcomes: Outcome[] = [];
  for (const w of batch) {
    try {
      const change = w.update(current);
      if (change.next !== undefined) {
        current = freezeJson(change.next) as StateDocument; // the next update gets it read-only, as stored
        changed = true;
      }
      outcomes.push({ ok: true, result: change.result });
    } catch (error) {
      outcomes.push({ ok: false, error });
    }
  }
  return changed ? { next: current!, result: outcomes } : { result: outcomes };
}
