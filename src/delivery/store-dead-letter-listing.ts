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
 *
 * One dead letter per action of an event: the same idempotency key dead-lettered again
 * after its first record's page was sealed (a replica killed between writing a dead letter
 * and marking the action, then the redelivery; a `replay` cut short after its action failed
 * again) leaves copies in earlier pages of the same shard (the shard is chosen by the key).
 * The listing shows the newest copy only, with the `ref`s of the older ones (`copies`), and
 * {@link removeStoredDeadLetter} removes them with it (`dead-letter-copies.ts` finds them).
 */
import { openShardChain } from './dead-letter-copies.js';
import type { ShardChain, StoreDeadLettersAt } from './dead-letter-copies.js';
import { countRemoval, DEAD_LETTER_SHARDS, indexPartition, pagePartition, recordsOf, removeFrom } from './dead-letter-pages.js';
import type { StoredDeadLetter } from './dead-letter-pages.js';
import { DeadLetterCursorError, matchesQuery } from './dead-letter-query.js';
import type { DeadLetterListing, DeadLetterQuery } from './dead-letter-query.js';
import type { DeadLetterRecord } from './dead-letters.js';
import { legacyOf } from './store-dead-letters.js';

export type { StoreDeadLettersAt } from './dead-letter-copies.js';

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

/** A page holding records, sealed or open. */
interface PageRef {
  readonly s: number;
  readonly p: number;
  readonly from: number;
  readonly to: number;
}

/** Every shard's chain and every page holding records, in listing order. */
async function pagesOf(at: StoreDeadLettersAt): Promise<{ chains: ShardChain[]; refs: PageRef[] }> {
  const chains = await Promise.all(Array.from({ length: DEAD_LETTER_SHARDS }, (_, s) => openShardChain(at, s)));
  const refs: PageRef[] = [];
  for (const chain of chains) {
    const { s, index } = chain;
    refs.push(...index.pages.map((e) => ({ s, p: e.p, from: e.from, to: e.to })));
    const open = (await chain.page(index.open)).page;
    if (open.n > 0) refs.push({ s, p: index.open, from: open.from ?? 0, to: open.to ?? 0 });
  }
  return { chains, refs: refs.sort((a, b) => a.from - b.from || a.s - b.s || a.p - b.p) };
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
  const { chains, refs } = await pagesOf(at);
  for (const ref of refs) {
    const at0 = positions[ref.s];
    if (at0 !== undefined && ref.p < at0.p) continue; // listed up to a later page of its shard
    // pages are timed by the writer's clock, records by the executor's: a day of slack between them
    if (query.sinceMs !== undefined && ref.to + SKEW_MS < query.sinceMs) continue;
    if (query.untilMs !== undefined && ref.from - SKEW_MS >= query.untilMs) continue;
    const chain = chains[ref.s]!;
    const resume = at0 !== undefined && at0.p === ref.p ? at0.seq : 0;
    for (const r of recordsOf((await chain.page(ref.p)).page)) {
      if ((r.seq ?? 0) <= resume || !matchesQuery(r, query)) continue;
      const found = chain.copiesOf(r.idempotencyKey, ref.p);
      const copies = found instanceof Promise ? await found : found;
      if (copies.newer) continue; // listed with its newest copy
      if (full()) return { records: out, next: shardCursor(positions) };
      out.push({ ...r, ref: `${ref.s}.${ref.p}.${r.seq}`, ...(copies.older.length > 0 ? { copies: copies.older } : {}) });
      positions[ref.s] = { p: ref.p, seq: r.seq ?? 0 };
    }
  }
  return { records: out };
}

/**
 * Removes one dead letter (after its replay, OK or failed again): the very record listed
 * (its `ref`), only if it is still there with the same idempotency key, and its older
 * copies listed with it (`copies`). Answers whether the record itself was removed.
 * @throws the store's StateStoreUnavailableError / UnreadableStateError
 */
export async function removeStoredDeadLetter(at: StoreDeadLettersAt, record: DeadLetterRecord & Pick<StoredDeadLetter, 'ref' | 'copies'>): Promise<boolean> {
  if (record.ref === 'legacy') return removeLegacy(at, record);
  const removed = await removeAt(at, record.ref, record.idempotencyKey);
  for (const copy of record.copies ?? []) await removeAt(at, copy, record.idempotencyKey);
  return removed;
}

/** Removes the record `<shard>.<page>.<seq>` if it still holds `idempotencyKey`. */
async function removeAt({ store, namespace }: StoreDeadLettersAt, ref: string | undefined, idempotencyKey: string): Promise<boolean> {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(ref ?? '');
  if (!m) return false;
  const [s, p, seq] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const where = store.describe?.(pagePartition(namespace, s, p)) ?? `dl-${s}-${p}`;
  const done = await store.transact(pagePartition(namespace, s, p), (doc) => removeFrom(doc, seq, idempotencyKey, store.kind, where));
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
