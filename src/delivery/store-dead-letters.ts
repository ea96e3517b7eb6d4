/**
 * Dead letters kept in the shared state store (`STATE_STORE=cloudsave|redis`):
 * they survive redeploys, every replica writes to, and `replay` /
 * `dead-letters list` read from, the same place. Nothing is dropped to make
 * room: a dead letter leaves the store when it is replayed OK or when it
 * outlives the retention (counted in `event_rules_dead_letters_expired_total`
 * and logged); when the store holds its capacity the write is refused with
 * {@link DeadLetterStoreFullError} and the event is answered UNAVAILABLE (the
 * sidecar keeps it and redelivers).
 *
 * Layout (sharded, paged, see `dead-letter-pages.ts`): {@link DEAD_LETTER_SHARDS}
 * shards by idempotency key, each a chain of pages of at most `pageBytes` of
 * JSON (default 50,000, a page of fewer than 16 records up to 200,000: see
 * {@link DEFAULT_PAGE_BYTES}) and at most
 * `pageSpanMs` of time (default 6 h), with one small index
 * document per shard. A write is one optimistic `transact` on the shard's open
 * page (two more when the page fills: seal it, roll the index over; one index read
 * before the first record of a page: a page missing from the store is created only
 * when the index, read then, names it open, never one that another replica's sweep
 * expired while this replica's index was stale). Capacity:
 * each shard holds at most `capacity / shards` (default 150,000 / 8 = 18,750).
 * Retention: a page expires when its newest record is older than `retentionMs`,
 * so a dead letter is kept at least the retention and at most the retention plus
 * the page span; expired pages are deleted by {@link StoreDeadLetterSink.sweep},
 * run every `sweepEveryMs` and when a write finds the last sweep that old.
 *
 * One dead letter per idempotency key within a page: a newer failure of the
 * same action replaces the older while its page is open; an older one in a
 * sealed page stays (and takes room) until a replay removes it or its page
 * expires, and is not listed (`store-dead-letter-listing.ts`) nor counted
 * when its page expires (`dead-letter-copies.ts`).
 *
 * Records arrive redacted from the executor; they are redacted once more here
 * (the same pass as the JSONL file) and never carry credentials.
 */
import type { Logger } from 'pino';
import type { Metrics } from '../telemetry/index.js';
import type { StateDocument, StateStore } from '../store/index.js';
import { partitionId, UnreadableStateError } from '../store/index.js';
import { DeadLetterWriteError, deadLetterJson } from './dead-letters.js';
import { openShardChain } from './dead-letter-copies.js';
import type { DeadLetterRecord, DeadLetterSink } from './dead-letters.js';
import { addDigests, appendTo, DEAD_LETTER_SECTION, DEAD_LETTER_SHARDS, digestsOf, dropPage, indexOf, indexPartition, keysPartition, pageOf, pagePartition, recordsOf, rollOver, sealIfOld, shardOf } from './dead-letter-pages.js';
import type { PageEntry, SealedPage, ShardIndex, StoredDeadLetter } from './dead-letter-pages.js';

export { DEAD_LETTER_SECTION, DEAD_LETTER_SHARDS } from './dead-letter-pages.js';
export type { StoredDeadLetter } from './dead-letter-pages.js';

/** Default most dead letters held (all shards). */
export const DEFAULT_DEAD_LETTER_CAPACITY = 150_000;
/**
 * Default budget of one page, bytes of JSON. Cloud Save has no append: each write of a dead letter
 * reads its shard's open page and writes it back whole, so the page's size is what a burst of dead
 * letters costs per event (200,000-byte pages: about 4 times the CPU and bytes moved). Small enough
 * since a key dead-lettered again in a later page (a `kill -9` between a dead letter and its mark)
 * is listed once (`store-dead-letter-listing.ts`). A page of fewer than {@link DEFAULT_PAGE_RECORDS}
 * records grows up to {@link DEFAULT_MAX_PAGE_BYTES}, so large records do not multiply the pages (the
 * shard's index has one entry per page and must stay one Cloud Save record).
 */
export const DEFAULT_PAGE_BYTES = 50_000;
/** Default most records of a page that may grow past `pageBytes` (up to `maxPageBytes`). */
export const DEFAULT_PAGE_RECORDS = 16;
/** Default most bytes of JSON of any page (under Cloud Save's recommended 250 KB per request body, cloudsave.json). */
export const DEFAULT_MAX_PAGE_BYTES = 200_000;
/** Default longest time one page collects records, ms (6 h): what a dead letter may outlive the retention by. */
export const DEFAULT_PAGE_SPAN_MS = 6 * 3_600_000;
/** Default largest event payload kept, bytes of JSON. */
export const DEFAULT_MAX_EVENT_BYTES = 16_384;
/** Default time between two sweeps of expired pages, ms (10 min). */
export const DEFAULT_SWEEP_EVERY_MS = 600_000;

/** The store holds its capacity: the dead letter is not written (the event is redelivered). */
export class DeadLetterStoreFullError extends DeadLetterWriteError {
  override readonly name = 'DeadLetterStoreFullError';
  constructor(where: string, shard: number, held: number, capacity: number) {
    super(
      where,
      `the dead-letter store is full: shard ${shard} holds ${held} of its ${Math.ceil(capacity / DEAD_LETTER_SHARDS)} (DEAD_LETTER_CAPACITY=${capacity} over ${DEAD_LETTER_SHARDS} shards): ` +
        'replay or fix what fails (`extend-event-rules dead-letters list`), or raise DEAD_LETTER_CAPACITY; the event is redelivered meanwhile',
    );
  }
}

export interface StoreDeadLetterOptions {
  readonly store: StateStore;
  /** AGS namespace (`AB_NAMESPACE`): whose documents. Required. */
  readonly namespace: string;
  /** A page expires this long after its newest record, ms (DEAD_LETTER_RETENTION_HOURS). Required. */
  readonly retentionMs: number;
  /** Most dead letters held, all shards (each takes `capacity / shards`). Default: {@link DEFAULT_DEAD_LETTER_CAPACITY}. */
  readonly capacity?: number;
  /**
   * Budget of one page, bytes of JSON. Default: {@link DEFAULT_PAGE_BYTES}, and a page of fewer than
   * {@link DEFAULT_PAGE_RECORDS} records up to {@link DEFAULT_MAX_PAGE_BYTES}; given: every page at most this.
   */
  readonly pageBytes?: number;
  /** Longest time one page collects records, ms. Default: {@link DEFAULT_PAGE_SPAN_MS}. */
  readonly pageSpanMs?: number;
  /** Largest event payload kept, bytes of JSON; a larger one is kept without it (`eventOmitted`). Default: {@link DEFAULT_MAX_EVENT_BYTES}. */
  readonly maxEventBytes?: number;
  /** Sweep expired pages this often, ms (a timer that does not keep the process alive; 0: only when {@link StoreDeadLetterSink.sweep} is called). Default: {@link DEFAULT_SWEEP_EVERY_MS}. */
  readonly sweepEveryMs?: number;
  /** Clock, ms since the epoch. Default: `Date.now`. */
  readonly now?: () => number;
  /** Counts expiries (`event_rules_dead_letters_expired_total`). Default: none. */
  readonly metrics?: Metrics;
  /** Where expiries and failed sweeps are logged. Default: none. */
  readonly logger?: Logger;
}

type Resolved = Required<Omit<StoreDeadLetterOptions, 'metrics' | 'logger'>> &
  Pick<StoreDeadLetterOptions, 'metrics' | 'logger'> & {
    /** Records a page holds before `pageBytes` seals it (fewer: up to `maxPageBytes`). */
    readonly pageRecords: number;
    readonly maxPageBytes: number;
  };

/** The dead-letter sink of the cloudsave and redis stores. */
export class StoreDeadLetterSink implements DeadLetterSink {
  readonly #o: Resolved;
  readonly #indexes = new Map<number, ShardIndex>();
  /** Per shard, the index read in flight and the one queued behind it (see {@link StoreDeadLetterSink.#readIndex}). */
  readonly #indexReads = new Map<number, { current: Promise<ShardIndex>; next?: Promise<ShardIndex> }>();
  readonly #timer: NodeJS.Timeout | undefined;
  #lastSweep = Number.NEGATIVE_INFINITY;
  #sweeping: Promise<number> | undefined;
  #closed = false;

  constructor(options: StoreDeadLetterOptions) {
    this.#o = {
      capacity: DEFAULT_DEAD_LETTER_CAPACITY,
      pageBytes: DEFAULT_PAGE_BYTES,
      pageSpanMs: DEFAULT_PAGE_SPAN_MS,
      maxEventBytes: DEFAULT_MAX_EVENT_BYTES,
      sweepEveryMs: DEFAULT_SWEEP_EVERY_MS,
      now: Date.now,
      ...options,
      ...(options.pageBytes === undefined ? { pageRecords: DEFAULT_PAGE_RECORDS, maxPageBytes: DEFAULT_MAX_PAGE_BYTES } : { pageRecords: 0, maxPageBytes: options.pageBytes }),
    };
    if (this.#o.sweepEveryMs > 0) {
      this.#timer = setInterval(() => this.#kickSweep(), this.#o.sweepEveryMs);
      this.#timer.unref();
    }
  }

  #where(s: number, p?: number): string {
    const { store, namespace } = this.#o;
    const part = p === undefined ? indexPartition(namespace, s) : pagePartition(namespace, s, p);
    return store.describe?.(part) ?? `${store.kind} document ${partitionId(part)}`;
  }

  async #index(s: number): Promise<ShardIndex> {
    return this.#indexes.get(s) ?? this.#readIndex(s);
  }

  /**
   * The shard's index as read from the store by a read that starts after this call (what a write
   * that found its page absent needs: an older read may predate a sweep's deletion), kept as the
   * shard's index. Coalesced: calls while a read is in flight share one read started once it ends,
   * so the writes of a batch that all found a new page absent cost two reads, not one each.
   */
  #readIndex(s: number): Promise<ShardIndex> {
    const reads = this.#indexReads.get(s);
    if (reads) return (reads.next ??= reads.current.then(this.#startRead(s), this.#startRead(s)));
    return this.#startRead(s)();
  }

  #startRead(s: number): () => Promise<ShardIndex> {
    return () => {
      const current = (async () => {
        try {
          const index = indexOf(await this.#o.store.read(indexPartition(this.#o.namespace, s)), this.#o.store.kind, this.#where(s));
          this.#indexes.set(s, index);
          return index;
        } catch (error) {
          this.#indexes.delete(s); // the next write reads it again
          throw error;
        }
      })();
      const reads = { current };
      this.#indexReads.set(s, reads);
      const done = (): void => {
        if (this.#indexReads.get(s) === reads) this.#indexReads.delete(s);
      };
      current.then(done, done);
      return current;
    };
  }

  /** Records the sealed page in the shard's index; the replica that does also records its key digests (a crash in between: the listing reads the page instead). */
  async #rollOver(s: number, sealed: SealedPage): Promise<ShardIndex> {
    const { store, namespace } = this.#o;
    const { index, rolled } = await store.transact(indexPartition(namespace, s), (doc) => rollOver(doc, sealed, store.kind, this.#where(s)));
    this.#indexes.set(s, index);
    if (rolled) {
      const digests = digestsOf(sealed.page);
      const pages = index.pages.map((e) => e.p);
      await store.transact(keysPartition(namespace, s), (doc) => addDigests(doc, sealed.p, digests, pages));
    }
    return index;
  }

  /** The record as stored (redacted, without a payload over `maxEventBytes`) and the bytes of its JSON. */
  #stored(record: DeadLetterRecord): { stored: StoredDeadLetter; bytes: number } {
    const text = deadLetterJson(record);
    const stored = JSON.parse(text) as StoredDeadLetter;
    const bytes = Buffer.byteLength(text) + 16; // and its `"seq":n,`
    if (bytes <= this.#o.maxEventBytes || Buffer.byteLength(JSON.stringify(stored.event)) <= this.#o.maxEventBytes) return { stored, bytes };
    const small: StoredDeadLetter = { ...stored, event: { id: stored.event.id ?? '' }, eventOmitted: true };
    return { stored: small, bytes: Buffer.byteLength(JSON.stringify(small)) + 16 };
  }

  /**
   * Adds the record to its shard's open page. Rejects with {@link DeadLetterStoreFullError}
   * (the shard holds its share of the capacity), the store's `StateStoreUnavailableError`
   * (the event is then redelivered), or {@link DeadLetterWriteError} once closed.
   */
  async write(record: DeadLetterRecord): Promise<void> {
    if (this.#closed) throw new DeadLetterWriteError(`the ${this.#o.store.kind} state store`, 'the sink is closed');
    const { store, namespace, capacity, pageBytes, pageRecords, maxPageBytes, pageSpanMs } = this.#o;
    const now = this.#o.now();
    if (this.#o.sweepEveryMs > 0 && now - this.#lastSweep >= this.#o.sweepEveryMs) this.#kickSweep();
    const { stored, bytes } = this.#stored(record);
    const at = now; // pages are timed by this clock (the sweep's), not by the record's writer
    const s = shardOf(stored.idempotencyKey);
    const shardCapacity = Math.ceil(capacity / DEAD_LETTER_SHARDS);
    let refreshed = false;
    let confirmed: number | undefined;
    for (let round = 0; round < 32; round++) {
      const index = await this.#index(s);
      const p = index.open;
      const input = { record: stored, bytes, at, held: index.held, shardCapacity, pageBytes, pageRecords, maxPageBytes, pageSpanMs, page: p, confirmedOpen: confirmed === p, store: store.kind, where: this.#where(s, p) };
      const done = await store.transact(pagePartition(namespace, s, p), (doc) => appendTo(doc, input));
      if (done.kind === 'written') return;
      if (done.kind === 'sealed') {
        await this.#rollOver(s, done.sealed);
        continue;
      }
      if (done.kind === 'absent') {
        // a new page, or one another replica's sweep expired since this index was read: ask the store
        confirmed = (await this.#readIndex(s)).open;
        continue;
      }
      if (refreshed) throw new DeadLetterStoreFullError(this.#where(s), s, done.held, capacity);
      refreshed = true; // replays may have made room since the index was read
      await this.#readIndex(s);
    }
    throw new DeadLetterWriteError(this.#where(s), 'its pages kept filling up while writing (32 rounds)');
  }

  #kickSweep(): void {
    if (this.#closed || this.#sweeping) return;
    this.sweep().catch((error: unknown) => {
      this.#o.logger?.warn({ error: error instanceof Error ? error.message : String(error) }, 'dead-letter sweep failed; it runs again later');
    });
  }

  /**
   * Deletes the pages whose newest record is older than the retention (sealing a
   * quiet shard's open page first once it is older than the page span); each one
   * is counted in `event_rules_dead_letters_expired_total` and logged (warn) by
   * the replica that removed it from its index. Resolves with how many dead
   * letters expired. Rejects with the store's error (the next sweep tries again).
   */
  sweep(): Promise<number> {
    this.#sweeping ??= (async () => {
      try {
        const now = this.#o.now();
        this.#lastSweep = now;
        let expired = await this.#sweepLegacy(now);
        for (let s = 0; s < DEAD_LETTER_SHARDS; s++) expired += await this.#sweepShard(s, now);
        return expired;
      } finally {
        this.#sweeping = undefined;
      }
    })();
    return this.#sweeping;
  }

  async #sweepShard(s: number, now: number): Promise<number> {
    const { store, namespace, retentionMs, pageSpanMs } = this.#o;
    let index = indexOf(await store.read(indexPartition(namespace, s)), store.kind, this.#where(s));
    const open = index.open;
    const sealed = await store.transact(pagePartition(namespace, s, open), (doc) => sealIfOld(doc, now, pageSpanMs, open, store.kind, this.#where(s, open)));
    index = sealed ? await this.#rollOver(s, sealed) : index;
    let expired = 0;
    for (const entry of index.pages) if (entry.to < now - retentionMs) expired += await this.#expire(s, entry);
    return expired;
  }

  async #expire(s: number, entry: PageEntry): Promise<number> {
    const { store, namespace } = this.#o;
    const part = pagePartition(namespace, s, entry.p);
    let list: readonly StoredDeadLetter[] | undefined;
    try {
      list = recordsOf(pageOf(await store.read(part), store.kind, this.#where(s, entry.p)));
    } catch (error) {
      if (!(error instanceof UnreadableStateError)) throw error;
    }
    if (store.delete) await store.delete(part);
    else await store.transact(part, () => ({ next: {}, result: undefined }));
    const dropped = await store.transact(indexPartition(namespace, s), (doc) => dropPage(doc, entry.p, store.kind, this.#where(s)));
    if (!dropped) return 0; // another replica expired it
    this.#indexes.delete(s);
    const expired = list ? await this.#withoutNewer(s, entry.p, list) : undefined;
    this.#report(expired ?? [], expired?.length ?? dropped.n, `page ${entry.p} of shard ${s}`, { from: entry.from, to: entry.to });
    return expired?.length ?? dropped.n;
  }

  /**
   * The records of page `p` that are not an older copy of a dead letter still held in a later page of the shard
   * (an older copy expiring loses nothing: not counted nor logged). The store unreadable: all of them.
   */
  async #withoutNewer(s: number, p: number, records: readonly StoredDeadLetter[]): Promise<StoredDeadLetter[]> {
    try {
      const chain = await openShardChain({ store: this.#o.store, namespace: this.#o.namespace }, s);
      const kept: StoredDeadLetter[] = [];
      for (const r of records) if (!(await chain.copiesOf(r.idempotencyKey, p)).newer) kept.push(r);
      return kept;
    } catch {
      return [...records];
    }
  }

  /** Metric and one log line for dead letters expired. `records` empty: only their count is known. */
  #report(records: readonly DeadLetterRecord[], count: number, what: string, span: { from: number; to: number }): void {
    const byAction = new Map<string, { rule: string; action: string; n: number }>();
    for (const r of records) {
      const k = `${r.rule}/${r.action}`;
      const e = byAction.get(k) ?? { rule: r.rule, action: r.action, n: 0 };
      e.n++;
      byAction.set(k, e);
    }
    if (records.length === 0 && count > 0) byAction.set('?', { rule: '(unknown)', action: '(unknown)', n: count });
    const total = records.length || count;
    if (total === 0) return;
    for (const e of byAction.values()) this.#o.metrics?.deadLettersExpired.inc({ rule: e.rule, action: e.action }, e.n);
    const hours = this.#o.retentionMs / 3_600_000;
    const list = [...byAction.keys()].map((k) => `${k} ${byAction.get(k)!.n}`).join(', ');
    this.#o.logger?.warn(
      { expired: total, what, from: new Date(span.from).toISOString(), to: new Date(span.to).toISOString(), byAction: Object.fromEntries([...byAction].map(([k, e]) => [k, e.n])) },
      `${total} dead letter${total === 1 ? '' : 's'} expired (${what}, written ${new Date(span.from).toISOString()} to ${new Date(span.to).toISOString()}, older than the retention of ${hours} h: DEAD_LETTER_RETENTION_HOURS): ${list}`,
    );
  }

  /** The format-1 list in the game partition (written by earlier versions): its expired records dropped, counted and logged. */
  async #sweepLegacy(now: number): Promise<number> {
    const { store, namespace, retentionMs } = this.#o;
    const gone = await store.transact({ namespace }, (doc) => {
      const list = legacyOf(doc);
      const kept = list.filter((r) => !(now - Date.parse(r.timestamp) > retentionMs));
      if (kept.length === list.length) return { result: [] as StoredDeadLetter[] };
      return { next: { ...doc, [DEAD_LETTER_SECTION]: { v: 1, list: kept } }, result: list.filter((r) => !kept.includes(r)) };
    });
    if (gone.length > 0) {
      const times = gone.map((r) => Date.parse(r.timestamp));
      this.#report(gone, gone.length, 'the format-1 list of the game record', { from: Math.min(...times), to: Math.max(...times) });
    }
    return gone.length;
  }

  /** Stops the sweep timer (the store is closed by its owner). */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    return (this.#sweeping ?? Promise.resolve(0)).then(
      () => undefined,
      () => undefined,
    );
  }
}

/** The format-1 list (one section in the game partition, written before the pages). */
export function legacyOf(doc: StateDocument | undefined): StoredDeadLetter[] {
  const s = doc?.[DEAD_LETTER_SECTION] as { v?: unknown; list?: unknown } | undefined;
  return s?.v === 1 && Array.isArray(s.list) ? (s.list as StoredDeadLetter[]) : [];
}
