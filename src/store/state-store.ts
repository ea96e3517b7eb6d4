/**
 * The shared state store: one JSON document per partition (a player, or the
 * whole game of a namespace), read and changed with optimistic concurrency.
 *
 * It is the one durable, replica-shared memory of the app. Two concepts keep
 * their data in it, each in its own top-level section of the document:
 * - `delivery/` (idempotency: claims, done marks, failure counts, dead letters),
 * - `state/` (stateful rules: firings, event history for counts and streaks).
 * A module reads and writes only its own sections and keeps them bounded
 * (compaction on write): a Cloud Save record should stay well under the 250 KB
 * AccelByte recommends.
 *
 * Backends (`STATE_STORE`): `memory` (one process, lost on restart), `redis`
 * (shared by replicas; durable as far as the Redis is), `cloudsave` (AGS
 * Cloud Save admin records: shared by every replica, survives deploys).
 *
 * Life of a change: {@link StateStore.transact} reads the document, calls
 * `update` with it, and writes `next` only if nobody wrote in between; on a
 * conflict it reads again and calls `update` again. So `update` must be pure
 * (no side effects, no clock reads: pass the instant in from outside) and may
 * run several times.
 */
import { createHash } from 'node:crypto';

/** Which backend: for logs, metrics labels and error messages. */
export type StoreKind = 'memory' | 'redis' | 'cloudsave';

/**
 * Whose document: one player's (`userId`), a named document of the namespace
 * (`key`: a counter keyed by something other than the player, such as a
 * party's `limit.key`, or a shard), or (neither) the namespace's game-wide one.
 * `userId` and `key` are never both set.
 */
export interface Partition {
  /** AGS namespace. */
  readonly namespace: string;
  /** The player (AGS user id). Absent: the game-wide partition (events without a player) or a named one. */
  readonly userId?: string;
  /**
   * A named document of the namespace, not a player's: 1 to 64 characters of
   * `[A-Za-z0-9_-]` (callers hash free text, see {@link documentKey}), so every
   * backend can use it in a record key as is. Default: none.
   */
  readonly key?: string;
}

/** What {@link Partition.key} accepts. */
export const PARTITION_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A partition's document: JSON (no `undefined`, no functions, safe integers),
 * top-level keys are sections owned by one module each (`actions`, `rules`,
 * `events`...).
 */
export type StateDocument = Record<string, unknown>;

/** What an `update` function answers. */
export interface Change<T> {
  /**
   * The new document. `undefined`: leave the stored document as it is (no
   * write at all: the cheap path for reads that decide "nothing to do").
   */
  readonly next?: StateDocument;
  /** Handed back by `transact` once `next` is written (or nothing needed writing). */
  readonly result: T;
}

/** Options of one store call. */
export interface StoreCallOptions {
  /** Aborts the call (the event's deadline or shutdown); the promise rejects with {@link StateStoreUnavailableError}. Default: none. */
  readonly signal?: AbortSignal;
}

export interface StateStore {
  readonly kind: StoreKind;
  /**
   * The partition's current document, or `undefined` when it has none.
   * @throws {@link StateStoreUnavailableError} when the backend cannot answer.
   */
  read(partition: Partition, options?: StoreCallOptions): Promise<StateDocument | undefined>;
  /**
   * Optimistic read-modify-write of one partition. `update` receives the
   * current document (`undefined` if none), read-only: it returns a new
   * document that may share the parts it did not change (the memory store
   * passes its stored document frozen, Cloud Save its remembered copy). It may be called several times
   * (once per conflicting write by someone else); only the `next` of its last
   * call is stored, atomically with respect to every other `transact` on the
   * same partition, in every replica.
   * @throws {@link StateStoreUnavailableError} backend unreachable, or still conflicting after the backend's retry budget (retriable: the event is redelivered).
   * @throws whatever `update` throws (nothing is written).
   */
  transact<T>(partition: Partition, update: (current: StateDocument | undefined) => Change<T>, options?: StoreCallOptions): Promise<T>;
  /**
   * Deletes the partition's document (absent already: nothing to do). For
   * documents that are retired as a whole (expired dead-letter pages); not
   * ordered with a concurrent `transact` on the same partition, so callers
   * delete only documents nobody writes any more. Optional: a store without it
   * leaves the document (its owner empties it instead).
   * @throws {@link StateStoreUnavailableError} when the backend cannot answer.
   */
  delete?(partition: Partition, options?: StoreCallOptions): Promise<void>;
  /** Close connections. Further calls reject with {@link StateStoreUnavailableError}. */
  close(): Promise<void>;
  /** The partition's record as the backend names it, for error lines (e.g. `admin player record <key> of <namespace>/<userId>`). Default: {@link partitionId}. */
  describe?(partition: Partition): string;
}

/**
 * The store could not be read or written (down, refused, too many conflicts,
 * aborted): the event must be redelivered, never processed without the store
 * (fail closed). The message never carries credentials.
 */
export class StateStoreUnavailableError extends Error {
  override readonly name: string = 'StateStoreUnavailableError';
  /** Always true: redelivering the event is the remedy. */
  readonly retriable = true;
  constructor(
    readonly store: StoreKind,
    /** `read`, `transact`, `close`... */
    readonly operation: string,
    /** Why, for humans (no secrets). */
    readonly reason: string,
  ) {
    super(`state store (${store}) unavailable during ${operation}: ${reason}`);
  }
}

/**
 * A stored record exists but its content is not what this product writes (a
 * document that is not a JSON object, a section of the wrong shape: an edited
 * or overwritten record). It is never read as empty, which would forget the
 * idempotency marks and rule state it held and apply redelivered events again:
 * the store is unavailable for this partition (fail closed, the event is
 * redelivered) until the record is repaired or deleted. The message names the
 * record and what is wrong (never its content).
 */
export class UnreadableStateError extends StateStoreUnavailableError {
  override readonly name: string = 'UnreadableStateError';
  constructor(
    store: StoreKind,
    /** The record, as the backend names it (e.g. `admin player record extend-event-rules-state of mygame/<userId>`). */
    readonly record: string,
    /** What cannot be read, e.g. `section "actions" is a string, not an object`. */
    readonly problem: string,
  ) {
    super(store, 'read', `the ${record} cannot be read (${problem}): not read as empty; repair or delete the record, events of this partition are answered UNAVAILABLE until then`);
  }
}

/**
 * The partition's identity as text, e.g. for map keys: `<namespace>/<userId>`,
 * `<namespace>/#<key>` for a named document, `<namespace>/-` for the game.
 */
export function partitionId(partition: Partition): string {
  return `${partition.namespace}/${partition.userId ?? (partition.key !== undefined ? `#${partition.key}` : '-')}`;
}

/**
 * A {@link Partition.key} for free text (a party id, any template's value):
 * `<prefix>-` and 32 hex characters of its SHA-256, so any text maps to one
 * safe, fixed-length document name.
 * @param prefix what the document holds, `[A-Za-z0-9_]{1,24}` (e.g. `k` for keyed counters).
 */
export function documentKey(prefix: string, text: string): string {
  return `${prefix}-${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
}
