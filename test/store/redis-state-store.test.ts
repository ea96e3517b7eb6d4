/**
 * The Redis store remembers the document it wrote last per partition and skips
 * reading it again while the version is its own: it must still see every write
 * by another replica, also after the key expired or was deleted and written
 * again from scratch.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRedisStateStore } from '../../src/store/redis-state-store.js';
import type { RedisStateStore } from '../../src/store/redis-state-store.js';
import { UnreadableStateError } from '../../src/store/state-store.js';
import type { StateDocument } from '../../src/store/state-store.js';
import { describeWith, executable } from '../support/prereq.js';
import { redisProcessId, startRedis } from '../support/redis.js';
import type { RedisProcess } from '../support/redis.js';

const P = { namespace: 'mygame', userId: '0123456789abcdef0123456789abcdef' };

describeWith(executable('redis-server', 'redis-server'), 'RedisStateStore', () => {
  let redis: RedisProcess;
  const opened: RedisStateStore[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const s of opened) await s.close();
    await redis?.stop();
  });
  const store = async (keyPrefix: string): Promise<RedisStateStore> => {
    const s = await createRedisStateStore({ url: redis.url, keyPrefix });
    opened.push(s);
    await s.ready();
    return s;
  };
  const bump = (doc: StateDocument | undefined): { next: StateDocument; result: number } => {
    const n = ((doc?.n as number | undefined) ?? 0) + 1;
    return { next: { ...doc, n }, result: n };
  };

  it('sees the writes of another replica after its own', async () => {
    const [a, b] = [await store('seen:'), await store('seen:')];
    expect(await a.transact(P, bump)).toBe(1);
    expect(await b.transact(P, bump)).toBe(2);
    expect(await a.transact(P, bump)).toBe(3);
    expect(await a.transact(P, bump)).toBe(4); // its own write again
    expect(await b.transact(P, bump)).toBe(5);
  });

  it('a key deleted (or expired) and written again from scratch is read again, not taken from memory', async () => {
    const [a, b] = [await store('aba:'), await store('aba:')];
    expect(await a.transact(P, bump)).toBe(1);
    const raw = new Redis(redis.url);
    try {
      expect(await raw.del(`aba:s:${P.namespace}:${P.userId}`)).toBe(1);
    } finally {
      raw.disconnect();
    }
    await b.transact(P, () => ({ next: { n: 40 }, result: 0 }));
    expect(await a.transact(P, bump)).toBe(41);
  });

  it.each([
    ['its document emptied (d = "")', (raw: Redis, key: string) => raw.hset(key, 'd', '')],
    ['its document field removed (the version kept)', (raw: Redis, key: string) => raw.hdel(key, 'd')],
  ])('a hash whose %s is unreadable to another replica: never read as empty (its marks would be lost)', async (what, spoil) => {
    const prefix = `spoilt-${what.length}:`;
    const [a, b] = [await store(prefix), await store(prefix)];
    expect(await a.transact(P, bump)).toBe(1);
    const raw = new Redis(redis.url);
    try {
      await spoil(raw, `${prefix}s:${P.namespace}:${P.userId}`);
    } finally {
      raw.disconnect();
    }
    await expect(b.read(P)).rejects.toThrow(UnreadableStateError);
    await expect(b.transact(P, bump)).rejects.toThrow(UnreadableStateError);
    // (the writer still holds what it wrote under that version: it reads its own copy, loses nothing)
  });

  it('update gets the remembered document read-only; read hands out a copy of its own', async () => {
    const a = await store('copy:');
    await a.transact(P, () => ({ next: { list: [1] }, result: 0 }));
    await expect(a.transact(P, (doc) => {
      (doc?.list as number[]).push(2);
      return { next: doc, result: 0 };
    })).rejects.toThrow(TypeError);
    const doc = await a.read(P);
    (doc?.list as number[]).push(3);
    expect(await a.read(P)).toEqual({ list: [1] });
  });

  it('(test support) a redis-server whose port is taken is never mistaken for the one answering there: start fails, naming the port', async () => {
    // two tests whose free ports collide: the second server exits, the first answers its PING (shared state between tests)
    expect(await redisProcessId(redis.port)).toEqual(expect.any(Number));
    await expect(startRedis({ port: redis.port })).rejects.toThrow(new RegExp(`redis-server exited at start \\(port ${redis.port} taken\\?\\)`));
  });
});
