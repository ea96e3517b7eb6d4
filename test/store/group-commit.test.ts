/**
 * Concurrent transactions of one process on one partition are applied
 * together (group commit) on the remote stores: each caller gets its own
 * result or error, none is lost, and the process never conflicts with itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgsClient } from '../../src/ags/client.js';
import { CloudSaveStateStore } from '../../src/store/cloudsave-state-store.js';
import { createRedisStateStore } from '../../src/store/redis-state-store.js';
import type { StateDocument, StateStore } from '../../src/store/state-store.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { describeWith, executable } from '../support/prereq.js';
import { startRedis } from '../support/redis.js';
import type { RedisProcess } from '../support/redis.js';

const P = { namespace: 'mygame', userId: '0123456789abcdef0123456789abcdef' };

const append = (item: number) => (doc: StateDocument | undefined) => {
  const list = [...((doc?.list as number[] | undefined) ?? []), item];
  return { next: { ...doc, list }, result: list.length };
};

/** 40 concurrent appends, one of which throws and one of which was aborted before it started. */
async function concurrentAppends(store: StateStore): Promise<void> {
  const aborted = new AbortController();
  aborted.abort();
  const calls = Array.from({ length: 40 }, (_, i) => {
    if (i === 7) return store.transact(P, () => { throw new RangeError('bad update'); });
    if (i === 9) return store.transact(P, append(i), { signal: aborted.signal });
    return store.transact(P, append(i));
  });
  const settled = await Promise.allSettled(calls);
  expect(settled[7]).toMatchObject({ status: 'rejected', reason: expect.any(RangeError) });
  expect(settled[9]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ name: 'StateStoreUnavailableError' }) });
  const results = settled.filter((_, i) => i !== 7 && i !== 9).map((s): number => (s.status === 'fulfilled' ? (s.value as number) : -1));
  expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 38 }, (_, i) => i + 1)); // each saw its own append
  const list = (await store.read(P))?.list as number[];
  expect([...list].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => i !== 7 && i !== 9));
}

describe('group commit on Cloud Save (AGS stand-in)', () => {
  let ags: AgsStandIn;
  const clients: AgsClient[] = [];
  beforeAll(async () => {
    ags = await startAgsStandIn();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await ags?.close();
  });
  it('every call applied once, fewer writes than calls, no conflict with itself', async () => {
    const client = new AgsClient({ baseUrl: ags.url, clientId: ags.clientId, clientSecret: ags.clientSecret, backoffBaseMs: 1 });
    clients.push(client);
    const store = new CloudSaveStateStore({ ags: client, recordKey: 'group-commit' });
    const conflicts = ags.cloudSave.preconditionFailures();
    await concurrentAppends(store);
    expect(store.counts.writes).toBeLessThan(38);
    expect(ags.cloudSave.preconditionFailures()).toBe(conflicts);
  });
});

describeWith(executable('redis-server', 'redis-server'), 'group commit on Redis', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  it('every call applied once; another replica\'s concurrent calls are not lost', async () => {
    const [a, b] = await Promise.all([1, 2].map(() => createRedisStateStore({ url: redis.url, keyPrefix: 'gc:' })));
    try {
      await Promise.all([a!.ready(), b!.ready()]);
      await concurrentAppends(a!);
      const before = ((await a!.read(P))?.list as number[]).length;
      await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a! : b!).transact(P, append(100 + i))));
      expect(((await b!.read(P))?.list as number[]).length).toBe(before + 30);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });
});
