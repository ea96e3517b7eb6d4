/**
 * Reconciliation of actions whose request was sent and whose answer was lost:
 * the action carries an effect id derived from its idempotency key into AGS
 * (`orderNo` of a fulfillment, `metadata` of a wallet credit) and looks it up
 * in AGS's own history before any new attempt.
 */
import { createHash } from 'node:crypto';
import type { PagedResult } from '../ags/index.js';

/** Effect ids of the most recent keys: an action's id is asked for by its claim, its request (`orderNo`) and its done mark. */
const recentIds = new Map<string, string>();
/** Most keys in {@link recentIds} (oldest dropped first): about the actions of the events in flight. */
const RECENT_IDS = 1024;

/** The compact, stable id of one execution (22 base64url characters of the key's SHA-256): in AGS lookups and the idempotency ledger. */
export function effectId(idempotencyKey: string): string {
  let id = recentIds.get(idempotencyKey);
  if (id === undefined) {
    id = createHash('sha256').update(idempotencyKey).digest('base64url').slice(0, 22);
    if (recentIds.size >= RECENT_IDS) recentIds.delete(recentIds.keys().next().value!);
    recentIds.set(idempotencyKey, id);
  }
  return id;
}

/** The `metadata` field a wallet credit carries its effect id in. */
export const EFFECT_METADATA_KEY = 'extendEventRulesEffect';

/** How far before the lost attempt started an entry may be dated and still be it (clock skew between the app and AGS), ms. */
export const RECONCILE_SKEW_MS = 60_000;
/** Page size of the history reads (AGS recommends at most 100). */
export const RECONCILE_PAGE = 100;
/** Pages read at most (newest first): 1000 entries. */
export const RECONCILE_MAX_PAGES = 10;

/** A history page without its `data` list: the lookup cannot tell, the event is redelivered (retriable), never sent again blindly. */
export class UnreadableHistoryError extends Error {
  override readonly name = 'UnreadableHistoryError';
  readonly retriable = true;
  constructor(readonly page: number) {
    super(`the history page ${page} read to reconcile a lost answer has no data list: not read as "not applied", retried later`);
  }
}

/**
 * The lookup could not tell whether the effect was applied: the history read
 * ({@link RECONCILE_MAX_PAGES} pages) does not reach back to when it may have
 * been sent. Neither sent again nor counted as applied: the executor
 * dead-letters the action as `unknown-outcome` (at most once).
 */
export class ReconcileInconclusiveError extends Error {
  override readonly name = 'ReconcileInconclusiveError';
  readonly retriable = false;
  readonly outcomeUnknown = true;
  /** A lookup was made and cannot tell: looking again will not tell either. */
  readonly inconclusive = true;
  constructor(sinceMs: number) {
    super(`the newest ${RECONCILE_MAX_PAGES * RECONCILE_PAGE} history entries do not reach back to ${new Date(sinceMs).toISOString()}, when the effect may have been applied: cannot tell whether it was`);
  }
}

/**
 * Reads a newest-first history page by page until `matches` finds the entry
 * (true), an entry older than `sinceMs - RECONCILE_SKEW_MS` is reached or the
 * history ends (false). A page that cannot be read throws (retriable: {@link UnreadableHistoryError},
 * or the client's AgsError), never answers false.
 * @throws {@link ReconcileInconclusiveError} when {@link RECONCILE_MAX_PAGES} pages neither find it nor reach back that far.
 */
export async function findInHistory<T extends { createdAt?: string }>(
  readPage: (limit: number, offset: number) => Promise<PagedResult<T>>,
  matches: (entry: T) => boolean,
  sinceMs: number,
): Promise<boolean> {
  const oldest = sinceMs - RECONCILE_SKEW_MS;
  for (let pageNo = 0; pageNo < RECONCILE_MAX_PAGES; pageNo++) {
    const page = await readPage(RECONCILE_PAGE, pageNo * RECONCILE_PAGE);
    // an unreadable page is no "not found": that would send the effect again (the client already
    // refuses answers without the declared `data`; this guards custom readers)
    if (!Array.isArray(page?.data)) throw new UnreadableHistoryError(pageNo);
    const data = page.data;
    for (const entry of data) {
      const at = entry.createdAt ? Date.parse(entry.createdAt) : Number.NaN;
      if (!Number.isNaN(at) && at < oldest) return false;
      if (matches(entry)) return true;
    }
    if (data.length < RECONCILE_PAGE || !page.paging?.next) return false;
  }
  throw new ReconcileInconclusiveError(sinceMs);
}
