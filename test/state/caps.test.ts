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

describe('a cap above 900 whose counter has moved on to a later period', () => {
  it('a replica whose clock lags, deciding in the day the counter has left, is refused: the full day is not counted again from its kept entries', async () => {
    const store = new MemoryStateStore();
    const send = sender(compile(`
  - name: daily-1200
    on: userLoggedIn
    limit: { count: 1200, per: day, key: game-wide }
    do: [ { log: { message: x } } ]
`), store);
    const day1 = Date.parse('2026-03-01T00:00:00Z');
    const day2 = Date.parse('2026-03-02T00:00:00Z');
    let fired = 0;
    for (let n = 1; n <= 1200; n++) if ((await send(`d1-${n}`, n, day1 + n * 1000)) === 'fired') fired++;
    expect(fired).toBe(1200);
    expect(await send('d1-full', 1, day2 - 2)).toBe('suppressed');
    // one replica has reached day 2; another, whose clock lags a few ms, is still in day 1 (full)
    expect(await send('d2-1', 2, day2)).toBe('fired');
    expect(await send('late-1', 3, day2 - 1)).toBe('suppressed');
    expect(await send('late-2', 4, day2 - 1)).toBe('suppressed');
    // day 2 goes on counting from its own counter
    let fired2 = 1;
    for (let n = 1; n <= 1300; n++) if ((await send(`d2-x${n}`, n, day2 + 10 + n)) === 'fired') fired2++;
    expect(fired2).toBe(1200);
  });

  it('an event refused by a full day, redelivered the next day, is decided at its first instant and still refused (a count records it on the player\'s record)', async () => {
    const store = new MemoryStateStore();
    const send = sender(compile(`
  - name: capped
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, day ] }, 1 ] }
    limit: { count: 1000, per: day }
    do: [ { log: { message: x } } ]
`), store);
    const day1 = Date.parse('2026-03-01T00:00:00Z');
    const day2 = Date.parse('2026-03-02T00:00:00Z');
    let fired = 0;
    for (let n = 1; n <= 1000; n++) if ((await send(`d1-${n}`, 7, day1 + n * 1000)) === 'fired') fired++;
    expect(fired).toBe(1000);
    expect(await send('refused', 7, day1 + 2_000_000)).toBe('suppressed');
    expect(await send('d2-1', 7, day2 + 1000)).toBe('fired');
    // the sidecar redelivers the refused event on day 2: decided on day 1 (its first instant), which is full
    expect(await send('refused', 7, day2 + 2000)).toBe('suppressed');
    // and day 2 keeps its own count: 999 more, not more
    let fired2 = 1;
    for (let n = 1; n <= 1100; n++) if ((await send(`d2-x${n}`, 7, day2 + 3000 + n)) === 'fired') fired2++;
    expect(fired2).toBe(1000);
  });
});

describe('a count over a window compared with more than 900', () => {
  it('never reaches 1500 (the record keeps the latest 900 to 1000 entries), so validate warns; a lifetime count and 900 are not warned about', async () => {
    const rules = `
  - name: kill-1500
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, day ] }, 1500 ] }
    limit: { count: 1, per: day }
    do: [ { log: { message: x } } ]
  - name: object-form
    on: userLoggedIn
    when: { "<": [ 2000, { count: { of: userLoggedIn, within: P7D } } ] }
    do: [ { log: { message: x } } ]
  - name: total
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, lifetime ] }, 1500 ] }
    do: [ { log: { message: x } } ]
  - name: at-900
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, day ] }, 900 ] }
    do: [ { log: { message: x } } ]
`;
    const r = compileResult(rules);
    expect(r.ok).toBe(true);
    const w = r.ok ? r.warnings.filter((x) => x.code === 'state-window') : [];
    expect(w.map((x) => [x.rule, x.severity])).toEqual([
      ['kill-1500', 'warning'],
      ['object-form', 'warning'],
    ]);
    expect(w[0]!.message).toMatch(/compared with 1500: .*exact only up to 900 and never reaches 1500/);
    expect(w[0]!.fix).toMatch(/lifetime/);
    // what the warning is about: 1600 logins in one day, and the day's count never reaches 1500
    const store = new MemoryStateStore();
    const send = sender(compile(rules.split('  - name: object-form')[0]!), store);
    const outcomes = new Set<string>();
    for (let n = 1; n <= 1600; n++) outcomes.add(await send(`k${n}`, 9, T0 + n));
    expect([...outcomes]).toEqual(['notMatched']);
  });
});
