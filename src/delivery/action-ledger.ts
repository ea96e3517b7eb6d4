/**
 * The idempotency ledger: per action execution key
 * (`<eventKey>:<rule>:<action key>`), whether the action is being run (a claim
 * with a lease), has run (`done`), failed permanently and was dead-lettered,
 * or was sent with its outcome unknown (to reconcile before any new attempt).
 * It lives in the `actions` section of the partition's document in the
 * {@link StateStore} (the player's, or the game's for events without a
 * player), so every replica sharing the store sees it.
 *
 * Section layout (compact: a Cloud Save record stays well under 250 KB):
 * `actions: { m: { <mark id>: Entry } }`, mark id = 22 base64url characters
 * of the key's SHA-256. An entry:
 * - `s`: `c` claimed, `d` succeeded, `x` dead-lettered, `f` free (released:
 *   claimable, keeps the counters below);
 * - `e`: when the entry may be dropped (ms since epoch): the retention;
 * - `l`: a claim's lease end (the claim is live while `l > now`);
 * - `t`: a claim's token; `n`: failed deliveries; `u`: when a request whose
 *   outcome is unknown was sent (reconcile before running again); a claim
 *   taken over after its lease ran out gets `u` = when the dead holder claimed it.
 * Every write drops entries past `e`, then, past `maxEntries`, the oldest
 * done marks down to 90% of it (never a live claim): a heavy player keeps a
 * bounded record.
 */
import { randomUUID } from 'node:crypto';
import { effectId } from '../actions/reconcile.js';
import type { Partition, StateDocument, StateStore, StoreCallOptions } from '../store/state-store.js';

/** What a key ends as: the action ran, or it failed permanently and was dead-lettered. */
export type DoneState = 'succeeded' | 'deadLettered';

/** The answer of {@link ActionLedger.claim}. */
export type ClaimResult =
  /** Ours until `complete`, `release` or the lease ends. `unknownSince`: an earlier attempt's outcome is unknown (reconcile first). */
  | { readonly status: 'claimed'; readonly token: string; readonly unknownSince?: number }
  /** The action already ran (or was dead-lettered): skip it. */
  | { readonly status: 'done'; readonly state: DoneState }
  /** Another delivery (this or another replica) holds a live claim. */
  | { readonly status: 'busy' };

export interface ClaimOptions {
  /** Claim a dead-lettered key as if it were free (a replay). Succeeded keys are never claimed again. Default: false. */
  readonly reclaimDeadLettered?: boolean;
}

/** Default lease of a claim: longer than the event deadline, so a live claim never expires under its holder. */
export const DEFAULT_LEASE_MS = 60_000;
/** Default retention of done marks: 7 days, longer than Kafka's usual redelivery horizon. */
export const DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000;
/** Default most entries per partition (about 50 bytes each). */
export const DEFAULT_MAX_ENTRIES = 2000;

/** The document section this module owns. */
export const ACTIONS_SECTION = 'actions';

interface Entry {
  s: 'c' | 'd' | 'x' | 'f';
  e: number;
  l?: number;
  t?: string;
  n?: number;
  u?: number;
}

type Marks = Record<string, Entry>;

export interface ActionLedgerOptions {
  readonly store: StateStore;
  /** Lease of a claim, ms. Default: {@link DEFAULT_LEASE_MS}. */
  readonly leaseMs?: number;
  /** How long done marks, counters and unknown outcomes are kept, ms. Default: {@link DEFAULT_RETENTION_MS}. */
  readonly retentionMs?: number;
  /** Most entries per partition. Default: {@link DEFAULT_MAX_ENTRIES}. */
  readonly maxEntries?: number;
  /** Clock, ms since epoch. Default: `Date.now`. */
  readonly now?: () => number;
}

/** The compact id of an idempotency key in the ledger: its effect id, also carried to AGS for lookups (`orderNo`, wallet `metadata`). */
export const markId = effectId;

function marksOf(doc: StateDocument | undefined): Marks {
  const section = doc?.[ACTIONS_SECTION] as { m?: unknown } | undefined;
  const m = section?.m;
  return m !== null && typeof m === 'object' && !Array.isArray(m) ? { ...(m as Marks) } : {};
}

export class ActionLedger {
  readonly store: StateStore;
  readonly leaseMs: number;
  readonly retentionMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: ActionLedgerOptions) {
    this.store = options.store;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.#maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.#now = options.now ?? Date.now;
  }

  /** The document with `marks` as its `actions` section, expired entries dropped, bounded. */
  #with(doc: StateDocument | undefined, marks: Marks, now: number): StateDocument {
    for (const [id, entry] of Object.entries(marks)) {
      if (entry.e <= now) delete marks[id]; // a claim's retention outlasts its lease
    }
    const ids = Object.keys(marks);
    if (ids.length > this.#maxEntries) {
      // oldest first: done marks and free entries, never a live claim
      const droppable = ids.filter((id) => !(marks[id]!.s === 'c' && (marks[id]!.l ?? 0) > now)).sort((a, b) => marks[a]!.e - marks[b]!.e);
      // down to 90% of the bound, so the sort is paid once per tenth of it, not on every write
      for (const id of droppable.slice(0, ids.length - Math.floor(this.#maxEntries * 0.9))) delete marks[id];
    }
    return { ...(doc ?? {}), [ACTIONS_SECTION]: { m: marks } };
  }

  /** Atomically claim `key` for the lease if it is free. `signal` (the event's deadline) aborts the claim: unavailable. Throws StateStoreUnavailableError. */
  claim(partition: Partition, key: string, options: ClaimOptions & StoreCallOptions = {}): Promise<ClaimResult> {
    const id = markId(key);
    const token = randomUUID();
    const now = this.#now();
    return this.store.transact<ClaimResult>(partition, (doc) => {
      const marks = marksOf(doc);
      const entry = marks[id];
      const live = entry && entry.e > now ? entry : undefined; // a claim's retention outlasts its lease
      if (live?.s === 'c' && (live.l ?? 0) > now) return { result: { status: 'busy' } };
      if (live?.s === 'd') return { result: { status: 'done', state: 'succeeded' } };
      if (live?.s === 'x' && !options.reclaimDeadLettered) return { result: { status: 'done', state: 'deadLettered' } };
      const claimed: Entry = { s: 'c', t: token, l: now + this.leaseMs, e: now + this.retentionMs };
      if (live?.n !== undefined) claimed.n = live.n;
      if (live?.u !== undefined && live.s !== 'x') claimed.u = live.u;
      // A claim whose lease ran out: its holder died, maybe after sending (kill -9 between AGS's
      // answer and the done mark). Its outcome is unknown since it was claimed.
      else if (live?.s === 'c' && live.l !== undefined) claimed.u = live.l - this.leaseMs;
      marks[id] = claimed;
      const result: ClaimResult = claimed.u !== undefined ? { status: 'claimed', token, unknownSince: claimed.u } : { status: 'claimed', token };
      return { next: this.#with(doc, marks, now), result };
    }, options.signal ? { signal: options.signal } : undefined);
  }

  /** Mark `key` done (whoever holds it) for the retention. */
  complete(partition: Partition, key: string, state: DoneState = 'succeeded'): Promise<void> {
    const id = markId(key);
    const now = this.#now();
    return this.store.transact(partition, (doc) => {
      const marks = marksOf(doc);
      const n = marks[id]?.n;
      marks[id] = { s: state === 'succeeded' ? 'd' : 'x', e: now + this.retentionMs, ...(n !== undefined ? { n } : {}) };
      return { next: this.#with(doc, marks, now), result: undefined };
    });
  }

  /**
   * Free `key` if it still holds the claim `token` (a no-op otherwise). `unknownSince`: the attempt
   * just made has an unknown outcome; the next claim is told so (reconcile before running again).
   */
  release(partition: Partition, key: string, token: string, unknownSince?: number): Promise<void> {
    const id = markId(key);
    const now = this.#now();
    return this.store.transact(partition, (doc) => {
      const marks = marksOf(doc);
      const entry = marks[id];
      if (entry?.s !== 'c' || entry.t !== token) return { result: undefined };
      const free: Entry = { s: 'f', e: now + this.retentionMs };
      if (entry.n !== undefined) free.n = entry.n;
      const u = unknownSince ?? entry.u;
      if (u !== undefined) free.u = u;
      marks[id] = free;
      return { next: this.#with(doc, marks, now), result: undefined };
    });
  }

  /** Count one failed delivery of `key`; returns the count so far (1 on the first). */
  countFailure(partition: Partition, key: string): Promise<number> {
    const id = markId(key);
    const now = this.#now();
    return this.store.transact(partition, (doc) => {
      const marks = marksOf(doc);
      const entry: Entry = marks[id] ? { ...marks[id] } : { s: 'f', e: now + this.retentionMs };
      entry.n = (entry.n ?? 0) + 1;
      marks[id] = entry;
      return { next: this.#with(doc, marks, now), result: entry.n };
    });
  }
}
