/**
 * Whose document holds an event's idempotency marks.
 * - An event about a player (its `userId` is an AGS user id: 32 hex
 *   characters): that player's document, beside its stateful-rule state.
 * - An event without a player: one of {@link GAME_LEDGER_SHARDS} named game
 *   documents (`Partition.key` = `actions-<00..15>`), chosen by a hash of the
 *   event key. Every delivery of an event, on any replica, and its `replay`,
 *   find its marks in the same shard; different events spread over the shards,
 *   so replicas seldom write the same record (no write conflicts on Cloud Save)
 *   and no one document holds every player-less event's marks.
 * Stateful-rule state of player-less events stays in the single game document
 * (src/pipeline/evaluate.ts): a game-wide limit is decided atomically there.
 */
import { createHash } from 'node:crypto';
import type { DecodedEvent } from '../events/index.js';
import type { Partition } from '../store/index.js';

/** How many game documents share the idempotency marks of events without a player. */
export const GAME_LEDGER_SHARDS = 16;

/** The {@link Partition.key} of the shard holding the marks of a player-less event with this event key: `actions-00` to `actions-15`. */
export function ledgerShardKey(eventKey: string): string {
  const shard = createHash('sha256').update(eventKey).digest().readUInt32BE(0) % GAME_LEDGER_SHARDS;
  return `actions-${String(shard).padStart(2, '0')}`;
}

/**
 * The partition of an event's idempotency marks, in the app's namespace
 * (`AB_NAMESPACE`; when it is empty, as in a dry run without one, the
 * event's, like its stateful-rule state): its player's document, else its
 * game shard (see the module).
 */
export function ledgerPartition(event: DecodedEvent, appNamespace: string, eventKey: string): Partition {
  const namespace = appNamespace !== '' ? appNamespace : typeof event.namespace === 'string' ? event.namespace : '';
  const userId = event.userId;
  return typeof userId === 'string' && /^[0-9a-f]{32}$/.test(userId) ? { namespace, userId } : { namespace, key: ledgerShardKey(eventKey) };
}
