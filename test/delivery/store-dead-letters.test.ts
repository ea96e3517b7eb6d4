/**
 * Dead letters in the shared state store (issue 22.4: nothing dropped, ever):
 * the same contract on memory, a real Redis and Cloud Save (AGS stand-in):
 * sharded pages that never drop a record to make room, paging and filters,
 * a full store that refuses (the executor answers UNAVAILABLE), expiry after
 * the retention counted and logged; and 100,000 held at the default settings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { DEAD_LETTER_SHARDS, DEFAULT_DEAD_LETTER_CAPACITY, DEFAULT_MAX_PAGE_BYTES, DEFAULT_PAGE_BYTES, DEFAULT_PAGE_RECORDS, DeadLetterStoreFullError, StoreDeadLetterSink } from '../../src/delivery/store-dead-letters.js';
import { listStoredDeadLetters, removeStoredDeadLetter } from '../../src/delivery/store-dead-letter-listing.js';
import { DEAD_LETTER_SECTION, indexPartition, keysPartition, pagePartition, shardOf } from '../../src/delivery/dead-letter-pages.js';
import type { StoredDeadLetter } from '../../src/delivery/dead-letter-pages.js';
import { matchesQuery } from '../../src/delivery/dead-letter-query.js';
import type { DeadLetterQuery } from '../../src/delivery/dead-letter-query.js';
import type { DeadLetterRecord } from '../../src/delivery/dead-letters.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { createRedisStateStore } from '../../src/store/redis-state-store.js';
import { CloudSaveStateStore, RECOMMENDED_RECORD_BYTES } from '../../src/store/cloudsave-state-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { AgsClient } from '../../src/ags/client.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { describeWith, executable } from '../support/prereq.js';
import { startRedis } from '../support/redis.js';
import type { RedisProcess } from '../support/redis.js';

const NS = 'mygame';
const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-11T10:00:00.000Z');
const RULES = ['welcome', 'daily', 'season'];
const ACTIONS = ['grantItem', 'creditWallet'];

function record(i: number, options: { at?: number; key?: string; payload?: string; status?: number } = {}): DeadLetterRecord {
  const id = `ev-${i}`;
  const rule = RULES[i % 3]!;
  const action = ACTIONS[i % 2]!;
  const status = options.status ?? (i % 5 === 0 ? 404 : 400);
  return {
    version: 1,
    timestamp: new Date(options.at ?? T0 + i).toISOString(),
    eventName: 'userLoggedIn',
    service: 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService',
    eventId: id,
    idempotencyKey: options.key ?? `${id}:${rule}:${action}#0`,
    rule,
    index: 0,
    action,
    error: { name: 'AgsError', message: status === 404 ? 'fulfillItem failed: item not found' : 'fulfillItem failed: bad request', status, errorCode: status === 404 ? 30341 : 20002 },
    attempts: 1,
    event: { id, userId: 'u1', namespace: NS, ...(options.payload !== undefined ? { payload: { blob: options.payload } } : {}) },
  };
}

/** Every record the query selects, page by page (`limit` per page); fails on a record seen twice. */
async function allPages(store: StateStore, query: DeadLetterQuery): Promise<{ records: StoredDeadLetter[]; pages: number }> {
  const records: StoredDeadLetter[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await listStoredDeadLetters({ store, namespace: NS }, { ...query, ...(cursor ? { cursor } : {}) });
    pages++;
    for (const r of page.records) {
      expect(seen.has(r.ref!), `listed twice: ${r.ref}`).toBe(false);
      seen.add(r.ref!);
      records.push(r);
    }
    if (query.limit !== undefined) expect(page.records.length).toBeLessThanOrEqual(query.limit);
    cursor = page.next;
  } while (cursor !== undefined);
  return { records, pages };
}

function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

/** Opens `count` stores on one fresh shared backend space (replicas of one deployment). */
type Open = (count: number) => Promise<StateStore[]>;

function contract(kind: string, open: Open): void {
  describe(`${kind}: dead letters in the store`, () => {
    it('nothing dropped: 400 records from two writers (replicas) over many small pages are all listed, pages stay within their budget', async () => {
      const [a, b] = (await open(2)) as [StateStore, StateStore];
      const options = { namespace: NS, retentionMs: 24 * HOUR, pageBytes: 6_000, sweepEveryMs: 0, now: () => T0 + 1000 };
      const sa = new StoreDeadLetterSink({ store: a, ...options });
      const sb = new StoreDeadLetterSink({ store: b, ...options });
      for (let round = 0; round < 8; round++) await Promise.all(Array.from({ length: 50 }, (_, j) => round * 50 + j).map((i) => (i % 2 ? sa : sb).write(record(i))));
      const listed = (await listStoredDeadLetters({ store: a, namespace: NS })).records;
      expect(listed.map((r) => r.eventId).sort()).toEqual(Array.from({ length: 400 }, (_, i) => `ev-${i}`).sort());
      expect(listed.find((r) => r.eventId === 'ev-0')).toMatchObject({ rule: 'welcome', error: { status: 404 }, event: { id: 'ev-0' } });
      for (let s = 0; s < DEAD_LETTER_SHARDS; s++) {
        const index = (await a.read(indexPartition(NS, s)))?.deadLetterIndex as { open: number; held: number } | undefined;
        expect(index?.open ?? 0).toBeGreaterThan(0); // every shard filled pages
        for (let p = 0; p <= (index?.open ?? 0); p++) {
          const doc = await a.read(pagePartition(NS, s, p));
          if (doc) expect(Buffer.byteLength(JSON.stringify(doc[DEAD_LETTER_SECTION]))).toBeLessThanOrEqual(6_000);
        }
      }
    });

    it('one record per idempotency key in an open page (a newer failure replaces); removal takes only the very record listed', async () => {
      const [store] = (await open(1)) as [StateStore];
      const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: HOUR, sweepEveryMs: 0, now: () => T0 + 1000 });
      await sink.write(record(1, { key: 'k', at: T0 }));
      const first = (await listStoredDeadLetters({ store, namespace: NS })).records[0]!;
      await sink.write(record(2, { key: 'k', at: T0 + 5 }));
      const listed = (await listStoredDeadLetters({ store, namespace: NS })).records;
      expect(listed.map((r) => r.eventId)).toEqual(['ev-2']);
      expect(await removeStoredDeadLetter({ store, namespace: NS }, first)).toBe(false);
      expect(await removeStoredDeadLetter({ store, namespace: NS }, listed[0]!)).toBe(true);
      expect(await removeStoredDeadLetter({ store, namespace: NS }, listed[0]!)).toBe(false);
      expect((await listStoredDeadLetters({ store, namespace: NS })).records).toEqual([]);
    });

    it('the same action of an event dead-lettered again after its page was sealed (a redelivery after a kill -9): listed once, the newest, with its older copies; removing it (a replay) removes them all', async () => {
      const [store] = (await open(1)) as [StateStore];
      const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: HOUR, pageBytes: 3_000, sweepEveryMs: 0, now: () => T0 + 1000 });
      const at = { store, namespace: NS };
      // other events' dead letters of the same shard fill the pages between the copies
      const s = shardOf('ev-1:daily:grantItem#0');
      const others: string[] = [];
      for (let k = 0; others.length < 24; k++) if (shardOf(`other-${k}`) === s) others.push(`other-${k}`);
      const index = async (): Promise<{ open: number; held: number }> => (await store.read(indexPartition(NS, s)))?.deadLetterIndex as { open: number; held: number };
      const dup = (status: number, at: number): DeadLetterRecord => record(1, { key: 'ev-1:daily:grantItem#0', status, at });
      await sink.write(dup(400, T0));
      for (const key of others.slice(0, 8)) await sink.write(record(10, { key }));
      const firstOpen = (await index()).open;
      expect(firstOpen).toBeGreaterThan(0); // the first copy's page is sealed
      await sink.write(dup(404, T0 + 5)); // the redelivery dead-letters it again, in a later page
      for (const key of others.slice(8, 16)) await sink.write(record(11, { key }));
      expect((await index()).open).toBeGreaterThan(firstOpen); // the second copy's page is sealed too
      const once = async (query: DeadLetterQuery = {}): Promise<StoredDeadLetter[]> => (await allPages(store, query)).records.filter((r) => r.eventId === 'ev-1');
      const second = await once();
      expect(second).toHaveLength(1);
      expect(second[0]).toMatchObject({ error: { status: 404 }, timestamp: new Date(T0 + 5).toISOString(), copies: [expect.stringMatching(new RegExp(`^${s}\\.0\\.1$`))] });
      await sink.write(dup(400, T0 + 9)); // and again: the newest copy in the open page
      for (const query of [{}, { limit: 1 }, { limit: 3 }, { rule: 'daily' }, { reason: 'HTTP 400', limit: 2 }, { sinceMs: T0 - HOUR }]) {
        const listed = await once(query);
        expect(listed, JSON.stringify(query)).toHaveLength(1);
        expect(listed[0]).toMatchObject({ timestamp: new Date(T0 + 9).toISOString(), ref: expect.stringMatching(new RegExp(`^${s}\\.${(await index()).open}\\.`)) });
        expect(listed[0]!.copies).toHaveLength(2);
      }
      expect(await once({ reason: 'HTTP 404' })).toEqual([]); // the older copy's reason is not the event's any more
      expect((await allPages(store, {})).records).toHaveLength(1 + 16);
      // capacity: a copy takes room until it is removed (or its page expires)
      const held = async (): Promise<number> => {
        const { open, held } = await index();
        return held + (((await store.read(pagePartition(NS, s, open)))?.[DEAD_LETTER_SECTION] as { n?: number } | undefined)?.n ?? 0);
      };
      expect(await held()).toBe(3 + 16);
      const [newest] = await once();
      expect(await removeStoredDeadLetter(at, newest!)).toBe(true);
      expect(await once()).toEqual([]);
      expect(await held()).toBe(16);
      expect((await allPages(store, {})).records.map((r) => r.idempotencyKey).sort()).toEqual(others.slice(0, 16).sort());
      expect(await removeStoredDeadLetter(at, newest!)).toBe(false); // removed once
    });

    it('an older copy whose page expires is not counted nor logged as expired (its newest record is held and listed); the others of its page are', async () => {
      const [store] = (await open(1)) as [StateStore];
      let now = T0;
      const metrics = new Metrics({ defaultMetrics: false });
      const { logger, lines } = capture();
      const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: HOUR, pageBytes: 3_000, sweepEveryMs: 0, metrics, logger, now: () => now });
      const key = 'ev-1:daily:grantItem#0';
      const s = shardOf(key);
      const others: string[] = [];
      for (let k = 0; others.length < 16; k++) if (shardOf(`old-${k}`) === s) others.push(`old-${k}`);
      await sink.write(record(1, { key, at: T0 }));
      for (const other of others.slice(0, 8)) await sink.write(record(10, { key: other, at: T0 }));
      now = T0 + 2 * HOUR; // the first page is past the retention; the redelivery dead-letters the event again
      await sink.write(record(1, { key, at: now, status: 404 }));
      for (const other of others.slice(8)) await sink.write(record(11, { key: other, at: now }));
      const index = (await store.read(indexPartition(NS, s)))?.deadLetterIndex as { pages: { p: number; n: number; to: number }[] };
      const old = index.pages.filter((e) => e.to < now - HOUR);
      expect(old.length).toBeGreaterThan(0);
      const oldRecords = old.reduce((n, e) => n + e.n, 0); // the first copy and some of the others
      expect(await sink.sweep()).toBe(oldRecords - 1);
      expect((await metrics.deadLettersExpired.get()).values.reduce((n, v) => n + v.value, 0)).toBe(oldRecords - 1);
      expect(lines.filter((l) => /dead letters? expired/.test(String(l.msg))).reduce((n, l) => n + Number(l.expired), 0)).toBe(oldRecords - 1);
      const listed = (await listStoredDeadLetters({ store, namespace: NS })).records.filter((r) => r.idempotencyKey === key);
      expect(listed.map((r) => [r.error.status, r.copies])).toEqual([[404, undefined]]);
    });

    it('pages through with a cursor and filters by rule, action, reason and time, as a brute-force filter does', async () => {
      const [store] = (await open(1)) as [StateStore];
      const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: 24 * HOUR, pageBytes: 4_000, sweepEveryMs: 0, now: () => T0 + HOUR });
      const written = Array.from({ length: 120 }, (_, i) => record(i, { at: T0 + i * 60_000 }));
      for (const r of written) await sink.write(r);
      const queries: DeadLetterQuery[] = [
        { limit: 7 },
        { limit: 1 },
        { rule: 'daily', limit: 5 },
        { action: 'creditWallet', rule: 'season' },
        { reason: 'HTTP 404', limit: 4 },
        { reason: 'ITEM NOT FOUND' },
        { reason: 'errorCode 20002', action: 'grantItem', limit: 9 },
        { sinceMs: T0 + 30 * 60_000, untilMs: T0 + 75 * 60_000, limit: 6 },
        { sinceMs: T0 + 200 * 60_000 },
      ];
      for (const q of queries) {
        const { records, pages } = await allPages(store, q);
        const expected = written.filter((r) => matchesQuery(r, q)).map((r) => r.eventId);
        expect(records.map((r) => r.eventId).sort(), JSON.stringify(q)).toEqual([...expected].sort());
        if (q.limit !== undefined && expected.length > q.limit) expect(pages).toBeGreaterThan(1);
      }
      // the time order holds across pages of one shard
      const all = (await allPages(store, { limit: 10 })).records;
      expect(all).toHaveLength(120);
      await expect(listStoredDeadLetters({ store, namespace: NS }, { cursor: 'nonsense' })).rejects.toThrow(/invalid cursor/);
    });

    it('full: a shard holding capacity/shards refuses with DeadLetterStoreFullError and drops nothing; a replay (removal) makes room', async () => {
      const [store] = (await open(1)) as [StateStore];
      const capacity = 2 * DEAD_LETTER_SHARDS; // 2 per shard
      const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: HOUR, capacity, pageBytes: 1_500, sweepEveryMs: 0, now: () => T0 + 1000 });
      const taken: DeadLetterRecord[] = [];
      const refused: DeadLetterRecord[] = [];
      for (let i = 0; i < 60; i++) {
        const r = record(i);
        try {
          await sink.write(r);
          taken.push(r);
        } catch (error) {
          expect(error).toBeInstanceOf(DeadLetterStoreFullError);
          expect((error as Error).message).toMatch(/the dead-letter store is full: shard \d holds 2 of its 2 \(DEAD_LETTER_CAPACITY=16 over 8 shards\)/);
          refused.push(r);
        }
      }
      expect(taken.length).toBeLessThanOrEqual(capacity);
      expect(refused.length).toBe(60 - taken.length);
      const listed = (await listStoredDeadLetters({ store, namespace: NS })).records;
      expect(listed.map((r) => r.eventId).sort()).toEqual(taken.map((r) => r.eventId).sort());
      // replaying (removing) one of the refused record's shard makes room for it
      const again = refused[0]!;
      const sameShard = listed.filter((r) => shardOf(r.idempotencyKey) === shardOf(again.idempotencyKey));
      expect(sameShard).toHaveLength(2);
      for (const r of sameShard) expect(await removeStoredDeadLetter({ store, namespace: NS }, r)).toBe(true);
      await sink.write(again);
      expect((await listStoredDeadLetters({ store, namespace: NS }, { rule: again.rule })).records.map((r) => r.eventId)).toContain(again.eventId);
    });

    it('retention: pages older than it are deleted by the sweep, counted in event_rules_dead_letters_expired_total and logged; newer ones stay', async () => {
      const [store] = (await open(1)) as [StateStore];
      let now = T0;
      const metrics = new Metrics({ defaultMetrics: false });
      const { logger, lines } = capture();
      const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: 2 * HOUR, pageSpanMs: HOUR, sweepEveryMs: 0, metrics, logger, now: () => now });
      for (let i = 0; i < 30; i++) await sink.write(record(i, { at: T0 + i }));
      now = T0 + 90 * 60_000; // the first pages' span passed: new ones open
      for (let i = 30; i < 40; i++) await sink.write(record(i, { at: now + i }));
      expect(await sink.sweep()).toBe(0); // nothing older than the retention yet
      now = T0 + 2 * HOUR + 60_000;
      expect(await sink.sweep()).toBe(30);
      expect((await listStoredDeadLetters({ store, namespace: NS })).records.map((r) => r.eventId).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `ev-${30 + i}`).sort());
      const values = (await metrics.deadLettersExpired.get()).values;
      expect(values.reduce((s, v) => s + v.value, 0)).toBe(30);
      expect(values.find((v) => v.labels.rule === 'welcome' && v.labels.action === 'grantItem')?.value).toBe(5);
      const logged = lines.filter((l) => /dead letters? expired/.test(String(l.msg)));
      expect(logged.reduce((s, l) => s + Number(l.expired), 0)).toBe(30);
      expect(String(logged[0]?.msg)).toMatch(/older than the retention of 2 h: DEAD_LETTER_RETENTION_HOURS\): [a-z]+\/[a-zA-Z]+ \d/);
      expect(await sink.sweep()).toBe(0); // counted once
      now = T0 + 10 * HOUR; // the quiet shards' open pages are sealed by the sweep and expire too
      expect(await sink.sweep()).toBe(10);
      expect((await listStoredDeadLetters({ store, namespace: NS })).records).toEqual([]);
      await sink.close();
      await expect(sink.write(record(101))).rejects.toThrow(/the sink is closed/);
    });

    it('a replica that wrote to a page before other replicas filled it and their sweep expired it: its next dead letters land in the open page and are listed, never in the deleted page', async () => {
      const [a, b] = (await open(2)) as [StateStore, StateStore];
      let now = T0;
      const options = { namespace: NS, retentionMs: 2 * HOUR, pageBytes: 2_000, sweepEveryMs: 0, now: () => now };
      const busy = new StoreDeadLetterSink({ store: a, ...options });
      const quiet = new StoreDeadLetterSink({ store: b, ...options });
      // keys of one shard: the quiet replica writes the first and, hours later, two more; the busy one fills the page meanwhile
      const s = shardOf('quiet-1');
      const keys: string[] = [];
      for (let k = 2; keys.length < 8; k++) if (shardOf(`quiet-${k}`) === s) keys.push(`quiet-${k}`);
      await quiet.write(record(1, { key: 'quiet-1' }));
      for (let i = 0; i < 6; i++) await busy.write(record(10 + i, { key: keys[i]! })); // page 0 fills and is sealed, page 1 opens
      expect(((await a.read(indexPartition(NS, s)))?.deadLetterIndex as { open: number }).open).toBeGreaterThan(0);
      const before = (await listStoredDeadLetters({ store: a, namespace: NS })).records.length;
      now = T0 + 3 * HOUR; // page 0 is older than the retention: the busy replica's sweep expires and deletes it
      expect(await busy.sweep()).toBeGreaterThan(0);
      const kept = (await listStoredDeadLetters({ store: a, namespace: NS })).records.map((r) => r.idempotencyKey);
      expect(kept.length).toBeLessThan(before);
      await quiet.write(record(2, { key: keys[6]! }));
      await quiet.write(record(3, { key: keys[7]! }));
      expect((await listStoredDeadLetters({ store: a, namespace: NS })).records.map((r) => r.idempotencyKey).sort()).toEqual([...kept, keys[6], keys[7]].sort());
      expect(await a.read(pagePartition(NS, s, 0))).toBeUndefined(); // the expired page stays deleted
    });

    it('paging while dead letters arrive: a record written between two pages is listed on a later page of the same pass, whichever shard it lands in', async () => {
      const [store] = (await open(1)) as [StateStore];
      const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: HOUR, sweepEveryMs: 0, now: () => T0 });
      // one record in every shard: every open page starts at T0
      const keyIn = (s: number, tag: string): string => {
        for (let k = 0; ; k++) if (shardOf(`${tag}-${k}`) === s) return `${tag}-${k}`;
      };
      for (let s = 0; s < DEAD_LETTER_SHARDS; s++) await sink.write(record(s, { key: keyIn(s, 'first') }));
      const seen: string[] = [];
      const page1 = await listStoredDeadLetters({ store, namespace: NS }, { limit: 4 });
      seen.push(...page1.records.map((r) => r.idempotencyKey));
      // new failures in every shard meanwhile: in shards already listed (their open pages sort before the cursor) and after it
      const late = Array.from({ length: DEAD_LETTER_SHARDS }, (_, s) => keyIn(s, 'late'));
      for (const [i, key] of late.entries()) await sink.write(record(100 + i, { key }));
      let cursor = page1.next;
      while (cursor !== undefined) {
        const page = await listStoredDeadLetters({ store, namespace: NS }, { limit: 4, cursor });
        seen.push(...page.records.map((r) => r.idempotencyKey));
        cursor = page.next;
      }
      expect(seen.filter((k) => k.startsWith('first-'))).toHaveLength(DEAD_LETTER_SHARDS);
      expect(seen.filter((k) => k.startsWith('late-')).sort()).toEqual([...late].sort());
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('a payload over maxEventBytes is kept without it (listed, marked), never dropped', async () => {
      const [store] = (await open(1)) as [StateStore];
      const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: HOUR, maxEventBytes: 1000, sweepEveryMs: 0, now: () => T0 });
      await sink.write(record(100, { payload: 'x'.repeat(5000) }));
      const [r] = (await listStoredDeadLetters({ store, namespace: NS })).records;
      expect(r).toMatchObject({ eventOmitted: true, event: { id: 'ev-100' } });
    });
  });
}

contract('memory', (count) => {
  const one = new MemoryStateStore();
  return Promise.resolve(Array.from({ length: count }, () => one));
});

it(`scale: 100,000 dead letters at the default settings are all held and listed; no page over its ${DEFAULT_PAGE_BYTES}-byte budget`, { timeout: 240_000 }, async () => {
  const store = new MemoryStateStore();
  const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: 336 * HOUR, sweepEveryMs: 0, now: () => T0 + HOUR });
  const n = 100_000;
  for (let i = 0; i < n; i += 1000) await Promise.all(Array.from({ length: 1000 }, (_, j) => sink.write(record(i + j, { at: T0 + i + j }))));
  const page = await listStoredDeadLetters({ store, namespace: NS }, { limit: 500 });
  expect(page.records).toHaveLength(500);
  expect(page.next).toBeDefined();
  const all = (await listStoredDeadLetters({ store, namespace: NS })).records;
  expect(all).toHaveLength(n);
  expect(new Set(all.map((r) => r.eventId)).size).toBe(n);
  let pages = 0;
  for (let s = 0; s < DEAD_LETTER_SHARDS; s++) {
    const open = ((await store.read(indexPartition(NS, s)))?.deadLetterIndex as { open: number }).open;
    for (let p = 0; p <= open; p++) {
      // a transact that writes nothing sees the stored document without copying it
      const bytes = await store.transact(pagePartition(NS, s, p), (doc) => ({ result: doc ? Buffer.byteLength(JSON.stringify(doc[DEAD_LETTER_SECTION])) : undefined }));
      if (bytes === undefined) continue;
      pages++;
      expect(bytes).toBeLessThanOrEqual(DEFAULT_PAGE_BYTES);
    }
  }
  expect(pages).toBeGreaterThan(DEAD_LETTER_SHARDS);
  const daily = (await listStoredDeadLetters({ store, namespace: NS }, { rule: 'daily', action: 'grantItem', limit: 100 })).records;
  expect(daily).toHaveLength(100);
  expect(daily.every((r) => r.rule === 'daily' && r.action === 'grantItem')).toBe(true);
});

it('a shard index and its key digests stay one Cloud Save record each at the default page budget: a full shard of small (~1 KB) or of the largest records kept needs each under half the recommended 250 KB', async () => {
  const shardCapacity = Math.ceil(DEFAULT_DEAD_LETTER_CAPACITY / DEAD_LETTER_SHARDS);
  for (const payload of [undefined, 'q'.repeat(16_000)]) {
    const store = new MemoryStateStore();
    const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: HOUR, sweepEveryMs: 0, now: () => T0 });
    const s = shardOf('size-0');
    let written = 0;
    for (let k = 0; written < 400; k++) {
      if (shardOf(`size-${k}`) !== s) continue;
      await sink.write(record(k, { key: `size-${k}`, ...(payload !== undefined ? { payload } : {}) }));
      written++;
    }
    const index = (await store.read(indexPartition(NS, s)))!.deadLetterIndex as { held: number; pages: { p: number; n: number }[] };
    expect(index.pages.length).toBeGreaterThan(2);
    for (const e of index.pages) {
      const page = (await store.read(pagePartition(NS, s, e.p)))![DEAD_LETTER_SECTION];
      const bytes = Buffer.byteLength(JSON.stringify(page));
      expect(bytes).toBeLessThanOrEqual(DEFAULT_MAX_PAGE_BYTES);
      // a page of enough records keeps to the budget; one of large records holds at least DEFAULT_PAGE_RECORDS or nears the most
      if (e.n > DEFAULT_PAGE_RECORDS) expect(bytes).toBeLessThanOrEqual(DEFAULT_PAGE_BYTES);
      else expect(e.n === DEFAULT_PAGE_RECORDS || bytes > DEFAULT_MAX_PAGE_BYTES - 20_000).toBe(true);
    }
    // the index (one entry per page) and the key digests (4 characters per record) of a full shard, each one record
    for (const doc of [await store.read(indexPartition(NS, s)), await store.read(keysPartition(NS, s))]) {
      expect(Object.keys(doc!.deadLetterKeys ?? {}).length + Object.keys(doc!.deadLetterIndex ?? {}).length).toBeGreaterThan(0);
      const perRecord = Buffer.byteLength(JSON.stringify(doc)) / index.held;
      expect(perRecord * shardCapacity, `payload ${payload?.length ?? 0}: ${Object.keys(doc!).join()}`).toBeLessThan(0.5 * RECOMMENDED_RECORD_BYTES);
    }
  }
});

describeWith(executable('redis-server', 'redis-server'), 'redis backend', () => {
  let redis: RedisProcess;
  const stores: StateStore[] = [];
  let n = 0;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await redis?.stop();
  });
  const open = async (keyPrefix: string): Promise<StateStore> => {
    const store = await createRedisStateStore({ url: redis.url, keyPrefix });
    await store.ready();
    stores.push(store);
    return store;
  };
  contract('redis', (count) => {
    const keyPrefix = `dl${++n}:`; // a fresh key space per test
    return Promise.all(Array.from({ length: count }, () => open(keyPrefix)));
  });
});

describe('cloudsave backend (AGS stand-in)', () => {
  let ags: AgsStandIn;
  const clients: AgsClient[] = [];
  beforeAll(async () => {
    ags = await startAgsStandIn();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await ags.close();
  });
  let n = 0;
  const cloudSave = (recordKey: string): CloudSaveStateStore => {
    const client = new AgsClient({ baseUrl: ags.url, clientId: ags.clientId, clientSecret: ags.clientSecret, backoffBaseMs: 1 });
    clients.push(client);
    return new CloudSaveStateStore({ ags: client, recordKey });
  };
  contract('cloudsave', (count) => {
    const key = `dead-letters-test-${++n}`; // fresh records per test
    return Promise.resolve(Array.from({ length: count }, () => cloudSave(key)));
  });

  it('2,000 dead letters with 2 KB payloads: admin game records each under the recommended 250 KB, all listed, expired records deleted', async () => {
    const key = `dead-letters-big-${++n}`;
    const store = cloudSave(key);
    let now = T0;
    const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: HOUR, sweepEveryMs: 0, now: () => now });
    for (let i = 0; i < 2000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => sink.write(record(i + j, { payload: 'q'.repeat(2_000) }))));
    const ids = ags.cloudSave.adminRecordIds().filter((id) => id.startsWith(`-/${key}-dl-`));
    expect(ids.length).toBeGreaterThan(DEAD_LETTER_SHARDS * 2); // pages filled and rolled over
    for (const id of ids) expect(Buffer.byteLength(JSON.stringify(ags.cloudSave.adminRecord(undefined, id.slice(2))?.value))).toBeLessThan(RECOMMENDED_RECORD_BYTES);
    expect((await listStoredDeadLetters({ store, namespace: NS })).records).toHaveLength(2000);
    now = T0 + 8 * HOUR;
    expect(await sink.sweep()).toBe(2000);
    expect(ags.cloudSave.adminRecordIds().filter((id) => id.startsWith(`-/${key}-dl-`) && /-dl-\d+-\d+$/.test(id))).toEqual([]); // the pages are deleted
    expect(ags.violations).toEqual([]);
  }, 60_000);
});

it('a burst into one shard: the writes that find a new page absent share their index reads (a few per page, not one per write); nothing dropped', async () => {
  const memory = new MemoryStateStore();
  let indexReads = 0;
  const store: StateStore = {
    kind: memory.kind,
    read: (p, o) => {
      if (/^dl-\d+$/.test(p.key ?? '')) indexReads++;
      return memory.read(p, o);
    },
    transact: (p, u, o) => memory.transact(p, u, o),
    delete: (p, o) => memory.delete(p, o),
    close: () => memory.close(),
  };
  const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: HOUR, pageBytes: 4_000, sweepEveryMs: 0, now: () => T0 });
  const s = shardOf('burst-0');
  const keys: string[] = [];
  for (let k = 0; keys.length < 400; k++) if (shardOf(`burst-${k}`) === s) keys.push(`burst-${k}`);
  for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((key, j) => sink.write(record(i + j, { key }))));
  const index = (await memory.read(indexPartition(NS, s)))?.deadLetterIndex as { open: number };
  expect(index.open).toBeGreaterThan(20); // many pages, each opened under a burst of writes
  expect(indexReads).toBeLessThanOrEqual(3 * (index.open + 1));
  expect((await listStoredDeadLetters({ store: memory, namespace: NS })).records.map((r) => r.idempotencyKey).sort()).toEqual([...keys].sort());
});

it('dead letters of earlier versions (the format-1 list in the game record) are listed first, removed after a replay, and expired with a metric', async () => {
  const store = new MemoryStateStore();
  const old = [record(1, { at: T0 }), record(2, { at: T0 + 5 * HOUR })];
  await store.transact({ namespace: NS }, () => ({ next: { [DEAD_LETTER_SECTION]: { v: 1, list: old } }, result: undefined }));
  let now = T0 + 5 * HOUR;
  const metrics = new Metrics({ defaultMetrics: false });
  const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: 2 * HOUR, sweepEveryMs: 0, metrics, now: () => now });
  await sink.write(record(3, { at: now }));
  const page1 = await listStoredDeadLetters({ store, namespace: NS }, { limit: 1 });
  expect(page1.records.map((r) => [r.eventId, r.ref])).toEqual([['ev-1', 'legacy']]);
  const rest = await listStoredDeadLetters({ store, namespace: NS }, { cursor: page1.next! });
  expect(rest.records.map((r) => r.eventId)).toEqual(['ev-2', 'ev-3']);
  expect(await removeStoredDeadLetter({ store, namespace: NS }, rest.records[0]!)).toBe(true);
  expect(await sink.sweep()).toBe(1); // ev-1: 5 h old, past the 2 h retention
  expect((await metrics.deadLettersExpired.get()).values.reduce((s, v) => s + v.value, 0)).toBe(1);
  now += 10 * HOUR;
  expect((await listStoredDeadLetters({ store, namespace: NS })).records.map((r) => r.eventId)).toEqual(['ev-3']);
});
