import { describe, expect, it } from 'vitest';
import { adoptJson, adoptJsonReplacing, freezeJson, isFrozenJson, jsonSize, stringifyJson } from '../../src/store/frozen-json.js';

function bigDocument(): Record<string, unknown> {
  const buckets = Array.from({ length: 64 }, (_, i) => Object.fromEntries(Array.from({ length: 20 }, (_, j) => [`id-${i}-${j}`, { s: 'd', e: 1e12 + j, ...(j % 3 === 0 ? { n: j } : {}) }])));
  const h = Array.from({ length: 40 }, (_, i) => [1e12 + i, `tag${i}`, i]);
  return { actions: { n: 1280, b: buckets }, events: { login: { n: 40, h, s: { 'day|UTC|0': [[1, 2]] } } }, small: { a: [1, 'x', null, true] } };
}

describe('freezeJson / stringifyJson', () => {
  it('gives what a JSON round trip gives, deep-frozen, and its text is JSON.stringify\'s', () => {
    const doc = bigDocument();
    const frozen = freezeJson(doc) as Record<string, unknown>;
    expect(frozen).toEqual(JSON.parse(JSON.stringify(doc)));
    expect(Object.isFrozen(frozen) && Object.isFrozen(frozen.actions) && Object.isFrozen((frozen.actions as { b: object[] }).b[3])).toBe(true);
    expect(isFrozenJson(frozen)).toBe(true);
    expect(isFrozenJson(doc)).toBe(false);
    expect(stringifyJson(frozen)).toBe(JSON.stringify(doc));
    expect(stringifyJson({ plain: [1, undefined] })).toBe(JSON.stringify({ plain: [1, undefined] }));
  });

  it('after a change that keeps the rest of the document, the text is still exactly JSON.stringify\'s', () => {
    const before = freezeJson(bigDocument()) as { actions: { n: number; b: Record<string, unknown>[] }; events: unknown; small: unknown };
    expect(stringifyJson(before)).toBe(JSON.stringify(before)); // the large parts' text is now kept
    const b = before.actions.b.slice();
    b[7] = { ...b[7], 'new-id': { s: 'c', e: 5, l: 4, t: 'tok"en\u2028' } };
    const changed = { ...before, actions: { n: before.actions.n + 1, b }, small: { a: [2] } };
    const after = freezeJson(changed);
    expect((after as typeof before).events).toBe(before.events); // shared, not copied
    expect((after as typeof before).actions.b[8]).toBe(before.actions.b[8]);
    expect(stringifyJson(after)).toBe(JSON.stringify(changed));
    expect(JSON.parse(stringifyJson(after))).toEqual(JSON.parse(JSON.stringify(changed)));
  });

  it('what it keeps of a frozen value is invisible: keys, JSON, spreads; a copy is not frozen JSON; a prototype-less object stays one', () => {
    const bucket = Object.create(null) as Record<string, unknown>;
    bucket['mark-a'] = { s: 'd', e: 1 };
    const frozen = freezeJson({ b: [bucket, null], n: 1 }) as { b: [Record<string, unknown>, null]; n: number };
    expect(Object.keys(frozen)).toEqual(['b', 'n']);
    expect(Reflect.ownKeys(frozen).filter((k) => Object.getOwnPropertyDescriptor(frozen, k)?.enumerable)).toEqual(['b', 'n']);
    expect(JSON.stringify(frozen)).toBe('{"b":[{"mark-a":{"s":"d","e":1}},null],"n":1}');
    expect(isFrozenJson({ ...frozen })).toBe(false);
    expect(isFrozenJson(Object.create(frozen))).toBe(false); // not inherited
    expect(isFrozenJson(frozen.b.slice())).toBe(false);
    expect(Object.getPrototypeOf(frozen.b[0])).toBeNull();
    expect(Object.getPrototypeOf(frozen)).toBe(Object.prototype);
    // the estimate: the text's length here (no escapes, no numbers; a boolean counts 5)
    const noNumbers = freezeJson({ a: ['xy', false, null], b: { c: 'z' } });
    expect(jsonSize(noNumbers)).toBe(JSON.stringify(noNumbers).length);
  });

  it('adoptJson: a value built of frozen parts is frozen in place (no copy), with what freezeJson would know of it; anything else is copied as freezeJson does', () => {
    const base = freezeJson(bigDocument()) as { actions: { n: number; b: object[] }; events: object; small: object };
    const b = new Array<unknown>(64);
    for (let i = 0; i < 64; i++) b[i] = base.actions.b[i];
    const bucket = Object.create(null) as Record<string, unknown>;
    bucket['new-id'] = adoptJson({ s: 'c', e: 5, l: 4, t: 'tok"en\u2028' });
    b[7] = adoptJson(bucket);
    const built = { ...base, actions: { n: base.actions.n + 1, b } };
    const plain = JSON.parse(JSON.stringify(built)) as unknown;
    const adopted = adoptJson({ ...built, actions: adoptJson({ n: built.actions.n, b: adoptJson(b) }) }) as typeof base;
    expect(isFrozenJson(adopted) && Object.isFrozen(adopted.actions.b)).toBe(true);
    expect(adopted.actions.b).toBe(b); // frozen in place
    expect(Object.getPrototypeOf(adopted.actions.b[7])).toBeNull();
    expect(adopted.events).toBe(base.events);
    expect(adopted).toEqual(plain);
    expect(stringifyJson(adopted)).toBe(JSON.stringify(plain));
    expect(jsonSize(adopted)).toBe(jsonSize(freezeJson(plain)));
    // not built of frozen parts (a new member, undefined, -0, NaN, a hole, a class instance): a copy, as freezeJson gives it
    for (const v of [{ a: { x: 1 } }, { a: undefined, b: 1 }, { z: -0 }, [Number.NaN], new Array(2), Object.freeze({ q: 1 })]) {
      const out = adoptJson(v);
      expect(out).not.toBe(v);
      expect(isFrozenJson(out)).toBe(true);
      expect(JSON.stringify(out)).toBe(JSON.stringify(v));
    }
    expect(adoptJson(base)).toBe(base); // already frozen JSON: as is
  });

  it('adoptJson with keepMemberTexts: the text of a document is JSON.stringify\'s, write after write, each bucket\'s text reused', () => {
    const bucketOf = (marks: Record<string, unknown>): unknown => {
      const b = Object.create(null) as Record<string, unknown>;
      for (const [k, v] of Object.entries(marks)) b[k] = adoptJson(v as object);
      return adoptJson(b);
    };
    let list = new Array<unknown>(64).fill(null);
    list[3] = bucketOf({ 'mark-a': { s: 'd', e: 1 } });
    list[9] = bucketOf(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`m${i}`, { s: 'c', e: i, t: 'x"\u2028' }]))); // a large bucket too
    let doc = adoptJson({ actions: adoptJson({ n: 21, b: adoptJson(list, true) }), other: freezeJson({ k: [1, 2] }) });
    for (let write = 0; write < 3; write++) {
      expect(stringifyJson(doc)).toBe(JSON.stringify(doc));
      const next = list.slice();
      next[write] = bucketOf({ [`new-${write}`]: { s: 'c', e: write } });
      list = next;
      doc = adoptJson({ ...(doc as object), actions: adoptJson({ n: 22 + write, b: adoptJson(next, true) }) });
    }
    expect(stringifyJson(doc)).toBe(JSON.stringify(doc));
    expect(JSON.parse(stringifyJson(doc))).toEqual(JSON.parse(JSON.stringify(doc)));
  });
  it('adoptJsonReplacing: the same value as adoptJson of the list (size, large flags, text), frozen in place; any other list is adopted as adoptJson does', () => {
    const bucket = (n: number, tag: string): unknown => {
      const b = Object.create(null) as Record<string, unknown>;
      for (let i = 0; i < n; i++) b[`${tag}${i}`] = adoptJson({ s: 'd', e: i, t: 'x"\u2028' });
      return adoptJson(b);
    };
    let previous = adoptJson(new Array<unknown>(64).fill(null), true) as readonly unknown[];
    // small and large buckets (16+ marks: the flags), replaced by null, by a small one, by a large one
    const steps: [number, number][] = [[3, 2], [9, 20], [9, 1], [9, 0], [40, 17], [40, 30], [3, 0], [40, 2], [5, 16]];
    for (const [at, n] of steps) {
      const next = previous.slice();
      next[at] = n === 0 ? null : bucket(n, `s${at}-${n}-`);
      const expected = adoptJson(previous.slice().fill(null).map((_, i) => next[i]), true);
      const out = adoptJsonReplacing(next, previous, at, true);
      expect(out).toBe(next);
      expect(isFrozenJson(out) && Object.isFrozen(out)).toBe(true);
      expect(jsonSize(out)).toBe(jsonSize(expected));
      const doc = adoptJson({ actions: adoptJson({ b: out }) });
      expect(stringifyJson(doc)).toBe(JSON.stringify(doc));
      expect(jsonSize(doc)).toBe(jsonSize(adoptJson({ actions: adoptJson({ b: expected }) })));
      previous = out as readonly unknown[];
    }
    // a previous list not produced, another length, a member not frozen JSON: what adoptJson gives
    const notProduced = previous.slice();
    const again = notProduced.slice();
    again[4] = bucket(1, 'q');
    expect(jsonSize(adoptJsonReplacing(again, notProduced, 4))).toBe(jsonSize(adoptJson(again.slice())));
    const shorter = previous.slice(0, 10);
    expect(jsonSize(adoptJsonReplacing(shorter, previous, 0))).toBe(jsonSize(adoptJson(previous.slice(0, 10))));
    const fresh = previous.slice();
    fresh[6] = { not: 'frozen' };
    const copied = adoptJsonReplacing(fresh, previous, 6);
    expect(copied).not.toBe(fresh);
    expect(isFrozenJson(copied)).toBe(true);
    expect(JSON.stringify(copied)).toBe(JSON.stringify(fresh));
  });
});
