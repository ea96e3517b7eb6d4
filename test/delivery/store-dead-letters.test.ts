/**
 * Dead letters in the shared state store: the same contract on memory, a real
 * Redis and Cloud Save (AGS stand-in); bounded by count, size and retention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_SECTION, StoreDeadLetterSink, listStoredDeadLetters, removeStoredDeadLetter } from '../../src/delivery/store-dead-letters.js';
import type { DeadLetterRecord } from '../../src/delivery/dead-letters.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { createRedisStateStore } from '../../src/store/redis-state-store.js';
import { CloudSaveStateStore, DEFAULT_RECORD_KEY, RECOMMENDED_RECORD_BYTES } from '../../src/store/cloudsave-state-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { AgsClient } from '../../src/ags/client.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { describeWith, executable } from '../support/prereq.js';
import { startRedis } from '../support/redis.js';
import type { RedisProcess } from '../support/redis.js';

const NS = 'mygame';
const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-11T10:00:00.000Z');

function record(i: number, options: { at?: number; key?: string; payload?: string } = {}): DeadLetterRecord {
  const id = `ev-${i}`;
  return {
    version: 1,
    timestamp: new Date(options.at ?? T0 + i).toISOString(),
    eventName: 'userLoggedIn',
    service: 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService',
    eventId: id,
    idempotencyKey: options.key ?? `${id}:welcome:grantItem`,
    rule: 'welcome',
    index: 0,
    action: 'grantItem',
    error: { name: 'AgsError', message: 'fulfillItem failed: 404', status: 404, errorCode: 30341 },
    attempts: 1,
    event: { id, userId: 'u1', namespace: NS, ...(options.payload !== undefined ? { payload: { blob: options.payload } } : {}) },
  };
}

/** Opens `count` stores on one fresh shared backend space (replicas of one deployment). */
type Open = (count: number) => Promise<StateStore[]>;

function contract(kind: string, open: Open): void {
  describe(`${kind}: dead letters in the store`, () => {
    it('keeps every record written, by several writers (replicas), oldest first; listing is one read of the game partition', async () => {
      const [a, b] = (await open(2)) as [StateStore, StateStore];
      const now = () => T0 + 1000;
      const sa = new StoreDeadLetterSink({ store: a, namespace: NS, retentionMs: HOUR, now });
      const sb = new StoreDeadLetterSink({ store: b, namespace: NS, retentionMs: HOUR, now });
      await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? sa : sb).write(record(i))));
      const listed = await listStoredDeadLetters({ store: a, namespace: NS, retentionMs: HOUR, now });
      expect(listed.map((r) => r.eventId).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `ev-${i}`).sort());
      expect(listed[0]).toMatchObject({ rule: 'welcome', action: 'grantItem', error: { status: 404 }, event: { id: listed[0]?.eventId } });
      const doc = await a.read({ namespace: NS });
      expect(Object.keys(doc ?? {})).toContain(DEAD_LETTER_SECTION);
    });

    it('one record per idempotency key (a newer failure replaces); removal takes only the very record read', async () => {
      const [store] = (await open(1)) as [StateStore];
      const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: HOUR, now: () => T0 + 1000 });
      await sink.write(record(1, { key: 'k', at: T0 }));
      const first = (await listStoredDeadLetters({ store, namespace: NS, retentionMs: HOUR, now: () => T0 }))[0];
      await sink.write(record(2, { key: 'k', at: T0 + 5 }));
      const listed = await listStoredDeadLetters({ store, namespace: NS, retentionMs: HOUR, now: () => T0 });
      expect(listed.map((r) => r.eventId)).toEqual(['ev-2']);
      expect(await removeStoredDeadLetter({ store, namespace: NS }, first as DeadLetterRecord)).toBe(false);
      expect(await removeStoredDeadLetter({ store, namespace: NS }, listed[0] as DeadLetterRecord)).toBe(true);
      expect(await listStoredDeadLetters({ store, namespace: NS, retentionMs: HOUR, now: () => T0 })).toEqual([]);
    });

    it('bounded: at most maxRecords (oldest dropped), none older than the retention, a large payload kept without it', async () => {
      const [store] = (await open(1)) as [StateStore];
      let now = T0;
      const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: HOUR, maxRecords: 5, maxEventBytes: 1000, now: () => now });
      for (let i = 0; i < 8; i++) await sink.write(record(i, { at: T0 + i }));
      const list = () => listStoredDeadLetters({ store, namespace: NS, retentionMs: HOUR, now: () => now });
      expect((await list()).map((r) => r.eventId)).toEqual(['ev-3', 'ev-4', 'ev-5', 'ev-6', 'ev-7']);
      now = T0 + 2 * HOUR;
      expect(await list()).toEqual([]); // expired: not listed, even before a write drops them
      await sink.write(record(100, { at: now, payload: 'x'.repeat(5000) }));
      const after = await list();
      expect(after.map((r) => r.eventId)).toEqual(['ev-100']); // the old ones expired and were dropped on write
      expect(after[0]).toMatchObject({ eventOmitted: true, event: { id: 'ev-100' } });
      expect(JSON.stringify(await store.read({ namespace: NS }))).not.toContain('xxxx');
      await sink.close();
      await expect(sink.write(record(101))).rejects.toThrow(/the sink is closed/);
    });
  });
}

contract('memory', (count) => {
  const one = new MemoryStateStore();
  return Promise.resolve(Array.from({ length: count }, () => one));
});

it('the default bounds keep the section under 150 KB (600 records with 2 KB payloads, 600 small ones), and at most 500', async () => {
  const store = new MemoryStateStore();
  const sink = new StoreDeadLetterSink({ store, namespace: NS, retentionMs: 24 * HOUR, now: () => T0 + 1000 });
  for (let i = 0; i < 600; i++) await sink.write(record(i, { payload: 'p'.repeat(2000) }));
  const doc = await store.read({ namespace: NS });
  const bytes = Buffer.byteLength(JSON.stringify(doc?.[DEAD_LETTER_SECTION]));
  expect(bytes).toBeLessThanOrEqual(150_000);
  const listed = await listStoredDeadLetters({ store, namespace: NS, retentionMs: 24 * HOUR, now: () => T0 + 1000 });
  expect(listed.length).toBeGreaterThan(10);
  expect(listed.at(-1)?.eventId).toBe('ev-599'); // the newest kept, the oldest dropped
  // small records: the count bound (500) applies
  const small = new MemoryStateStore();
  const s2 = new StoreDeadLetterSink({ store: small, namespace: NS, retentionMs: 24 * HOUR, now: () => T0 + 1000 });
  for (let i = 0; i < 600; i++) await s2.write(record(i));
  const l2 = await listStoredDeadLetters({ store: small, namespace: NS, retentionMs: 24 * HOUR, now: () => T0 + 1000 });
  expect(l2.length).toBeLessThanOrEqual(500);
  expect(Buffer.byteLength(JSON.stringify((await small.read({ namespace: NS }))?.[DEAD_LETTER_SECTION]))).toBeLessThanOrEqual(150_000);
  expect(l2.at(-1)?.eventId).toBe('ev-599');
  // the count bound alone (a larger byte budget): exactly the newest 500
  const counted = new MemoryStateStore();
  const s3 = new StoreDeadLetterSink({ store: counted, namespace: NS, retentionMs: 24 * HOUR, maxSectionBytes: 10_000_000, now: () => T0 + 1000 });
  for (let i = 0; i < 600; i++) await s3.write(record(i));
  const l3 = await listStoredDeadLetters({ store: counted, namespace: NS, retentionMs: 24 * HOUR, now: () => T0 + 1000 });
  expect(l3.length).toBe(500);
  expect(l3[0]?.eventId).toBe('ev-100');
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
    const key = `dead-letters-test-${++n}`; // a fresh record per test
    return Promise.resolve(Array.from({ length: count }, () => cloudSave(key)));
  });

  it('lives in the admin game record and stays under the recommended 250 KB with large payloads', async () => {
    const sink = new StoreDeadLetterSink({ store: cloudSave(DEFAULT_RECORD_KEY), namespace: NS, retentionMs: HOUR, now: () => T0 + 1000 });
    for (let i = 0; i < 40; i++) await sink.write(record(i, { payload: 'q'.repeat(12_000) }));
    const stored = ags.cloudSave.adminRecord(undefined, DEFAULT_RECORD_KEY);
    expect(stored).toBeDefined();
    expect(Buffer.byteLength(JSON.stringify(stored?.value))).toBeLessThan(RECOMMENDED_RECORD_BYTES);
    const list = (stored?.value.doc as Record<string, { list: DeadLetterRecord[] }>)[DEAD_LETTER_SECTION]?.list ?? [];
    expect(list.at(-1)?.eventId).toBe('ev-39');
    expect(list.length).toBeLessThan(40);
    expect(ags.violations).toEqual([]);
  });
});
