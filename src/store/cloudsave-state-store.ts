/**
 * AGS Cloud Save {@link StateStore}: each partition is one admin record (not
 * visible to players), shared by every replica and surviving deploys.
 * - a player's partition: admin player record
 *   `/cloudsave/v1/admin/namespaces/{ns}/users/{userId}/adminrecords/{key}`;
 * - the game partition (events without a player): admin game record
 *   `/cloudsave/v1/admin/namespaces/{ns}/adminrecords/{key}`;
 * - a named partition ({@link Partition.key}): admin game record
 *   `{key}-{partition key}`.
 *
 * Writes go through the concurrent endpoints (`.../concurrent/adminrecords/{key}`
 * with the `updatedAt` last read): Cloud Save answers 412 when the record changed
 * since, and `transact` then re-reads and calls `update` again (bounded
 * attempts, jittered backoff). The spec says the concurrent PUT "will create new
 * admin player record or replace the existing" one: a record that does not exist
 * yet is created by the same PUT, with no precondition to fail, so two first
 * writers can both be answered 2xx. A first writer therefore reads the record
 * back and trusts its write only if the record holds its own write id (`w`);
 * otherwise it lost the race and starts over on what it read.
 *
 * Record value: `{ w: <write id>, doc: <the partition's document> }`.
 *
 * The last `updated_at` and document seen per partition are kept (bounded): a
 * write starts from them without a GET; a 412 (stale) costs one re-read. A
 * document written is kept frozen ({@link freezeJson}) and the next write
 * serialises only the parts that changed ({@link stringifyJson}). A
 * decision to write nothing taken on a remembered document is re-checked on a
 * fresh read, so answers never come from a stale copy. A fresh read that finds
 * this store's own last write to the record (its write id `w`) continues from
 * the frozen document written, not from the copy just parsed: the record holds
 * exactly that document, and the next write then re-serialises only what it
 * changes (a game record, such as a dead-letter page, answers a write with 204
 * and is read before each write: without this every write walked and
 * serialised the whole page again).
 *
 * Reads of players' records are coalesced ({@link ReadCoalescing}): a read
 * asked for while another is in flight waits for it, then goes with the others
 * waiting as one bulk read (`bulkGetAdminPlayerRecordByUserIdsV1`, up to 20
 * players). It means what the single GET means: a record left out of a
 * readable answer is absent; an answer that cannot be read (not the declared
 * `{data}`, a record not asked for, one twice) fails every read in it
 * (unavailable), never "absent"; a 404 of the bulk read (its errorCode 18186
 * does not say which record) sends each read again alone.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AgsClient } from '../ags/index.js';
import { AgsError, BULK_USER_IDS_MAX, userIdProblem } from '../ags/index.js';
import type { AdminRecord } from '../ags/index.js';
import { JsonText } from '../ags/index.js';
import { freezeJson, stringifyJson } from './frozen-json.js';
import { GroupCommit } from './group-commit.js';
import { ReadCoalescing } from './read-coalescing.js';
import type { BulkReadResult } from './read-coalescing.js';
import { partitionId, StateStoreUnavailableError, UnreadableStateError } from './state-store.js';
import type { Change, Partition, StateDocument, StateStore, StoreCallOptions } from './state-store.js';

/** Default record key of the state document. */
export const DEFAULT_RECORD_KEY = 'extend-event-rules-state';
/** Cloud Save's recommended largest request body. */
export const RECOMMENDED_RECORD_BYTES = 250_000;
/** Records whose last write by this store is kept (frozen) to continue from when a fresh read finds it unchanged: the hot game records (dead-letter shards' open pages). */
const OWN_WRITES_KEPT = 64;
/** `updatedAt` sent when creating a record (any RFC 3339 instant: there is nothing to compare with). */
const CREATE_UPDATED_AT = new Date(0).toISOString();

export interface CloudSaveStateStoreOptions {
  /** A logged-in AGS client. Required. */
  readonly ags: AgsClient;
  /** Admin record key of the state document. Default: {@link DEFAULT_RECORD_KEY}. */
  readonly recordKey?: string;
  /** Write attempts of one `transact` under conflicts (412, lost create races) before it gives up (unavailable). Default: 10. */
  readonly maxAttempts?: number;
  /** Partitions whose last `updated_at` is remembered. Default: 2000. */
  readonly cacheSize?: number;
  /** Warn (once per partition) when a record grows past this many bytes. Default: {@link RECOMMENDED_RECORD_BYTES}. */
  readonly warnBytes?: number;
  /**
   * Most players' records read in one bulk read, when reads wait for one in flight (1: every read is
   * a single GET). Default and upper bound: 20 (cloudsave.json, `bulkGetAdminPlayerRecordByUserIdsV1`:
   * "max allowed 20 at a time").
   */
  readonly maxBulkRead?: number;
  /** Jitter source in [0, 1). Default: `Math.random`. */
  readonly random?: () => number;
  /** Default: none. */
  readonly logger?: Logger;
}

interface Known {
  /** `undefined`: the record does not exist. */
  readonly updatedAt: string | undefined;
  readonly doc: StateDocument | undefined;
  readonly writer: string | undefined;
}

/** Counters of the calls made (bench: AGS calls per event). */
export interface CloudSaveCallCounts {
  /** Single GETs. */
  reads: number;
  /** Bulk reads (`bulkGetAdminPlayerRecordByUserIdsV1`) and the records they asked for. */
  bulkReads: number;
  bulkReadRecords: number;
  /** Bulk reads answered 404, whose reads were sent again alone. */
  bulkNotFound: number;
  writes: number;
  conflicts: number;
  lostCreates: number;
}

function statusOf(error: unknown): number | undefined {
  return error instanceof AgsError ? error.status : undefined;
}

/**
 * Cloud Save's "record not found" (cloudsave.json: 404 with errorCode 18152 for a player's admin
 * record, 18140 for a game's): only that answer says a record is absent. Another 404 (a gateway's
 * "no route" while Cloud Save is redeployed, an HTML page) says nothing of the record: read as
 * absent, every mark in it would be lost and its effects sent again.
 */
const RECORD_NOT_FOUND: ReadonlySet<unknown> = new Set([18152, 18140, '18152', '18140']);

function recordNotFound(error: unknown): boolean {
  return error instanceof AgsError && error.status === 404 && RECORD_NOT_FOUND.has(error.errorCode);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function shapeOf(v: unknown): string {
  return v === null ? 'null' : v === undefined ? 'missing' : Array.isArray(v) ? 'an array' : `${typeof v === 'object' ? 'an' : 'a'} ${typeof v}`;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class CloudSaveStateStore implements StateStore {
  readonly kind = 'cloudsave' as const;
  readonly counts: CloudSaveCallCounts = { reads: 0, bulkReads: 0, bulkReadRecords: 0, bulkNotFound: 0, writes: 0, conflicts: 0, lostCreates: 0 };
  readonly #ags: AgsClient;
  readonly #key: string;
  readonly #maxAttempts: number;
  readonly #cacheSize: number;
  readonly #warnBytes: number;
  readonly #random: () => number;
  readonly #logger: Logger | undefined;
  readonly #known = new Map<string, Known>();
  /** Per record, this store's last write (its write id and the frozen document written), least recently written first. */
  readonly #ownWrites = new Map<string, { readonly writer: string; readonly doc: StateDocument }>();
  readonly #warned = new Set<string>();
  readonly #batches = new GroupCommit('cloudsave', (partition, update) => this.#transactOnce(partition, update));
  readonly #playerReads: ReadCoalescing<AdminRecord>;
  #closed = false;

  constructor(options: CloudSaveStateStoreOptions) {
    this.#ags = options.ags;
    this.#key = options.recordKey ?? DEFAULT_RECORD_KEY;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 10);
    this.#cacheSize = Math.max(0, options.cacheSize ?? 2000);
    this.#warnBytes = options.warnBytes ?? RECOMMENDED_RECORD_BYTES;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger;
    this.#playerReads = new ReadCoalescing<AdminRecord>({
      max: Math.min(BULK_USER_IDS_MAX, Math.max(1, options.maxBulkRead ?? BULK_USER_IDS_MAX)),
      one: (namespace, userId, signal) => this.#getPlayerRecord(namespace, userId, signal),
      many: (namespace, userIds) => this.#getPlayerRecords(namespace, userIds),
      aborted: () => new StateStoreUnavailableError('cloudsave', 'read', 'aborted'),
    });
  }

  /** The admin record key used. */
  get recordKey(): string {
    return this.#key;
  }

  /** The partition's admin record, for error lines. */
  describe(p: Partition): string {
    return p.userId !== undefined ? `admin player record ${this.#key} of ${partitionId(p)}` : `admin game record ${this.#gameKey(p)} of ${p.namespace}`;
  }

  /** The admin game record key of a game or named partition. */
  #gameKey(p: Partition): string {
    return p.key !== undefined ? `${this.#key}-${p.key}` : this.#key;
  }

  #check(operation: string, options?: StoreCallOptions): void {
    if (this.#closed) throw new StateStoreUnavailableError('cloudsave', operation, 'the store is closed');
    if (options?.signal?.aborted) throw new StateStoreUnavailableError('cloudsave', operation, 'aborted');
  }

  #remember(id: string, known: Known): void {
    if (this.#cacheSize === 0) return;
    this.#known.delete(id);
    this.#known.set(id, known);
    if (this.#known.size > this.#cacheSize) this.#known.delete(this.#known.keys().next().value!);
  }

  /** A player's record (single GET), `undefined` when Cloud Save says it is absent; {@link StateStoreUnavailableError} when it cannot tell. */
  async #getPlayerRecord(namespace: string, userId: string, signal?: AbortSignal): Promise<AdminRecord | undefined> {
    this.counts.reads++;
    try {
      return await this.#ags.adminGetAdminPlayerRecordV1(namespace, userId, this.#key, signal);
    } catch (error) {
      if (recordNotFound(error)) return undefined;
      throw new StateStoreUnavailableError('cloudsave', 'read', reasonOf(error));
    }
  }

  /**
   * Players' records in one bulk read (2 to 20 distinct ids). A record left out of the answer is
   * absent. An answer naming a record not asked for (another user id or key, or one twice) tells
   * nothing: every read fails (unavailable). Its `namespace` is not compared, as the GET's is not. A 404 (errorCode 18186 "record not found"
   * does not say which) sends each read again alone, where only 18152 means absent.
   */
  async #getPlayerRecords(namespace: string, userIds: readonly string[]): Promise<Array<BulkReadResult<AdminRecord>>> {
    this.counts.bulkReads++;
    this.counts.bulkReadRecords += userIds.length;
    let answer: { data: AdminRecord[] };
    try {
      answer = await this.#ags.bulkGetAdminPlayerRecordByUserIdsV1(namespace, this.#key, userIds);
    } catch (error) {
      if (statusOf(error) === 404) {
        this.counts.bulkNotFound++;
        return Promise.all(userIds.map((id) => this.#getPlayerRecord(namespace, id).then((record) => ({ ok: true as const, record }), (e: unknown) => ({ ok: false as const, error: e }))));
      }
      throw new StateStoreUnavailableError('cloudsave', 'read', reasonOf(error));
    }
    const unexpected = (what: string): StateStoreUnavailableError =>
      new StateStoreUnavailableError('cloudsave', 'read', `bulkGetAdminPlayerRecordByUserIdsV1 of ${userIds.length} players' ${this.#key} answered ${what}: not read as absent`);
    if (!isObject(answer) || !Array.isArray(answer.data)) throw unexpected(`${shapeOf(answer)} instead of {data: [...]}`);
    const asked = new Set(userIds);
    const found = new Map<string, AdminRecord>();
    for (const record of answer.data as unknown[]) {
      if (!isObject(record) || typeof record.user_id !== 'string' || !asked.has(record.user_id)) throw unexpected('a record of a player not asked for');
      if (record.key !== this.#key) throw unexpected('a record of another key');
      if (found.has(record.user_id)) throw unexpected('a player\'s record twice');
      found.set(record.user_id, record as unknown as AdminRecord);
    }
    return userIds.map((id) => ({ ok: true, record: found.get(id) }));
  }

  /** The record as stored now (GET, or a player's within a bulk read), `updatedAt: undefined` when absent. */
  async #fetch(p: Partition, operation: string, signal?: AbortSignal): Promise<Known> {
    let record: AdminRecord | undefined;
    if (p.userId !== undefined) {
      try {
        // a user id AGS would refuse is read alone (refused before sending), never put in a bulk read whose other reads it would fail
        record = userIdProblem(p.userId) === undefined ? await this.#playerReads.read(p.namespace, p.userId, signal) : await this.#getPlayerRecord(p.namespace, p.userId, signal);
      } catch (error) {
        if (error instanceof StateStoreUnavailableError && error.operation === operation) throw error;
        throw new StateStoreUnavailableError('cloudsave', operation, error instanceof StateStoreUnavailableError ? error.reason : reasonOf(error));
      }
    } else {
      this.counts.reads++;
      try {
        record = await this.#ags.adminGetAdminGameRecordV1(p.namespace, this.#gameKey(p), signal);
      } catch (error) {
        if (!recordNotFound(error)) throw new StateStoreUnavailableError('cloudsave', operation, reasonOf(error));
      }
    }
    if (record === undefined) return { updatedAt: undefined, doc: undefined, writer: undefined };
    const value: unknown = record?.value;
    // A record this product did not write as it writes (edited, overwritten): never read as empty.
    const what = this.describe(p);
    if (!isObject(value)) throw new UnreadableStateError('cloudsave', what, `its value is ${shapeOf(value)}, not {w, doc}`);
    if (!isObject(value.doc)) throw new UnreadableStateError('cloudsave', what, `its "doc" is ${shapeOf(value.doc)}, not an object`);
    if (typeof record.updated_at !== 'string') throw new UnreadableStateError('cloudsave', what, 'it has no updated_at');
    const writer = typeof value.w === 'string' ? value.w : undefined;
    const id = partitionId(p);
    const own = this.#ownWrites.get(id);
    // our own last write, unchanged since: the same document, already frozen (see the module)
    const known: Known = { updatedAt: record.updated_at, doc: own !== undefined && own.writer === writer ? own.doc : value.doc, writer };
    this.#remember(id, known);
    return known;
  }

  /** One conditional write. Resolves with the new `updated_at` when Cloud Save tells it (player records), `'conflict'` on 412. */
  async #put(p: Partition, value: string, updatedAt: string | undefined, signal?: AbortSignal): Promise<{ updatedAt?: string } | 'conflict'> {
    this.counts.writes++;
    const body = new JsonText(`{"value":${value},"updatedAt":${JSON.stringify(updatedAt ?? CREATE_UPDATED_AT)}}`);
    try {
      if (p.userId !== undefined) {
        const answer = await this.#ags.adminPutAdminPlayerRecordConcurrentHandlerV1(p.namespace, p.userId, this.#key, body, signal);
        return typeof answer?.updated_at === 'string' ? { updatedAt: answer.updated_at } : {};
      }
      await this.#ags.adminPutAdminGameRecordConcurrentHandlerV1(p.namespace, this.#gameKey(p), body, signal);
      return {};
    } catch (error) {
      if (statusOf(error) === 412) return 'conflict';
      throw error;
    }
  }

  async read(partition: Partition, options?: StoreCallOptions): Promise<StateDocument | undefined> {
    this.#check('read', options);
    const doc = (await this.#fetch(partition, 'read', options?.signal)).doc;
    return doc === undefined ? undefined : structuredClone(doc); // the remembered one stays as read
  }

  /** Optimistic read-modify-write; concurrent calls of this process on one partition are applied together ({@link GroupCommit}): one write per batch. */
  transact<T>(partition: Partition, update: (current: StateDocument | undefined) => Change<T>, options?: StoreCallOptions): Promise<T> {
    try {
      this.#check('transact', options);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.#batches.transact(partition, update, options);
  }

  async #transactOnce<T>(partition: Partition, update: (current: StateDocument | undefined) => Change<T>, options?: StoreCallOptions): Promise<T> {
    const id = partitionId(partition);
    const signal = options?.signal;
    /** Our write ids of this call and what `update` answered with each: a write whose answer was lost is recognised on the next read. */
    const mine = new Map<string, T>();
    // Game records are decided on a fresh read: they answer writes with 204 (so they are rarely remembered),
    // and they are deleted (expired dead-letter pages): a conditional PUT decided on a remembered copy of a
    // record another replica deleted would create it again (Cloud Save creates an absent record whatever
    // updatedAt says), bringing back what expired and hiding what is written into it.
    let current: Known | undefined = partition.userId !== undefined ? this.#known.get(id) : undefined;
    let fresh = current === undefined;
    for (let attempt = 1; ; attempt++) {
      this.#check('transact', options);
      current ??= await this.#fetch(partition, 'transact', signal);
      if (current.writer !== undefined && mine.has(current.writer)) return mine.get(current.writer)!;
      const change = update(current.doc); // its throw propagates as is: nothing written
      if (change.next === undefined) {
        if (fresh) return change.result;
        current = undefined; // decided on a remembered copy: check on a fresh read
        fresh = true;
        continue;
      }
      const next = freezeJson(change.next) as StateDocument; // its TypeError (not JSON) propagates: nothing written
      const writer = randomUUID();
      mine.set(writer, change.result);
      this.#ownWrites.delete(id); // whatever it held, the record may now hold this write or its old content
      const value = `{"w":${JSON.stringify(writer)},"doc":${stringifyJson(next)}}`;
      this.#sizeCheck(id, value);
      let written: { updatedAt?: string } | 'conflict';
      try {
        written = await this.#put(partition, value, current.updatedAt, signal);
      } catch (error) {
        // The write may or may not have landed (timeout, reset): the next read tells. Cloud Save busy (refused
        // unsent by the back-pressure, `busy`): not tried again here, the event is answered UNAVAILABLE.
        this.#known.delete(id);
        if (attempt >= this.#maxAttempts || !(error instanceof AgsError && error.retriable && error.kind !== 'busy')) throw new StateStoreUnavailableError('cloudsave', 'transact', reasonOf(error));
        current = undefined;
        fresh = true;
        await this.#backoff(attempt);
        continue;
      }
      if (written === 'conflict') {
        this.counts.conflicts++;
        this.#known.delete(id);
        if (attempt >= this.#maxAttempts) throw new StateStoreUnavailableError('cloudsave', 'transact', `the record kept changing (${attempt} attempts)`);
        current = undefined;
        fresh = true;
        await this.#backoff(attempt);
        continue;
      }
      if (current.updatedAt === undefined) {
        // Created: another first writer may have created it at the same time (no precondition on
        // a create). Trust the write only if the record holds it.
        const back = await this.#fetch(partition, 'transact', signal);
        if (back.writer === writer) {
          // ours: keep the frozen document written, not the copy just parsed (the next write shares its parts)
          this.#ownWrite(id, writer, next);
          this.#remember(id, { updatedAt: back.updatedAt, doc: next, writer });
          return change.result;
        }
        this.counts.lostCreates++;
        if (back.writer !== undefined && mine.has(back.writer)) return mine.get(back.writer)!;
        if (attempt >= this.#maxAttempts) throw new StateStoreUnavailableError('cloudsave', 'transact', `lost the creation race ${attempt} times`);
        current = back;
        fresh = true;
        continue;
      }
      this.#ownWrite(id, writer, next);
      if (written.updatedAt !== undefined) this.#remember(id, { updatedAt: written.updatedAt, doc: next, writer });
      else this.#known.delete(id); // game records answer 204: the next write reads first
      return change.result;
    }
  }

  #ownWrite(id: string, writer: string, doc: StateDocument): void {
    this.#ownWrites.delete(id);
    this.#ownWrites.set(id, { writer, doc });
    if (this.#ownWrites.size > OWN_WRITES_KEPT) this.#ownWrites.delete(this.#ownWrites.keys().next().value!);
  }

  #sizeCheck(id: string, value: string): void {
    if (this.#warned.has(id)) return;
    const bytes = Buffer.byteLength(value);
    if (bytes > this.#warnBytes) {
      this.#warned.add(id);
      this.#logger?.warn({ store: 'cloudsave', partition: id, bytes }, `state record of ${id} is ${bytes} bytes, over Cloud Save's recommended ${this.#warnBytes}: lower DEDUPE_RETENTION_HOURS`);
    }
  }

  #backoff(attempt: number): Promise<void> {
    return new Promise((r) => setTimeout(r, Math.floor(this.#random() * Math.min(500, 10 * 2 ** attempt))));
  }

  /** `DELETE` of the partition's admin record (404: already gone). */
  async delete(partition: Partition, options?: StoreCallOptions): Promise<void> {
    this.#check('delete', options);
    this.#known.delete(partitionId(partition));
    this.#ownWrites.delete(partitionId(partition));
    try {
      if (partition.userId !== undefined) await this.#ags.adminDeleteAdminPlayerRecordV1(partition.namespace, partition.userId, this.#key, options?.signal);
      else await this.#ags.adminDeleteAdminGameRecordV1(partition.namespace, this.#gameKey(partition), options?.signal);
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw new StateStoreUnavailableError('cloudsave', 'delete', reasonOf(error));
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#known.clear();
    this.#ownWrites.clear();
    return Promise.resolve();
  }
}
