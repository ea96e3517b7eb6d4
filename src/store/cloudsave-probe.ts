/**
 * Start-up check of the Cloud Save permissions the state store needs: it
 * reads, writes (concurrent PUT) and deletes a probe admin record, once on a
 * player (a fixed user id no player has) and once at game level, reads the
 * probe player's record in a bulk read (the store's coalesced reads: a
 * namespace-level permission), and names the permission behind the first
 * refusal (403).
 */
import type { AgsClient } from '../ags/index.js';
import { AgsError } from '../ags/index.js';

/** Player-level permission of the admin player records (one per player partition). */
export const PLAYER_RECORD_PERMISSION = 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:CLOUDSAVE:RECORD [CREATE,READ,UPDATE,DELETE]';
/** Namespace-level permission of the admin game record (events without a player, dead letters) and of bulk reads of players' records. */
export const GAME_RECORD_PERMISSION = 'ADMIN:NAMESPACE:{namespace}:CLOUDSAVE:RECORD [CREATE,READ,UPDATE,DELETE]';

/** A 32-hex user id no real player has: the probe's player record lives there. */
export const PROBE_USER_ID = '00000000000000000000000000000000';
const PROBE_KEY = 'extend-event-rules-permission-probe';

/** The IAM client lacks a Cloud Save permission the `cloudsave` state store needs. */
export class StatePermissionError extends Error {
  override readonly name = 'StatePermissionError';
  constructor(
    /** The permission to add to the IAM client, as the Admin Portal writes it. */
    readonly permission: string,
    /** The operation refused. */
    readonly operation: string,
    readonly namespace: string,
  ) {
    super(`the IAM client lacks ${permission} in namespace ${namespace} (${operation} answered 403): add it to the client in the Admin Portal, or choose another STATE_STORE`);
  }
}

async function tolerate404<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (error) {
    if (error instanceof AgsError && error.status === 404) return undefined;
    throw error;
  }
}

/**
 * Reads, writes and deletes the probe records.
 * @throws {@link StatePermissionError} naming the missing permission on a 403.
 * @throws AgsError for other failures (AGS down: the caller decides).
 */
export async function probeCloudSavePermissions(ags: AgsClient, namespace: string): Promise<void> {
  const body = { value: { probe: true }, updatedAt: new Date(0).toISOString() };
  const step = async (permission: string, operation: string, run: () => Promise<unknown>): Promise<void> => {
    try {
      await run();
    } catch (error) {
      if (error instanceof AgsError && error.status === 403) throw new StatePermissionError(permission, operation, namespace);
      throw error;
    }
  };
  const player = PLAYER_RECORD_PERMISSION;
  await step(player, 'adminGetAdminPlayerRecordV1', () => tolerate404(ags.adminGetAdminPlayerRecordV1(namespace, PROBE_USER_ID, PROBE_KEY)));
  // a write on a stale updatedAt of an existing probe record answers 412: permission granted all the same
  await step(player, 'adminPutAdminPlayerRecordConcurrentHandlerV1', () => ags.adminPutAdminPlayerRecordConcurrentHandlerV1(namespace, PROBE_USER_ID, PROBE_KEY, body).catch(ignore412));
  await step(player, 'adminDeleteAdminPlayerRecordV1', () => tolerate404(ags.adminDeleteAdminPlayerRecordV1(namespace, PROBE_USER_ID, PROBE_KEY)));
  const game = GAME_RECORD_PERMISSION;
  await step(game, 'adminGetAdminGameRecordV1', () => tolerate404(ags.adminGetAdminGameRecordV1(namespace, PROBE_KEY)));
  await step(game, 'adminPutAdminGameRecordConcurrentHandlerV1', () => ags.adminPutAdminGameRecordConcurrentHandlerV1(namespace, PROBE_KEY, body).catch(ignore412));
  await step(game, 'adminDeleteAdminGameRecordV1', () => tolerate404(ags.adminDeleteAdminGameRecordV1(namespace, PROBE_KEY)));
  // cloudsave.json: bulkGetAdminPlayerRecordByUserIdsV1 needs ADMIN:NAMESPACE:{namespace}:CLOUDSAVE:RECORD [READ]
  await step(game, 'bulkGetAdminPlayerRecordByUserIdsV1', () => tolerate404(ags.bulkGetAdminPlayerRecordByUserIdsV1(namespace, PROBE_KEY, [PROBE_USER_ID])));
}

function ignore412(error: unknown): undefined {
  if (error instanceof AgsError && error.status === 412) return undefined;
  throw error;
}
