/**
 * The idempotency ledger on every state store backend: memory, a real Redis,
 * and AGS Cloud Save (the stand-in, with its compare-and-set as the spec).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionLedger, DEFAULT_MAX_ENTRIES, horizonMarks, horizonMayHold, markCount, markId, markIn } from '../../src/delivery/action-ledger.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { createRedisStateStore } from '../../src/store/redis-state-store.js';
import { CloudSaveStateStore, DEFAULT_RECORD_KEY, RECOMMENDED_RECORD_BYTES } from '../../src/store/cloudsave-state-store.js';
import { StateStoreUnavailableError, UnreadableStateError, documentKey } from '../../src/store/state-store.js';
import type { Partition, StateDocument, StateStore } from '../../src/store/state-store.js';
import { AgsClient } from '../../src/ags/client.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { describeWith, executable } from '../support/prereq.js';
import { startRedis } from '../support/redis.js';
import type { RedisProcess } from '../support/redis.js';
import { freePort } from '../support/workspace.js';
import { Redis } from 'ioredis';
import { waitFor } from './support.js';

const HOUR = 3_600_000;
const P: Partition = { namespace: 'mygame', userId: '0123456789abcdef0123456789abcdef' };

/** Behaviour every backend must give the ledger. `make` returns stores sharing one key space (replicas). */
function contract(name: string, make: (replicas: number) => Promise<StateStore[]>): void {
  describe(`ledger on ${name}`, () => {
    const ledger = async (): Promise<ActionLedger> => new ActionLedger({ store: (await make(1))[0]!, leaseMs: HOUR, retentionMs: HOUR });

    it('claims a free key once, then answers busy; complete makes it done', async () => {
      const l = await ledger();
      const first = await l.claim(P, 'e1:r:0');
      expect(first.status).toBe('claimed');
      expect(await l.claim(P, 'e1:r:0')).toEqual({ status: 'busy' });
      await l.complete(P, 'e1:r:0');
      expect(await l.claim(P, 'e1:r:0')).toEqual({ status: 'done', state: 'succeeded' });
      expect(await l.claim(P, 'e1:r:0', { reclaimDeadLettered: true })).toEqual({ status: 'done', state: 'succeeded' });
      await l.store.close();
    });

    it('release frees only our own claim, and keeps an unknown outcome for the next claim', async () => {
      const l = await ledger();
      const a = await l.claim(P, 'e2:r:0');
      if (a.status !== 'claimed') throw new Error('not claimed');
      await l.release(P, 'e2:r:0', 'someone-else');
      expect((await l.claim(P, 'e2:r:0')).status).toBe('busy');
      await l.release(P, 'e2:r:0', a.token, 1234);
      const b = await l.claim(P, 'e2:r:0');
      expect(b).toMatchObject({ status: 'claimed', unknownSince: 1234 });
      await l.release(P, 'e2:r:0', a.token); // a stale token
      expect((await l.claim(P, 'e2:r:0')).status).toBe('busy');
      await l.store.close();
    });

    it('a dead-lettered key is done, and claimable again only for a replay', async () => {
      const l = await ledger();
      expect((await l.claim(P, 'e3:r:0')).status).toBe('claimed');
      await l.complete(P, 'e3:r:0', 'deadLettered');
      expect(await l.claim(P, 'e3:r:0')).toEqual({ status: 'done', state: 'deadLettered' });
      expect((await l.claim(P, 'e3:r:0', { reclaimDeadLettered: true })).status).toBe('claimed');
      expect((await l.claim(P, 'e3:r:0', { reclaimDeadLettered: true })).status).toBe('busy');
      await l.store.close();
    });

    it('counts failures per key; other sections of the document are left alone', async () => {
      const l = await ledger();
      await l.store.transact(P, (doc) => ({ next: { ...(doc ?? {}), rules: { owner: 'stateful rules' } }, result: 0 }));
      expect(await l.countFailure(P, 'e4:r:0')).toBe(1);
      expect(await l.countFailure(P, 'e4:r:0')).toBe(2);
      expect(await l.countFailure(P, 'e4:r:1')).toBe(1);
      expect((await l.store.read(P))?.rules).toEqual({ owner: 'stateful rules' });
      await l.store.close();
    });

    it('concurrent claims of one key from three replicas: exactly one is claimed', async () => {
      const stores = await make(3);
      const ledgers = stores.map((store) => new ActionLedger({ store, leaseMs: HOUR }));
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => ledgers[i % 3]!.claim(P, 'race:r:0')));
      expect(results.filter((r) => r.status === 'claimed')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'busy')).toHaveLength(11);
      await Promise.all(stores.map((s) => s.close()));
    });

    it('a player, the game and each named partition are separate documents', async () => {
      const [store] = await make(1);
      const K: Partition = { namespace: 'mygame', key: documentKey('k', 'party-1') };
      const K2: Partition = { namespace: 'mygame', key: documentKey('k', 'party-2') };
      const G: Partition = { namespace: 'mygame' };
      for (const [p, v] of [[P, 'player'], [G, 'game'], [K, 'party-1'], [K2, 'party-2']] as const) {
        await store!.transact(p, (doc) => ({ next: { ...doc, who: v }, result: undefined }));
      }
      expect(await store!.read(P)).toEqual({ who: 'player' });
      expect(await store!.read(G)).toEqual({ who: 'game' });
      expect(await store!.read(K)).toEqual({ who: 'party-1' });
      expect(await store!.read(K2)).toEqual({ who: 'party-2' });
      await store!.close();
    });

    it('a burst of redeliveries below the horizon, settled by lookup, pushes no newer mark under it (no cascade); a second replica leaves the holder\'s claim alone', async () => {
      const [one, two] = await make(2);
      let now = 1_000_000_000;
      const ledgers = [one!, two!].map((store) => new ActionLedger({ store, leaseMs: 60_000, retentionMs: HOUR * 24, maxEntries: 50, now: () => now }));
      const [a, b] = ledgers as [ActionLedger, ActionLedger];
      const keys = Array.from({ length: 60 }, (_, i) => `heavy-${i}:r:0`);
      for (const k of keys) {
        now += 1_000;
        const c = await a.claim(P, k);
        expect(c.status).toBe('claimed');
        await a.complete(P, k);
      }
      const below = horizonMarks(await a.store.read(P));
      expect(below).toBeGreaterThan(0);
      // the redelivery, oldest first, as a partition delivers it: a claim the horizon may hold is settled as the
      // executor does after its lookup found the effect (`found`, the claim's token); on 8654081 each such done mark
      // pushed the next-oldest marks under the horizon, and every one of the 60 needed a lookup
      let lookups = 0;
      for (const k of keys) {
        now += 1_000;
        const c = await a.claim(P, k);
        if (c.status === 'done') continue;
        expect(c).toMatchObject({ status: 'claimed', unknownSince: expect.any(Number) });
        if (c.status !== 'claimed') continue;
        lookups++;
        // another replica's delivery of the same event meanwhile: busy; its lookup finds the effect too, and leaves the claim to its holder
        expect(await b.claim(P, k)).toEqual({ status: 'busy' });
        await b.complete(P, k, 'succeeded', { found: {} });
        expect(await b.claim(P, k)).toEqual({ status: 'busy' });
        await a.complete(P, k, 'succeeded', { found: { token: c.token } });
      }
      expect(lookups).toBe(below);
      expect(horizonMarks(await a.store.read(P))).toBe(below);
      // still never run blindly: each one below the horizon is settled again by the lookup
      const again = await b.claim(P, keys[0]!);
      expect(again).toMatchObject({ status: 'claimed', unknownSince: expect.any(Number) });
      // an effect applied now (its lookup found nothing, the action ran): a done mark of the full retention
      if (again.status === 'claimed') await b.complete(P, keys[0]!);
      expect(markIn(await b.store.read(P), keys[0]!)).toMatchObject({ s: 'd', e: now + HOUR * 24 });
      for (const l of ledgers) await l.store.close();
    });

    it('rejects with StateStoreUnavailableError once closed', async () => {
      const l = await ledger();
      await l.store.close();
      await expect(l.claim(P, 'e5:r:0')).rejects.toBeInstanceOf(StateStoreUnavailableError);
    });
  });
}

describe('ledger bounds', () => {
  it('a claim expires after its lease, a done mark after its retention', async () => {
    let now = 1_000;
    const l = new ActionLedger({ store: new MemoryStateStore(), leaseMs: 100, retentionMs: 1_000, now: () => now });
    expect((await l.claim(P, 'k')).status).toBe('claimed');
    now += 99;
    expect((await l.claim(P, 'k')).status).toBe('busy');
    now += 1;
    // taken over from a holder that died: its outcome is unknown since it claimed (reconcile first)
    expect(await l.claim(P, 'k')).toMatchObject({ status: 'claimed', unknownSince: 1_000 });
    await l.complete(P, 'k');
    now += 999;
    expect((await l.claim(P, 'k')).status).toBe('done');
    now += 1;
    expect((await l.claim(P, 'k')).status).toBe('claimed');
  });

  it('a heavy player: at most maxEntries marks, the newest kept, live claims never dropped', async () => {
    let now = 1_000_000;
    const store = new MemoryStateStore();
    const l = new ActionLedger({ store, leaseMs: HOUR, retentionMs: 7 * 24 * HOUR, maxEntries: 200, now: () => now });
    expect((await l.claim(P, 'live')).status).toBe('claimed');
    for (let i = 0; i < 600; i++) {
      now++;
      await l.claim(P, `evt-${i}:r:0`);
      await l.complete(P, `evt-${i}:r:0`);
    }
    const doc = await store.read(P);
    expect(markCount(doc)).toBeLessThanOrEqual(200);
    expect(markIn(doc, 'live')).toBeDefined();
    expect((await l.claim(P, 'evt-599:r:0')).status).toBe('done');
    expect((await l.claim(P, 'evt-420:r:0')).status).toBe('done');
    // dropped long ago to bound the record: still known as maybe settled (issue 22.2), never claimed as new
    expect(await l.claim(P, 'evt-10:r:0')).toMatchObject({ status: 'claimed', unknownSince: expect.any(Number) });
  });

  it('marks dropped to bound the record are never claimed as new: every redelivery is settled first (issue 22.2)', async () => {
    let now = 1_000_000_000;
    const store = new MemoryStateStore();
    const retentionMs = 7 * 24 * HOUR;
    const l = new ActionLedger({ store, leaseMs: 60_000, retentionMs, maxEntries: 100, now: () => now });
    const firstAt = now;
    let falseMaybe = 0; // a new key a horizon may hold (Bloom filter false positives: about 1 in 25 million per horizon)
    for (let i = 0; i < 1050; i++) {
      now += 1_000;
      const c = await l.claim(P, `evt-${i}:r:0`);
      expect(c).toMatchObject({ status: 'claimed' });
      if (c.status === 'claimed' && c.unknownSince !== undefined) falseMaybe++;
      await l.complete(P, `evt-${i}:r:0`);
    }
    expect(falseMaybe).toBeLessThanOrEqual(2);
    const doc = await store.read(P);
    expect(markCount(doc)).toBeLessThanOrEqual(100);
    expect(horizonMarks(doc)).toBeGreaterThanOrEqual(950);
    // every one of the 1,050 redelivered: done, or an unknown outcome since before it was first sent
    for (let i = 0; i < 1050; i++) {
      const c = await l.claim(P, `evt-${i}:r:0`);
      if (c.status === 'claimed') expect(c.unknownSince).toBeLessThanOrEqual(firstAt + (i + 1) * 1_000);
      else expect(c).toEqual({ status: 'done', state: 'succeeded' });
    }
    // new events are claimed as new (but for false positives). The claims are read once after the loop: live claims are
    // never dropped nor rewritten by other keys' claims (the clock stands still), and a read per claim copied a document
    // growing to 1,000 claims each time (2.5 of this file's ~11 CPU s)
    const statuses: string[] = [];
    for (let i = 0; i < 1000; i++) statuses.push((await l.claim(P, `new-${i}:r:0`)).status);
    expect(statuses.every((s) => s === 'claimed')).toBe(true);
    const afterNew = await store.read(P);
    let maybe = 0;
    for (let i = 0; i < 1000; i++) {
      const mark = markIn(afterNew, `new-${i}:r:0`);
      expect(mark, `new-${i}`).toBeDefined();
      if (mark?.u !== undefined) maybe++;
    }
    expect(maybe).toBeLessThanOrEqual(2);
    // the horizons end with the retention of the marks they hold
    now += retentionMs + 2 * HOUR;
    await l.complete(P, 'later:r:0');
    expect(horizonMarks(await store.read(P))).toBe(0);
    expect(await l.claim(P, 'evt-0:r:0')).not.toHaveProperty('unknownSince');
  });

  it('a record of the default bound with its horizons at 10,000 events a week: about 170 KB, under Cloud Save\'s 250 KB; new events are almost never a horizon\'s false "maybe"', async () => {
    let now = Date.now();
    const store = new MemoryStateStore();
    const l = new ActionLedger({ store, now: () => now });
    for (let i = 0; i < 10_000; i++) {
      now += 60_000; // 10,000 events in 7 days
      await l.complete(P, `${'e'.repeat(36)}-${i}:grant-item-on-login:grantItem#0`);
    }
    const doc = await store.read(P);
    expect(markCount(doc)).toBeLessThanOrEqual(DEFAULT_MAX_ENTRIES);
    expect(horizonMarks(doc)).toBeGreaterThanOrEqual(10_000 - DEFAULT_MAX_ENTRIES);
    const bytes = Buffer.byteLength(JSON.stringify({ w: 'a-write-id', doc }));
    console.log(`record at 10,000 events a week: ${bytes} bytes (${markCount(doc)} marks, ${horizonMarks(doc)} in horizons)`);
    expect(bytes).toBeLessThan(RECOMMENDED_RECORD_BYTES * 0.7);
    // every event of the week is still known: by its mark, or by a horizon
    for (let i = 0; i < 10_000; i++) {
      const key = `${'e'.repeat(36)}-${i}:grant-item-on-login:grantItem#0`;
      expect(markIn(doc, key) !== undefined || horizonMayHold(doc, key, now)).toBe(true);
    }
    // A new event a horizon "may hold" is settled through its lookup, which cannot reach back past 5,000 grants:
    // a false positive dead-letters a new event as `unknown-outcome`. With 20 bits a mark, 100,000 new events
    // met about 27 of them against this record's four horizons (the bench's one-player rows: 1 to 6 in 12,000).
    let falseMaybe = 0;
    for (let i = 0; i < 100_000; i++) if (horizonMayHold(doc, `${'n'.repeat(36)}-${i}:grant-item-on-login:grantItem#0`, now)) falseMaybe++;
    expect(falseMaybe).toBeLessThanOrEqual(1);
  });

  it('a write changes one bucket of marks and the count; the other buckets are kept as read; the count stays exact', async () => {
    let now = 1_000_000;
    const store = new MemoryStateStore();
    const l = new ActionLedger({ store, leaseMs: 10, retentionMs: 500, maxEntries: 300, now: () => now });
    for (let i = 0; i < 1000; i++) {
      now += 1;
      await l.claim(P, `k-${i}`);
      if (i % 3 !== 0) await l.complete(P, `k-${i}`); // the others expire (lease, then retention)
    }
    let before: unknown[] = [];
    await store.transact(P, (doc) => {
      before = (doc?.actions as { b: unknown[] }).b;
      return { result: 0 };
    });
    now += 1;
    await l.complete(P, 'one-more');
    await store.transact(P, (doc) => {
      const section = doc?.actions as { n: number; b: unknown[] };
      const changed = section.b.map((bucket, i) => bucket !== before[i]).filter(Boolean);
      expect(changed).toHaveLength(1);
      expect(section.n).toBe(markCount(doc));
      expect(section.n).toBeLessThanOrEqual(300);
      return { result: 0 };
    });
    expect(markIn(await store.read(P), 'one-more')?.s).toBe('d');
  });

  it('a record whose count was edited is counted again once a bucket is far over its share', async () => {
    const now = 1_000_000;
    const store = new MemoryStateStore();
    const l = new ActionLedger({ store, retentionMs: HOUR, maxEntries: 640, now: () => now });
    for (let i = 0; i < 200; i++) await l.complete(P, `k-${i}`);
    await store.transact(P, (doc) => ({ next: { ...doc, actions: { ...(doc?.actions as object), n: 0 } }, result: 0 })); // hand-edited
    for (let i = 200; i < 2000; i++) await l.complete(P, `k-${i}`);
    const doc = await store.read(P);
    expect(markCount(doc)).toBeLessThanOrEqual(2 * 640);
    expect((doc?.actions as { n: number }).n).toBe(markCount(doc));
  });

  it('with the default bound, a player with more events than it keeps stays well under Cloud Save\'s 250 KB', async () => {
    const now = Date.now();
    const store = new MemoryStateStore();
    const l = new ActionLedger({ store, now: () => now });
    // 3000 done marks of long event ids, as years of a heavy player would leave (written in one go)
    const m: Record<string, unknown> = {};
    for (let i = 0; i < 3000; i++) m[markId(`${'e'.repeat(36)}-${i}:grant-item-on-login:grantItem#1`)] = { s: 'd', e: now + 7 * 24 * HOUR - i, n: 3 };
    await store.transact(P, () => ({ next: { actions: { m } }, result: 0 }));
    await l.complete(P, 'one-more');
    const doc = await store.read(P);
    expect(markCount(doc)).toBeLessThanOrEqual(DEFAULT_MAX_ENTRIES);
    expect((doc?.actions as Record<string, unknown>).m).toBeUndefined(); // the earlier layout moved into buckets
    expect(Buffer.byteLength(JSON.stringify({ w: 'a-write-id', doc }))).toBeLessThan(RECOMMENDED_RECORD_BYTES / 2);
  });
});


/** Sections the ledger cannot read (issue 22.8): each fails closed, never reads as empty. */
const UNREADABLE_SECTIONS: ReadonlyArray<[string, unknown]> = [
  ['a string', 'garbage'],
  ['an array', []],
  ['buckets that are a string', { b: 'x' }],
  ['63 buckets', { n: 0, b: new Array(63).fill(null) }],
  ['a bucket that is a number', { n: 1, b: Array.from({ length: 64 }, (_, i) => (i === 3 ? 7 : null)) }],
  ['a mark without its state', { n: 1, b: Array.from({ length: 64 }, (_, i) => (i === 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(markId('k:r:0')[0]!) ? { [markId('k:r:0')]: { e: 5 } } : null)) }],
  ['earlier marks that are an array', { m: [] }],
  ['horizons that are a string', { n: 0, b: new Array(64).fill(null), h: 'x' }],
];

describe('an unreadable actions section fails closed (issue 22.8)', () => {
  it.each(UNREADABLE_SECTIONS)('%s: claim, complete, release, countFailure reject with UnreadableStateError naming the partition', async (_name, section) => {
    const store = new MemoryStateStore();
    await store.transact(P, () => ({ next: { actions: section, rules: { kept: true } }, result: 0 }));
    const l = new ActionLedger({ store });
    for (const call of [() => l.claim(P, 'k:r:0'), () => l.complete(P, 'k:r:0'), () => l.release(P, 'k:r:0', 't'), () => l.countFailure(P, 'k:r:0')]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnreadableStateError);
      expect((error as UnreadableStateError).retriable).toBe(true);
      expect((error as Error).message).toContain(`mygame/${P.userId}`);
      expect((error as Error).message).toContain('"actions"');
    }
    expect((await store.read(P))?.actions).toEqual(section); // nothing written over it
  });
});

contract('memory', (n) => {
  const one = new MemoryStateStore();
  return Promise.resolve(Array.from({ length: n }, () => one));
});

describeWith(executable('redis-server', 'redis-server'), 'redis backend', () => {
  let redis: RedisProcess;
  let n = 0;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const connected = async (keyPrefix: string) => {
    const store = await createRedisStateStore({ url: redis.url, keyPrefix });
    await store.ready();
    return store;
  };
  contract('redis', (count) => {
    const keyPrefix = `t${++n}:`; // a fresh key space per test
    return Promise.all(Array.from({ length: count }, () => connected(keyPrefix)));
  });

  it.each([
    ['not JSON', '{"actions":'],
    ['an array', '[]'],
    ['a string', '"garbage"'],
    ['an actions section of the wrong shape', '{"actions":"garbage"}'],
  ])('a document that is %s fails closed: UnreadableStateError naming the hash, never read as empty (issue 22.8)', async (_name, d) => {
    const store = await connected('unreadable:');
    const raw = new Redis(redis.url);
    try {
      await raw.hset(`unreadable:s:mygame:${P.userId}`, 'v', 'hand-edited', 'd', d);
      const l = new ActionLedger({ store });
      const error = await l.claim(P, 'k:r:0').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnreadableStateError);
      expect((error as Error).message).toMatch(new RegExp(`unreadable:s:mygame:${P.userId}|mygame/${P.userId}`));
      if (!d.includes('actions')) await expect(store.read(P)).rejects.toBeInstanceOf(UnreadableStateError);
      expect(await raw.hget(`unreadable:s:mygame:${P.userId}`, 'd')).toBe(d);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('a claim expires after its lease (a crashed holder)', async () => {
    // the ledger's clock, not the machine's: a second claim 150 ms late on a loaded machine is still 'busy'
    let now = Date.now();
    const l = new ActionLedger({ store: await connected('lease:'), leaseMs: 150, now: () => now });
    expect((await l.claim(P, 'k')).status).toBe('claimed');
    now += 149;
    expect((await l.claim(P, 'k')).status).toBe('busy');
    now += 1;
    expect((await l.claim(P, 'k')).status).toBe('claimed');
    await l.store.close();
  });

  it('fails fast with StateStoreUnavailableError when Redis is unreachable (no password in the message), and recovers in the background', async () => {
    const port = await freePort();
    const store = await createRedisStateStore({ url: `redis://:hunter2@127.0.0.1:${port}` });
    const l = new ActionLedger({ store });
    const error = await l.claim(P, 'down:r:0').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateStoreUnavailableError);
    expect(String((error as Error).message)).not.toContain('hunter2');
    const server = await startRedis({ port });
    try {
      await waitFor(async () => {
        try {
          return (await l.claim(P, 'down:r:0')).status === 'claimed';
        } catch {
          return false;
        }
      });
    } finally {
      await store.close();
      await server.stop();
    }
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
    const key = `ledger-test-${++n}`; // a fresh record per test
    return Promise.resolve(Array.from({ length: count }, () => cloudSave(key)));
  });

  it('one admin player record per player, one admin game record for events without a player; nothing else written', async () => {
    const l = new ActionLedger({ store: cloudSave(DEFAULT_RECORD_KEY) });
    await l.claim(P, 'p:r:0');
    await l.claim({ namespace: 'mygame' }, 'g:r:0');
    expect(markIn(ags.cloudSave.adminRecord(P.userId, DEFAULT_RECORD_KEY)?.value.doc as StateDocument, 'p:r:0')?.s).toBe('c');
    expect(markIn(ags.cloudSave.adminRecord(undefined, DEFAULT_RECORD_KEY)?.value.doc as StateDocument, 'g:r:0')?.s).toBe('c');
    expect(ags.violations).toEqual([]);
  });

  it('a named partition is the admin game record <recordKey>-<key>', async () => {
    const store = cloudSave(DEFAULT_RECORD_KEY);
    const key = documentKey('k', 'party-9');
    expect(key).toMatch(/^k-[0-9a-f]{32}$/);
    await store.transact({ namespace: 'mygame', key }, () => ({ next: { who: 'party-9' }, result: undefined }));
    expect(ags.cloudSave.adminRecord(undefined, `${DEFAULT_RECORD_KEY}-${key}`)?.value).toMatchObject({ doc: { who: 'party-9' } });
    expect(ags.violations).toEqual([]);
    await store.close();
  });

  it('412 on a stale updatedAt: re-read and retry; a lost creation race is detected by reading back', async () => {
    const a = new ActionLedger({ store: cloudSave('race-412') });
    const b = new ActionLedger({ store: cloudSave('race-412') });
    expect((await a.claim(P, 'k1')).status).toBe('claimed'); // creates the record
    expect((await b.claim(P, 'k2')).status).toBe('claimed'); // b reads, writes
    const before = ags.cloudSave.preconditionFailures();
    expect((await a.claim(P, 'k3')).status).toBe('claimed'); // a's remembered updatedAt is stale: 412, re-read, retry
    expect(ags.cloudSave.preconditionFailures()).toBe(before + 1);
    const raced = ags.cloudSave.adminRecord(P.userId, 'race-412')?.value.doc as StateDocument;
    expect(markCount(raced)).toBe(3);
    for (const k of ['k1', 'k2', 'k3']) expect(markIn(raced, k)).toBeDefined();

    // another first writer's create replaces ours right after it: our claim must not be trusted
    ags.cloudSave.overwriteAfterNextCreate(P.userId, 'race-create', { w: 'other-writer', doc: { actions: { m: { [markId('k')]: { s: 'c', t: 'theirs', l: Date.now() + HOUR, e: Date.now() + HOUR } } } } });
    const store = cloudSave('race-create');
    expect(await new ActionLedger({ store }).claim(P, 'k')).toEqual({ status: 'busy' });
    expect(store.counts.lostCreates).toBe(1);
  });

  it('a write whose answer is lost (reset after apply) is recognised by its write id: no duplicate, no error', async () => {
    const store = cloudSave('lost-answer');
    const l = new ActionLedger({ store });
    expect((await l.claim(P, 'k0')).status).toBe('claimed');
    ags.fail('/concurrent/adminrecords/lost-answer', [{ reset: true, afterEffect: true }]);
    const c = await l.claim(P, 'k1');
    expect(c.status).toBe('claimed');
    expect(await l.claim(P, 'k1')).toEqual({ status: 'busy' });
  });

  it.each([
    ['a value without doc', { actions: 'garbage' }],
    ['a doc that is an array', { w: 'x', doc: [] }],
    ['a doc whose actions section is a string', { w: 'x', doc: { actions: 'garbage' } }],
    ['a doc whose buckets are of the wrong shape', { w: 'x', doc: { actions: { n: 1, b: [1, 2, 3] } } }],
  ])('a record holding %s fails closed: UnreadableStateError naming the record, never read as empty (issue 22.8)', async (_name, value) => {
    const client = new AgsClient({ baseUrl: ags.url, clientId: ags.clientId, clientSecret: ags.clientSecret, backoffBaseMs: 1 });
    clients.push(client);
    await client.adminPutAdminPlayerRecordConcurrentHandlerV1('mygame', P.userId!, 'unreadable', { value, updatedAt: new Date(0).toISOString() }).catch(() => undefined);
    await client.adminDeleteAdminPlayerRecordV1('mygame', P.userId!, 'unreadable');
    await client.adminPutAdminPlayerRecordConcurrentHandlerV1('mygame', P.userId!, 'unreadable', { value, updatedAt: new Date(0).toISOString() });
    const store = cloudSave('unreadable');
    const writes = ags.cloudSave.writes();
    const error = await new ActionLedger({ store }).claim(P, 'k:r:0').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnreadableStateError);
    expect((error as Error).message).toContain(`mygame/${P.userId}`);
    expect(ags.cloudSave.writes()).toBe(writes);
    expect(ags.cloudSave.adminRecord(P.userId, 'unreadable')?.value).toEqual(value);
  });

  it('a claim whose write landed but whose answer was lost, when another replica wrote the record on top before the re-read: the claim is recognised as this call\'s own (claimed), not another delivery\'s (busy)', async () => {
    const key = 'lost-then-overwritten';
    const mine = new ActionLedger({ store: cloudSave(key) });
    const other = new ActionLedger({ store: cloudSave(key) });
    expect((await mine.claim(P, 'k0')).status).toBe('claimed'); // the record exists; this replica knows its updatedAt
    const records = `/users/${P.userId}/adminrecords/${key}`;
    const reads = (): number => ags.requests.filter((q) => q.method === 'GET' && q.path.endsWith(records)).length;
    let overwritten!: () => void;
    const held = new Promise<void>((r) => (overwritten = r));
    // the claim's write lands and its answer is lost; the read that follows waits until the other replica wrote on top
    ags.fail(`/concurrent/adminrecords/${key}`, [{ reset: true, afterEffect: true }]);
    ags.fail(new RegExp(`${records}$`), [{ proceed: true, until: held }]);
    const before = reads();
    const claiming = mine.claim(P, 'k1');
    await waitFor(() => reads() > before);
    expect((await other.claim(P, 'k2')).status).toBe('claimed');
    overwritten();
    const claim = await claiming;
    expect(claim.status).toBe('claimed'); // busy on the old code: its own claim, re-read, looked like another delivery's
    // and it is this call's: completing it with its token works, as for any claim
    await mine.release(P, 'k1', (claim as { token: string }).token);
    expect((await other.claim(P, 'k1')).status).toBe('claimed');
  });

  it('Cloud Save down: StateStoreUnavailableError (retriable)', async () => {
    const store = cloudSave('down');
    ags.fail('/adminrecords/down', [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }]);
    const error = await new ActionLedger({ store }).claim(P, 'k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateStoreUnavailableError);
    expect((error as StateStoreUnavailableError).retriable).toBe(true);
  });
});

describe('deferred done marks (complete with defer: written with the partition next write)', () => {
  const Q: Partition = { namespace: 'mygame', userId: 'fedcba9876543210fedcba9876543210' };

  /** A memory store counting its writes, whose next `failures` transactions reject. */
  function counting(): { store: StateStore; writes: () => number; failNext: () => void } {
    const inner = new MemoryStateStore();
    let writes = 0;
    let fail = 0;
    const store: StateStore = {
      kind: 'cloudsave',
      read: (p, o) => inner.read(p, o),
      transact: (p, update, o) => {
        if (fail > 0) {
          fail--;
          return Promise.reject(new StateStoreUnavailableError('cloudsave', 'transact', 'injected'));
        }
        return inner.transact(p, (doc) => {
          const change = update(doc);
          if (change.next !== undefined) writes++;
          return change;
        }, o);
      },
      close: () => inner.close(),
    };
    return { store, writes: () => writes, failNext: () => void (fail = 1) };
  }

  it('a deferred mark is not written alone: the next claim of the partition carries it; a claim of its key in this process is done', async () => {
    const { store, writes } = counting();
    const l = new ActionLedger({ store });
    expect((await l.claim(P, 'e1:r:0')).status).toBe('claimed');
    await l.complete(P, 'e1:r:0', 'succeeded', { defer: true });
    expect(writes()).toBe(1);
    expect(l.pendingMarks).toBe(1);
    expect(markIn(await store.read(P), 'e1:r:0')?.s).toBe('c');
    expect((await l.claim(P, 'e2:r:0')).status).toBe('claimed');
    expect(writes()).toBe(2); // one write: the claim of e2 with the done mark of e1
    expect(l.pendingMarks).toBe(0);
    expect(markIn(await store.read(P), 'e1:r:0')?.s).toBe('d');
    await l.complete(P, 'e2:r:0', 'succeeded', { defer: true });
    expect(await l.claim(P, 'e2:r:0')).toEqual({ status: 'done', state: 'succeeded' });
    expect(markIn(await store.read(P), 'e2:r:0')?.s).toBe('d');
  });

  it('a failed write keeps the marks pending; flush writes every partition; past maxPendingMarks the oldest partition\'s are forgotten unwritten', async () => {
    const { store, writes, failNext } = counting();
    const l = new ActionLedger({ store, maxPendingMarks: 2 });
    for (const [p, k] of [[P, 'a:r:0'], [Q, 'b:r:0']] as const) {
      await l.claim(p, k);
      await l.complete(p, k, 'succeeded', { defer: true });
    }
    expect(l.pendingMarks).toBe(2);
    failNext();
    await expect(l.claim(P, 'c:r:0')).rejects.toBeInstanceOf(StateStoreUnavailableError);
    expect(l.pendingMarks).toBe(2);
    expect(markIn(await store.read(P), 'a:r:0')?.s).toBe('c');
    await l.flush();
    expect(l.pendingMarks).toBe(0);
    expect(markIn(await store.read(P), 'a:r:0')?.s).toBe('d');
    expect(markIn(await store.read(Q), 'b:r:0')?.s).toBe('d');
    // bound: a third waiting mark forgets the oldest partition's, without a write (its claim stays: settled by lookup)
    await l.claim(P, 'x:r:0');
    await l.complete(P, 'x:r:0', 'succeeded', { defer: true });
    await l.complete(Q, 'y:r:0', 'succeeded', { defer: true });
    const before = writes();
    await l.complete(Q, 'z:r:0', 'succeeded', { defer: true });
    expect(l.pendingMarks).toBe(2);
    await l.flush();
    expect(writes()).toBe(before + 1); // Q's two marks; P's forgotten
    expect(markIn(await store.read(P), 'x:r:0')?.s).toBe('c');
    expect(markIn(await store.read(Q), 'z:r:0')?.s).toBe('d');
  });
});
