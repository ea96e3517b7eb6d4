/**
 * Read coalescing for the Cloud Save store's admin player records ("batch
 * while in flight", no timers): a read asked for while no read of its
 * namespace is in flight is sent at once, alone (the single GET); reads asked
 * for while one is in flight wait for it and then go together, as one bulk
 * read of up to `max` user ids (`bulkGetAdminPlayerRecordByUserIdsV1`:
 * cloudsave.json allows 20). A full batch goes at once, without waiting.
 *
 * Every read is answered by a call sent after it was asked for, so it sees
 * every write answered before (a read-back after a create sees the create):
 * reads of one user id are shared only inside one batch not yet sent, never
 * with a call already in flight.
 *
 * Each read keeps its own outcome: the record, `undefined` (absent), or the
 * error of its call (a bulk answer that cannot be read fails every read in
 * it). A reader whose signal aborts is answered at once (aborted); the call
 * it waited for goes on for the others.
 */

/** One user id's answer in a bulk read: its record (`undefined`: absent) or why it cannot be told. */
export type BulkReadResult<R> = { readonly ok: true; readonly record: R | undefined } | { readonly ok: false; readonly error: unknown };

export interface ReadCoalescingOptions<R> {
  /** Most user ids in one bulk read (>= 1; 1: every read is a single GET). */
  readonly max: number;
  /** The single read of one record: `undefined` when absent; rejects when it cannot tell. */
  readonly one: (namespace: string, userId: string, signal?: AbortSignal) => Promise<R | undefined>;
  /** The bulk read of 2 to `max` distinct user ids: one result per id, in order; rejects when the answer tells nothing (every read in it fails). */
  readonly many: (namespace: string, userIds: readonly string[]) => Promise<ReadonlyArray<BulkReadResult<R>>>;
  /** The error of a read whose signal aborted. */
  readonly aborted: () => Error;
}

interface Waiter<R> {
  readonly userId: string;
  readonly signal: AbortSignal | undefined;
  settled: boolean;
  onAbort?: () => void;
  readonly resolve: (record: R | undefined) => void;
  readonly reject: (error: unknown) => void;
}

interface Lane<R> {
  inFlight: number;
  queue: Array<Waiter<R>>;
}

/** Coalesces the reads of one store (see the module). */
export class ReadCoalescing<R> {
  readonly #lanes = new Map<string, Lane<R>>();
  readonly #options: ReadCoalescingOptions<R>;

  constructor(options: ReadCoalescingOptions<R>) {
    this.#options = { ...options, max: Math.max(1, Math.floor(options.max)) };
  }

  /** The record of `userId` in `namespace` as stored now (see the module). */
  read(namespace: string, userId: string, signal?: AbortSignal): Promise<R | undefined> {
    return new Promise<R | undefined>((resolve, reject) => {
      if (signal?.aborted) return reject(this.#options.aborted());
      const waiter: Waiter<R> = { userId, signal, settled: false, resolve, reject };
      let lane = this.#lanes.get(namespace);
      if (!lane) {
        lane = { inFlight: 0, queue: [] };
        this.#lanes.set(namespace, lane);
      }
      if (signal) {
        waiter.onAbort = () => this.#settle(waiter, { ok: false, error: this.#options.aborted() });
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      lane.queue.push(waiter);
      if (lane.inFlight === 0 || distinctIds(lane.queue) >= this.#options.max) this.#flush(namespace, lane);
    });
  }

  #settle(waiter: Waiter<R>, result: BulkReadResult<R>): void {
    if (waiter.settled) return;
    waiter.settled = true;
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (result.ok) waiter.resolve(result.record);
    else waiter.reject(result.error);
  }

  /** Sends the queued reads of `lane` still waiting: one call of up to `max` distinct user ids. */
  #flush(namespace: string, lane: Lane<R>): void {
    lane.queue = lane.queue.filter((w) => !w.settled);
    if (lane.queue.length === 0) {
      if (lane.inFlight === 0) this.#lanes.delete(namespace);
      return;
    }
    const ids: string[] = [];
    const batch: Array<Waiter<R>> = [];
    const rest: Array<Waiter<R>> = [];
    for (const w of lane.queue) {
      if (ids.includes(w.userId)) batch.push(w);
      else if (ids.length < this.#options.max) {
        ids.push(w.userId);
        batch.push(w);
      } else rest.push(w);
    }
    lane.queue = rest;
    lane.inFlight++;
    void this.#send(namespace, ids, batch).finally(() => {
      lane.inFlight--;
      this.#flush(namespace, lane);
    });
  }

  async #send(namespace: string, ids: readonly string[], batch: ReadonlyArray<Waiter<R>>): Promise<void> {
    if (ids.length === 1) {
      // alone: the single GET (the reader's own signal when it is the only one)
      const signal = batch.length === 1 ? batch[0]!.signal : undefined;
      let result: BulkReadResult<R>;
      try {
        result = { ok: true, record: await this.#options.one(namespace, ids[0]!, signal) };
      } catch (error) {
        result = { ok: false, error };
      }
      for (const w of batch) this.#settle(w, result);
      return;
    }
    let results: ReadonlyArray<BulkReadResult<R>>;
    try {
      results = await this.#options.many(namespace, ids);
    } catch (error) {
      for (const w of batch) this.#settle(w, { ok: false, error });
      return;
    }
    for (const w of batch) this.#settle(w, results[ids.indexOf(w.userId)] ?? { ok: false, error: new Error(`no answer for ${w.userId}`) });
  }
}

function distinctIds(queue: ReadonlyArray<{ readonly userId: string; readonly settled: boolean }>): number {
  return new Set(queue.filter((w) => !w.settled).map((w) => w.userId)).size;
}
