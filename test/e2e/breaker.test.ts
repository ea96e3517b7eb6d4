/**
 * Issue 22.5 end to end, default configuration (the Cloud Save store): a
 * failure that belongs to the deployment, not to the event, stops the line.
 * AGS refuses every grant (401 with a token IAM has just issued, 403, an item
 * that does not exist): the action pauses, its events are answered
 * UNAVAILABLE (the sidecar keeps them), one line says why, the gauge shows it;
 * once AGS is healed the next probe resumes it and every redelivered event is
 * granted once. Effects and dead letters are counted at the stand-in and by
 * the CLI. On the code before the breaker every one of these events was
 * answered OK and dead-lettered.
 */
import { expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { describeWith } from '../support/prereq.js';
import { exactValue } from '../telemetry/support.js';
import { builtApp, callOnce, deadLetters as listDeadLetters, deliverAll, loginEvents, pool, runCli, sharedApp, startApp, waitUntil, useLiveApps } from './support.js';
import type { AppProcess } from './support.js';

const RULE = { rule: 'grant-item-on-login', action: 'grantItem' };

describeWith(builtApp(), 'e2e: a failure of the deployment pauses the action (issue 22.5)', () => {
  const { ags, clients, env } = useLiveApps();

  /** The dead letters (kept in Cloud Save), read by the CLI with the server's environment. */
  const deadLetters = (): Promise<Record<string, unknown>[]> => listDeadLetters(env());
  const gauge = async (app: AppProcess): Promise<number> => exactValue(await app.metrics(), 'event_rules_actions_paused', RULE);
  const pausedCount = async (app: AppProcess): Promise<number> => exactValue(await app.metrics(), 'event_rules_actions_total', { ...RULE, outcome: 'paused' });
  const grantsOf = (users: readonly string[]): number[] => users.map((u) => ags.fulfillments.filter((f) => f.userId === u).reduce((n, f) => n + f.quantity, 0));
  const fulfillItemCalls = (): number => ags.serviceRequests().filter((r) => r.operation === 'fulfillItem').length;
  /**
   * One replica for the tests whose claims are about events, not about a start-up or a configuration of their own (the
   * two outages, the lone refusal): each test has players of its own, the stand-in is reset after each (its store, its
   * effects), the breaker has resumed when a test ends, and a test reads only the log lines written since it began.
   */
  const outageApp = sharedApp(() => ({ env: env({ BREAKER_PROBE_INTERVAL_MS: '3000' }) }));
  /** The log lines of `app` whose `msg` matches, written since `from` (its `logs.length` when the test began). */
  const linesSince = (app: AppProcess, from: number, msg: RegExp): Record<string, unknown>[] => app.logs.slice(from).filter((l) => typeof l.msg === 'string' && msg.test(l.msg));

  const OUTAGES = [
    {
      name: 'every platform call answered 401 while IAM still issues tokens (a permission removed from the IAM client)',
      status: 401,
      start: (): void => ags.always(/^\/platform\//, { status: 401, body: { errorCode: 20001, errorMessage: 'unauthorized access' } }),
      heal: (): void => ags.always(),
    },
    {
      name: 'every fulfillment answered 403 (the IAM client lacks the fulfillment permission)',
      status: 403,
      start: (): void => ags.deny(['fulfillItem']),
      heal: (): void => ags.deny([]),
    },
  ];

  it.each(OUTAGES)(
    '$name: every event UNAVAILABLE, no dead letter, one line naming it, gauge 1; healed, the next probe resumes and each event is granted once',
    async (o) => {
      const app = await outageApp();
      const from = app.logs.length;
      const lines = (msg: RegExp): Record<string, unknown>[] => linesSince(app, from, msg);
      const c = clients.connect(app);
      const { users, encoded } = await loginEvents(24, `outage-${o.status}`);
      o.start();

      // first delivery of each event, 6 at a time (as the sidecar's batch)
      const first = await pool(encoded.map((e) => () => callOnce(c, e)), 6);
      expect(first.map((r) => r.code)).toEqual(first.map(() => grpc.status.UNAVAILABLE));
      await waitUntil('the line saying grantItem is paused', () => lines(/paused/).length > 0);
      const [line, ...more] = lines(/paused/);
      expect(more).toEqual([]);
      expect(line).toMatchObject({ level: 'error', ...RULE, operation: 'fulfillItem', status: o.status });
      expect(line!.msg).toMatch(new RegExp(`^grantItem paused \\(rule grant-item-on-login\\): fulfillItem answered ${o.status} errorCode \\d+ .* on 3 consecutive events .*grantItem needs ADMIN:NAMESPACE:\\{namespace\\}:USER:\\{userId\\}:FULFILLMENT .* since \\d{4}-.*answered UNAVAILABLE until a probe succeeds`));
      // before the pause, at most 2 events were held with a line each; none since
      expect(lines(/held, the event will be redelivered/).length).toBeLessThanOrEqual(2);
      expect(await gauge(app)).toBe(1);

      // paused: a redelivery of every event is refused without calling AGS (but for the probes, held too)
      const callsBefore = fulfillItemCalls();
      const refusedBefore = await pausedCount(app);
      const second = await pool(encoded.map((e) => () => callOnce(c, e)), 6);
      for (const r of second) {
        expect(r.code).toBe(grpc.status.UNAVAILABLE);
        expect(r.details).toMatch(/grantItem paused \(rule grant-item-on-login\)/);
      }
      // refused without a call, counted for this redelivery only (the counter also holds the first delivery's); the
      // others were probes (one per BREAKER_PROBE_INTERVAL_MS, more of them on a slow machine), each at most 2 calls
      // (the one re-login on a 401)
      const refused = (await pausedCount(app)) - refusedBefore;
      expect(refused).toBeGreaterThan(0);
      expect(refused).toBeLessThanOrEqual(second.length);
      expect(fulfillItemCalls() - callsBefore).toBeLessThanOrEqual(2 * (second.length - refused));
      expect(ags.fulfillments).toEqual([]);
      expect(await deadLetters()).toEqual([]);
      expect(lines(/paused/)).toHaveLength(1);

      // healed: the sidecar keeps redelivering; the next probe succeeds and every event is granted once
      o.heal();
      await deliverAll(c, encoded);
      expect(grantsOf(users)).toEqual(users.map(() => 1));
      await waitUntil('the line saying grantItem resumed', () => lines(/^grantItem resumed/).length > 0);
      expect(lines(/^grantItem resumed/)).toHaveLength(1);
      expect(await gauge(app)).toBe(0);
      expect(await deadLetters()).toEqual([]);
      // and once more: nothing doubles
      for (const e of encoded) expect((await callOnce(c, e)).code).toBe(grpc.status.OK);
      expect(ags.grants()).toBe(24);
      expect(ags.violations).toEqual([]);
    },
    120_000,
  );

  it('an item that does not exist for every event: 9 dead letters, then paused (UNAVAILABLE, one line, gauge 1; a probe meeting the same error is a dead letter); the item created, the next probe resumes', async () => {
    const app = await startApp({ env: env({ ITEM_ID_TO_GRANT: 'missing-item', BREAKER_PROBE_INTERVAL_MS: '1000' }) });
    const c = clients.connect(app);
    const { users, encoded } = await loginEvents(15, 'no-item');
    const codes: grpc.status[] = [];
    for (const e of encoded) codes.push((await callOnce(c, e)).code); // one after the other: a deterministic streak
    // 9 dead letters, the 10th pauses; after it, an event let through as the probe (one per second) meets the same
    // error and is dead-lettered (OK), the others are held (UNAVAILABLE)
    expect(codes.slice(0, 10)).toEqual([...Array<grpc.status>(9).fill(grpc.status.OK), grpc.status.UNAVAILABLE]);
    const probed = codes.slice(10).filter((c) => c === grpc.status.OK).length;
    expect(codes.slice(10).filter((c) => c !== grpc.status.OK && c !== grpc.status.UNAVAILABLE)).toEqual([]);
    const letters = await deadLetters();
    expect(letters).toHaveLength(9 + probed);
    for (const l of letters) expect(l).toMatchObject({ ...RULE, error: { status: 404, errorCode: 30341 } });
    await waitUntil('the line saying grantItem is paused', () => app.logsMatching(/paused/).length > 0);
    expect(app.logsMatching(/paused/)).toHaveLength(1);
    expect(app.logsMatching(/paused/)[0]!.msg).toMatch(/^grantItem paused \(rule grant-item-on-login\): fulfillItem answered 404 errorCode 30341 .* on 10 consecutive events \(the same error for every event/);
    expect(await gauge(app)).toBe(1);

    ags.addItem({ id: 'missing-item' });
    const heldAt = codes.map((code, i) => (code === grpc.status.UNAVAILABLE ? i : -1)).filter((i) => i >= 0);
    await deliverAll(c, encoded.slice(9), { concurrency: 3 }); // the dead-lettered probes are duplicates now
    expect(grantsOf(users)).toEqual(codes.map((_, i) => (heldAt.includes(i) ? 1 : 0))); // dead-lettered: `replay` sends them
    await waitUntil('the line saying grantItem resumed', () => app.logsMatching(/^grantItem resumed/).length > 0);
    expect(await gauge(app)).toBe(0);
    expect(await deadLetters()).toHaveLength(9 + probed);
  });

  it('a lone event refused 403 among successes: held until another event succeeds, then a dead letter; the action never pauses', async () => {
    const app = await outageApp(); // BREAKER_PROBE_INTERVAL_MS=3000: no probe unless paused, and it never pauses
    const from = app.logs.length;
    const c = clients.connect(app);
    const { users, encoded } = await loginEvents(4, 'lone');
    const bad = users[0]!;
    ags.fail(`/users/${bad}/fulfillment`, Array.from({ length: 10 }, () => ({ status: 403, body: { errorCode: 20013, errorMessage: 'insufficient permissions' } })));
    expect((await callOnce(c, encoded[0]!)).code).toBe(grpc.status.UNAVAILABLE); // held: it may be the deployment's
    expect((await callOnce(c, encoded[1]!)).code).toBe(grpc.status.OK); // another event succeeds
    expect((await callOnce(c, encoded[0]!)).code).toBe(grpc.status.OK); // so the refusal is the event's own: dead-lettered
    for (const e of encoded.slice(2)) expect((await callOnce(c, e)).code).toBe(grpc.status.OK);
    const letters = await deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ ...RULE, eventId: `lone-${bad}`, error: { status: 403 } });
    expect(grantsOf(users)).toEqual([0, 1, 1, 1]);
    expect(linesSince(app, from, /paused/)).toEqual([]);
    expect(await gauge(app)).toBe(0);
  });
});

describeWith(builtApp(), 'e2e: the lookup alone refused (issue 22.5, checked from outside)', () => {
  const { ags, clients, env } = useLiveApps();

  const gauge = async (app: AppProcess): Promise<number> => exactValue(await app.metrics(), 'event_rules_actions_paused', RULE);

  it('fulfillments work, the fulfillment history is refused (403): 3 lost answers in a row are unknown-outcome dead letters naming the lookup and its permission; the action never pauses, the next events are granted at once', async () => {
    const app = await startApp({ env: env({ BREAKER_PROBE_INTERVAL_MS: '600000' }) });
    const c = clients.connect(app);
    const { users, encoded } = await loginEvents(6, 'lookup-403');
    ags.deny(['queryFulfillmentHistories']);
    // the first 3 grants are applied but their answers are lost; each redelivery needs the refused lookup
    for (const u of users.slice(0, 3)) ags.fail(`/users/${u}/fulfillment`, [{ reset: true, afterEffect: true }]);
    for (const e of encoded.slice(0, 3)) {
      expect((await callOnce(c, e)).code).toBe(grpc.status.UNAVAILABLE); // the answer is lost: reconciled at the redelivery
      expect((await callOnce(c, e)).code).toBe(grpc.status.OK); // the lookup refused: an unknown-outcome dead letter
    }
    // events that need no lookup are not refused: the fulfillments work
    for (const e of encoded.slice(3)) expect((await callOnce(c, e)).code).toBe(grpc.status.OK);
    expect(users.map((u) => ags.fulfillments.filter((f) => f.userId === u).length)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(app.logsMatching(/paused/)).toEqual([]);
    const letters = await listDeadLetters(env());
    expect(letters).toHaveLength(3);
    for (const l of letters) {
      expect(l).toMatchObject({ ...RULE, kind: 'unknown-outcome', error: { status: 403 } });
      expect(JSON.stringify(l.error)).toMatch(/queryFulfillmentHistories/);
    }
    const lines = await app.waitForLogs(/dead-lettered as unknown-outcome/, 3);
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(String(l.msg)).toMatch(/its lookup failed.*the IAM client needs ADMIN:NAMESPACE:\{namespace\}:FULFILLMENT \[READ\].*queryFulfillmentHistories.*403/);
    expect(await gauge(app)).toBe(0);
    // permission restored, replay: each looked up and found, none granted twice
    ags.deny([]);
    const replay = await runCli(['replay', '--target', app.address], { env: env() }); // in this process (the bin is proven in test/cli)
    expect(replay.stdout).toContain('3 of 3 replayed OK');
    expect(users.map((u) => ags.fulfillments.filter((f) => f.userId === u).length)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(await app.waitForLogs(/replay: found by its lookup, not sent again/, 3)).toHaveLength(3);
    expect(ags.violations).toEqual([]);
  });
});
