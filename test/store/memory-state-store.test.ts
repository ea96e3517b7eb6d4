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

  it('a caller never changes the stored document: update gets it read-only, next is stored as a copy', async () => {
    const store = new MemoryStateStore();
    const next = { list: [1], nested: { a: 1 } };
    await store.transact(alice, () => ({ next, result: 0 }));
    next.list.push(2); // the caller's object after the write
    next.nested.a = 5;
    expect(await store.read(alice)).toEqual({ list: [1], nested: { a: 1 } });
    // mutating the current document in update throws and writes nothing
    await expect(store.transact(alice, (doc) => {
      (doc?.list as number[]).push(3);
      return { next: doc, result: 0 };
    })).rejects.toThrow(TypeError);
    await expect(store.transact(alice, (doc) => {
      (doc?.nested as { a: number }).a = 7;
      return { next: doc, result: 0 };
    })).rejects.toThrow(TypeError);
    expect(await store.read(alice)).toEqual({ list: [1], nested: { a: 1 } });
  });

  it('stores next as JSON would (toJSON, undefined, NaN, -0, __proto__), and a BigInt or a cycle writes nothing', async () => {
    const store = new MemoryStateStore();
    const at = new Date('2026-03-01T00:00:00Z');
    const proto = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    const next = { at, gone: undefined, fn: () => 1, list: [undefined, NaN, -0, Infinity, 'x'], proto, boxed: Object(3) as unknown };
    await store.transact(alice, () => ({ next, result: 0 }));
    const expected = JSON.parse(JSON.stringify(next)) as unknown;
    expect(await store.read(alice)).toEqual(expected);
    await store.transact(alice, (doc) => {
      expect(doc).toEqual(expected);
      expect(Object.keys(doc?.proto as object)).toEqual(['__proto__']); // an own key, not the prototype
      return { result: 0 };
    });
    await expect(store.transact(alice, () => ({ next: { n: 1n }, result: 0 }))).rejects.toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(store.transact(alice, () => ({ next: { cyclic }, result: 0 }))).rejects.toThrow(TypeError);
    expect(await store.read(alice)).toEqual(expected);
  });

  it('a write keeps the parts of the document it did not change as they were (shared, not copied)', async () => {
    const store = new MemoryStateStore();
    await store.transact(alice, () => ({ next: { big: { list: [1, 2, 3] }, small: { n: 0 } }, result: 0 }));
    let big: unknown;
    await store.transact(alice, (doc) => {
      big = doc?.big;
      return { next: { ...doc, small: { n: 1 } }, result: 0 };
    });
    await store.transact(alice, (doc) => {
      expect(doc?.big).toBe(big);
      expect(doc?.small).toEqual({ n: 1 });
      return { result: 0 };
    });
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

  it('is bounded in bytes too: the estimated JSON size of its documents, kept per shared part; the least recently written dropped, never the one just written', async () => {
    const store = new MemoryStateStore({ maxBytes: 10_000 });
    const doc = (userId: string, marks: number): Record<string, unknown> => ({ userId, marks: Object.fromEntries(Array.from({ length: marks }, (_, i) => [`mark-${i}`, { s: 'd', e: 1_764_000_000_000 + i }])) });
    for (const userId of ['a', 'b', 'c']) await store.transact({ namespace: 'n', userId }, () => ({ next: doc(userId, 40), result: 0 }));
    const text = JSON.stringify(doc('a', 40)).length; // about 1,400 bytes each
    // the estimate is the text's size: exact here (ASCII strings, 13-digit numbers)
    expect(store.bytes).toBe(3 * text);
    expect(store.size).toBe(3);
    // a player with ten times the marks: the two least recently written players are dropped
    await store.transact({ namespace: 'n', userId: 'd' }, () => ({ next: doc('d', 200), result: 0 }));
    expect(store.bytes).toBeLessThanOrEqual(10_000);
    expect(await store.read({ namespace: 'n', userId: 'a' })).toBeUndefined();
    expect(await store.read({ namespace: 'n', userId: 'c' })).toEqual(doc('c', 40));
    expect(await store.read({ namespace: 'n', userId: 'd' })).toEqual(doc('d', 200));
    // a change that keeps the rest of the document counts what changed; a rewrite of a player replaces its size
    await store.transact({ namespace: 'n', userId: 'c' }, (current) => ({ next: { ...current, extra: 'x' }, result: 0 }));
    expect(store.bytes).toBe(JSON.stringify({ ...doc('c', 40), extra: 'x' }).length + JSON.stringify(doc('d', 200)).length);
    // one document over the bound alone is kept (the one just written)
    await store.transact({ namespace: 'n', userId: 'e' }, () => ({ next: doc('e', 400), result: 0 }));
    expect(store.size).toBe(1);
    expect(await store.read({ namespace: 'n', userId: 'e' })).toEqual(doc('e', 400));
  });
});
