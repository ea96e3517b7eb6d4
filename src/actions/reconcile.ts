/**
 * Reconciliation of actions whose request was sent and whose answer was lost:
 * the action carries an effect id derived from its idempotency key into AGS
 * (`orderNo` of a fulfillment, `metadata` of a wallet credit) and looks it up
 * in AGS's own history before any new attempt.
 */
import { hash } from 'node:crypto';
import type { PagedResult } from '../ags/index.js';

/** Effect ids of the most recent keys: an action's id is asked for by its claim, its request (`orderNo`) and its done mark. */
const recentIds = new Map<string, string>();
/** Most keys in {@link recentIds} (oldest dropped first): about the actions of the events in flight. */
const RECENT_IDS = 1024;

/** The compact, stable id of one execution (22 base64url characters of the key's SHA-256): in AGS lookups and the idempotency ledger. */
export function effectId(idempotencyKey: string): string {
  let id = recentIds.get(idempotencyKey);
  if (id === undefined) {
    // the one-shot hash (Node 20.12+): no Hash object per key
    id = hash('sha256', idempotencyKey, 'base64url').slice(0, 22);
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
/**
 * Pages read at most (newest first): 5,000 entries. An event settled below a player's horizon
 * (`delivery/action-ledger.ts`) sits behind at least the 1,800-2,000 marks the record keeps, and
 * up to the 2,000 of the newest horizon more: 10 pages (the earlier bound) could never reach it.
 * A lookup stops earlier at the first entry older than the attempt (see {@link findInHistory}).
 */
export const RECONCILE_MAX_PAGES = 50;
/** Most effect ids the positive answers of lookups keep in this process, over every scope (see {@link HistoryCache}): about 1 MB. */
export const RECONCILE_CACHE_IDS = 20_000;

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
 * Positive answers of the lookups of one history, shared by the lookups of a burst (a redelivery of
 * many of one player's events): the history is append-only, so an effect id once seen applied stays
 * applied, and the ids of every entry a lookup reads are kept. A negative answer is never cached:
 * each one reads AGS afresh. Lookups of one scope run one after the other in this process, so the
 * ones waiting are answered by the pages the first one read (a burst reads the player's history about
 * once instead of once per event).
 */
export interface HistoryCache<T> {
  /** Whose history (one list in AGS), e.g. `fulfillment <namespace> <userId>`. */
  readonly scope: string;
  /** The effect id an entry shows applied, if any: the same test as `matches`. */
  readonly idOf: (entry: T) => string | undefined;
  /** The effect id looked for (`matches` finds exactly the entries whose `idOf` is it). */
  readonly id: string;
  /** Aborts the wait for this scope's earlier lookup (the event's deadline). */
  readonly signal?: AbortSignal;
}

/** Ids seen applied and the last lookup, per scope; least recently used first. */
const scopes = new Map<string, { ids: Set<string>; tail: Promise<unknown> }>();
let cachedIds = 0;

/** Most scopes kept (players whose history was looked up lately). */
const MAX_SCOPES = 1024;

/** The scope's entry, now the most recently used one. */
function scopeOf(scope: string): { ids: Set<string>; tail: Promise<unknown> } {
  let s = scopes.get(scope);
  if (s) scopes.delete(scope);
  else {
    s = { ids: new Set(), tail: Promise.resolve() };
    if (scopes.size >= MAX_SCOPES) {
      const [key, oldest] = scopes.entries().next().value!;
      cachedIds -= oldest.ids.size;
      scopes.delete(key);
    }
  }
  scopes.set(scope, s);
  return s;
}

/** Remembers `id` as applied in `ids`; past {@link RECONCILE_CACHE_IDS}, the least recently used scopes are forgotten. */
function remember(ids: Set<string>, id: string): void {
  if (ids.has(id)) return;
  for (const [key, s] of scopes) {
    if (cachedIds < RECONCILE_CACHE_IDS) break;
    if (s.ids === ids) break; // the current scope is the newest: nothing older is left
    cachedIds -= s.ids.size;
    scopes.delete(key);
  }
  if (cachedIds >= RECONCILE_CACHE_IDS) return;
  ids.add(id);
  cachedIds++;
}

/** Resolves when `previous` settled; rejects with the signal's reason when it aborts first. */
function turn(previous: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  const settled = previous.then(() => undefined, () => undefined);
  if (!signal) return settled;
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void settled.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/**
 * Reads a newest-first history page by page until `matches` finds the entry
 * (true), an entry older than `sinceMs - RECONCILE_SKEW_MS` is reached or the
 * history ends (false). A page that cannot be read throws (retriable: {@link UnreadableHistoryError},
 * or the client's AgsError), never answers false. With `cache`, an id seen applied by an earlier
 * lookup of the same history is answered without reading it (see {@link HistoryCache}).
 * @throws {@link ReconcileInconclusiveError} when {@link RECONCILE_MAX_PAGES} pages neither find it nor reach back that far.
 */
export async function findInHistory<T extends { createdAt?: string }>(
  readPage: (limit: number, offset: number) => Promise<PagedResult<T>>,
  matches: (entry: T) => boolean,
  sinceMs: number,
  cache?: HistoryCache<T>,
): Promise<boolean> {
  if (!cache) return readHistory(readPage, matches, sinceMs);
  const s = scopeOf(cache.scope);
  const previous = s.tail;
  const mine = turn(previous, cache.signal).then(() => {
    if (s.ids.has(cache.id)) return true;
    return readHistory(readPage, matches, sinceMs, (entry) => {
      const id = cache.idOf(entry);
      if (id !== undefined) remember(s.ids, id);
    });
  });
  // the next lookup of this scope waits for this one and the one before (this one may stop waiting at its deadline)
  s.tail = Promise.allSettled([previous, mine]);
  return mine;
}

async function readHistory<T extends { createdAt?: string }>(
  readPage: (limit: number, offset: number) => Promise<PagedResult<T>>,
  matches: (entry: T) => boolean,
  sinceMs: number,
  seen?: (entry: T) => void,
): Promise<boolean> {
  const oldest = sinceMs - RECONCILE_SKEW_MS;
  for (let pageNo = 0; pageNo < RECONCILE_MAX_PAGES; pageNo++) {
    const page = await readPage(RECONCILE_PAGE, pageNo * RECONCILE_PAGE);
    // an unreadable page is no "not found": that would send the effect again (the client already
    // refuses answers without the declared `data`; this guards custom readers)
    if (!Array.isArray(page?.data)) throw new UnreadableHistoryError(pageNo);
    const data = page.data;
    if (seen) for (const entry of data) seen(entry);
    for (const entry of data) {
      const at = entry.createdAt ? Date.parse(entry.createdAt) : Number.NaN;
      if (!Number.isNaN(at) && at < oldest) return false;
      if (matches(entry)) return true;
    }
    if (data.length < RECONCILE_PAGE || !page.paging?.next) return false;
  }
  throw new ReconcileInconclusiveError(sinceMs);
}
