/**
 * Issue 14's five examples, verbatim (comments included, no `userId` in the
 * actions: they take the event's player), end to end: real processes on the
 * AGS Cloud Save state store of the AGS stand-in (no Redis), two replicas and
 * a `kill -9` in the middle, the replicas in the time zones UTC+14 and
 * UTC-3:30, a real gRPC sender, the rules' clock moved with TEST_CLOCK_FILE
 * (test-only). Each scenario uses its own player; the metrics
 * of suppressed firings are checked exactly.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { liveEnv, useAgsStandIn } from '../support/ags-fixture.js';
import { describeWith } from '../support/prereq.js';
import { LOGIN_SERVICE, builtApp, callOnce, clientPool, encode, loginEvent, metricValue, startApp, stopAll, tempDir, userId } from './support.js';
import type { AppProcess, Encoded } from './support.js';

const ready = builtApp();

/** The issue's block, as written there. */
const ISSUE_EXAMPLES = `
  - name: daily-login-reward
    on: userLoggedIn
    limit: { count: 1, per: day, timeZone: Asia/Tokyo }   # at most 1 firing per player per calendar day in that zone
    do: [ { grantItem: { itemId: "\${env.DAILY_ITEM}" } } ]

  - name: first-login-bonus
    on: userLoggedIn
    limit: { count: 1, per: lifetime }
    do: [ { grantItem: { itemId: first-bonus } } ]

  - name: gift-every-6h
    on: userLoggedIn
    cooldown: 6h                                            # at least 6 h between two firings for the player
    do: [ { creditWallet: { currencyCode: GEMS, amount: 5 } } ]

  - name: busy-bee
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, 24h ] }, 3 ] }  # this player's userLoggedIn events in the last 24 h, this one included
    limit: { count: 1, per: day }
    do: [ { unlockAchievement: { achievementCode: busy-bee } } ]

  - name: login-streak-7
    on: userLoggedIn
    when: { "==": [ { streak: [ userLoggedIn, day, Asia/Tokyo ] }, 7 ] }   # consecutive calendar days with at least one, up to today
    do: [ { grantItem: { itemId: streak-7-chest } } ]
`;

describeWith(ready, 'e2e: the five examples of issue 14, verbatim, on Cloud Save without Redis', () => {
  const ags = useAgsStandIn({ items: ['daily', 'first-bonus', 'streak-7-chest'].map((id) => ({ id })) }, { resetAfterEach: false }); // the players' histories across the tests
  let env: Record<string, string>;
  let clock: string;
  const apps: AppProcess[] = [];
  const clients = clientPool();

  beforeAll(async () => {
    const dir = tempDir('eer-e2e-state-verbatim-');
    const rulesFile = join(dir, 'rules.yaml');
    writeFileSync(rulesFile, `version: 1\nrules:\n${ISSUE_EXAMPLES}`);
    clock = join(dir, 'clock');
    writeFileSync(clock, '2026-03-01T00:00:00Z');
    env = liveEnv(ags, { RULES_FILE: rulesFile, TEST_CLOCK_FILE: clock, STATE_STORE: 'cloudsave', DAILY_ITEM: 'daily' });
    // the machines' own time zones play no part: the replicas run in UTC+14 and UTC-3:30
    apps.push(await startApp({ env: { ...env, TZ: 'Pacific/Kiritimati' } }), await startApp({ env: { ...env, TZ: 'America/St_Johns' } }));
  });
  afterAll(async () => {
    clients.closeAll();
    await stopAll();
  });

  /** Sets the clock, then delivers `e` to replica `replica` (0 or 1); expects OK. */
  async function deliver(e: Encoded, iso: string, replica = 0): Promise<void> {
    writeFileSync(clock, iso);
    const r = await callOnce(clients.connect(apps[replica]!), e);
    expect(r, `at ${iso}`).toEqual({ code: grpc.status.OK, details: '' });
  }
  const login = async (user: string, id: string, iso: string, replica = 0): Promise<void> => deliver(await encode(LOGIN_SERVICE, loginEvent({ id, userId: user })), iso, replica);
  const granted = (user: string, item: string): number => ags.fulfillments.filter((f) => f.userId === user && f.itemId === item).reduce((s, f) => s + f.quantity, 0);
  const gems = (user: string): number => ags.walletTransactions.filter((t) => t.userId === user && t.currencyCode === 'GEMS').reduce((s, t) => s + t.amount, 0);
  const unlocks = (user: string): number => ags.requests.filter((r) => r.operation === 'AdminUnlockAchievement' && r.path.includes(`/users/${user}/achievements/busy-bee/`) && typeof r.outcome === 'number' && r.outcome < 300).length;
  const SUPPRESSED: readonly (readonly [string, string])[] = [
    ['daily-login-reward', 'limit'],
    ['first-login-bonus', 'limit'],
    ['gift-every-6h', 'cooldown'],
    ['busy-bee', 'limit'],
    ['daily-login-reward', 'cooldown'],
    ['gift-every-6h', 'limit'],
  ];
  /** event_rules_firings_suppressed_total per rule and reason, summed over the replicas. */
  async function suppressed(): Promise<Record<string, number>> {
    const texts = await Promise.all(apps.map((a) => a.metrics()));
    return Object.fromEntries(SUPPRESSED.map(([rule, reason]) => [`${rule}/${reason}`, texts.reduce((s, t) => s + metricValue(t, 'event_rules_firings_suppressed_total', { rule, reason }), 0)]));
  }
  const delta = (before: Record<string, number>, after: Record<string, number>): Record<string, number> => Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!]));

  it('daily reward per Tokyo day, first-login bonus once, a gift at most every 6 h, busy-bee on the 3rd login in 24 h; suppressed firings counted per rule and reason, exactly', async () => {
    const u = userId();
    const before = await suppressed();
    await login(u, `${u}-1`, '2026-03-01T14:00:00Z'); // 23:00 JST Mar 1
    expect([granted(u, 'daily'), granted(u, 'first-bonus'), gems(u), unlocks(u)]).toEqual([1, 1, 5, 0]);
    await login(u, `${u}-2`, '2026-03-01T14:59:59Z', 1); // 23:59:59 JST, on the other replica
    expect([granted(u, 'daily'), granted(u, 'first-bonus'), gems(u), unlocks(u)]).toEqual([1, 1, 5, 0]);
    await login(u, `${u}-3`, '2026-03-01T15:00:00Z'); // 00:00 JST Mar 2: a new Tokyo day; the 3rd login in 24 h
    expect([granted(u, 'daily'), granted(u, 'first-bonus'), gems(u), unlocks(u)]).toEqual([2, 1, 5, 1]);
    await login(u, `${u}-4`, '2026-03-01T20:00:00Z', 1); // exactly 6 h after the first gift; busy-bee: once per (UTC) day
    expect([granted(u, 'daily'), granted(u, 'first-bonus'), gems(u), unlocks(u)]).toEqual([2, 1, 10, 1]);
    await login(u, `${u}-5`, '2026-03-02T00:00:00Z'); // a new UTC day: busy-bee again (4 logins in 24 h)
    expect([granted(u, 'daily'), granted(u, 'first-bonus'), gems(u), unlocks(u)]).toEqual([2, 1, 10, 2]);
    expect(delta(before, await suppressed())).toEqual({
      'daily-login-reward/limit': 3, // 2, 4, 5
      'first-login-bonus/limit': 4, // 2, 3, 4, 5
      'gift-every-6h/cooldown': 3, // 2, 3, 5
      'busy-bee/limit': 1, // 4
      'daily-login-reward/cooldown': 0,
      'gift-every-6h/limit': 0,
    });
    expect(ags.violations).toEqual([]);
  });

  it('a redelivered login (3 times, on both replicas) is counted once and grants nothing twice; a redelivery refused again counts as a delivery in the metric', async () => {
    const u = userId();
    const first = await encode(LOGIN_SERVICE, loginEvent({ id: `${u}-1`, userId: u }));
    const before = await suppressed();
    await deliver(first, '2026-05-01T00:00:00Z');
    await deliver(first, '2026-05-01T00:00:05Z', 1);
    await deliver(first, '2026-05-01T00:00:10Z');
    await login(u, `${u}-2`, '2026-05-01T01:00:00Z', 1);
    expect(unlocks(u)).toBe(0); // two distinct logins, not four
    const third = await encode(LOGIN_SERVICE, loginEvent({ id: `${u}-3`, userId: u }));
    await deliver(third, '2026-05-01T02:00:00Z');
    await deliver(third, '2026-05-01T02:00:05Z', 1);
    expect([granted(u, 'daily'), granted(u, 'first-bonus'), gems(u), unlocks(u)]).toEqual([1, 1, 5, 1]);
    // per delivery, like event_rules_rule_evaluations_total: e1's two redeliveries find their own firings (not refused);
    // e2, e3 and e3's redelivery are refused by the daily limit, the lifetime limit and the cooldown
    expect(delta(before, await suppressed())).toMatchObject({ 'daily-login-reward/limit': 3, 'first-login-bonus/limit': 3, 'gift-every-6h/cooldown': 3, 'busy-bee/limit': 0 });
  });

  it('a 7-day streak in Tokyo across replicas and a kill -9: broken by a missing day, granted on the 7th day in a row, on each login of that day', async () => {
    const u = userId();
    const day = (d: number, hour = 1): string => new Date(Date.UTC(2026, 5, d, hour - 9)).toISOString(); // June d, hour:00 JST
    for (const d of [1, 2, 3]) await login(u, `${u}-d${d}`, day(d), d % 2);
    // June 4 missed: the streak starts again on June 5
    for (const d of [5, 6, 7, 8]) await login(u, `${u}-d${d}`, day(d), d % 2);
    expect(granted(u, 'streak-7-chest')).toBe(0);
    // replica 0 dies (kill -9) and comes back on the same Cloud Save records
    apps[0]!.child.kill('SIGKILL');
    await apps[0]!.exited;
    apps[0] = await startApp({ env: { ...env, TZ: 'Pacific/Kiritimati' } });
    for (const d of [9, 10]) await login(u, `${u}-d${d}`, day(d), d % 2);
    expect(granted(u, 'streak-7-chest')).toBe(0);
    await login(u, `${u}-d11`, day(11, 23), 0); // June 11 23:00 JST: the 7th day in a row (5..11)
    expect(granted(u, 'streak-7-chest')).toBe(1);
    // the example has no limit: another login the same day is also the 7th day
    await login(u, `${u}-d11b`, day(11, 23).replace(':00:00', ':30:00'), 1);
    expect(granted(u, 'streak-7-chest')).toBe(2);
    await login(u, `${u}-d12`, day(12), 0); // the 8th day
    expect(granted(u, 'streak-7-chest')).toBe(2);
    expect(granted(u, 'first-bonus')).toBe(1);
    expect(granted(u, 'daily')).toBe(11); // one per Tokyo day with a login (June 1-3, 5-12)
    expect(ags.violations).toEqual([]);
  });
});
