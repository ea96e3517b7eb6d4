/**
 * Issue 14 end to end: stateful rules on real processes (`node dist/main.js`),
 * the AGS stand-in and a real gRPC sender. The rules' clock is moved with
 * TEST_CLOCK_FILE (test-only), so a day boundary in Asia/Tokyo is crossed
 * without waiting. Each case uses its own player.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import { liveEnv, useAgsStandIn } from '../support/ags-fixture.js';
import { describeWith } from '../support/prereq.js';
import { LOGIN_SERVICE, builtApp, callOnce, clientPool, encode, loginEvent, metricValue, startApp, stopAll, tempDir, userId, runCli } from './support.js';
import type { AppProcess, CliResult } from './support.js';

const ready = builtApp();

const ITEMS = ['daily', 'first-bonus', 'gift', 'busy-bee', 'streak-chest'];

const STATEFUL_RULES = `version: 1
rules:
  - name: daily-login-reward
    on: userLoggedIn
    limit: { count: 1, per: day, timeZone: Asia/Tokyo }
    do: [ { grantItem: { itemId: daily, userId: "\${event.userId}" } } ]
  - name: first-login-bonus
    on: userLoggedIn
    limit: { count: 1, per: lifetime }
    do: [ { grantItem: { itemId: first-bonus, userId: "\${event.userId}" } } ]
  - name: gift-every-6h
    on: userLoggedIn
    cooldown: 6h
    do: [ { grantItem: { itemId: gift, userId: "\${event.userId}" } } ]
  - name: busy-bee
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, 24h ] }, 3 ] }
    limit: { count: 1, per: day }
    do: [ { grantItem: { itemId: busy-bee, userId: "\${event.userId}" } } ]
  - name: login-streak-3
    on: userLoggedIn
    when: { "==": [ { streak: [ userLoggedIn, day, Asia/Tokyo ] }, 3 ] }
    do: [ { grantItem: { itemId: streak-chest, userId: "\${event.userId}" } } ]
`;

describeWith(ready, 'e2e: stateful rules (issue 14)', () => {
  const ags = useAgsStandIn({ items: ITEMS.map((id) => ({ id })) }, { resetAfterEach: false }); // one player's history across the tests
  let app: AppProcess;
  let clock: string;
  let c: grpc.Client;
  const clients = clientPool();

  beforeAll(async () => {
    const dir = tempDir('eer-e2e-state-');
    const rulesFile = join(dir, 'rules.yaml');
    writeFileSync(rulesFile, STATEFUL_RULES);
    clock = join(dir, 'clock');
    writeFileSync(clock, '2026-03-01T00:00:00Z');
    app = await startApp({
      env: liveEnv(ags, { RULES_FILE: rulesFile, TEST_CLOCK_FILE: clock, DEAD_LETTER_FILE: join(dir, 'dead-letters.jsonl') }),
    });
    c = clients.connect(app);
  });
  afterAll(async () => {
    clients.closeAll();
    await stopAll();
  });

  /** Sets the app's clock, then delivers a login of `user` with id `id`; expects OK. */
  async function login(user: string, id: string, iso: string): Promise<void> {
    writeFileSync(clock, iso);
    const r = await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id, userId: user })));
    expect(r, `${id} at ${iso}`).toEqual({ code: grpc.status.OK, details: '' });
  }
  const granted = (user: string, item: string): number => ags.fulfillments.filter((f) => f.userId === user && f.itemId === item).reduce((s, f) => s + f.quantity, 0);

  it('daily limit per calendar day in Asia/Tokyo, across the local midnight (still the same UTC day)', async () => {
    const u = userId();
    await login(u, `${u}-1`, '2026-03-01T14:00:00Z'); // 23:00 JST
    expect(granted(u, 'daily')).toBe(1);
    await login(u, `${u}-2`, '2026-03-01T14:59:59Z'); // 23:59:59 JST
    expect(granted(u, 'daily')).toBe(1);
    await login(u, `${u}-3`, '2026-03-01T15:00:00Z'); // 00:00 JST the next day
    expect(granted(u, 'daily')).toBe(2);
    await login(u, `${u}-4`, '2026-03-01T23:00:00Z');
    expect(granted(u, 'daily')).toBe(2);
    expect(granted(u, 'first-bonus')).toBe(1); // lifetime: once
    const metrics = await app.metrics();
    expect(metricValue(metrics, 'event_rules_firings_suppressed_total', { rule: 'daily-login-reward', reason: 'limit' })).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics, 'event_rules_firings_suppressed_total', { rule: 'first-login-bonus', reason: 'limit' })).toBeGreaterThanOrEqual(3);
  });

  it('cooldown: at least 6 h between two gifts', async () => {
    const u = userId();
    await login(u, `${u}-1`, '2026-04-01T00:00:00Z');
    await login(u, `${u}-2`, '2026-04-01T05:59:59Z');
    expect(granted(u, 'gift')).toBe(1);
    await login(u, `${u}-3`, '2026-04-01T06:00:00Z');
    expect(granted(u, 'gift')).toBe(2);
    expect(metricValue(await app.metrics(), 'event_rules_firings_suppressed_total', { rule: 'gift-every-6h', reason: 'cooldown' })).toBeGreaterThanOrEqual(1);
  });

  it('count in a 24 h window, and a redelivered event is not counted twice', async () => {
    const u = userId();
    const first = await encode(LOGIN_SERVICE, loginEvent({ id: `${u}-1`, userId: u }));
    writeFileSync(clock, '2026-05-01T00:00:00Z');
    for (let i = 0; i < 3; i++) expect((await callOnce(c, first)).code).toBe(grpc.status.OK); // one event, delivered 3 times
    await login(u, `${u}-2`, '2026-05-01T01:00:00Z');
    expect(granted(u, 'busy-bee')).toBe(0); // 2 distinct events
    await login(u, `${u}-3`, '2026-05-01T02:00:00Z');
    expect(granted(u, 'busy-bee')).toBe(1);
    expect(granted(u, 'first-bonus')).toBe(1);
    // out of the window: the next day, one event in the last 24 h
    await login(u, `${u}-4`, '2026-05-02T12:00:00Z');
    expect(granted(u, 'busy-bee')).toBe(1);
  });

  it('streak of days in Asia/Tokyo: continued for 3 days, broken by a missing day, continued again', async () => {
    const u = userId();
    await login(u, `${u}-d1`, '2026-06-01T01:00:00Z'); // Jun 1 JST
    await login(u, `${u}-d2`, '2026-06-01T16:00:00Z'); // Jun 2 01:00 JST
    await login(u, `${u}-d2b`, '2026-06-02T10:00:00Z'); // Jun 2 19:00 JST
    expect(granted(u, 'streak-chest')).toBe(0);
    await login(u, `${u}-d3`, '2026-06-03T01:00:00Z'); // Jun 3
    expect(granted(u, 'streak-chest')).toBe(1);
    await login(u, `${u}-d5`, '2026-06-05T01:00:00Z'); // Jun 4 missed: broken
    await login(u, `${u}-d6`, '2026-06-06T01:00:00Z');
    expect(granted(u, 'streak-chest')).toBe(1);
    await login(u, `${u}-d7`, '2026-06-07T01:00:00Z');
    expect(granted(u, 'streak-chest')).toBe(2);
    expect(ags.violations).toEqual([]);
  });
});

describeWith(ready, 'e2e: a limited rule whose action is dead-lettered consumed its firing; replay runs it again', () => {
  afterAll(async () => {
    await stopAll();
  });

  it('a replay that would run nothing (the rule no longer matches the event) is answered FAILED_PRECONDITION and its dead letter is kept', async () => {
    const ags = await startAgsStandIn();
    const clients = clientPool();
    try {
      const dir = tempDir('eer-e2e-state-dl2-');
      const rule = (when: string): string => `version: 1
rules:
  - name: first-login-bonus
    on: userLoggedIn
    when: ${when}
    limit: { count: 1, per: lifetime }
    do: [ { grantItem: { itemId: later-item, userId: "\${event.userId}" } } ]
`;
      const v1 = join(dir, 'v1.yaml');
      const v2 = join(dir, 'v2.yaml');
      writeFileSync(v1, rule('{ "==": [ { var: payload.userAccount.country }, FR ] }'));
      writeFileSync(v2, rule('{ "==": [ { var: payload.userAccount.country }, JP ] }'));
      const env = { AB_BASE_URL: ags.url, AB_CLIENT_ID: ags.clientId, AB_CLIENT_SECRET: ags.clientSecret, AB_NAMESPACE: 'mygame' };
      const first = await startApp({ env: { ...env, RULES_FILE: v1 } });
      const u = userId();
      expect((await callOnce(clients.connect(first), await encode(LOGIN_SERVICE, loginEvent({ id: `${u}-1`, userId: u })))).code).toBe(grpc.status.OK); // 404 item: dead letter
      ags.addItem({ id: 'later-item' });
      const replay = (app: { address: string }): Promise<CliResult> => runCli(['replay', '--target', app.address], { env, cwd: dir });
      // the rules changed: the rule no longer matches this event, so the replay would run nothing
      const second = await startApp({ env: { ...env, RULES_FILE: v2 } });
      const refused = await replay(second);
      expect(refused.stdout).toMatch(/FAILED_PRECONDITION first-login-bonus\/grantItem#0 .*replay of rule first-login-bonus: its condition is false for this event now; nothing ran, the dead letter is kept/);
      expect(refused.stdout).toMatch(/0 of 1 replayed OK/);
      expect(refused.code).toBe(1);
      expect(ags.grants()).toBe(0);
      await second.stop();
      // the dead letter is still there: with the rule back (the first process runs it, it kept running), the replay grants
      const ok = await replay(first);
      expect(ok.stdout).toMatch(/1 of 1 replayed OK/);
      expect(ok.code).toBe(0);
      expect(ags.grants()).toBe(1);
      expect(ags.violations).toEqual([]);
    } finally {
      clients.closeAll();
      await stopAll();
      await ags.close();
    }
  });

  it('the replay is not refused by its own limit, another event is', async () => {
    const ags = await startAgsStandIn();
    const clients = clientPool();
    try {
      const dir = tempDir('eer-e2e-state-dl-');
      const rulesFile = join(dir, 'rules.yaml');
      const deadLetterFile = join(dir, 'dead-letters.jsonl');
      writeFileSync(rulesFile, `version: 1
rules:
  - name: first-login-bonus
    on: userLoggedIn
    limit: { count: 1, per: lifetime }
    do: [ { grantItem: { itemId: later-item, userId: "\${event.userId}" } } ]
`);
      const app = await startApp({ env: { AB_BASE_URL: ags.url, AB_CLIENT_ID: ags.clientId, AB_CLIENT_SECRET: ags.clientSecret, AB_NAMESPACE: 'mygame', RULES_FILE: rulesFile, DEAD_LETTER_FILE: deadLetterFile } });
      const c = clients.connect(app);
      const u = userId();
      const e1 = await encode(LOGIN_SERVICE, loginEvent({ id: `${u}-1`, userId: u }));
      expect((await callOnce(c, e1)).code).toBe(grpc.status.OK); // 404 item: dead letter
      expect(ags.grants()).toBe(0);
      // the firing is consumed: a later login is refused by the limit
      expect((await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: `${u}-2`, userId: u })))).code).toBe(grpc.status.OK);
      expect(metricValue(await app.metrics(), 'event_rules_firings_suppressed_total', { rule: 'first-login-bonus', reason: 'limit' })).toBe(1);

      ags.addItem({ id: 'later-item' });
      // the default store (Cloud Save) holds the dead letter: replay reads it with the server's environment
      const storeEnv = { AB_BASE_URL: ags.url, AB_CLIENT_ID: ags.clientId, AB_CLIENT_SECRET: ags.clientSecret, AB_NAMESPACE: 'mygame' };
      const { code, stdout } = await runCli(['replay', '--target', app.address], { env: storeEnv, cwd: dir });
      expect(stdout).toMatch(/1 of 1 replayed OK/);
      expect(code).toBe(0);
      expect(ags.fulfillments.map((f) => ({ namespace: f.namespace, userId: f.userId, itemId: f.itemId, quantity: f.quantity }))).toEqual([{ namespace: 'mygame', userId: u, itemId: 'later-item', quantity: 1 }]);
      // and a third event is still refused
      expect((await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: `${u}-3`, userId: u })))).code).toBe(grpc.status.OK);
      expect(ags.grants()).toBe(1);
      expect(ags.violations).toEqual([]);
    } finally {
      clients.closeAll();
      await stopAll();
      await ags.close();
    }
  });
});
