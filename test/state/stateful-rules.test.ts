/**
 * Stateful rules over the real compiler, rule set and MemoryStateStore: limit
 * per calendar day in a zone, lifetime, cooldown, count in a window, streak,
 * fired; exactly once per event (a redelivery is not counted again and finds
 * its own firing); concurrent transactions never both pass a count-1 limit;
 * validation of the new fields and operators.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import type { RuleProblem } from '../../src/rules/types.js';
import { evaluateOnDocument, evaluateWithState, partitionOf } from '../../src/pipeline/evaluate.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import type { Change, Partition, StateDocument, StateStore } from '../../src/store/state-store.js';
import { LOGIN, MATCH, fixtureCatalog, loginEvent, testRegistry } from '../rules/support/fixtures.js';

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: testRegistry(), env: {}, unsetEnv: 'error' };
});

function compile(rules: string): RuleSet {
  const r = compileRulesText(`version: 1\nrules:\n${rules}`, 'rules.yaml', opts);
  if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
  return r.rules;
}

function problems(rules: string): RuleProblem[] {
  const r = compileRulesText(`version: 1\nrules:\n${rules}`, 'rules.yaml', opts);
  if (r.ok) throw new Error('expected problems');
  return [...r.problems];
}

const at = (iso: string): number => Date.parse(iso);
/** AGS user ids (32 hex characters): each has its own record. */
const U1 = '0123456789abcdef0123456789abcdef';
const U2 = 'fedcba9876543210fedcba9876543210';

/** Delivers one login event for `user` with id `id` at `iso`; answers the rules that fired. */
function deliverer(rules: RuleSet, store: StateStore = new MemoryStateStore(), service = LOGIN) {
  return async (id: string, iso: string, user = U1): Promise<{ fired: string[]; suppressed: Record<string, string | undefined>; outcomes: Record<string, string> }> => {
    const event = loginEvent({ id, userId: user });
    const r = await evaluateWithState(store, partitionOf(event, 'ns'), { rules, serviceFullName: service, event, eventKey: id, now: at(iso) });
    return {
      fired: [...new Set(r.plan.map((p) => p.rule))],
      suppressed: Object.fromEntries(r.outcomes.filter((o) => o.outcome === 'suppressed').map((o) => [o.rule, o.firing?.suppressedBy])),
      outcomes: Object.fromEntries(r.outcomes.map((o) => [o.rule, o.outcome + (o.error ? `: ${o.error}` : '')])),
    };
  };
}

describe('limit', () => {
  it('count 1 per calendar day in Asia/Tokyo: refused the same local day, allowed after local midnight', async () => {
    const send = deliverer(compile(`
  - name: daily
    on: userLoggedIn
    limit: { count: 1, per: day, timeZone: Asia/Tokyo }
    do: [ { log: { message: hi } } ]
`));
    expect((await send('e1', '2026-03-01T01:00:00Z')).fired).toEqual(['daily']); // 10:00 JST Mar 1
    expect((await send('e2', '2026-03-01T14:59:00Z')).suppressed).toEqual({ daily: 'limit' }); // 23:59 JST Mar 1
    expect((await send('e3', '2026-03-01T15:00:00Z')).fired).toEqual(['daily']); // 00:00 JST Mar 2 (still Mar 1 in UTC)
    expect((await send('e4', '2026-03-01T20:00:00Z')).suppressed).toEqual({ daily: 'limit' });
    // another player has their own count
    expect((await send('e5', '2026-03-01T20:00:00Z', U2)).fired).toEqual(['daily']);
  });

  it('resetAt 05:00: the game day changes at 05:00 local, not at midnight', async () => {
    const send = deliverer(compile(`
  - name: daily
    on: userLoggedIn
    limit: { count: 1, per: day, timeZone: Asia/Tokyo, resetAt: "05:00" }
    do: [ { log: { message: hi } } ]
`));
    expect((await send('e1', '2026-03-01T14:00:00Z')).fired).toEqual(['daily']); // 23:00 JST
    expect((await send('e2', '2026-03-01T19:59:00Z')).suppressed).toEqual({ daily: 'limit' }); // 04:59 JST next day
    expect((await send('e3', '2026-03-01T20:00:00Z')).fired).toEqual(['daily']); // 05:00 JST
  });

  it('lifetime and rolling limits; count 2', async () => {
    const send = deliverer(compile(`
  - name: once
    on: userLoggedIn
    limit: { count: 1, per: lifetime }
    do: [ { log: { message: first } } ]
  - name: twice-a-day
    on: userLoggedIn
    limit: { count: 2, per: 24h }
    do: [ { log: { message: hi } } ]
`));
    expect((await send('e1', '2026-03-01T00:00:00Z')).fired).toEqual(['once', 'twice-a-day']);
    expect((await send('e2', '2026-03-01T01:00:00Z')).fired).toEqual(['twice-a-day']);
    expect((await send('e3', '2026-03-01T23:59:00Z')).suppressed).toEqual({ once: 'limit', 'twice-a-day': 'limit' });
    expect((await send('e4', '2026-03-02T00:00:00Z')).fired).toEqual(['twice-a-day']); // e1 left the 24 h window
    expect((await send('e5', '2030-01-01T00:00:00Z')).suppressed.once).toBe('limit');
  });

  it('a redelivered event is not counted again and finds its own firing (it proceeds; its actions are deduplicated downstream)', async () => {
    const store = new MemoryStateStore();
    const send = deliverer(compile(`
  - name: once
    on: userLoggedIn
    limit: { count: 1, per: lifetime }
    do: [ { log: { message: first } } ]
  - name: third
    on: userLoggedIn
    when: { "==": [ { count: [ userLoggedIn, lifetime ] }, 3 ] }
    do: [ { log: { message: third } } ]
`), store);
    expect((await send('e1', '2026-03-01T00:00:00Z')).fired).toEqual(['once']);
    expect((await send('e1', '2026-03-01T00:05:00Z')).fired).toEqual(['once']); // redelivery: proceeds
    expect((await send('e2', '2026-03-01T00:06:00Z')).fired).toEqual([]);
    expect((await send('e2', '2026-03-01T00:07:00Z')).fired).toEqual([]);
    expect((await send('e3', '2026-03-01T00:08:00Z')).fired).toEqual(['third']); // the third distinct event
    expect((await send('e3', '2026-03-01T00:09:00Z')).fired).toEqual(['third']);
    expect((await send('e4', '2026-03-01T00:10:00Z')).fired).toEqual([]);
    const doc = await store.read({ namespace: 'ns', userId: U1 });
    expect((doc?.events as Record<string, { n: number }>).userLoggedIn!.n).toBe(4);
    expect((doc?.rules as Record<string, { n: number }>).once!.n).toBe(1);
  });

  it('concurrent transactions on one partition never both pass a count-1 limit (the update re-runs on conflict)', async () => {
    // a store that makes every first attempt conflict with a write landing meanwhile, as a second replica would
    const inner = new MemoryStateStore();
    let raced = false;
    const rules = compile(`
  - name: once
    on: userLoggedIn
    limit: { count: 1, per: lifetime }
    do: [ { log: { message: first } } ]
`);
    const racing: StateStore = {
      kind: 'memory',
      read: (p) => inner.read(p),
      close: () => inner.close(),
      async transact<T>(p: Partition, update: (d: StateDocument | undefined) => Change<T>): Promise<T> {
        const snapshot = await inner.read(p);
        const first = update(snapshot);
        if (!raced) {
          raced = true;
          // the other replica's event commits first
          const other = loginEvent({ id: 'other', userId: U1 });
          await evaluateWithState(inner, p, { rules, serviceFullName: LOGIN, event: other, eventKey: 'other', now: at('2026-03-01T00:00:00Z') });
          void first; // our first attempt is discarded: the document changed
          return inner.transact(p, update);
        }
        return inner.transact(p, update);
      },
    };
    const r = await deliverer(rules, racing)('mine', '2026-03-01T00:00:01Z');
    expect(r.suppressed).toEqual({ once: 'limit' });
    const doc = await inner.read({ namespace: 'ns', userId: U1 });
    expect((doc?.rules as Record<string, { n: number }>).once!.n).toBe(1);
  });
});

describe('cooldown', () => {
  it('at least 6 h between two firings', async () => {
    const send = deliverer(compile(`
  - name: gift
    on: userLoggedIn
    cooldown: 6h
    do: [ { log: { message: gift } } ]
`));
    expect((await send('e1', '2026-03-01T00:00:00Z')).fired).toEqual(['gift']);
    expect((await send('e2', '2026-03-01T05:59:59Z')).suppressed).toEqual({ gift: 'cooldown' });
    expect((await send('e3', '2026-03-01T06:00:00Z')).fired).toEqual(['gift']);
    expect((await send('e4', '2026-03-01T07:00:00Z')).suppressed).toEqual({ gift: 'cooldown' });
  });
});

describe('count, streak, fired', () => {
  it('count in a rolling window, this event included', async () => {
    const send = deliverer(compile(`
  - name: busy-bee
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, 24h ] }, 3 ] }
    limit: { count: 1, per: day }
    do: [ { log: { message: bee } } ]
`));
    expect((await send('e1', '2026-03-01T00:00:00Z')).fired).toEqual([]);
    expect((await send('e2', '2026-03-01T10:00:00Z')).fired).toEqual([]);
    expect((await send('e3', '2026-03-01T20:00:00Z')).fired).toEqual(['busy-bee']);
    expect((await send('e4', '2026-03-01T21:00:00Z')).suppressed).toEqual({ 'busy-bee': 'limit' });
    expect((await send('e5', '2026-03-02T09:00:00Z')).fired).toEqual(['busy-bee']); // a new UTC day; e3, e4, e5 in the last 24 h
    expect((await send('e6', '2026-03-03T08:00:00Z')).fired).toEqual([]); // only e6 in the last 24 h
  });

  it('streak of days in a zone: continued, then broken by a missing day', async () => {
    const send = deliverer(compile(`
  - name: streak-3
    on: userLoggedIn
    when: { "==": [ { streak: [ userLoggedIn, day, Asia/Tokyo ] }, 3 ] }
    do: [ { log: { message: streak } } ]
`));
    expect((await send('d1', '2026-03-01T01:00:00Z')).fired).toEqual([]); // Mar 1 JST
    expect((await send('d1b', '2026-03-01T14:00:00Z')).fired).toEqual([]); // Mar 1 23:00 JST: same day
    expect((await send('d2', '2026-03-01T16:00:00Z')).fired).toEqual([]); // Mar 2 01:00 JST
    expect((await send('d3', '2026-03-03T14:59:00Z')).fired).toEqual(['streak-3']); // Mar 3 23:59 JST
    expect((await send('d5', '2026-03-05T00:00:00Z')).fired).toEqual([]); // Mar 5: Mar 4 missing, streak 1
    expect((await send('d6', '2026-03-06T00:00:00Z')).fired).toEqual([]);
    expect((await send('d7', '2026-03-07T00:00:00Z')).fired).toEqual(['streak-3']);
  });

  it('fired counts another rule\'s firings; count of another event (served for it)', async () => {
    const rules = compile(`
  - name: reward
    on: userLoggedIn
    do: [ { log: { message: reward } } ]
  - name: second-reward-today
    on: userLoggedIn
    when: { "==": [ { fired: [ reward, day ] }, 2 ] }
    do: [ { log: { message: again } } ]
  - name: after-a-match
    on: userLoggedIn
    when: { ">": [ { count: [ matchEnded, lifetime ] }, 0 ] }
    do: [ { log: { message: welcome back } } ]
`);
    expect(rules.services.has(MATCH)).toBe(true); // counted, so served
    expect(rules.needsState(MATCH)).toBe(true);
    const store = new MemoryStateStore();
    const send = deliverer(rules, store);
    expect((await send('e1', '2026-03-01T00:00:00Z')).fired).toEqual(['reward']);
    expect((await send('e2', '2026-03-01T01:00:00Z')).fired).toEqual(['reward', 'second-reward-today']);
    const match = { ...loginEvent({ id: 'm1', userId: U1 }) };
    const r = await evaluateWithState(store, partitionOf(match, 'ns'), { rules, serviceFullName: MATCH, event: match, eventKey: 'm1', now: at('2026-03-01T02:00:00Z') });
    expect(r.plan).toEqual([]);
    expect((await send('e3', '2026-03-01T03:00:00Z')).fired).toEqual(['reward', 'after-a-match']);
  });

  it('the operators work in $logic parameters too', async () => {
    const rules = compile(`
  - name: nth
    on: userLoggedIn
    do: [ { grant: { itemId: x, quantity: { $logic: { count: [ userLoggedIn, lifetime ] } } } } ]
`);
    const store = new MemoryStateStore();
    const send = async (id: string) => {
      const event = loginEvent({ id });
      return (await evaluateWithState(store, partitionOf(event, 'ns'), { rules, serviceFullName: LOGIN, event, eventKey: id, now: at('2026-03-01T00:00:00Z') })).plan[0]!.params.quantity;
    };
    expect(await send('a')).toBe(1);
    expect(await send('b')).toBe(2);
    expect(await send('b')).toBe(2);
  });

  it('stateless rules need no state; a stateful rule evaluated without state is an error, never a silent decision', () => {
    const rules = compile(`
  - name: plain
    on: matchEnded
    do: [ { log: { message: x } } ]
  - name: limited
    on: userLoggedIn
    limit: { count: 1, per: day }
    do: [ { log: { message: x } } ]
`);
    expect(rules.needsState(MATCH)).toBe(false);
    expect(rules.needsState(LOGIN)).toBe(true);
    const r = rules.evaluate(LOGIN, loginEvent());
    expect(r.outcomes[0]!.outcome).toBe('error');
    expect(r.plan).toEqual([]);
  });

  it('nothing is written when nothing changed (a redelivery of a recorded event)', () => {
    const rules = compile(`
  - name: once
    on: userLoggedIn
    limit: { count: 1, per: lifetime }
    do: [ { log: { message: x } } ]
`);
    const e = { rules, serviceFullName: LOGIN, event: loginEvent(), eventKey: 'k', now: at('2026-03-01T00:00:00Z') };
    const first = evaluateOnDocument(undefined, e);
    expect(first.next).toBeDefined();
    const again = evaluateOnDocument(first.next, { ...e, now: e.now + 1000 });
    expect(again.next).toBeUndefined();
    expect(again.result.plan).toHaveLength(1);
  });
});

describe('validation', () => {
  it('reports bad windows, zones, reset hours, cooldowns, operators, events and rules with line and fix', () => {
    const found = problems(`
  - name: a
    on: userLoggedIn
    limit: { count: 1, per: fortnight }
    do: [ { log: { message: x } } ]
  - name: b
    on: userLoggedIn
    limit: { count: 1, per: day, timeZone: asia/tokyo }
    do: [ { log: { message: x } } ]
  - name: c
    on: userLoggedIn
    limit: { count: 1, per: day, resetAt: "5am" }
    cooldown: soon
    do: [ { log: { message: x } } ]
  - name: d
    on: userLoggedIn
    when: { ">": [ { count: [ userLogedIn, 24h ] }, 1 ] }
    do: [ { log: { message: x } } ]
  - name: e
    on: userLoggedIn
    when: { ">": [ { fired: [ rewrd, day ] }, 1 ] }
    do: [ { log: { message: x } } ]
  - name: f
    on: userLoggedIn
    when: { ">": [ { streak: [ userLoggedIn, month ] }, 1 ] }
    limit: { count: 1, per: day, window: 2 }
    do: [ { log: { message: x } } ]
  - name: g
    on: userLoggedIn
    when: { ">": [ { count: [ userLoggedIn ] }, 1 ] }
    do: [ { log: { message: x } } ]
`);
    const by = (rule: string) => found.filter((p) => p.rule === rule).map((p) => `${p.line}:${p.column} ${p.code} ${p.message} | ${p.fix ?? ''}`);
    expect(by('a')).toEqual([expect.stringMatching(/^6:\d+ state-window limit: "fortnight" is not a window \| write day, week/)]);
    expect(by('b')).toEqual([expect.stringMatching(/^10:\d+ state-window .*not an IANA time zone.*\| write Asia\/Tokyo/)]);
    expect(by('c')).toEqual([expect.stringMatching(/^14:\d+ state-window limit: resetAt must be/), expect.stringMatching(/^15:\d+ state-window cooldown: "soon" is not a duration/)]);
    expect(by('d')).toEqual([expect.stringMatching(/^19:\d+ unknown-event count: unknown event "userLogedIn".*\| did you mean "userLoggedIn"/)]);
    expect(by('e')).toEqual([expect.stringMatching(/^23:\d+ unknown-rule fired: no rule is named "rewrd"/)]);
    expect(by('f').join('\n')).toMatch(/streak counts consecutive days or weeks/);
    expect(by('f').join('\n')).toMatch(/unknown key "window"/);
    expect(by('g')).toEqual([expect.stringMatching(/^32:\d+ state-operator count takes \[event, window/)]);
  });
});

describe('what a player\'s record costs', () => {
  it('the five issue examples, 10 logins a day for 60 days: under 4 KB, entries kept 7 days (the retention), lifetime totals kept', () => {
    const rules = compile(`
  - { name: daily-login-reward, on: userLoggedIn, limit: { count: 1, per: day, timeZone: Asia/Tokyo }, do: [ { log: { message: x } } ] }
  - { name: first-login-bonus, on: userLoggedIn, limit: { count: 1, per: lifetime }, do: [ { log: { message: x } } ] }
  - { name: gift-every-6h, on: userLoggedIn, cooldown: 6h, do: [ { log: { message: x } } ] }
  - { name: busy-bee, on: userLoggedIn, when: { ">=": [ { count: [ userLoggedIn, 24h ] }, 3 ] }, limit: { count: 1, per: day }, do: [ { log: { message: x } } ] }
  - { name: login-streak-7, on: userLoggedIn, when: { "==": [ { streak: [ userLoggedIn, day, Asia/Tokyo ] }, 7 ] }, do: [ { log: { message: x } } ] }
`);
    const t0 = at('2026-01-01T00:00:00Z');
    let doc: StateDocument | undefined;
    let largest = 0;
    for (let d = 0; d < 60; d++) {
      for (let i = 0; i < 10; i++) {
        const id = `${d}-${i}-0f8fad5b-d9cb-469f-a165-70867728950e`;
        const change = evaluateOnDocument(doc, { rules, serviceFullName: LOGIN, event: loginEvent({ id }), eventKey: id, now: t0 + d * 86_400_000 + i * 8_640_000 });
        if (change.next) doc = change.next;
        largest = Math.max(largest, JSON.stringify(doc).length);
      }
    }
    expect(largest).toBeLessThan(4096);
    const events = (doc!.events as Record<string, { n: number; h: [number, string][]; s: Record<string, [number, number][]> }>).userLoggedIn!;
    expect(events.n).toBe(600);
    expect(events.h).toHaveLength(70); // 7 days x 10
    expect(Object.values(events.s)[0]).toEqual([[expect.any(Number), expect.any(Number)]]); // one run for 60 days in a row
    const firings = doc!.rules as Record<string, { n: number; h: unknown[] }>;
    expect(firings['first-login-bonus']!.n).toBe(1);
    expect(firings['daily-login-reward']!.n).toBe(61); // 60 UTC days of logins touch 61 Tokyo days
    expect(firings['daily-login-reward']!.h).toHaveLength(7);
  });
});

describe('redelivery later', () => {
  it('a redelivered event is decided at the instant it was first handled (same day, same cooldown), so its decision does not change', async () => {
    const send = deliverer(compile(`
  - name: daily
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, day ] }, 1 ] }
    limit: { count: 1, per: day }
    do: [ { log: { message: hi } } ]
`));
    expect((await send('e1', '2026-03-01T10:00:00Z')).fired).toEqual(['daily']);
    expect((await send('e2', '2026-03-01T11:00:00Z')).suppressed).toEqual({ daily: 'limit' });
    // e2 redelivered the next day: still decided as of Mar 1 (it was recorded then): still refused
    expect((await send('e2', '2026-03-02T09:00:00Z')).suppressed).toEqual({ daily: 'limit' });
    // a new event of Mar 2 fires
    expect((await send('e3', '2026-03-02T09:00:00Z')).fired).toEqual(['daily']);
    // e1 redelivered on Mar 2: finds its own firing of Mar 1, proceeds
    expect((await send('e1', '2026-03-02T10:00:00Z')).fired).toEqual(['daily']);
  });
});

describe('bounds', () => {
  it('a very active player keeps at most the latest 1000 entries per event and per rule; limit.count is at most 900 per rolling window (more per calendar period: test/state/caps.test.ts)', () => {
    const rules = compile(`
  - name: every
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, P7D ] }, 1 ] }
    limit: { count: 900, per: P7D }
    do: [ { log: { message: x } } ]
`);
    let doc: StateDocument | undefined;
    const t0 = at('2026-03-01T00:00:00Z');
    for (let i = 0; i < 1500; i++) {
      const change = evaluateOnDocument(doc, { rules, serviceFullName: LOGIN, event: loginEvent({ id: `e${i}` }), eventKey: `e${i}`, now: t0 + i * 1000 });
      if (change.next) doc = change.next;
    }
    const events = (doc!.events as Record<string, { n: number; h: [number, string][] }>).userLoggedIn!;
    expect(events.n).toBe(1500);
    expect(events.h.length).toBeGreaterThanOrEqual(900);
    expect(events.h.length).toBeLessThanOrEqual(1000);
    expect(events.h[events.h.length - 1]![0]).toBe(t0 + 1499 * 1000); // the latest kept
    expect(events.h[0]![0]).toBe(t0 + (1500 - events.h.length) * 1000);
    expect(JSON.stringify(doc).length).toBeLessThan(70_000);
    expect(problems(`
  - name: too-many
    on: userLoggedIn
    limit: { count: 901, per: 24h }
    do: [ { log: { message: x } } ]
`).map((p) => p.message)).toEqual([expect.stringMatching(/limit: a count of 901 per rolling 24h is more than 900/)]);
  });
});

describe('order of recording, not clocks', () => {
  it('an old event redelivered after later ones is evaluated on the record as it was: a "third login" is granted once', async () => {
    const send = deliverer(compile(`
  - name: third
    on: userLoggedIn
    when: { "==": [ { count: [ userLoggedIn, lifetime ] }, 3 ] }
    do: [ { log: { message: third } } ]
  - name: third-today
    on: userLoggedIn
    when: { "==": [ { count: [ userLoggedIn, day ] }, 3 ] }
    do: [ { log: { message: third today } } ]
`));
    for (const id of ['e1', 'e2']) expect((await send(id, '2026-03-01T10:00:00Z')).fired).toEqual([]);
    expect((await send('e3', '2026-03-01T10:00:00Z')).fired).toEqual(['third', 'third-today']);
    // e1 redelivered: the count it sees is still 1, not 3
    expect((await send('e1', '2026-03-01T11:00:00Z')).fired).toEqual([]);
    // e3 redelivered after e4: still the third (its actions are deduplicated downstream)
    expect((await send('e4', '2026-03-01T12:00:00Z')).fired).toEqual([]);
    expect((await send('e3', '2026-03-01T13:00:00Z')).fired).toEqual(['third', 'third-today']);
  });

  it('a replica whose clock lags still counts the firing another replica recorded first (rolling and calendar limits, cooldown)', async () => {
    const send = deliverer(compile(`
  - name: per-24h
    on: userLoggedIn
    limit: { count: 1, per: 24h }
    do: [ { log: { message: a } } ]
  - name: per-day
    on: userLoggedIn
    limit: { count: 1, per: day }
    do: [ { log: { message: b } } ]
  - name: cool
    on: userLoggedIn
    cooldown: 1h
    do: [ { log: { message: c } } ]
`));
    // replica A's clock says 00:00:00.500 on Mar 2, replica B's (behind) says 23:59:59.900 on Mar 1; A commits first
    expect((await send('a', '2026-03-02T00:00:00.500Z')).fired).toEqual(['per-24h', 'per-day', 'cool']);
    expect((await send('b', '2026-03-01T23:59:59.900Z')).suppressed).toEqual({ 'per-24h': 'limit', 'per-day': 'limit', cool: 'cooldown' });
  });
});
