/**
 * Reading the dead letters of the state store (`dead-letters list`, `replay`):
 * pages of at most `limit` records, filtered, resumed from a cursor, and the
 * removal of one record after its replay. Order: the format-1 list of earlier
 * versions first, then the pages by the time of their first record (shard and
 * page number break ties), each page in the order written. Records written
 * while one pages through land in open pages and may appear on a later page.
 *
 * Cursor: `L<position>` inside the format-1 list, else `S` and, per shard, the
 * `<page>.<seq>` of its last record returned (`-`: none yet), comma-separated. A
 * shard's records only ever go at the end of its chain (a later page, or a higher
 * `seq` in its open page), so a record written while one pages through is listed
 * on a later page of the same pass, whichever shard it lands in (a cursor of one
 * position in the listing order skipped those landing in an open page listed
 * before it).
 */
import type { StateDocument, StateStore } from '../store/index.js';
import { countRemoval, DEAD_LETTER_SHARDS, indexOf, indexPartition, pageOf, pagePartition, recordsOf, removeFrom } from './dead-letter-pages.js';
import type { StoredDeadLetter } from './dead-letter-pages.js';
import { DeadLetterCursorError, matchesQuery } from './dead-letter-query.js';
import type { DeadLetterListing, DeadLetterQuery } from './dead-letter-query.js';
import type { DeadLetterRecord } from './dead-letters.js';
import { legacyOf } from './store-dead-letters.js';

export interface StoreDeadLettersAt {
  readonly store: StateStore;
  /** AGS namespace (`AB_NAMESPACE`). */
  readonly namespace: string;
}

/** A page to read: sealed (from the index) or open (already read). */
interface PageRef {
  readonly s: number;
  readonly p: number;
  readonly from: number;
  readonly to: number;
  readonly doc?: StateDocument | undefined;
}

/** Slack of the time filters' page pruning, ms (a day). */
const SKEW_MS = 86_400_000;

/** Where one shard's listing stopped: its last record returned. */
interface Position {
  readonly p: number;
  readonly seq: number;
}

interface Cursor {
  readonly legacy?: number;
  /** Per shard; present once the format-1 list is done. */
  readonly shards?: ReadonlyArray<Position | undefined>;
}

const SHARD_CURSOR = new RegExp(`^S((?:-|\\d+\\.\\d+)(?:,(?:-|\\d+\\.\\d+)){${DEAD_LETTER_SHARDS - 1}})$`);

function parseCursor(cursor: string | undefined): Cursor {
  if (cursor === undefined) return {};
  const legacy = /^L(\d+)$/.exec(cursor);
  if (legacy) return { legacy: Number(legacy[1]) };
  const m = SHARD_CURSOR.exec(cursor);
  if (!m) throw new DeadLetterCursorError(cursor);
  return {
    shards: m[1]!.split(',').map((x) => {
      if (x === '-') return undefined;
      const [p, seq] = x.split('.').map(Number);
      return { p: p!, seq: seq! };
    }),
  };
}

function shardCursor(positions: ReadonlyArray<Position | undefined>): string {
  return `S${positions.map((x) => (x === undefined ? '-' : `${x.p}.${x.seq}`)).join(',')}`;
}

/** Every page holding records, in listing order. */
async function pagesOf({ store, namespace }: StoreDeadLettersAt): Promise<PageRef[]> {
  const shards = Array.from({ length: DEAD_LETTER_SHARDS }, (_, s) => s);
  const refs = await Promise.all(
    shards.map(async (s) => {
      const where = store.describe?.(indexPartition(namespace, s)) ?? `dl-${s}`;
      const index = indexOf(await store.read(indexPartition(namespace, s)), store.kind, where);
      const doc = await store.read(pagePartition(namespace, s, index.open));
      const open = pageOf(doc, store.kind, where);
      const sealed: PageRef[] = index.pages.map((e) => ({ s, p: e.p, from: e.from, to: e.to }));
      return open.n > 0 ? [...sealed, { s, p: index.open, from: open.from ?? 0, to: open.to ?? 0, doc }] : sealed;
    }),
  );
  return refs.flat().sort((a, b) => a.from - b.from || a.s - b.s || a.p - b.p);
}

/**
 * One page of the dead letters matching `query` (all of them without a `limit`).
 * @throws DeadLetterCursorError, the store's StateStoreUnavailableError / UnreadableStateError
 */
export async function listStoredDeadLetters(at: StoreDeadLettersAt, query: DeadLetterQuery = {}): Promise<DeadLetterListing<StoredDeadLetter>> {
  const cursor = parseCursor(query.cursor);
  const out: StoredDeadLetter[] = [];
  const full = (): boolean => query.limit !== undefined && out.length >= query.limit;
  if (cursor.shards === undefined) {
    const legacy = legacyOf(await at.store.read({ namespace: at.namespace }));
    for (let i = cursor.legacy ?? 0; i < legacy.length; i++) {
      if (!matchesQuery(legacy[i]!, query)) continue;
      if (full()) return { records: out, next: `L${i}` };
      out.push({ ...legacy[i]!, ref: 'legacy' });
    }
  }
  const positions: Array<Position | undefined> = cursor.shards ? [...cursor.shards] : Array.from({ length: DEAD_LETTER_SHARDS }, () => undefined);
  for (const ref of await pagesOf(at)) {
    const at0 = positions[ref.s];
    if (at0 !== undefined && ref.p < at0.p) continue; // listed up to a later page of its shard
    // pages are timed by the writer's clock, records by the executor's: a day of slack between them
    if (query.sinceMs !== undefined && ref.to + SKEW_MS < query.sinceMs) continue;
    if (query.untilMs !== undefined && ref.from - SKEW_MS >= query.untilMs) continue;
    const where = at.store.describe?.(pagePartition(at.namespace, ref.s, ref.p)) ?? `dl-${ref.s}-${ref.p}`;
    const doc = 'doc' in ref ? ref.doc : await at.store.read(pagePartition(at.namespace, ref.s, ref.p));
    const resume = at0 !== undefined && at0.p === ref.p ? at0.seq : 0;
    for (const r of recordsOf(pageOf(doc, at.store.kind, where))) {
      if ((r.seq ?? 0) <= resume || !matchesQuery(r, query)) continue;
      if (full()) return { records: out, next: shardCursor(positions) };
      out.push({ ...r, ref: `${ref.s}.${ref.p}.${r.seq}` });
      positions[ref.s] = { p: ref.p, seq: r.seq ?? 0 };
    }
  }
  return { records: out };
}

/**
 * Removes one dead letter (after its successful replay): the very record listed
 * (its `ref`), only if it is still there with the same idempotency key. Answers
 * whether a record was removed.
 */
export async function removeStoredDeadLetter(at: StoreDeadLettersAt, record: DeadLetterRecord & { readonly ref?: string }): Promise<boolean> {
  const { store, namespace } = at;
  if (record.ref === 'legacy') return removeLegacy(at, record);
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(record.ref ?? '');
  if (!m) return false;
  const [s, p, seq] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const where = store.describe?.(pagePartition(namespace, s, p)) ?? `dl-${s}-${p}`;
  const done = await store.transact(pagePartition(namespace, s, p), (doc) => removeFrom(doc, seq, record.idempotencyKey, store.kind, where));
  if (done.removed && done.sealed) await store.transact(indexPartition(namespace, s), (doc) => countRemoval(doc, p, store.kind, where));
  return done.removed;
}

async function removeLegacy({ store, namespace }: StoreDeadLettersAt, record: DeadLetterRecord): Promise<boolean> {
  return store.transact({ namespace }, (doc) => {
    const list = legacyOf(doc);
    const kept = list.filter((r) => !(r.idempotencyKey === record.idempotencyKey && r.timestamp === record.timestamp));
    if (kept.length === list.length) return { result: false };
    return { next: { ...doc, deadLetters: { v: 1, list: kept } }, result: true };
  });
}
