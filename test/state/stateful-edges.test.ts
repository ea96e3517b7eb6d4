/**
 * Issue 14, "other cases of the same kinds", on the real compiler, rule set
 * and MemoryStateStore: streaks across daylight saving changes, ISO week 53
 * and a reset hour; the edge of a rolling window; exactly once when a rule
 * reads its own firings or those of a rule after it (a redelivery decides as
 * the first delivery did); a limit of 3; two rules on one event, one limited;
 * hot reload (disabled and re-enabled, removed and added back).
 */
import { describe, expect, it } from 'vitest';
import type { RuleSet } from '../../src/rules/rule-set.js';
import { evaluateOnDocument } from '../../src/pipeline/evaluate.js';
import type { Track } from '../../src/state/ledger.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import type { StateDocument } from '../../src/store/state-store.js';
import { LOGIN, loginEvent } from '../rules/support/fixtures.js';
import { U2, compile, deliverer } from './support.js';

describe('streaks across time', () => {
  it('a streak across the autumn change in America/New_York with resetAt 01:30: a login in the repeated hour counts for the new day', async () => {
    const send = deliverer(
      await compile(`
  - name: streak-4
    on: userLoggedIn
    when: { "==": [ { streak: [ userLoggedIn, day, America/New_York, "01:30" ] }, 4 ] }
    do: [ { log: { message: streak } } ]
`),
    );
    expect((await send('d1', '2026-10-30T16:00:00Z')).fired).toEqual([]); // Oct 30 12:00 EDT
    expect((await send('d2', '2026-10-31T16:00:00Z')).fired).toEqual([]); // Oct 31
    expect((await send('d3', '2026-11-01T06:10:00Z')).fired).toEqual([]); // Nov 1 01:10 EST: after the first 01:30 (EDT), so Nov 1
    expect((await send('d4', '2026-11-02T17:00:00Z')).fired).toEqual(['streak-4']); // Nov 2 12:00 EST
  });

  it('a streak across the spring change (a 23-hour day) in America/New_York and Europe/London', async () => {
    const send = deliverer(
      await compile(`
  - name: ny-3
    on: userLoggedIn
    when: { "==": [ { streak: [ userLoggedIn, day, America/New_York ] }, 3 ] }
    do: [ { log: { message: ny } } ]
  - name: london-3
    on: userLoggedIn
    when: { "==": [ { streak: [ userLoggedIn, day, Europe/London ] }, 3 ] }
    do: [ { log: { message: london } } ]
`),
    );
    expect((await send('a', '2026-03-07T23:30:00Z')).fired).toEqual([]); // NY Mar 7 18:30; London Mar 7
    expect((await send('b', '2026-03-08T04:30:00Z')).fired).toEqual([]); // NY Mar 7 23:30 EST; London Mar 8
    expect((await send('c', '2026-03-09T03:30:00Z')).fired).toEqual(['london-3']); // NY Mar 8 23:30 EDT (the 23-hour day); London Mar 9
    expect((await send('d', '2026-03-09T04:30:00Z')).fired).toEqual(['ny-3', 'london-3']); // NY Mar 9 00:30 EDT
    expect((await send('e', '2026-03-28T12:00:00Z', U2)).fired).toEqual([]); // London Mar 28 GMT
    expect((await send('f', '2026-03-29T00:30:00Z', U2)).fired).toEqual([]); // London Mar 29 00:30 GMT: the 23-hour day
    expect((await send('g', '2026-03-29T23:30:00Z', U2)).fired).toEqual(['london-3']); // London Mar 30 00:30 BST
  });

  it('a streak of ISO weeks across the new year (week 52, week 53 of 2026, week 1 of 2027); a missing week breaks it', async () => {
    const send = deliverer(
      await compile(`
  - name: three-weeks
    on: userLoggedIn
    when: { "==": [ { streak: [ userLoggedIn, week ] }, 3 ] }
    do: [ { log: { message: weeks } } ]
`),
    );
    expect((await send('w52', '2026-12-27T23:00:00Z')).fired).toEqual([]); // Sunday of week 52
    expect((await send('w53', '2026-12-28T00:00:00Z')).fired).toEqual([]); // Monday of week 53
    expect((await send('w53b', '2027-01-03T23:59:00Z')).fired).toEqual([]); // Sunday of week 53, in 2027
    expect((await send('w1', '2027-01-04T00:00:00Z')).fired).toEqual(['three-weeks']); // week 1 of 2027
    expect((await send('w3', '2027-01-18T00:00:00Z')).fired).toEqual([]); // week 2 missing: 1
  });

  it('a streak of game days starting at 05:00 in Asia/Tokyo: a login at 04:30 belongs to the day before', async () => {
    const send = deliverer(
      await compile(`
  - name: two-days
    on: userLoggedIn
    when: { "==": [ { streak: [ userLoggedIn, day, Asia/Tokyo, "05:00" ] }, 2 ] }
    do: [ { log: { message: two } } ]
`),
    );
    expect((await send('a', '2026-03-01T10:00:00Z')).fired).toEqual([]); // Mar 1 19:00 JST
    expect((await send('b', '2026-03-01T19:30:00Z')).fired).toEqual([]); // Mar 2 04:30 JST: game day Mar 1
    expect((await send('c', '2026-03-01T20:00:00Z')).fired).toEqual(['two-days']); // Mar 2 05:00 JST
  });
});

describe('the edge of a rolling window', () => {
  it('count over 24h: a login exactly 24 h before is out of the window, 1 ms later it is in', async () => {
    const send = deliverer(
      await compile(`
  - name: twice-in-24h
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, 24h ] }, 2 ] }
    do: [ { log: { message: twice } } ]
  - name: once-per-24h
    on: userLoggedIn
    limit: { count: 1, per: 24h }
    do: [ { log: { message: once } } ]
`),
    );
    expect((await send('a1', '2026-03-01T00:00:00.000Z')).fired).toEqual(['once-per-24h']);
    expect((await send('a2', '2026-03-02T00:00:00.000Z')).fired).toEqual(['once-per-24h']); // a1 exactly 24 h ago: out
    expect((await send('b1', '2026-03-01T00:00:00.001Z', U2)).fired).toEqual(['once-per-24h']);
    expect((await send('b2', '2026-03-02T00:00:00.000Z', U2))).toMatchObject({ fired: ['twice-in-24h'], suppressed: { 'once-per-24h': 'limit' } }); // b1 is 1 ms inside
  });
});

describe('exactly once when a rule reads firings', () => {
  it('a rule capped by its own firings (fired of itself) decides a redelivery as the first delivery did', async () => {
    const send = deliverer(
      await compile(`
  - name: twice-a-day
    on: userLoggedIn
    when: { "<": [ { fired: [ twice-a-day, day ] }, 2 ] }
    do: [ { log: { message: hi } } ]
`),
    );
    expect((await send('e1', '2026-03-01T01:00:00Z')).fired).toEqual(['twice-a-day']);
    expect((await send('e2', '2026-03-01T02:00:00Z')).fired).toEqual(['twice-a-day']);
    expect((await send('e2', '2026-03-01T02:01:00Z')).fired).toEqual(['twice-a-day']); // redelivered: it still fires (its actions are deduplicated downstream)
    expect((await send('e1', '2026-03-01T02:02:00Z')).fired).toEqual(['twice-a-day']);
    expect((await send('e3', '2026-03-01T03:00:00Z')).fired).toEqual([]);
    expect((await send('e3', '2026-03-01T03:01:00Z')).fired).toEqual([]);
  });

  it('a rule reading the firings of a rule after it in the file: the firing of this same event is not yet there, on the first delivery and on a redelivery', async () => {
    const send = deliverer(
      await compile(`
  - name: first-of-the-day-consolation
    on: userLoggedIn
    when: { "==": [ { fired: [ daily, day ] }, 0 ] }
    do: [ { log: { message: consolation } } ]
  - name: daily
    on: userLoggedIn
    limit: { count: 1, per: day }
    do: [ { log: { message: daily } } ]
  - name: after-daily
    on: userLoggedIn
    when: { "==": [ { fired: [ daily, day ] }, 1 ] }
    do: [ { log: { message: after } } ]
`),
    );
    // a rule before daily does not see this event's firing; a rule after it does (file order)
    expect((await send('e1', '2026-03-01T01:00:00Z')).fired).toEqual(['first-of-the-day-consolation', 'daily', 'after-daily']);
    expect((await send('e1', '2026-03-01T01:05:00Z')).fired).toEqual(['first-of-the-day-consolation', 'daily', 'after-daily']);
    expect((await send('e2', '2026-03-01T02:00:00Z'))).toMatchObject({ fired: ['after-daily'], suppressed: { daily: 'limit' } });
    expect((await send('e2', '2026-03-01T02:05:00Z'))).toMatchObject({ fired: ['after-daily'], suppressed: { daily: 'limit' } });
  });

  it('a limit of 3 per day: 3 fire, the 4th is refused; redeliveries of the 2nd and the 4th keep their decisions the same day; never more than 3 a day', async () => {
    const send = deliverer(
      await compile(`
  - name: three-a-day
    on: userLoggedIn
    limit: { count: 3, per: day, timeZone: Asia/Tokyo }
    do: [ { log: { message: hi } } ]
`),
    );
    for (const [id, t] of [['e1', '01'], ['e2', '02'], ['e3', '03']] as const) expect((await send(id, `2026-03-01T${t}:00:00Z`)).fired).toEqual(['three-a-day']);
    expect((await send('e4', '2026-03-01T04:00:00Z')).suppressed).toEqual({ 'three-a-day': 'limit' });
    expect((await send('e2', '2026-03-01T05:00:00Z')).fired).toEqual(['three-a-day']);
    expect((await send('e4', '2026-03-01T06:00:00Z')).suppressed).toEqual({ 'three-a-day': 'limit' });
    // a refused event that no rule counts is not in the record: redelivered on Mar 2 (JST), it is decided on Mar 2, within Mar 2's limit
    expect((await send('e4', '2026-03-01T16:00:00Z')).fired).toEqual(['three-a-day']);
    expect((await send('e5', '2026-03-01T17:00:00Z')).fired).toEqual(['three-a-day']);
    expect((await send('e6', '2026-03-01T18:00:00Z')).fired).toEqual(['three-a-day']);
    expect((await send('e7', '2026-03-01T19:00:00Z')).suppressed).toEqual({ 'three-a-day': 'limit' });
  });

  it('two rules on one event, one limited: the other fires on every event; a redelivery plans both again (actions deduplicated downstream)', async () => {
    const send = deliverer(
      await compile(`
  - name: every-login
    on: userLoggedIn
    do: [ { log: { message: every } } ]
  - name: daily
    on: userLoggedIn
    limit: { count: 1, per: day }
    do: [ { log: { message: daily } } ]
`),
    );
    expect((await send('e1', '2026-03-01T01:00:00Z')).fired).toEqual(['every-login', 'daily']);
    expect((await send('e2', '2026-03-01T02:00:00Z'))).toMatchObject({ fired: ['every-login'], suppressed: { daily: 'limit' } });
    expect((await send('e1', '2026-03-01T03:00:00Z')).fired).toEqual(['every-login', 'daily']);
  });
});

describe('replicas whose clocks disagree; replays', () => {
  it('a login stamped ahead by a replica whose clock runs fast is counted by a replica behind it, and keeps the streak alive', async () => {
    const send = deliverer(
      await compile(`
  - name: twice-in-24h
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, 24h ] }, 2 ] }
    do: [ { log: { message: twice } } ]
  - name: two-days
    on: userLoggedIn
    when: { "==": [ { streak: [ userLoggedIn, day ] }, 2 ] }
    do: [ { log: { message: two days } } ]
`),
    );
    expect((await send('d1', '2026-03-01T12:00:00Z')).fired).toEqual([]);
    expect((await send('ahead', '2026-03-02T00:00:30Z')).fired).toEqual(['twice-in-24h', 'two-days']); // the fast replica: Mar 2
    expect((await send('behind', '2026-03-01T23:59:50Z')).fired).toEqual(['twice-in-24h']); // the slow one, after it: 3 in 24 h; streak still 1 on Mar 1
  });

  it('replay of a dead-lettered daily firing days later runs it (its own firing), within the retention; past it, the replay is a new event of the day it runs', async () => {
    const send = deliverer(
      await compile(`
  - name: daily
    on: userLoggedIn
    limit: { count: 1, per: day }
    do: [ { log: { message: daily } } ]
`),
    );
    expect((await send('e1', '2026-03-01T01:00:00Z')).fired).toEqual(['daily']); // say its action is dead-lettered
    expect((await send('e2', '2026-03-01T02:00:00Z')).suppressed).toEqual({ daily: 'limit' });
    expect((await send('e3', '2026-03-03T01:00:00Z')).fired).toEqual(['daily']);
    expect((await send('e1', '2026-03-03T02:00:00Z')).fired).toEqual(['daily']); // the replay, 2 days later: its own firing of Mar 1
    expect((await send('e4', '2026-03-03T03:00:00Z')).suppressed).toEqual({ daily: 'limit' }); // Mar 3's firing is e3's
    expect((await send('e6', '2026-03-11T01:00:00Z')).fired).toEqual(['daily']); // this write drops what is older than the 7-day retention
    expect((await send('e1', '2026-03-12T02:00:00Z')).fired).toEqual(['daily']); // past the retention: a new event of Mar 12
    expect((await send('e5', '2026-03-12T03:00:00Z')).suppressed).toEqual({ daily: 'limit' }); // and it consumed Mar 12
  });
});

describe('limit and cooldown on one rule', () => {
  it('both refuse: the reason is the limit; only the cooldown refuses: the cooldown', async () => {
    const send = deliverer(
      await compile(`
  - name: daily-gift
    on: userLoggedIn
    limit: { count: 2, per: day }
    cooldown: 1h
    do: [ { log: { message: gift } } ]
`),
    );
    expect((await send('e1', '2026-03-01T01:00:00Z')).fired).toEqual(['daily-gift']);
    expect((await send('e2', '2026-03-01T01:30:00Z')).suppressed).toEqual({ 'daily-gift': 'cooldown' });
    expect((await send('e3', '2026-03-01T02:00:00Z')).fired).toEqual(['daily-gift']);
    expect((await send('e4', '2026-03-01T02:30:00Z')).suppressed).toEqual({ 'daily-gift': 'limit' }); // the cooldown refuses too
    expect((await send('e5', '2026-03-01T05:00:00Z')).suppressed).toEqual({ 'daily-gift': 'limit' });
  });
});

describe('hot reload', () => {
  const MONTHLY = (enabled: boolean) => `
  - name: monthly
    on: userLoggedIn
    enabled: ${String(enabled)}
    limit: { count: 1, per: month }
    do: [ { log: { message: monthly } } ]
  - name: lifetime
    on: userLoggedIn
    limit: { count: 1, per: lifetime }
    do: [ { log: { message: once } } ]
`;

  it('a rule disabled then enabled again keeps its firings, beyond the 7-day retention: a monthly limit still refuses in the same month', async () => {
    let rules: RuleSet = await compile(MONTHLY(true));
    const send = deliverer(() => rules, new MemoryStateStore());
    expect((await send('e1', '2026-03-01T00:00:00Z')).fired).toEqual(['monthly', 'lifetime']);
    rules = await compile(MONTHLY(false));
    expect((await send('e2', '2026-03-12T00:00:00Z')).outcomes).toEqual({ lifetime: 'suppressed' });
    rules = await compile(MONTHLY(true));
    expect((await send('e3', '2026-03-20T00:00:00Z')).suppressed).toEqual({ monthly: 'limit', lifetime: 'limit' });
    expect((await send('e4', '2026-04-01T00:00:00Z')).fired).toEqual(['monthly']);
  });

  it('a lifetime limit added by a reload is never exceeded by an older event redelivered after it (decided on the record as it was, but the limit counts every firing)', async () => {
    const counting = `
  - name: logins
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, lifetime ] }, 1 ] }
    do: [ { log: { message: login } } ]
`;
    let rules: RuleSet = await compile(counting);
    const send = deliverer(() => rules, new MemoryStateStore());
    expect((await send('e1', '2026-03-01T00:00:00Z')).fired).toEqual(['logins']); // e1 is in the record
    rules = await compile(`${counting}
  - name: first-login-bonus
    on: userLoggedIn
    limit: { count: 1, per: lifetime }
    do: [ { log: { message: bonus } } ]
  - name: gift
    on: userLoggedIn
    cooldown: 6h
    do: [ { log: { message: gift } } ]
`);
    expect((await send('e2', '2026-03-02T00:00:00Z')).fired).toEqual(['logins', 'first-login-bonus', 'gift']);
    expect((await send('e1', '2026-03-02T01:00:00Z'))).toMatchObject({ fired: ['logins'], suppressed: { 'first-login-bonus': 'limit', gift: 'cooldown' } });
  });

  it('a rule watched in shadow mode, then made live: its shadow firings do not consume the live limit (a lifetime bonus is still granted once)', async () => {
    const bonus = (mode: string) => `
  - name: first-login-bonus
    on: userLoggedIn
    mode: ${mode}
    limit: { count: 1, per: lifetime }
    do: [ { log: { message: bonus } } ]
`;
    let rules: RuleSet = await compile(bonus('shadow'));
    const send = deliverer(() => rules, new MemoryStateStore());
    expect((await send('e1', '2026-03-01T00:00:00Z')).fired).toEqual(['first-login-bonus']); // planned in shadow: not executed
    expect((await send('e2', '2026-03-02T00:00:00Z')).suppressed).toEqual({ 'first-login-bonus': 'limit' }); // the shadow run shows the limit
    rules = await compile(bonus('live'));
    expect((await send('e3', '2026-03-03T00:00:00Z')).fired).toEqual(['first-login-bonus']);
    expect((await send('e4', '2026-03-04T00:00:00Z')).suppressed).toEqual({ 'first-login-bonus': 'limit' });
    expect((await send('e1', '2026-03-04T00:00:00Z')).fired).toEqual([]); // a redelivery of a shadow event after the switch: its firing was a shadow one
  });

  it('a limit added by a reload to a rule that had none counts from then: the firings before it were not recorded', async () => {
    const reward = (limit: string) => `
  - name: reward
    on: userLoggedIn
${limit}    do: [ { log: { message: reward } } ]
`;
    let rules: RuleSet = await compile(reward(''));
    const send = deliverer(() => rules, new MemoryStateStore());
    expect((await send('e1', '2026-03-01T00:00:00Z')).fired).toEqual(['reward']);
    rules = await compile(reward('    limit: { count: 1, per: lifetime }\n'));
    expect((await send('e2', '2026-03-02T00:00:00Z')).fired).toEqual(['reward']);
    expect((await send('e3', '2026-03-03T00:00:00Z')).suppressed).toEqual({ reward: 'limit' });
  });

  it('a window made longer by a reload counts what the record kept for the old one (its window, at least the 7-day retention)', async () => {
    const limited = (limit: string) => `
  - name: reward
    on: userLoggedIn
    limit: ${limit}
    do: [ { log: { message: reward } } ]
`;
    let rules: RuleSet = await compile(limited('{ count: 1, per: day }'));
    const send = deliverer(() => rules, new MemoryStateStore());
    expect((await send('e1', '2026-03-01T00:00:00Z')).fired).toEqual(['reward']);
    expect((await send('e2', '2026-03-10T00:00:00Z')).fired).toEqual(['reward']); // drops e1's firing: older than the day and the retention
    rules = await compile(limited('{ count: 2, per: month }'));
    expect((await send('e3', '2026-03-12T00:00:00Z')).fired).toEqual(['reward']); // March counts e2 only
    expect((await send('e4', '2026-03-13T00:00:00Z')).suppressed).toEqual({ reward: 'limit' });
  });

  it('a rule removed from the file and added back: its lifetime total is kept; its entries only for the retention (7 days), so a monthly limit counts again', async () => {
    let rules: RuleSet = await compile(MONTHLY(true));
    const send = deliverer(() => rules, new MemoryStateStore());
    expect((await send('e1', '2026-03-01T00:00:00Z')).fired).toEqual(['monthly', 'lifetime']);
    rules = await compile(`
  - name: plain-limit
    on: userLoggedIn
    limit: { count: 1, per: day }
    do: [ { log: { message: x } } ]
`);
    expect((await send('e2', '2026-03-12T00:00:00Z')).fired).toEqual(['plain-limit']); // the record is compacted: monthly's entry is older than 7 days
    rules = await compile(MONTHLY(true));
    expect((await send('e3', '2026-03-20T00:00:00Z'))).toMatchObject({ fired: ['monthly'], suppressed: { lifetime: 'limit' } });
  });
});

describe('what a record costs at the bound', () => {
  it('each event or rule at the bound keeps 900 to 1000 entries of at most 36 bytes: a record with one event and two rules there stays under 3 x 36 KB', async () => {
    const rules = await compile(`
  - name: every
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, P7D ] }, 1 ] }
    cooldown: 1s
    do: [ { log: { message: x } } ]
  - name: also
    on: userLoggedIn
    when: { ">=": [ { fired: [ also, P7D ] }, 0 ] }
    do: [ { log: { message: x } } ]
`);
    let doc: StateDocument | undefined;
    const t0 = Date.parse('2026-03-01T00:00:00Z');
    for (let i = 0; i < 2500; i++) {
      const id = `${i}-0f8fad5b-d9cb-469f-a165-70867728950e`;
      const change = evaluateOnDocument(doc, { rules, serviceFullName: LOGIN, event: loginEvent({ id }), eventKey: id, now: t0 + i * 60_000 });
      if (change.next) doc = change.next;
    }
    const tracks = [(doc!.events as Record<string, Track>).userLoggedIn!, (doc!.rules as Record<string, Track>).every!, (doc!.rules as Record<string, Track>).also!];
    for (const t of tracks) {
      expect(t.n).toBe(2500);
      expect(t.h.length).toBeGreaterThanOrEqual(900);
      expect(t.h.length).toBeLessThanOrEqual(1000);
      expect(JSON.stringify(t.h).length / t.h.length).toBeLessThanOrEqual(36); // [1772323200000,"Fd4kH5H-MZq",2500], (6-digit sequence numbers: 36)
    }
    expect(JSON.stringify(doc).length).toBeLessThan(3 * 36_000);
  });
});
