import { describe, expect, it } from 'vitest';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { StateStoreUnavailableError } from '../../src/store/state-store.js';

const alice = { namespace: 'mygame', userId: 'alice' };
const game = { namespace: 'mygame' };

describe('MemoryStateStore', () => {
  it('keeps one document per partition; no next means no write', async () => {
    const store = new MemoryStateStore();
    expect(await store.read(alice)).toBeUndefined();
    const r1 = await store.transact(alice, (doc) => ({ next: { n: ((doc?.n as number) ?? 0) + 1 }, result: 'wrote' }));
    expect(r1).toBe('wrote');
    await store.transact(alice, (doc) => ({ next: { n: ((doc?.n as number) ?? 0) + 1 }, result: undefined }));
    expect(await store.read(alice)).toEqual({ n: 2 });
    expect(await store.read(game)).toBeUndefined();
    await store.transact(game, () => ({ result: 0 }));
    expect(await store.read(game)).toBeUndefined();
  });

  it('hands out copies: mutating a read document changes nothing stored', async () => {
    const store = new MemoryStateStore();
    await store.transact(alice, () => ({ next: { list: [1] }, result: 0 }));
    const doc = await store.read(alice);
    (doc?.list as number[]).push(2);
    expect(await store.read(alice)).toEqual({ list: [1] });
  });

  it('an update that throws writes nothing and rejects with its error', async () => {
    const store = new MemoryStateStore();
    await store.transact(alice, () => ({ next: { a: 1 }, result: 0 }));
    await expect(store.transact(alice, () => { throw new RangeError('no'); })).rejects.toThrow(RangeError);
    expect(await store.read(alice)).toEqual({ a: 1 });
  });

  it('is bounded, drops the least recently written partition, and refuses calls once closed', async () => {
    const store = new MemoryStateStore({ maxPartitions: 2 });
    for (const userId of ['a', 'b', 'c']) await store.transact({ namespace: 'n', userId }, () => ({ next: { userId }, result: 0 }));
    expect(store.size).toBe(2);
    expect(await store.read({ namespace: 'n', userId: 'a' })).toBeUndefined();
    await store.close();
    await expect(store.read(alice)).rejects.toBeInstanceOf(StateStoreUnavailableError);
  });
});
