import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDedupeStore } from '../../src/delivery/memory-store.js';
import { RedisDedupeStore } from '../../src/delivery/redis-store.js';
import { createStore } from '../../src/delivery/create-store.js';
import { DedupeStoreUnavailableError } from '../../src/delivery/store.js';
import type { DedupeStore } from '../../src/delivery/store.js';
import { describeWith, executable } from '../support/prereq.js';
import { waitFor } from './support.js';
import { startRedis } from '../support/redis.js';
import type { RedisProcess } from '../support/redis.js';
import { freePort } from '../support/workspace.js';

const HOUR = 3_600_000;

/** Behaviour every store must have. `make` returns a fresh store (unique key space). */
function contract(name: string, make: () => Promise<DedupeStore>, sharing: () => Promise<DedupeStore[]>): void {
  describe(`${name} store contract`, () => {
    it('claims an absent key once, then answers busy; complete makes it done', async () => {
      const store = await make();
      const first = await store.claim('e1:r:0', HOUR);
      expect(first.status).toBe('claimed');
      expect(await store.claim('e1:r:0', HOUR)).toEqual({ status: 'busy' });
      await store.complete('e1:r:0', HOUR);
      expect(await store.claim('e1:r:0', HOUR)).toEqual({ status: 'done', state: 'succeeded' });
      expect(await store.claim('e1:r:0', HOUR, { reclaimDeadLettered: true })).toEqual({ status: 'done', state: 'succeeded' });
      await store.close();
    });

    it('release deletes only our own claim', async () => {
      const store = await make();
      const a = await store.claim('e2:r:0', HOUR);
      if (a.status !== 'claimed') throw new Error('not claimed');
      await store.release('e2:r:0', 'someone-else');
      expect((await store.claim('e2:r:0', HOUR)).status).toBe('busy');
      await store.release('e2:r:0', a.token);
      const b = await store.claim('e2:r:0', HOUR);
      expect(b.status).toBe('claimed');
      // a stale token of an earlier claim does not release the new one
      await store.release('e2:r:0', a.token);
      expect((await store.claim('e2:r:0', HOUR)).status).toBe('busy');
      await store.close();
    });

    it('a dead-lettered key is done, and claimable again only for a replay', async () => {
      const store = await make();
      expect((await store.claim('e3:r:0', HOUR)).status).toBe('claimed');
      await store.complete('e3:r:0', HOUR, 'deadLettered');
      expect(await store.claim('e3:r:0', HOUR)).toEqual({ status: 'done', state: 'deadLettered' });
      const replay = await store.claim('e3:r:0', HOUR, { reclaimDeadLettered: true });
      expect(replay.status).toBe('claimed');
      expect((await store.claim('e3:r:0', HOUR, { reclaimDeadLettered: true })).status).toBe('busy');
      await store.close();
    });

    it('counts failures per key', async () => {
      const store = await make();
      expect(await store.countFailure('e4:r:0', HOUR)).toBe(1);
      expect(await store.countFailure('e4:r:0', HOUR)).toBe(2);
      expect(await store.countFailure('e4:r:1', HOUR)).toBe(1);
      await store.close();
    });

    it('concurrent claims of one key: exactly one is claimed', async () => {
      const stores = await sharing(); // clients of one key space (replicas)
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 3]!.claim('race:r:0', HOUR)));
      expect(results.filter((r) => r.status === 'claimed')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'busy')).toHaveLength(29);
      await Promise.all(stores.map((s) => s.close()));
    });

    it('rejects with DedupeStoreUnavailableError once closed', async () => {
      const store = await make();
      await store.close();
      await expect(store.claim('e5:r:0', HOUR)).rejects.toBeInstanceOf(DedupeStoreUnavailableError);
    });
  });
}

describe('memory store', () => {
  contract(
    'memory',
    () => Promise.resolve(new MemoryDedupeStore()),
    () => {
      const one = new MemoryDedupeStore();
      return Promise.resolve([one, one, one]);
    },
  );

  it('a claim expires after its lease, a done key after its retention', async () => {
    let now = 1_000;
    const store = new MemoryDedupeStore({ now: () => now });
    expect((await store.claim('k', 100)).status).toBe('claimed');
    now += 99;
    expect((await store.claim('k', 100)).status).toBe('busy');
    now += 1;
    expect((await store.claim('k', 100)).status).toBe('claimed');
    await store.complete('k', 1_000);
    now += 999;
    expect((await store.claim('k', 100)).status).toBe('done');
    now += 1;
    expect((await store.claim('k', 100)).status).toBe('claimed');
  });

  it('stays within maxKeys, evicting the least recently used done keys, never live claims', async () => {
    const store = new MemoryDedupeStore({ maxKeys: 3 });
    expect((await store.claim('live', HOUR)).status).toBe('claimed');
    for (const k of ['a', 'b', 'c', 'd']) {
      await store.claim(k, HOUR);
      await store.complete(k, HOUR);
      expect(store.size).toBeLessThanOrEqual(3);
    }
    expect((await store.claim('live', HOUR)).status).toBe('busy');
    expect((await store.claim('d', HOUR)).status).toBe('done');
    expect((await store.claim('a', HOUR)).status).toBe('claimed'); // evicted (oldest)
  });

  it('once full, each insert evicts from the oldest end only: an expired claim goes, a live one stays, the newest done keys stay', async () => {
    let now = 1_000_000;
    const store = new MemoryDedupeStore({ maxKeys: 1000, now: () => now });
    expect((await store.claim('stale-claim', 10)).status).toBe('claimed'); // its holder crashed: expires in 10 ms
    expect((await store.claim('live-claim', HOUR)).status).toBe('claimed');
    now += 20;
    for (let i = 0; i < 5000; i++) {
      await store.claim(`k${i}`, HOUR);
      await store.complete(`k${i}`, HOUR);
      expect(store.size).toBeLessThanOrEqual(1000);
    }
    expect((await store.claim('live-claim', HOUR)).status).toBe('busy');
    expect((await store.claim('k4999', HOUR)).status).toBe('done');
    expect((await store.claim('k4001', HOUR)).status).toBe('done'); // the newest 998 done keys are kept
    expect((await store.claim('k3000', HOUR)).status).toBe('claimed'); // evicted long ago
    expect((await store.claim('stale-claim', HOUR)).status).toBe('claimed'); // expired, evicted
  });

  it('createStore without a URL is the memory store', async () => {
    const store = await createStore({ maxKeys: 10 });
    expect(store.kind).toBe('memory');
    await store.close();
  });
});

describeWith(executable('redis-server', 'redis-server'), 'redis store', () => {
  let redis: RedisProcess;
  let n = 0;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const connected = async (keyPrefix: string): Promise<RedisDedupeStore> => {
    const store = new RedisDedupeStore({ url: redis.url, keyPrefix });
    await store.ready();
    return store;
  };
  contract(
    'redis',
    () => connected(`t${++n}:`), // a fresh key space per test
    async () => {
      const keyPrefix = `t${++n}:`;
      return Promise.all([connected(keyPrefix), connected(keyPrefix), connected(keyPrefix)]);
    },
  );

  it('a claim expires after its lease (a crashed holder)', async () => {
    const store = new RedisDedupeStore({ url: redis.url, keyPrefix: 'lease:' });
    await store.ready();
    expect((await store.claim('k', 150)).status).toBe('claimed');
    expect((await store.claim('k', 150)).status).toBe('busy');
    await waitFor(async () => (await store.claim('k', 60_000)).status === 'claimed');
    await store.close();
  });

  it('createStore with a URL is the redis store', async () => {
    const store = await createStore({ redisUrl: redis.url });
    expect(store.kind).toBe('redis');
    await waitFor(async () => {
      try {
        return (await store.claim('cs:r:0', HOUR)).status === 'claimed';
      } catch {
        return false;
      }
    });
    await store.close();
  });

  it('fails fast with DedupeStoreUnavailableError when Redis is unreachable, and recovers in the background', async () => {
    const port = await freePort();
    const store = new RedisDedupeStore({ url: `redis://:hunter2@127.0.0.1:${port}` });
    const error = await store.claim('down:r:0', HOUR).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DedupeStoreUnavailableError);
    expect(String((error as Error).message)).not.toContain('hunter2');
    const server = await startRedis({ port });
    try {
      // reconnects by itself (password is ignored by a server without one, with a warning)
      await waitFor(async () => {
        try {
          return (await store.claim('down:r:0', HOUR)).status === 'claimed';
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
