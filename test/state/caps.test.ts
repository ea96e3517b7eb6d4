/**
 * Caps: `limit.count` up to 100,000 per key for calendar periods and lifetime,
 * without growing the record (a counter per period, not a list), exactly once
 * on redelivery (the firing's own entry still decides).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import { evaluateWithState, keyPartition, partitionOf } from '../../src/pipeline/evaluate.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { LOGIN, fixtureCatalog, loginEvent, testRegistry } from '../rules/support/fixtures.js';

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: testRegistry(), env: {}, unsetEnv: 'error' };
});

function compileResult(rules: string) {
  return compileRulesText(`version: 1\nrules:\n${rules}`, 'rules.yaml', opts);
}
function compile(rules: string): RuleSet {
  const r = compileResult(rules);
  if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
  return r.rules;
}

const user = (n: number): string => n.toString(16).padStart(32, '0');
const T0 = Date.parse('2026-03-01T01:00:00Z');

function sender(rules: RuleSet, store: MemoryStateStore) {
  return async (id: string, n: number, at: number): Promise<string> => {
    const event = loginEvent({ id, userId: user(n) });
    const r = await evaluateWithState(store, partitionOf(event, 'ns'), { rules, serviceFullName: LOGIN, event: event, eventKey: id, now: at });
    return r.outcomes[0]!.outcome === 'matched' ? (r.outcomes[0]!.firing?.decision ?? 'matched') : r.outcomes[0]!.outcome;
  };
}

const size = (doc: unknown): number => Buffer.byteLength(JSON.stringify(doc));

describe('limit.count above 900', () => {
  it('first-thousand: a lifetime cap of 1000 under one key grants exactly 1000 players, and the record stays under 40 KB', async () => {
    const store = new MemoryStateStore();
    const send = sender(compile(`
  - name: first-thousand
    on: userLoggedIn
    limit: { count: 1000, per: lifetime, key: launch-pioneers }
    do: [ { log: { message: pioneer } } ]
`), store);
    let fired = 0;
    for (let n = 1; n <= 1100; n++) if ((await send(`e${n}`, n, T0 + n)) === 'fired') fired++;
    expect(fired).toBe(1000);
    const doc = await store.read(keyPartition('ns', 'launch-pioneers'));
    expect(size(doc)).toBeLessThan(40_000);
    // a recent firing redelivered proceeds (its own entry decides), never counted again
    expect(await send('e999', 999, T0 + 5000)).toBe('again');
    expect(await send('e1001', 1001, T0 + 5000)).toBe('suppressed');
  });

  it('a daily cap of 2,500 under one key: a counter per period, reset at the next Tokyo day; the record does not grow with the count', async () => {
    const store = new MemoryStateStore();
    const send = sender(compile(`
  - name: daily-2500
    on: userLoggedIn
    limit: { count: 2500, per: day, timeZone: Asia/Tokyo, key: game-wide }
    do: [ { log: { message: x } } ]
`), store);
    let fired = 0;
    for (let n = 1; n <= 2600; n++) if ((await send(`d1-${n}`, n, T0 + n)) === 'fired') fired++;
    expect(fired).toBe(2500);
    const doc = await store.read(keyPartition('ns', 'game-wide'));
    expect(size(doc)).toBeLessThan(40_000);
    const track = (doc?.rules as Record<string, { p?: Record<string, [number, number]> }>)['daily-2500'];
    expect(Object.values(track?.p ?? {})).toEqual([[expect.any(Number), 2500]]);
    // the next Tokyo day (15:00Z) starts from 0
    expect(await send('d2-1', 1, Date.parse('2026-03-01T15:00:00Z'))).toBe('fired');
  });

  it('a rolling window above 900 is refused with the reason and a fix; 100,001 is refused by the schema', () => {
    const r = compileResult(`
  - name: a
    on: userLoggedIn
    limit: { count: 1000, per: 24h, key: k }
    do: [ { log: { message: x } } ]
  - name: b
    on: userLoggedIn
    limit: { count: 100001, per: lifetime }
    do: [ { log: { message: x } } ]
`);
    expect(r.ok).toBe(false);
    const text = r.ok ? [] : r.problems.map((p) => `${p.line} ${p.code} ${p.message} | ${p.fix ?? ''}`);
    expect(text).toEqual([
      expect.stringMatching(/^6 state-window limit: a count of 1000 per rolling 24h is more than 900.*\| use a calendar period/),
      expect.stringMatching(/^10 schema .*100000/),
    ]);
  });
});
