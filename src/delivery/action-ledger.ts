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
 * `actions: { n: <marks held>, b: [ { <mark id>: Entry } | null, ... 64 buckets ], h?: [Horizon, ...] }`,
 * mark id = 22 base64url characters of the key's SHA-256, its bucket = the
 * position of its first character in the base64url alphabet (about 30 marks
 * per bucket at the bound; an empty bucket is `null`). A write copies only the
 * bucket it changes and the 64-slot array; the rest of the document is shared as read.
 * An entry:
 * - `s`: `c` claimed, `d` succeeded, `x` dead-lettered, `f` free (released:
 *   claimable, keeps the counters below);
 * - `e`: when the entry may be dropped (ms since epoch): the retention;
 * - `l`: a claim's lease end (the claim is live while `l > now`);
 * - `t`: a claim's token; `n`: failed deliveries; `u`: when a request whose
 *   outcome is unknown was sent (reconcile before running again); a claim
 *   taken over after its lease ran out gets `u` = when the dead holder claimed it;
 *   a dead-lettered mark keeps in `u` the earliest instant its attempts may have
 *   been sent: a replay of an action with a lookup settles it from there first.
 * Every write drops the entries past `e` of the bucket it writes; past
 * `maxEntries` marks in all, it drops every entry past `e`, then the oldest
 * done marks down to 90% of the bound (never a live claim): a heavy player
 * keeps a bounded record, and that sort is paid once per tenth of the bound.
 *
 * Marks dropped to bound the record are never forgotten into a second effect:
 * each is added to a horizon, `{ f: <Bloom filter, base64>, a: <earliest
 * instant one of its actions may have been sent, ms>, z: <when its last mark
 * would have expired, ms>, c: <marks added> }` ({@link HORIZON_BITS_PER_MARK}
 * bits per mark, {@link HORIZON_HASHES} hashes: about 1 false "maybe" in 25 million
 * new keys per full horizon; one horizon holds `maxEntries` marks). A claim of a key without a
 * mark that a horizon may hold is answered as an unknown outcome since `a`: the
 * executor settles it through the action's lookup (grantItem's orderNo,
 * creditWallet's metadata) or dead-letters it as `unknown-outcome`, never runs
 * it blindly. A horizon is dropped at `z`, with the retention of its marks.
 * Such a claim carries `o: 1`; when its own lookup finds the effect (applied
 * before the horizon took its mark), {@link ActionLedger.complete} with `found`
 * drops the claim instead of writing a done mark: the horizon still remembers
 * the key until `z`, so a redelivery is settled by the lookup again, and
 * settling an old event never adds a mark that would push the next-oldest
 * marks under the horizon (a burst of redeliveries below the horizon used to
 * cascade: each settled event evicted the marks its successors were about to need).
 *
 * A section this module cannot read (not an object, buckets of the wrong
 * shape, an entry without its state...) is never read as empty: every call
 * rejects with {@link UnreadableStateError} naming the partition (the event is
 * answered UNAVAILABLE and redelivered; repair or delete the record).
 * The earlier layout, `actions: { m: { <mark id>: Entry } }`, is still read, and
 * moved into buckets by the first write.
 *
 * Deferred done marks ({@link ActionLedger.complete} with `defer`, for actions
 * whose effect AGS can look up): the mark is kept in this process and written
 * with the partition's next write of this ledger (the claim of the player's
 * next event) or at {@link ActionLedger.flush} (shutdown): one state-store
 * write fewer per granted event. Until it is written the key holds its claim: a
 * redelivery to this process finds the mark (applied before the claim is
 * decided); one to another replica finds a live claim, which the executor
 * settles with the action's lookup; a crash loses the mark, and after the lease
 * the claim is taken over as an unknown outcome and settled by the lookup, never
 * run blindly. When more than `maxPendingMarks` wait, the oldest partition's
 * are forgotten unwritten, as a crash would lose them (their claims are settled
 * by the lookup the same way): writing them would spend on players who send
 * nothing more (most first-seen players) the write the deferral saves.
 */
import { randomUUID } from 'node:crypto';
import { effectId } from '../actions/index.js';
import { adoptJson, adoptJsonReplacing, partitionId, UnreadableStateError } from '../store/index.js';
import type { Change, Partition, StateDocument, StateStore, StoreCallOptions, StoreKind } from '../store/index.js';

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
  /**
   * With `reclaimDeadLettered`: the dead-lettered attempt may have been applied (whatever its dead
   * letter says): the claim gets `unknownSince` (the earliest instant that attempt may have been sent),
   * so the executor settles it through the action's lookup before sending anything. Pass it for an
   * action that has a lookup. Default: false.
   */
  readonly reconcileDeadLettered?: boolean;
}

/** Default lease of a claim: longer than the event deadline, so a live claim never expires under its holder. */
export const DEFAULT_LEASE_MS = 60_000;
/** Default retention of done marks: 7 days, longer than Kafka's usual redelivery horizon. */
export const DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000;
/** Default most marks per partition (about 55 bytes each); marks dropped past it go to a horizon (see the module). */
export const DEFAULT_MAX_ENTRIES = 2000;
/**
 * Bits of a new horizon's Bloom filter per mark it holds: with {@link HORIZON_HASHES} hashes, about 1 false
 * positive in 25 million new keys per full horizon ((1 - e^(-14/40))^14 = 3.9e-8). It was 20 (1 in 15,000: the
 * bench's one-player rows dead-lettered 1 to 6 new events of 12,000 as `unknown-outcome`, their lookups unable to
 * reach back to the horizon's oldest mark). A horizon keeps the size it was made with: changing this value is safe
 * (a filter is read with its own length); changing {@link HORIZON_HASHES} is not (existing filters would answer a
 * false "no": a second effect).
 */
export const HORIZON_BITS_PER_MARK = 40;
/** Hashes per mark in a horizon's Bloom filter. Never change it: filters already stored were made with it (see {@link HORIZON_BITS_PER_MARK}). */
export const HORIZON_HASHES = 14;

/** Default most deferred done marks waiting in this process (see the module); past it the oldest partition's are forgotten unwritten. */
export const DEFAULT_MAX_PENDING_MARKS = 10_000;

/** The document section this module owns. */
export const ACTIONS_SECTION = 'actions';

interface Entry {
  s: 'c' | 'd' | 'x' | 'f';
  e: number;
  l?: number;
  t?: string;
  n?: number;
  u?: number;
  /** A claim taken below the horizon (no mark; a horizon may hold the key): `1`. */
  o?: 1;
}

type Marks = Readonly<Record<string, Entry>>;

/** Marks dropped to bound the record: a Bloom filter of their ids (see the module). */
interface Horizon {
  /** The filter's bits, base64. */
  readonly f: string;
  /** Earliest instant one of its marks' actions may have been sent, ms since epoch. */
  readonly a: number;
  /** When its last mark would have expired (the horizon is dropped then), ms since epoch. */
  readonly z: number;
  /** Marks added. */
  readonly c: number;
}

/** Buckets of a section: one per base64url character a mark id can start with. */
const BUCKETS = 64;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const STATES = new Set(['c', 'd', 'x', 'f']);

/** The `actions` section as read: buckets, and marks of the earlier unbucketed layout. Read-only (shared with the stored document). */
interface Section {
  /** {@link BUCKETS} buckets (each a record or `null`), or none. */
  readonly b: readonly unknown[];
  /** Marks in `b` as recorded by the last write (`undefined`: count them). */
  readonly n: number | undefined;
  readonly m: Marks | undefined;
  readonly h: readonly Horizon[];
  /** The partition, for errors. */
  readonly where: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function shapeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function isHorizon(v: unknown): v is Horizon {
  return isRecord(v) && typeof v.f === 'string' && v.f.length > 0 && typeof v.a === 'number' && typeof v.z === 'number' && typeof v.c === 'number';
}

/** A section this module cannot read: never read as empty. */
function unreadable(store: StoreKind, where: string, problem: string): UnreadableStateError {
  return new UnreadableStateError(store, where, `section "${ACTIONS_SECTION}": ${problem}`);
}

/** Gives any object a class's private fields: a base class whose constructor returns the object it is given. */
class Given {
  constructor(value: object) {
    return value; // the point: `CheckedBuckets` stamps its field on `value`
  }
}

/**
 * A list of buckets this module built (every bucket one it read and checked, or made): read again, it
 * needs no check of each bucket. A private field stamped on the list before it is frozen (as
 * `store/frozen-json.ts` does): only this module can set it, a copy or a parsed record never has it,
 * and an object made with the list as its prototype does not inherit it.
 */
class CheckedBuckets extends Given {
  readonly #checked = true;

  static stamp(list: readonly unknown[]): void {
    if (Object.isExtensible(list)) new CheckedBuckets(list); // it stamps `list`
  }

  static has(list: readonly unknown[]): boolean {
    return #checked in list;
  }
}

const EMPTY: Omit<Section, 'where'> = { b: [], n: 0, m: undefined, h: [] };

function sectionOf(doc: StateDocument | undefined, store: StoreKind, where: string): Section {
  const section = doc?.[ACTIONS_SECTION];
  if (section === undefined) return { ...EMPTY, where };
  if (!isRecord(section)) throw unreadable(store, where, `${shapeOf(section)}, not an object`);
  let b: readonly unknown[] = [];
  if (section.b !== undefined) {
    if (!Array.isArray(section.b) || section.b.length !== BUCKETS) throw unreadable(store, where, `"b" is ${shapeOf(section.b)}${Array.isArray(section.b) ? ` of ${section.b.length}` : ''}, not ${BUCKETS} buckets`);
    if (!CheckedBuckets.has(section.b)) for (let i = 0; i < BUCKETS; i++) {
      const bucket: unknown = section.b[i];
      if (bucket !== null && !isRecord(bucket)) throw unreadable(store, where, `bucket ${i} is ${shapeOf(bucket)}, not an object or null`);
    }
    b = section.b as unknown[];
  }
  const n = b.length > 0 && typeof section.n === 'number' && Number.isSafeInteger(section.n) && section.n >= 0 ? section.n : undefined;
  if (section.m !== undefined && !isRecord(section.m)) throw unreadable(store, where, `"m" is ${shapeOf(section.m)}, not an object`);
  let h: readonly Horizon[] = [];
  if (section.h !== undefined) {
    if (!Array.isArray(section.h) || !section.h.every(isHorizon)) throw unreadable(store, where, '"h" is not a list of horizons {f, a, z, c}');
    h = section.h;
  }
  return { b, n, m: section.m as Marks | undefined, h, where };
}

/** The entry as stored, checked: an entry this module cannot read is never taken as absent. */
function checked(store: StoreKind, where: string, id: string, v: unknown): Entry {
  if (!isRecord(v) || typeof v.s !== 'string' || !STATES.has(v.s) || typeof v.e !== 'number') throw unreadable(store, where, `mark ${id} is not {s: c|d|x|f, e: <ms>}`);
  return v as unknown as Entry;
}

/** The marks of one bucket as read (`null`: empty). */
function marksAt(buckets: readonly unknown[], i: number): Marks | undefined {
  const bucket = buckets[i];
  return bucket === null || bucket === undefined ? undefined : (bucket as Marks);
}

/**
 * A new bucket: an object without a prototype, which V8 keeps as a hash table from the start (an
 * object literal would get a new hidden class for every mark id added: each id is new). The memory,
 * Redis and Cloud Save stores keep it so (`store/frozen-json.ts`); JSON is the same.
 */
function newBucket(): Record<string, Entry> {
  return Object.create(null) as Record<string, Entry>;
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

/** {@link BUCKETS} buckets holding `buckets` and the marks of the earlier layout (a bucketed mark wins); empty ones `null`. */
function migrated(buckets: readonly unknown[], legacy: Marks): (Marks | null)[] {
  const out: (Record<string, Entry> | null)[] = new Array<Record<string, Entry> | null>(BUCKETS).fill(null);
  const put = (id: string, entry: Entry): void => {
    const i = bucketOf(id);
    (out[i] ??= newBucket())[id] = entry;
  };
  for (const [id, entry] of Object.entries(legacy)) if (isRecord(entry)) put(id, entry);
  for (let i = 0; i < BUCKETS; i++) for (const [id, entry] of Object.entries(marksAt(buckets, i) ?? {})) put(id, entry);
  return out;
}

/** The {@link HORIZON_HASHES} bit positions of a mark id in a filter of `bits` bits (double hashing on the id's own SHA-256 bits). */
function positions(id: string, bits: number): number[] {
  const raw = Buffer.from(id, 'base64url');
  const h1 = raw.length >= 4 ? raw.readUInt32BE(0) : 0;
  const h2 = (raw.length >= 8 ? raw.readUInt32BE(4) : 0x9e3779b9) | 1;
  const out: number[] = [];
  for (let i = 0; i < HORIZON_HASHES; i++) out.push((((h1 + Math.imul(i, h2)) >>> 0) % bits));
  return out;
}

/** Decoded filters, per horizon object as read (they are immutable). */
const decoded = new WeakMap<Horizon, Buffer>();

function bitsOf(h: Horizon): Buffer {
  let bits = decoded.get(h);
  if (!bits) {
    bits = Buffer.from(h.f, 'base64');
    decoded.set(h, bits);
  }
  return bits;
}

/** Whether the horizon may hold the mark `id` (false: it certainly does not). */
function mayHold(h: Horizon, id: string): boolean {
  const bits = bitsOf(h);
  if (bits.length === 0) return false;
  return positions(id, bits.length * 8).every((p) => (bits[p >> 3]! & (1 << (p & 7))) !== 0);
}

/**
 * A mark as stored: `s` c(laimed)/d(one)/x (dead-lettered)/f(ree), `e` retention end,
 * `l` lease end (ms since epoch), `t` claim token, `n` failed deliveries, `u` unknown outcome since.
 */
export type Mark = Readonly<Entry>;

/** The mark of the idempotency key `key` in a partition's document, if any (inspection: tests, tools). */
export function markIn(doc: StateDocument | undefined, key: string): Mark | undefined {
  const id = markId(key);
  const section = sectionOf(doc, 'memory', 'a document');
  const v = marksAt(section.b, bucketOf(id))?.[id] ?? section.m?.[id];
  return v === undefined ? undefined : checked('memory', section.where, id, v);
}

/** How many marks a partition's document holds. */
export function markCount(doc: StateDocument | undefined): number {
  const section = sectionOf(doc, 'memory', 'a document');
  const ids = new Set<string>(Object.keys(section.m ?? {}));
  for (let i = 0; i < BUCKETS; i++) for (const id of Object.keys(marksAt(section.b, i) ?? {})) ids.add(id);
  return ids.size;
}

/**
 * Whether a live horizon of a partition's document may hold the mark of `key` (inspection: tests, tools). True
 * for a key dropped to bound the record, and for a new key only as a Bloom filter's false positive.
 * `now`: horizons that ended by then are not live, ms since epoch. Default: `Date.now()`.
 */
export function horizonMayHold(doc: StateDocument | undefined, key: string, now = Date.now()): boolean {
  const id = markId(key);
  return sectionOf(doc, 'memory', 'a document').h.some((h) => h.z > now && mayHold(h, id));
}

/** How many marks dropped to bound the record its horizons hold (see the module). */
export function horizonMarks(doc: StateDocument | undefined): number {
  return sectionOf(doc, 'memory', 'a document').h.reduce((n, h) => n + h.c, 0);
}

export interface ActionLedgerOptions {
  readonly store: StateStore;
  /** Lease of a claim, ms. Default: {@link DEFAULT_LEASE_MS}. */
  readonly leaseMs?: number;
  /** How long done marks, counters and unknown outcomes are kept, ms. Default: {@link DEFAULT_RETENTION_MS}. */
  readonly retentionMs?: number;
  /** Most marks per partition; past it the oldest go to a horizon (see the module). Default: {@link DEFAULT_MAX_ENTRIES}. */
  readonly maxEntries?: number;
  /** Clock, ms since epoch. Default: `Date.now`. */
  readonly now?: () => number;
  /** Most deferred done marks waiting to be written (see the module). Default: {@link DEFAULT_MAX_PENDING_MARKS}. */
  readonly maxPendingMarks?: number;
}

/** Options of {@link ActionLedger.complete}. */
export interface CompleteOptions {
  /**
   * Write the mark with the partition's next write instead of now (see the module). Only for an
   * action whose effect can be looked up (`reconcile`): until it is written, other replicas see the
   * claim. Default: false.
   */
  readonly defer?: boolean;
  /**
   * The effect was found by the action's lookup, not applied by this delivery: when the key's entry is a
   * claim taken below the horizon (see the module), no done mark is written (the claim `token`, when it is
   * this delivery's, is dropped; another delivery's live claim is left to its holder). Default: absent
   * (a done mark is written).
   */
  readonly found?: { readonly token?: string };
}

/** A done mark not written yet: its id, state and when it was made (ms since epoch); `found`: see {@link CompleteOptions.found}. */
interface PendingMark {
  readonly id: string;
  readonly state: DoneState;
  readonly at: number;
  readonly found?: { readonly token?: string };
}

/** The deferred marks of one partition. */
interface Pending {
  readonly partition: Partition;
  readonly marks: Map<string, PendingMark>;
}

/** The compact id of an idempotency key in the ledger: its effect id, also carried to AGS for lookups (`orderNo`, wallet `metadata`). */
export const markId = effectId;

export class ActionLedger {
  readonly store: StateStore;
  readonly leaseMs: number;
  readonly retentionMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #maxPending: number;
  /** Deferred done marks by partition id, oldest partition first. */
  readonly #pending = new Map<string, Pending>();
  #pendingCount = 0;

  constructor(options: ActionLedgerOptions) {
    this.store = options.store;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.#maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.#now = options.now ?? Date.now;
    this.#maxPending = Math.max(0, options.maxPendingMarks ?? DEFAULT_MAX_PENDING_MARKS);
  }

  /** Deferred done marks waiting to be written (see the module). */
  get pendingMarks(): number {
    return this.#pendingCount;
  }

  /** `doc` with the deferred marks applied (each keeps the entry's failure count). */
  #marked(doc: StateDocument | undefined, partition: Partition, marks: readonly PendingMark[], now: number): StateDocument | undefined {
    let out = doc;
    for (const m of marks) {
      const section = this.#section(out, partition);
      const entry = this.#entry(section, m.id);
      const done = this.#done(entry, m.state, m.at, m.found, now);
      if (done !== 'keep') out = this.#with(out, section, m.id, done ?? undefined, now);
    }
    return out;
  }

  /**
   * The done mark replacing `entry` (made at `at`): `null` drops the entry (its own claim, taken below the
   * horizon, found by the lookup: the horizon remembers the key), `'keep'` leaves it (another delivery's live claim
   * below the horizon: its holder settles it). A dead-lettered mark keeps in `u` when its attempts may have been sent.
   */
  #done(entry: Entry | undefined, state: DoneState, at: number, found: CompleteOptions['found'], now: number): Entry | null | 'keep' {
    if (found && state === 'succeeded' && entry?.s === 'c' && entry.o === 1) {
      if (entry.t === found.token) return null;
      if ((entry.l ?? 0) > now) return 'keep';
    }
    const n = entry?.n;
    const done: Entry = { s: state === 'succeeded' ? 'd' : 'x', e: at + this.retentionMs, ...(n !== undefined ? { n } : {}) };
    if (state === 'deadLettered') {
      const claimedAt = entry?.s === 'c' && entry.l !== undefined ? entry.l - this.leaseMs : at - this.leaseMs;
      done.u = Math.min(entry?.u ?? claimedAt, claimedAt);
    }
    return done;
  }

  /**
   * `store.transact` with the partition's deferred done marks applied first (and written with
   * `update`'s change, or alone when `update` writes nothing). The marks are taken out of the
   * pending ones for the call, so each is applied by one transaction (not again by every call
   * queued behind it); when the call fails they are pending again.
   */
  #transact<T>(partition: Partition, update: (doc: StateDocument | undefined) => Change<T>, options?: StoreCallOptions): Promise<T> {
    const pid = partitionId(partition);
    const waiting = this.#pending.get(pid);
    if (waiting === undefined) return this.store.transact(partition, update, options);
    this.#pending.delete(pid);
    this.#pendingCount -= waiting.marks.size;
    const marks = [...waiting.marks.values()];
    const now = this.#now();
    const written = this.store.transact<T>(
      partition,
      (doc) => {
        const marked = this.#marked(doc, partition, marks, now)!;
        const change = update(marked);
        return change.next !== undefined ? change : { next: marked, result: change.result };
      },
      options,
    );
    return written.catch((error: unknown) => {
      this.#restore(waiting.partition, marks);
      throw error;
    });
  }

  /** Marks whose write failed are pending again (unless made again meanwhile). */
  #restore(partition: Partition, marks: readonly PendingMark[]): void {
    for (const m of marks) this.#defer(partition, m.id, m.state, m, false);
  }

  /**
   * Keeps a deferred done mark; past the bound, the oldest partitions' marks are forgotten, not written:
   * their claims stay on record and a redelivery settles them through the action's lookup, as after a
   * crash (see the module). Writing them would cost one state-store write each: the write the deferral
   * saves, spent on players who send nothing more (a first-seen player's one event).
   */
  #defer(partition: Partition, id: string, state: DoneState, mark?: PendingMark, replace = true): void {
    const pid = partitionId(partition);
    let waiting = this.#pending.get(pid);
    if (!waiting) {
      waiting = { partition, marks: new Map() };
      this.#pending.set(pid, waiting);
    }
    if (waiting.marks.has(id)) {
      if (!replace) return;
    } else this.#pendingCount++;
    waiting.marks.set(id, mark ?? { id, state, at: this.#now() });
    while (this.#pendingCount > this.#maxPending) {
      const [oldest, evicted] = this.#pending.entries().next().value!;
      this.#pending.delete(oldest);
      this.#pendingCount -= evicted.marks.size;
    }
  }

  /**
   * Writes every deferred done mark now (shutdown: before the store closes). Resolves when each
   * partition's write settled; a failed one leaves its marks pending (if they are never written,
   * their claims are settled by the action's lookup).
   */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#pending.values()].map((w) => this.#transact(w.partition, () => ({ result: undefined }))));
  }

  #section(doc: StateDocument | undefined, partition: Partition): Section {
    return sectionOf(doc, this.store.kind, this.store.describe?.(partition) ?? `state record of ${partitionId(partition)}`);
  }

  #entry(section: Section, id: string): Entry | undefined {
    const v = marksAt(section.b, bucketOf(id))?.[id] ?? section.m?.[id];
    return v === undefined ? undefined : checked(this.store.kind, section.where, id, v);
  }

  /**
   * The document with `entry` as the mark `id` (`undefined`: without it): a copy of its bucket (entries
   * past their retention dropped) and of the bucket map; every other part of
   * `doc` shared. Past `maxEntries` marks, compacted (the dropped ones go to a horizon).
   */
  #with(doc: StateDocument | undefined, section: Section, id: string, entry: Entry | undefined, now: number): StateDocument {
    let buckets: readonly unknown[] = section.b;
    let total = section.n;
    if (section.m !== undefined || buckets.length !== BUCKETS) {
      buckets = migrated(buckets, section.m ?? {});
      total = undefined;
    }
    const at = bucketOf(id);
    const bucket = newBucket();
    const old = marksAt(buckets, at);
    let before = 0;
    let after = entry ? 1 : 0;
    if (old) {
      for (const k in old) {
        before++;
        const v = checked(this.store.kind, section.where, k, old[k]);
        if (k !== id && v.e > now) {
          bucket[k] = v; // a claim's retention outlasts its lease
          after++;
        }
      }
    }
    if (entry) bucket[id] = adoptJson(entry) as Entry;
    // a loop, not slice(): slice() of a frozen array (the stores keep them frozen) takes V8's slow path
    const next = new Array<unknown>(BUCKETS);
    for (let i = 0; i < BUCKETS; i++) next[i] = i === at ? (after > 0 ? adoptJson(bucket) : null) : (buckets[i] ?? null);
    let horizons = section.h.some((h) => h.z <= now) ? section.h.filter((h) => h.z > now) : section.h;
    // `n` is kept up to date by every write; a bucket far over its share means it is not (an edited record): count
    if (total !== undefined && after <= 2 * Math.ceil(this.#maxEntries / BUCKETS)) total = total - before + after;
    else total = countMarks(next);
    let b: readonly unknown[] = next;
    if (total > this.#maxEntries) {
      const compacted = this.#compact(next, horizons, section.where, now);
      b = compacted.buckets;
      horizons = compacted.horizons;
      total = countMarks(b);
    }
    // frozen JSON as built (`adoptJson`): the store keeps it without copying it again; the buckets'
    // text kept (Cloud Save, Redis): the next write serialises one
    CheckedBuckets.stamp(b);
    // `next` is `buckets` with the bucket at `at` replaced (the loop above): adopted from what is known of `buckets`
    const frozen = (b === next ? adoptJsonReplacing(next, buckets, at, true) : adoptJson(b, true)) as readonly unknown[];
    const written = adoptJson(horizons.length > 0 ? { n: total, b: frozen, h: adoptJson(horizons) } : { n: total, b: frozen });
    return adoptJson({ ...(doc ?? {}), [ACTIONS_SECTION]: written }) as StateDocument;
  }

  /**
   * Every bucket without its entries past retention, then the oldest droppable entries (never a live
   * claim) down to 90% of the bound; the dropped ones that may have had an effect (done, dead-lettered,
   * or released with an unknown outcome) are added to the newest horizon (a new one when it is full).
   */
  #compact(buckets: readonly unknown[], horizons: readonly Horizon[], where: string, now: number): { buckets: (Marks | null)[]; horizons: readonly Horizon[] } {
    const kept: [number, string, Entry][] = [];
    for (let i = 0; i < BUCKETS; i++) {
      const bucket = marksAt(buckets, i);
      if (bucket) for (const id in bucket) {
        const entry = checked(this.store.kind, where, id, bucket[id]);
        if (entry.e > now) kept.push([i, id, entry]);
      }
    }
    const dropped = new Set<[number, string, Entry]>();
    if (kept.length > this.#maxEntries) {
      // oldest first: done marks and free entries, never a live claim
      const droppable = kept.filter(([, , x]) => !(x.s === 'c' && (x.l ?? 0) > now)).sort((a, b) => a[2].e - b[2].e);
      for (const d of droppable.slice(0, kept.length - Math.floor(this.#maxEntries * 0.9))) dropped.add(d);
    }
    const out: (Record<string, Entry> | null)[] = new Array<Record<string, Entry> | null>(BUCKETS).fill(null);
    for (const k of kept) if (!dropped.has(k)) (out[k[0]] ??= newBucket())[k[1]] = k[2];
    const settled = [...dropped].filter(([, , x]) => x.s !== 'f' || x.u !== undefined);
    return { buckets: out, horizons: settled.length > 0 ? this.#remembered(horizons, settled) : horizons };
  }

  /** `horizons` with the marks `settled` added (see the module). */
  #remembered(horizons: readonly Horizon[], settled: readonly [number, string, Entry][]): Horizon[] {
    const out = horizons.slice();
    const capacity = this.#maxEntries;
    let i = 0;
    while (i < settled.length) {
      const last = out[out.length - 1];
      const current = last && last.c < capacity ? last : undefined;
      const take = settled.slice(i, i + capacity - (current?.c ?? 0));
      const bits = current ? Buffer.from(bitsOf(current)) : Buffer.alloc(Math.ceil((capacity * HORIZON_BITS_PER_MARK) / 8));
      let a = current?.a ?? Number.POSITIVE_INFINITY;
      let z = current?.z ?? 0;
      for (const [, id, x] of take) {
        for (const p of positions(id, bits.length * 8)) bits[p >> 3]! |= 1 << (p & 7);
        // sent at the earliest a lease before it was claimed: its retention started at the latest write
        a = Math.min(a, x.u ?? x.e - this.retentionMs - this.leaseMs);
        z = Math.max(z, x.e);
      }
      const h: Horizon = { f: bits.toString('base64'), a, z, c: (current?.c ?? 0) + take.length };
      if (current) out[out.length - 1] = h;
      else out.push(h);
      i += take.length;
    }
    return out;
  }

  /** Atomically claim `key` for the lease if it is free. `signal` (the event's deadline) aborts the claim: unavailable. Throws StateStoreUnavailableError (UnreadableStateError: the record cannot be read). */
  claim(partition: Partition, key: string, options: ClaimOptions & StoreCallOptions = {}): Promise<ClaimResult> {
    const id = markId(key);
    const token = randomUUID();
    const now = this.#now();
    return this.#transact<ClaimResult>(partition, (doc) => {
      const section = this.#section(doc, partition);
      const entry = this.#entry(section, id);
      const live = entry && entry.e > now ? entry : undefined; // a claim's retention outlasts its lease
      // this call's own claim: its write landed, its answer was lost, and the store runs this update again on a
      // record written on top of it since (another replica's write): still ours, never another delivery's
      if (live?.s === 'c' && live.t === token) return { result: live.u !== undefined ? { status: 'claimed', token, unknownSince: live.u } : { status: 'claimed', token } };
      if (live?.s === 'c' && (live.l ?? 0) > now) return { result: { status: 'busy' } };
      if (live?.s === 'd') return { result: { status: 'done', state: 'succeeded' } };
      if (live?.s === 'x' && !options.reclaimDeadLettered) return { result: { status: 'done', state: 'deadLettered' } };
      const claimed: Entry = { s: 'c', t: token, l: now + this.leaseMs, e: now + this.retentionMs };
      if (live?.n !== undefined) claimed.n = live.n;
      // a replay of a dead letter: its attempt may have been applied (an answer read as a failure), look it up first
      if (live?.s === 'x') {
        if (options.reconcileDeadLettered) claimed.u = live.u ?? live.e - this.retentionMs - this.leaseMs;
      } else if (live?.u !== undefined) claimed.u = live.u;
      // A claim whose lease ran out: its holder died, maybe after sending (kill -9 between AGS's
      // answer and the done mark). Its outcome is unknown since it was claimed.
      else if (live?.s === 'c' && live.l !== undefined) claimed.u = live.l - this.leaseMs;
      // No mark, but one dropped to bound the record may have been this key's: settle it, never run it blindly.
      else if (live === undefined) {
        const since = this.#horizonOf(section, id, now);
        if (since !== undefined) {
          claimed.u = since;
          claimed.o = 1;
        }
      }
      const result: ClaimResult = claimed.u !== undefined ? { status: 'claimed', token, unknownSince: claimed.u } : { status: 'claimed', token };
      return { next: this.#with(doc, section, id, claimed, now), result };
    }, options.signal ? { signal: options.signal } : undefined);
  }

  /** The earliest `a` of the live horizons that may hold `id`, if any. */
  #horizonOf(section: Section, id: string, now: number): number | undefined {
    let since: number | undefined;
    for (const h of section.h) if (h.z > now && mayHold(h, id)) since = Math.min(since ?? h.a, h.a);
    return since;
  }

  /**
   * Mark `key` done (whoever holds it) for the retention; with `defer`, with the partition's next write (see the
   * module). A dead-lettered mark keeps `u`: the earliest instant its attempts may have been sent (its claim's
   * start, or an earlier unknown outcome), where a replay's lookup starts (see {@link ClaimOptions.reconcileDeadLettered}).
   */
  complete(partition: Partition, key: string, state: DoneState = 'succeeded', options: CompleteOptions = {}): Promise<void> {
    const id = markId(key);
    if (options.defer) {
      this.#defer(partition, id, state, options.found ? { id, state, at: this.#now(), found: options.found } : undefined);
      return Promise.resolve();
    }
    const now = this.#now();
    return this.#transact(partition, (doc) => {
      const section = this.#section(doc, partition);
      const done = this.#done(this.#entry(section, id), state, now, options.found, now);
      return done === 'keep' ? { result: undefined } : { next: this.#with(doc, section, id, done ?? undefined, now), result: undefined };
    });
  }

  /**
   * Free `key` if it still holds the claim `token` (a no-op otherwise). `unknownSince`: the attempt
   * just made has an unknown outcome; the next claim is told so (reconcile before running again).
   */
  release(partition: Partition, key: string, token: string, unknownSince?: number): Promise<void> {
    const id = markId(key);
    const now = this.#now();
    return this.#transact(partition, (doc) => {
      const section = this.#section(doc, partition);
      const entry = this.#entry(section, id);
      if (entry?.s !== 'c' || entry.t !== token) return { result: undefined };
      const free: Entry = { s: 'f', e: now + this.retentionMs };
      if (entry.n !== undefined) free.n = entry.n;
      const u = unknownSince ?? entry.u;
      if (u !== undefined) free.u = u;
      return { next: this.#with(doc, section, id, free, now), result: undefined };
    });
  }

  /** Count one failed delivery of `key`; returns the count so far (1 on the first). */
  countFailure(partition: Partition, key: string): Promise<number> {
    const id = markId(key);
    const now = this.#now();
    return this.#transact(partition, (doc) => {
      const section = this.#section(doc, partition);
      const old = this.#entry(section, id);
      const entry: Entry = old ? { ...old } : { s: 'f', e: now + this.retentionMs };
      entry.n = (entry.n ?? 0) + 1;
      return { next: this.#with(doc, section, id, entry, now), result: entry.n };
    });
  }
}
