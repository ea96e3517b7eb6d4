/**
 * The layout of dead letters in the shared state store (`STATE_STORE=cloudsave|redis`),
 * as pure functions over documents (the `update`s of `StateStore.transact` are
 * pure: these never read the clock nor do I/O).
 *
 * Dead letters are spread over {@link DEAD_LETTER_SHARDS} shards by their
 * idempotency key. Each shard is a chain of pages plus one index document:
 * - page `dl-<shard>-<n>` (section `deadLetters`): `{ v: 2, seq, bytes, n, from, to, sealed?, chunks }`,
 *   the records in the order written, each with its page-local `seq`, in chunks of at most
 *   {@link CHUNK} (an append copies one chunk, not the page);
 * - index `dl-<shard>` (section `deadLetterIndex`): `{ v: 2, open, held, pages }`: the page
 *   written now (`open`), and per sealed page its count and time span; `held` is the sum of
 *   their counts;
 * - key digests `dl-<shard>-keys` (section `deadLetterKeys`): `{ v: 1, pages: { <n>: digests } }`,
 *   per sealed page the {@link keyDigest}s of its records' keys when it was sealed: which pages
 *   may hold an older copy of a dead letter (the listing shows one per key). Written by the
 *   replica that rolled the index over, after it; a page missing there is read instead.
 * On Cloud Save each document is the admin game record `<record key>-dl-<shard>[-<n>|-keys]`; on
 * Redis the hash `…s:<ns>:#dl-<shard>[-<n>|-keys]`.
 *
 * A page is sealed (no more writes) once the next record would take it past
 * the page budget (bytes of JSON; a page of few large records past a larger one,
 * under Cloud Save's recommended 250 KB request body:
 * `../shared/ags-openapi/cloudsave.json`, "Recommended Request Body Size")
 * or its first record is older than the page span; its count then moves into the
 * index and the next page opens. A page expires as a whole when its newest
 * record is older than the retention.
 */
import { createHash } from 'node:crypto';
import { UnreadableStateError } from '../store/index.js';
import type { Partition, StateDocument, StoreKind } from '../store/index.js';
import type { DeadLetterRecord } from './dead-letters.js';

/** The section of a page document (and of the game partition's legacy single list, format 1). */
export const DEAD_LETTER_SECTION = 'deadLetters';
/** The section of a shard's key digests document. */
export const DEAD_LETTER_KEYS_SECTION = 'deadLetterKeys';
/** The section of a shard's index document. */
export const DEAD_LETTER_INDEX_SECTION = 'deadLetterIndex';
/** Shards the dead letters are spread over (by idempotency key): writes of a burst go to this many pages at once. */
export const DEAD_LETTER_SHARDS = 8;
/** Records per chunk of a page. */
export const CHUNK = 32;

/** A dead letter as stored: the record, maybe without its payload, with where it is. */
export type StoredDeadLetter = DeadLetterRecord & {
  /** The payload was larger than `maxEventBytes` and was not kept (`event` holds only its `id`). */
  readonly eventOmitted?: true;
  /** Page-local sequence number (stored records). */
  readonly seq?: number;
  /** Where it is, set when listed: `<shard>.<page>.<seq>`, or `legacy` (the format-1 list). */
  readonly ref?: string;
  /**
   * Set when listed and older copies of it are held (the same idempotency key in earlier pages of its
   * shard: the action dead-lettered again after its first record's page was sealed): their `ref`s, removed with it.
   */
  readonly copies?: readonly string[];
};

/** A page's section. Times (`from`, `to`) are ms since the epoch when its records were written, by the writing sink's clock. */
export interface Page {
  readonly v: 2;
  /** Last `seq` given in this page. */
  readonly seq: number;
  /** Bytes of JSON of the records written (an upper bound: replaced ones stay counted). */
  readonly bytes: number;
  readonly from?: number;
  readonly to?: number;
  /** No more writes; its count is (or is about to be) in the index. */
  readonly sealed?: true;
  /** Records held. */
  readonly n: number;
  /** The records, oldest first, in chunks of at most {@link CHUNK}. */
  readonly chunks: ReadonlyArray<readonly StoredDeadLetter[]>;
}

/** The page's records, oldest first. */
export function recordsOf(page: Page): StoredDeadLetter[] {
  return page.chunks.flat();
}

/** A sealed page, in the index. */
export interface PageEntry {
  readonly p: number;
  /** Records in it (decremented by removals). */
  readonly n: number;
  readonly from: number;
  readonly to: number;
}

/** A shard's index section. */
export interface ShardIndex {
  readonly v: 2;
  /** The page written now. */
  readonly open: number;
  /** Records in the sealed pages. */
  readonly held: number;
  readonly pages: readonly PageEntry[];
}

export const EMPTY_INDEX: ShardIndex = { v: 2, open: 0, held: 0, pages: [] };
const EMPTY_PAGE: Page = { v: 2, seq: 0, bytes: 2, n: 0, chunks: [] };

/** Characters of one {@link keyDigest}. */
export const DIGEST_CHARS = 4;

/**
 * A short digest of an idempotency key: the first 3 bytes of its SHA-256, base64 ({@link DIGEST_CHARS}
 * characters; 24 bits, so two keys of one shard share one about once in 16 million comparisons: a
 * match is confirmed by reading the page).
 */
export function keyDigest(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest().subarray(0, 3).toString('base64');
}

/** The shard of an idempotency key: the first 32 bits of its SHA-256, modulo {@link DEAD_LETTER_SHARDS}. */
export function shardOf(idempotencyKey: string): number {
  return createHash('sha256').update(idempotencyKey).digest().readUInt32BE(0) % DEAD_LETTER_SHARDS;
}

export function indexPartition(namespace: string, shard: number): Partition {
  return { namespace, key: `dl-${shard}` };
}

export function pagePartition(namespace: string, shard: number, page: number): Partition {
  return { namespace, key: `dl-${shard}-${page}` };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The page in `doc` (absent: empty). @throws UnreadableStateError when the section is not a page. */
export function pageOf(doc: StateDocument | undefined, store: StoreKind, where: string): Page {
  const s = doc?.[DEAD_LETTER_SECTION];
  if (s === undefined) return EMPTY_PAGE;
  if (!isObject(s) || s.v !== 2 || !Array.isArray(s.chunks) || !s.chunks.every(Array.isArray) || typeof s.seq !== 'number' || typeof s.bytes !== 'number' || typeof s.n !== 'number') {
    throw new UnreadableStateError(store, where, `section "${DEAD_LETTER_SECTION}" is not a dead-letter page ({v: 2, seq, bytes, n, chunks})`);
  }
  return s as unknown as Page;
}

/** The index in `doc` (absent: empty). @throws UnreadableStateError when the section is not an index. */
export function indexOf(doc: StateDocument | undefined, store: StoreKind, where: string): ShardIndex {
  const s = doc?.[DEAD_LETTER_INDEX_SECTION];
  if (s === undefined) return EMPTY_INDEX;
  if (!isObject(s) || s.v !== 2 || typeof s.open !== 'number' || typeof s.held !== 'number' || !Array.isArray(s.pages)) {
    throw new UnreadableStateError(store, where, `section "${DEAD_LETTER_INDEX_SECTION}" is not a dead-letter index ({v: 2, open, held, pages})`);
  }
  return s as unknown as ShardIndex;
}

/** What appending to the open page did. */
export type Appended =
  | { readonly kind: 'written' }
  /** The page is sealed (by this call or before): roll over to the next one. */
  | { readonly kind: 'sealed'; readonly sealed: SealedPage }
  /** The shard holds its share of the capacity. */
  | { readonly kind: 'full'; readonly held: number }
  /**
   * The page does not exist and the caller has not confirmed that it is the shard's open page: nothing
   * written. An absent page is either the next one (not written yet) or one that expired and was deleted
   * by a replica whose sweep ran while the caller's index was stale; a record written there would be in
   * no index, never listed nor replayed.
   */
  | { readonly kind: 'absent' };

export interface AppendInput {
  readonly record: StoredDeadLetter;
  /** Bytes of the record's JSON. */
  readonly bytes: number;
  /** Now, by the sink's clock, ms. */
  readonly at: number;
  /** Records in the shard's sealed pages (its index, as last read). */
  readonly held: number;
  readonly shardCapacity: number;
  /** A page holding at least `pageRecords` records is sealed past this many bytes of JSON. */
  readonly pageBytes: number;
  /** A page holding fewer records is sealed only past `maxPageBytes`. Default: 0 (always `pageBytes`). */
  readonly pageRecords?: number;
  /** The most bytes of JSON of any page. Default: `pageBytes`. */
  readonly maxPageBytes?: number;
  readonly pageSpanMs: number;
  readonly page: number;
  /** The shard's index, read from the store for this write, names `page` as its open page: an absent page may be created. Default: false. */
  readonly confirmedOpen?: boolean;
  readonly store: StoreKind;
  readonly where: string;
}

/** A sealed page as its sealing found it: its index entry is made only by the roll-over that records it (its key digests cost a hash per record). */
export interface SealedPage {
  readonly p: number;
  readonly page: Page;
}

function sealedEntry({ page, p }: SealedPage): PageEntry {
  return { p, n: page.n, from: page.from ?? 0, to: page.to ?? 0 };
}

/** The {@link keyDigest}s of a page's records, concatenated ({@link DIGEST_CHARS} characters each). */
export function digestsOf(page: Page): string {
  return recordsOf(page)
    .map((r) => keyDigest(r.idempotencyKey))
    .join('');
}

/** A shard's key digests section: per sealed page (by number), its {@link digestsOf}. */
export interface KeyDigests {
  readonly v: 1;
  readonly pages: Readonly<Record<string, string>>;
}

/** The key digests in `doc` (absent or of another shape: none, the pages are read instead). */
export function keyDigestsOf(doc: StateDocument | undefined): KeyDigests {
  const s = doc?.[DEAD_LETTER_KEYS_SECTION];
  return isObject(s) && s.v === 1 && isObject(s.pages) ? (s as unknown as KeyDigests) : { v: 1, pages: {} };
}

/** The `update` of the key digests adding sealed page `p`'s, and dropping those of pages no longer in the index (`pages`: its sealed pages). */
export function addDigests(doc: StateDocument | undefined, p: number, digests: string, pages: readonly number[]): { next: StateDocument; result: undefined } {
  const kept = new Set(pages.map(String));
  const old = keyDigestsOf(doc).pages;
  const next: Record<string, string> = {};
  for (const [q, d] of Object.entries(old)) if (kept.has(q)) next[q] = d;
  next[String(p)] = digests;
  return { next: { ...doc, [DEAD_LETTER_KEYS_SECTION]: { v: 1, pages: next } }, result: undefined };
}

/** The shard's key digests document. */
export function keysPartition(namespace: string, shard: number): Partition {
  return { namespace, key: `dl-${shard}-keys` };
}

/** Idempotency keys of full, frozen chunks (stores keep documents frozen and share unchanged chunks between writes): a lookup instead of a scan. */
const chunkKeys = new WeakMap<readonly StoredDeadLetter[], Set<string>>();

function mayHold(chunk: readonly StoredDeadLetter[], idempotencyKey: string): boolean {
  if (chunk.length < CHUNK || !Object.isFrozen(chunk)) return true;
  let keys = chunkKeys.get(chunk);
  if (!keys) chunkKeys.set(chunk, (keys = new Set(chunk.map((r) => r.idempotencyKey))));
  return keys.has(idempotencyKey);
}

/** The chunks without the record of `idempotencyKey` (or `seq` too when given), copying only the chunk that held it; `undefined` when none did. */
function without(page: Page, idempotencyKey: string, seq?: number): Page['chunks'] | undefined {
  for (let c = 0; c < page.chunks.length; c++) {
    const chunk = page.chunks[c]!;
    if (!mayHold(chunk, idempotencyKey)) continue;
    const i = chunk.findIndex((r) => r.idempotencyKey === idempotencyKey && (seq === undefined || r.seq === seq));
    if (i < 0) continue;
    const rest = chunk.filter((_, j) => j !== i);
    return rest.length > 0 ? page.chunks.map((ch, k) => (k === c ? rest : ch)) : page.chunks.filter((_, k) => k !== c);
  }
  return undefined;
}

/** Seals a non-empty open page whose first record is older than the span at `nowMs` (the sweep: a quiet shard's last page). */
export function sealIfOld(doc: StateDocument | undefined, nowMs: number, spanMs: number, p: number, store: StoreKind, where: string): { next?: StateDocument; result: SealedPage | undefined } {
  const page = pageOf(doc, store, where);
  if (page.sealed) return { result: { p, page } };
  if (page.n === 0 || nowMs - (page.from ?? nowMs) <= spanMs) return { result: undefined };
  return { next: { ...doc, [DEAD_LETTER_SECTION]: { ...page, sealed: true } }, result: { p, page } };
}

/** The `update` that appends one record to the open page (see {@link Appended}). */
export function appendTo(doc: StateDocument | undefined, input: AppendInput): { next?: StateDocument; result: Appended } {
  if (doc?.[DEAD_LETTER_SECTION] === undefined && input.confirmedOpen !== true) return { result: { kind: 'absent' } };
  const page = pageOf(doc, input.store, input.where);
  if (page.sealed) return { result: { kind: 'sealed', sealed: { p: input.page, page } } };
  const replaced = without(page, input.record.idempotencyKey);
  const chunks = replaced ?? page.chunks;
  const count = replaced ? page.n - 1 : page.n;
  const tooOld = count > 0 && input.at - (page.from ?? input.at) > input.pageSpanMs;
  const size = page.bytes + input.bytes + 1;
  const tooBig = count > 0 && (size > (input.maxPageBytes ?? input.pageBytes) || (size > input.pageBytes && count >= (input.pageRecords ?? 0)));
  if (tooOld || tooBig) {
    return { next: { ...doc, [DEAD_LETTER_SECTION]: { ...page, sealed: true } }, result: { kind: 'sealed', sealed: { p: input.page, page } } };
  }
  if (input.held + count + 1 > input.shardCapacity) return { result: { kind: 'full', held: input.held + count } };
  const seq = page.seq + 1;
  const entry = { ...input.record, seq };
  const last = chunks.at(-1);
  const next: Page = {
    v: 2,
    seq,
    bytes: page.bytes + input.bytes + 1,
    n: count + 1,
    from: Math.min(page.from ?? input.at, input.at),
    to: Math.max(page.to ?? input.at, input.at),
    chunks: last && last.length < CHUNK ? [...chunks.slice(0, -1), [...last, entry]] : [...chunks, [entry]],
  };
  return { next: { ...doc, [DEAD_LETTER_SECTION]: next }, result: { kind: 'written' } };
}

/**
 * The `update` of the index once page `sealed.p` is sealed: it becomes an entry and the next page opens
 * (once: a later call sees `open` moved on). `rolled`: this call did it.
 */
export function rollOver(doc: StateDocument | undefined, sealed: SealedPage, store: StoreKind, where: string): { next?: StateDocument; result: { index: ShardIndex; rolled: boolean } } {
  const index = indexOf(doc, store, where);
  if (index.open !== sealed.p) return { result: { index, rolled: false } };
  const entry = sealedEntry(sealed);
  const next: ShardIndex = { v: 2, open: entry.p + 1, held: index.held + entry.n, pages: [...index.pages, entry] };
  return { next: { ...doc, [DEAD_LETTER_INDEX_SECTION]: next }, result: { index: next, rolled: true } };
}

/** The `update` of the index dropping page `p` (expired). Answers the entry dropped, or undefined (someone else did). */
export function dropPage(doc: StateDocument | undefined, p: number, store: StoreKind, where: string): { next?: StateDocument; result: PageEntry | undefined } {
  const index = indexOf(doc, store, where);
  const entry = index.pages.find((e) => e.p === p);
  if (!entry) return { result: undefined };
  const next: ShardIndex = { ...index, held: Math.max(0, index.held - entry.n), pages: index.pages.filter((e) => e.p !== p) };
  return { next: { ...doc, [DEAD_LETTER_INDEX_SECTION]: next }, result: entry };
}

/** The `update` of the index after one record of sealed page `p` was removed (replayed). */
export function countRemoval(doc: StateDocument | undefined, p: number, store: StoreKind, where: string): { next?: StateDocument; result: undefined } {
  const index = indexOf(doc, store, where);
  if (!index.pages.some((e) => e.p === p && e.n > 0)) return { result: undefined };
  const pages = index.pages.map((e) => (e.p === p ? { ...e, n: e.n - 1 } : e));
  return { next: { ...doc, [DEAD_LETTER_INDEX_SECTION]: { ...index, held: Math.max(0, index.held - 1), pages } }, result: undefined };
}

/** The `update` of a page removing the record `seq` (only if it is still the very record: same idempotency key). Answers whether it did, and whether the page is sealed. */
export function removeFrom(doc: StateDocument | undefined, seq: number, idempotencyKey: string, store: StoreKind, where: string): { next?: StateDocument; result: { removed: boolean; sealed: boolean } } {
  const page = pageOf(doc, store, where);
  const chunks = without(page, idempotencyKey, seq);
  if (!chunks) return { result: { removed: false, sealed: page.sealed === true } };
  return { next: { ...doc, [DEAD_LETTER_SECTION]: { ...page, n: page.n - 1, chunks } }, result: { removed: true, sealed: page.sealed === true } };
}
