/**
 * The idempotency store: remembers, per action execution key
 * (`<eventKey>:<rule>:<actionKey>`), whether the action is being run (a claim with
 * a lease), has run (`done`), or failed permanently and was dead-lettered
 * (`deadLettered`). Shared by every replica when backed by Redis, so one event
 * delivered twice (Kafka redelivery, two replicas) has one effect per action.
 *
 * Life of a key:
 * - `claim` sets it atomically if absent, with a lease TTL: a claim left by a
 *   crashed process expires after the lease and the next delivery runs the action.
 * - `complete` overwrites it with `done`/`deadLettered` and the retention TTL.
 * - `release` deletes it, only if it still holds our claim (per-claim token).
 * - `countFailure` counts failed deliveries of the key (the dead letter's `attempts`).
 */

/** What a key ends as: the action ran, or it failed permanently and was dead-lettered. */
export type DoneState = 'succeeded' | 'deadLettered';

/** The answer of {@link DedupeStore.claim}. */
export type ClaimResult =
  /** The key is ours until `complete`, `release` or the lease expires. `token` identifies the claim. */
  | { readonly status: 'claimed'; readonly token: string }
  /** The action already ran (or was dead-lettered): skip it. */
  | { readonly status: 'done'; readonly state: DoneState }
  /** Another delivery (another replica) holds a live claim. */
  | { readonly status: 'busy' };

export interface ClaimOptions {
  /**
   * Claim a key that is `deadLettered` as if it were absent (a replay of a dead
   * letter). Keys that `succeeded` are never re-claimed. Default: false.
   */
  readonly reclaimDeadLettered?: boolean;
}

export interface DedupeStore {
  /** `memory` (one process) or `redis` (shared by replicas): for logs and metrics labels. */
  readonly kind: 'memory' | 'redis';
  /** Atomically claim `key` for `leaseMs` if it is absent. Throws {@link DedupeStoreUnavailableError}. */
  claim(key: string, leaseMs: number, options?: ClaimOptions): Promise<ClaimResult>;
  /** Mark `key` done (whoever holds it) for `retentionMs`. Throws {@link DedupeStoreUnavailableError}. */
  complete(key: string, retentionMs: number, state?: DoneState): Promise<void>;
  /** Delete `key` if it still holds the claim `token`; a no-op otherwise. Throws {@link DedupeStoreUnavailableError}. */
  release(key: string, token: string): Promise<void>;
  /** Count one failed delivery of `key`; returns the count so far (1 on the first). The counter lives `ttlMs`. */
  countFailure(key: string, ttlMs: number): Promise<number>;
  /** Close connections. Further calls reject. */
  close(): Promise<void>;
}

/** The store could not be reached or answered an error: the event must be redelivered (fail closed). */
export class DedupeStoreUnavailableError extends Error {
  override readonly name = 'DedupeStoreUnavailableError';
  constructor(
    /** Which store. */
    readonly store: 'memory' | 'redis',
    /** The operation that failed (`claim`, `complete`, `release`, `countFailure`). */
    readonly operation: string,
    /** The underlying reason (never contains the Redis password). */
    readonly reason: string,
  ) {
    super(`idempotency store (${store}) unavailable during ${operation}: ${reason}`);
  }
}

/** Default lease of a claim: longer than the event deadline, so a live claim never expires under its holder. */
export const DEFAULT_LEASE_MS = 60_000;
/** Default retention of done keys: 7 days, longer than Kafka's usual redelivery horizon. */
export const DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000;
