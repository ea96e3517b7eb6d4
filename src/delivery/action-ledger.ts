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
 * `actions: { n: <marks held>, b: [ { <mark id>: Entry }, ... 64 buckets ] }`,
 * mark id = 22 base64url characters of the key's SHA-256, its bucket = the
 * position of its first character in the base64url alphabet (about 30 marks
 * per bucket at the bound). A write copies only the bucket it changes and the
 * 64-slot array; the rest of the document is shared as read.
 * An entry:
 * - `s`: `c` claimed, `d` succeeded, `x` dead-lettered, `f` free (released:
 *   claimable, keeps the counters below);
 * - `e`: when the entry may be dropped (ms since epoch): the retention;
 * - `l`: a claim's lease end (the claim is live while `l > now`);
 * - `t`: a claim's token; `n`: failed deliveries; `u`: when a request whose
 *   outcome is unknown was sent (reconcile before running again); a claim
 *   taken over after its lease ran out gets `u` = when the dead holder claimed it.
 * Every write drops the entries past `e` of the bucket it writes; past
 * `maxEntries` marks in all, it drops every entry past `e`, then the oldest
 * done marks down to 90% of the bound (never a live claim): a heavy player
 * keeps a bounded record, and that sort is paid once per tenth of the bound.
 * The earlier layout, `actions: { m: { <mark id>: Entry } }`, is still read, and
 * moved into buckets by the first write.
 */
import { randomUUID } from 'node:crypto';
import { effectId } from '../actions/index.js';
import type { Partition, StateDocument, StateStore, StoreCallOptions } from '../store/index.js';

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

type Marks = Readonly<Record<string, Entry>>;

/** Buckets of a section: one per base64url character a mark id can start with. */
const BUCKETS = 64;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The `actions` section as read: buckets, and marks of the earlier unbucketed layout. Read-only (shared with the stored document). */
interface Section {
  /** {@link BUCKETS} buckets; a missing one or `null` is empty. */
  readonly b: readonly unknown[];
  /** Marks in `b` as recorded by the last write (`undefined`: count them). */
  readonly n: number | undefined;
  readonly m: Marks | undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function sectionOf(doc: StateDocument | undefined): Section {
  const section = doc?.[ACTIONS_SECTION];
  if (!isRecord(section)) return { b: [], n: 0, m: undefined };
  const b = Array.isArray(section.b) && section.b.length === BUCKETS ? (section.b as unknown[]) : [];
  const n = b.length > 0 && typeof section.n === 'number' && Number.isSafeInteger(section.n) && section.n >= 0 ? section.n : undefined;
  return { b, n, m: isRecord(section.m) ? (section.m as Marks) : undefined };
}

/** The marks of one bucket as read (a malformed bucket reads as empty). */
function marksAt(buckets: readonly unknown[], i: number): Marks | undefined {
  const bucket = buckets[i];
  return isRecord(bucket) ? (bucket as Marks) : undefined;
}

/** Marks held in `buckets` (every entry, expired or not). */
function countMarks(buckets: readonly unknown[]): number {
  let n = 0;
  for (let i = 0; i < BUCKETS; i++) {
    const bucket = marksAt(buckets, i);
    if (bucket) for (const _ in bucket) n++;
  }
  return n;
}

/** The bucket of a mark id: the index of its first character in the base64url alphabet. */
function bucketOf(id: string): number {
  const i = BASE64URL.indexOf(id.charAt(0));
  return i >= 0 ? i : id.charCodeAt(0) % BUCKETS;
}

/** {@link BUCKETS} buckets holding `buckets` and the marks of the earlier layout (a bucketed mark wins). */
function migrated(buckets: readonly unknown[], legacy: Marks): Marks[] {
  const out: Record<string, Entry>[] = Array.from({ length: BUCKETS }, () => ({}));
  for (const [id, entry] of Object.entries(legacy)) if (isRecord(entry)) out[bucketOf(id)]![id] = entry;
  for (let i = 0; i < BUCKETS; i++) Object.assign(out[i]!, marksAt(buckets, i));
  return out;
}

/**
 * A mark as stored: `s` c(laimed)/d(one)/x (dead-lettered)/f(ree), `e` retention end,
 * `l` lease end (ms since epoch), `t` claim token, `n` failed deliveries, `u` unknown outcome since.
 */
export type Mark = Readonly<Entry>;

/** The mark of the idempotency key `key` in a partition's document, if any (inspection: tests, tools). */
export function markIn(doc: StateDocument | undefined, key: string): Mark | undefined {
  return entryOf(sectionOf(doc), markId(key));
}

/** How many marks a partition's document holds. */
export function markCount(doc: StateDocument | undefined): number {
  const section = sectionOf(doc);
  const ids = new Set<string>(Object.keys(section.m ?? {}));
  for (let i = 0; i < BUCKETS; i++) for (const id of Object.keys(marksAt(section.b, i) ?? {})) ids.add(id);
  return ids.size;
}

function entryOf(section: Section, id: string): Entry | undefined {
  return marksAt(section.b, bucketOf(id))?.[id] ?? section.m?.[id];
}

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

  /**
   * The document with `entry` (or none: `undefined`) as the mark `id`: a copy of
   * its bucket (entries past their retention dropped) and of the bucket map;
   * every other part of `doc` shared. Past `maxEntries` marks, compacted.
   */
  #with(doc: StateDocument | undefined, id: string, entry: Entry, now: number): StateDocument {
    const section = sectionOf(doc);
    let buckets: readonly unknown[] = section.b;
    let total = section.n;
    if (section.m !== undefined || buckets.length !== BUCKETS) {
      buckets = migrated(buckets, section.m ?? {});
      total = undefined;
    }
    const at = bucketOf(id);
    const bucket: Record<string, Entry> = {};
    const old = marksAt(buckets, at);
    let before = 0;
    let after = 1;
    if (old) {
      for (const k in old) {
        before++;
        const v = old[k];
        if (k !== id && isRecord(v) && v.e > now) {
          bucket[k] = v; // a claim's retention outlasts its lease
          after++;
        }
      }
    }
    bucket[id] = entry;
    const next = buckets.slice();
    next[at] = bucket;
    // `n` is kept up to date by every write; a bucket far over its share means it is not (an edited record): count
    if (total !== undefined && after <= 2 * Math.ceil(this.#maxEntries / BUCKETS)) total = total - before + after;
    else total = countMarks(next);
    if (total <= this.#maxEntries) return { ...(doc ?? {}), [ACTIONS_SECTION]: { n: total, b: next } };
    const compacted = this.#compact(next, now);
    return { ...(doc ?? {}), [ACTIONS_SECTION]: { n: countMarks(compacted), b: compacted } };
  }

  /** Every bucket without its entries past retention, then the oldest droppable entries (never a live claim) down to 90% of the bound. */
  #compact(buckets: readonly unknown[], now: number): Marks[] {
    const kept: [number, string, Entry][] = [];
    for (let i = 0; i < BUCKETS; i++) {
      const bucket = marksAt(buckets, i);
      if (bucket) for (const [id, entry] of Object.entries(bucket)) if (isRecord(entry) && entry.e > now) kept.push([i, id, entry]);
    }
    const dropped = new Set<[number, string, Entry]>();
    if (kept.length > this.#maxEntries) {
      // oldest first: done marks and free entries, never a live claim
      const droppable = kept.filter(([, , x]) => !(x.s === 'c' && (x.l ?? 0) > now)).sort((a, b) => a[2].e - b[2].e);
      for (const d of droppable.slice(0, kept.length - Math.floor(this.#maxEntries * 0.9))) dropped.add(d);
    }
    const out: Record<string, Entry>[] = Array.from({ length: BUCKETS }, () => ({}));
    for (const k of kept) if (!dropped.has(k)) out[k[0]]![k[1]] = k[2];
    return out;
  }

  /** Atomically claim `key` for the lease if it is free. `signal` (the event's deadline) aborts the claim: unavailable. Throws StateStoreUnavailableError. */
  claim(partition: Partition, key: string, options: ClaimOptions & StoreCallOptions = {}): Promise<ClaimResult> {
    const id = markId(key);
    const token = randomUUID();
    const now = this.#now();
    return this.store.transact<ClaimResult>(partition, (doc) => {
      const entry = entryOf(sectionOf(doc), id);
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
      const result: ClaimResult = claimed.u !== undefined ? { status: 'claimed', token, unknownSince: claimed.u } : { status: 'claimed', token };
      return { next: this.#with(doc, id, claimed, now), result };
    }, options.signal ? { signal: options.signal } : undefined);
  }

  /** Mark `key` done (whoever holds it) for the retention. */
  complete(partition: Partition, key: string, state: DoneState = 'succeeded'): Promise<void> {
    const id = markId(key);
    const now = this.#now();
    return this.store.transact(partition, (doc) => {
      const n = entryOf(sectionOf(doc), id)?.n;
      const done: Entry = { s: state === 'succeeded' ? 'd' : 'x', e: now + this.retentionMs, ...(n !== undefined ? { n } : {}) };
      return { next: this.#with(doc, id, done, now), result: undefined };
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
      const entry = entryOf(sectionOf(doc), id);
      if (entry?.s !== 'c' || entry.t !== token) return { result: undefined };
      const free: Entry = { s: 'f', e: now + this.retentionMs };
      if (entry.n !== undefined) free.n = entry.n;
      const u = unknownSince ?? entry.u;
      if (u !== undefined) free.u = u;
      return { next: this.#with(doc, id, free, now), result: undefined };
    });
  }

  /** Count one failed delivery of `key`; returns the count so far (1 on the first). */
  countFailure(partition: Partition, key: string): Promise<number> {
    const id = markId(key);
    const now = this.#now();
    return this.store.transact(partition, (doc) => {
      const old = entryOf(sectionOf(doc), id);
      const entry: Entry = old ? { ...old } : { s: 'f', e: now + this.retentionMs };
      entry.n = (entry.n ?? 0) + 1;
      return { next: this.#with(doc, id, entry, now), result: entry.n };
    });
  }
}
