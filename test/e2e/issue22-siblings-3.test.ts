/**
 * Issue 22, attacked from outside (third round): siblings of its rows still
 * open after two rounds, end to end on real processes (`node dist/main.js`,
 * the AGS stand-in counting effects, a gRPC sender), default store (Cloud Save).
 *
 * - 22.1's sibling: Envoy's own 503 "upstream connect error or disconnect/reset
 *   before headers. reset reason: connection termination" comes after Envoy
 *   sent the request upstream, which may have applied it. Read as "not handled"
 *   (RFC 9110's 503), it was retried and doubled the effect. A 503 whose reason
 *   says the request never left Envoy (`connection failure`, `overflow`) is
 *   still retried.
 */
import { expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { describeWith } from '../support/prereq.js';
import { LOGIN_SERVICE, appliedCalls, builtApp, callOnce, deadLetters, deliverUntilOk, encode, loginEvent, newDeadLetters, onLoginRules, runCli, sharedApp, startApp, userId, useLiveApps, waitUntil } from './support.js';

/** Envoy's local answer for a stream reset before the answer's headers (`Http::Utility::resetReasonToString`). */
const envoy503 = (reason: string): string => `upstream connect error or disconnect/reset before headers. reset reason: ${reason}`;

describeWith(builtApp(), "e2e: Envoy's 503 for a reset after the request was sent is an unknown outcome, and AGS's 409 a retriable conflict (issue 22, third round)", () => {
  // One app for all the tests of this suite (none kills or restarts it), its rules one per action, each taking the
  // events whose id starts with the action's name: the stand-in is not reset between the tests, so each test has a
  // user and events of its own, counts only its user's effects, and compares the store's dead letters after with those
  // before it (any new dead letter, whatever its event, is seen).
  const { ags, clients, env } = useLiveApps({}, { resetAfterEach: false });
  const RULES = {
    grantItem: 'grantItem: { itemId: item-1 }',
    creditWallet: 'creditWallet: { currencyCode: COINS, amount: 5 }',
    grantEntitlement: 'grantEntitlement: { itemId: demo-item-id }',
    updateStat: 'updateStat: { statCode: logins, value: 1 }',
  } as const;
  let rulesEnv: Record<string, string> | undefined;
  /** The environment of the shared app (and of the CLI reading its store), made once. */
  const appEnv = (): Record<string, string> => (rulesEnv ??= env(onLoginRules(RULES)));
  const sharedRulesApp = sharedApp(() => ({ env: appEnv() }));
  const applied = (operation: string, user: string): number => appliedCalls(ags, operation, user);

  it.each([
    ['grantItem', 'connection termination', 'fulfillItem', /\/users\/[0-9a-f]{32}\/fulfillment$/],
    ['creditWallet', 'remote reset', 'creditUserWallet', /\/credit$/],
  ] as const)('%s applied, then Envoy answered 503 "%s": settled by the lookup, one effect, no dead letter', async (action, reason, operation, path) => {
    const app = await sharedRulesApp();
    const before = await deadLetters(appEnv());
    const user = userId();
    const event = await encode(LOGIN_SERVICE, loginEvent({ id: `${action}-envoy-503-${user}`, userId: user }));
    ags.fail(path, [{ statusAfterEffect: 503, body: envoy503(reason) }]);
    await deliverUntilOk(() => clients.connect(app), event);
    expect(applied(operation, user)).toBe(1);
    expect(await newDeadLetters(appEnv(), before)).toEqual([]);
    await deliverUntilOk(() => clients.connect(app), event); // a redelivery changes nothing
    expect(applied(operation, user)).toBe(1);
    expect(ags.violations).toEqual([]);
  });

  it.each([
    ['grantEntitlement', 'connection termination', 'grantUserEntitlement', /\/entitlements$/],
    ['updateStat', 'local reset', 'updateUserStatItemValue', /\/statitems\/value$/],
  ] as const)('%s (no lookup) applied, then Envoy answered 503 "%s": an unknown-outcome dead letter; neither a redelivery nor replay sends it again', async (action, reason, operation, path) => {
    const app = await sharedRulesApp();
    const before = await deadLetters(appEnv());
    const user = userId();
    const id = `${action}-envoy-503-${user}`;
    const event = await encode(LOGIN_SERVICE, loginEvent({ id, userId: user }));
    ags.fail(path, [{ statusAfterEffect: 503, body: envoy503(reason) }]);
    const c = clients.connect(app);
    for (let i = 0; i < 3; i++) expect((await callOnce(c, event)).code).toBe(grpc.status.OK);
    expect(applied(operation, user)).toBe(1);
    const letters = await newDeadLetters(appEnv(), before);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ kind: 'unknown-outcome', rule: `on-${action}`, action, eventId: id });
    expect(JSON.stringify(letters[0]?.error)).toContain(reason); // the reason Envoy gave is kept for the operator
    const replay = await runCli(['replay', '--target', app.address], { env: appEnv() });
    expect(replay.stdout).toMatch(new RegExp(`^SKIPPED on-${action}/${action}#0 userLoggedIn ${id}: outcome unknown`, 'm'));
    expect(applied(operation, user)).toBe(1);
    expect(ags.violations).toEqual([]);
  });

  it.each(['connection failure', 'retried and the latest reset reason: remote connection failure', 'overflow'])(
    'Envoy\'s 503 "%s" (the request never left Envoy) is still retried: one effect, no dead letter',
    async (reason) => {
      const app = await sharedRulesApp();
      const before = await deadLetters(appEnv());
      const user = userId();
      const event = await encode(LOGIN_SERVICE, loginEvent({ id: `grantEntitlement-envoy-503-not-sent-${user}`, userId: user }));
      const text = reason.startsWith('retried') ? `upstream connect error or disconnect/reset before headers. ${reason}` : envoy503(reason);
      ags.fail(/\/entitlements$/, [{ status: 503, body: text, headers: { 'content-type': 'text/plain' } }]);
      await deliverUntilOk(() => clients.connect(app), event);
      expect(applied('grantUserEntitlement', user)).toBe(1);
      expect(await newDeadLetters(appEnv(), before)).toEqual([]);
    },
  );

  it('fulfillItem answered 409 errorCode 20006 (a concurrent write to the player won; nothing applied): retried, one grant each, no dead letter', async () => {
    const app = await sharedRulesApp();
    const before = await deadLetters(appEnv());
    const users = [userId(), userId(), userId()];
    const lock = { status: 409, body: { errorCode: 20006, errorMessage: 'optimistic lock' } };
    // the first attempt of each of three events conflicts (read as permanent, 10 in a row would also pause grantItem)
    ags.fail(/\/fulfillment$/, [lock, lock, lock]);
    for (const user of users) await deliverUntilOk(() => clients.connect(app), await encode(LOGIN_SERVICE, loginEvent({ id: `grantItem-optimistic-lock-${user}`, userId: user })));
    expect(users.map((u) => ags.fulfillments.filter((f) => f.userId === u).length)).toEqual([1, 1, 1]);
    expect(await newDeadLetters(appEnv(), before)).toEqual([]);
  });
});

describeWith(builtApp(), 'e2e: kill -9 between a dead letter and its mark, the page sealed meanwhile (issue 22.4, third round)', () => {
  const { ags, clients, env } = useLiveApps();

  it('the event redelivered to the other replica is dead-lettered again: listed once (the newer record, the older one its copy), and one replay once the item exists grants once and removes both', async () => {
    const liveEnv = env({ ITEM_ID_TO_GRANT: 'missing-item', BREAKER_PERMANENT_FAILURES: '0', EVENT_DEADLINE_MS: '3000', DEDUPE_LEASE_MS: '6500' });
    const [a, b] = await Promise.all([startApp({ env: liveEnv }), startApp({ env: liveEnv })]);
    const user = userId();
    const event = await encode(LOGIN_SERVICE, loginEvent({ id: `dl-then-kill-${user}`, userId: user }));
    const stateRecord = new RegExp(`/users/${user}/concurrent/adminrecords/`);
    // the claim goes through; the next write of the player's record (the deadLettered mark) never completes
    ags.fail(stateRecord, [{ proceed: true }, { proceed: true }, { hang: true }]);
    const killed = b.exited;
    void callOnce(clients.connect(b), event, 20_000).catch(() => undefined);
    await waitUntil('the dead letter written and the mark in flight', () => ags.serviceRequests().some((r) => stateRecord.test(r.path) && r.outcome === 'hang'));
    b.child.kill('SIGKILL');
    await killed;
    const pages = ags.cloudSave.adminRecordIds().filter((k) => /-dl-\d+-\d+$/.test(k));
    expect(pages).toHaveLength(1); // the dead letter was written before the kill
    // its page's first record 7 h old: the next write to the shard seals it (page span 6 h) and opens the next page
    const key = pages[0]!.slice(2);
    type PageDoc = { doc: { deadLetters: { from: number; n: number; seq: number; chunks: Record<string, unknown>[][] } } };
    const value = structuredClone(ags.cloudSave.adminRecord(undefined, key)!.value) as PageDoc;
    const page = value.doc.deadLetters;
    page.from -= 7 * 3_600_000;
    // another event's dead letter in the same page (written by the burst before it)
    page.chunks[0]!.push({ ...page.chunks[0]![0]!, eventId: 'another-event', idempotencyKey: 'another-event:grant-item-on-login:grantItem#0', seq: page.seq + 1 });
    page.seq += 1;
    page.n += 1;
    ags.cloudSave.putAdminRecord(undefined, key, value);
    // the sidecar redelivers to the survivor: once the killed replica's lease runs out, it runs the action again
    await deliverUntilOk(() => clients.connect(a), event);
    // the older record is in the sealed page, the newer in the next: the event is listed once, the newer with its copy
    const listed = (await deadLetters(liveEnv)).filter((l) => l.eventId === `dl-then-kill-${user}`);
    expect(listed.map((l) => [l.ref, l.copies])).toEqual([[expect.stringMatching(/^\d+\.1\.\d+$/), [expect.stringMatching(/^\d+\.0\.\d+$/)]]]);
    const human = await runCli(['dead-letters', 'list'], { env: liveEnv });
    expect(human.stdout.match(new RegExp(` dl-then-kill-${user} `, 'g'))).toHaveLength(1);
    ags.addItem({ id: 'missing-item' });
    const replay = await runCli(['replay', '--target', a.address], { env: liveEnv });
    expect(replay.stdout).toMatch(/2 of 2 replayed OK/); // the event once (its copy removed with it), and the other event's record
    expect(ags.fulfillments.filter((f) => f.userId === user)).toHaveLength(1);
    expect(await deadLetters(liveEnv)).toEqual([]);
    const again = await runCli(['replay', '--target', a.address], { env: liveEnv });
    expect(again.stdout).toMatch(/^no dead letters/m); // nothing left to run a second time
    expect(ags.fulfillments.filter((f) => f.userId === user)).toHaveLength(1);
  }, 120_000);
});
