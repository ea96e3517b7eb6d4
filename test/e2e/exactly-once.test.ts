/**
 * Issue 13 end to end, with the DEFAULT configuration of a live deployment (no
 * REDIS_URL, no STATE_STORE: the state store is AGS Cloud Save): every row of
 * the table, counting effects at the AGS stand-in, including those
 * whose answer never arrived. Real processes: `node dist/main.js` (killed with
 * SIGKILL, restarted, two replicas), the stand-in, a gRPC sender.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { describeWith } from '../support/prereq.js';
import { LOGIN_SERVICE, builtApp, callOnce, deliverAll as deliverEach, deliverUntilOk, encode, loginEvent, loginEvents, onLoginRules, pool, runCli, sharedApp, startApp, tempDir, userId, waitUntil, useLiveApps } from './support.js';
import type { AppProcess, Encoded } from './support.js';
import { actionCalls, cloudSaveMark, isStoreCall } from './store-support.js';

/** Grants per user id, counted where they take effect. */
function grantsOf(ags: AgsStandIn, users: readonly string[]): number[] {
  return users.map((u) => ags.fulfillments.filter((f) => f.userId === u).reduce((n, f) => n + f.quantity, 0));
}

describeWith(builtApp(), 'e2e: exactly one effect per (event, rule, action) with the default store, AGS Cloud Save (issue 13)', () => {
  const { ags, clients, env } = useLiveApps();
  const connect = clients.connect;
  // the tests that need no process of their own share one app, and a second replica where they need two (each test
  // has events and players of its own, and reads only its own events' log lines)
  const defaultApp = sharedApp(() => ({ env: env() }));
  const otherReplica = sharedApp(() => ({ env: env() }));
  /** The actions' statuses in `app`'s summary lines of the events `ids`, once there is a line for each. */
  const statusesOf = async (app: AppProcess, ids: readonly string[]): Promise<string[]> => {
    const mine = (): Record<string, unknown>[] => app.logsMatching(/rule\(s\) matched/).filter((l) => ids.includes(String(l.eventId)));
    await waitUntil(`${ids.length} summary line(s) on the replica`, () => mine().length >= ids.length);
    return mine().flatMap((l) => (l.actions as { status: string }[]).map((x) => x.status));
  };

  const deliverAll = (app: AppProcess, encoded: readonly Encoded[]): Promise<void> => deliverEach(connect(app), encoded);
  // the two lost-answer tests reconciled by a lookup share an app with the short AGS_TIMEOUT_MS of the late-answer test
  // (a rule per action, each taking the events whose id starts with the action's name)
  const lookupApp = sharedApp(() => ({
    env: env({ AGS_TIMEOUT_MS: '2000', ...onLoginRules({ grantItem: 'grantItem: { itemId: item-1 }', creditWallet: 'creditWallet: { currencyCode: COINS, amount: 5 }' }) }),
  }));
  /** `app`'s reconciliation lines of the event `eventId`. */
  const reconciledLines = (app: AppProcess, eventId: string): Record<string, unknown>[] => app.logsMatching(/applied by an earlier attempt whose answer was lost/).filter((l) => l.eventId === eventId);

  it('the store is Cloud Save by default; AGS calls per granted event, counted at the stand-in: 4 for a first-seen player (read, claim, read back, grant), 2 for a returning one (claim carrying the previous done mark, grant); admin player records hold the claims, and the done marks once written (deferred for grantItem, written at shutdown)', async () => {
    // one process for both claims (it stops gracefully at the end): the default store, and the calls and marks it makes
    const app = await startApp({ env: env() });
    expect(app.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('serving'))?.store).toBe('cloudsave');
    const c = connect(app);
    const users = Array.from({ length: 6 }, () => userId());
    const round = async (tag: string): Promise<{ store: number; grants: number; other: number }> => {
      const before = ags.serviceRequests().length;
      for (const u of users) await deliverUntilOk(() => c, await encode(LOGIN_SERVICE, loginEvent({ id: `${tag}-${u}`, userId: u })));
      const calls = ags.serviceRequests().slice(before);
      const store = calls.filter(isStoreCall).length;
      const grants = calls.filter((q) => q.operation === 'fulfillItem').length;
      return { store, grants, other: calls.length - store - grants };
    };
    expect(await round('first')).toEqual({ store: 3 * users.length, grants: users.length, other: 0 });
    // grantItem can be looked up: its done mark waits for the player's next write
    for (const u of users) expect(cloudSaveMark(ags, u, `first-${u}:grant-item-on-login:grantItem#0`)?.s).toBe('c');
    expect(await round('again')).toEqual({ store: 1 * users.length, grants: users.length, other: 0 });
    expect(await round('third')).toEqual({ store: 1 * users.length, grants: users.length, other: 0 });
    expect(grantsOf(ags, users)).toEqual(users.map(() => 3));
    for (const u of users) expect(cloudSaveMark(ags, u, `first-${u}:grant-item-on-login:grantItem#0`)?.s).toBe('d'); // carried by the next claim
    for (const u of users) expect(cloudSaveMark(ags, u, `third-${u}:grant-item-on-login:grantItem#0`)?.s).toBe('c');
    // at shutdown, one write per player carries its last done mark
    const before = ags.serviceRequests().length;
    expect(await app.stop()).toEqual({ code: 0, signal: null });
    expect(ags.serviceRequests().slice(before).filter(isStoreCall)).toHaveLength(users.length);
    for (const u of users) expect(cloudSaveMark(ags, u, `third-${u}:grant-item-on-login:grantItem#0`)?.s).toBe('d');
    expect(ags.violations).toEqual([]);
  });

  it('a redelivery to another replica while the done mark is deferred: settled by the lookup at once (OK, duplicate), never granted again', async () => {
    const [a, b] = await Promise.all([defaultApp(), otherReplica()]);
    const { users, encoded } = await loginEvents(3, 'deferred');
    await deliverAll(a, encoded);
    expect(grantsOf(ags, users)).toEqual([1, 1, 1]);
    const cb = connect(b);
    for (const e of encoded) expect((await callOnce(cb, e)).code).toBe(grpc.status.OK);
    expect(grantsOf(ags, users)).toEqual([1, 1, 1]);
    expect(await statusesOf(b, users.map((u) => `deferred-${u}`))).toEqual(['duplicate', 'duplicate', 'duplicate']);
    // b wrote the done marks: a third replica needs no lookup
    for (const u of users) expect(cloudSaveMark(ags, u, `deferred-${u}:grant-item-on-login:grantItem#0`)?.s).toBe('d');
    expect(ags.violations).toEqual([]);
  });

  it('12 events granted, kill -9, a new process, the sidecar redelivers the 12: one grant each', async () => {
    const first = await startApp({ env: env() });
    const { users, encoded } = await loginEvents(12, 'kill9');
    await deliverAll(first, encoded);
    expect(grantsOf(ags, users)).toEqual(users.map(() => 1));
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    // the sidecar redelivers to another process, one that never saw these events (the shared one: never killed)
    const second = await defaultApp();
    await deliverAll(second, encoded);
    expect(grantsOf(ags, users)).toEqual(users.map(() => 1));
    // the answer can reach the client before the summary line reaches the log pipe: statusesOf waits for them
    expect(await statusesOf(second, users.map((u) => `kill9-${u}`))).toEqual(users.map(() => 'duplicate'));
    expect(ags.violations).toEqual([]);
  });

  it('DEDUPE_MAX_KEYS bounds only the memory store: 12 players past DEDUPE_MAX_KEYS=3 redelivered to the same process, then a graceful SIGTERM and the sidecar redelivers to another process: one grant each', async () => {
    const first = await startApp({ env: env({ DEDUPE_MAX_KEYS: '3' }) });
    const { users, encoded } = await loginEvents(12, 'sigterm');
    await deliverAll(first, encoded);
    await deliverAll(first, encoded); // the first players are past the bound of 3: a bounded store would have forgotten them
    expect(grantsOf(ags, users)).toEqual(users.map(() => 1));
    expect(await first.stop()).toEqual({ code: 0, signal: null });
    // the process that takes the redeliveries never saw these events (the shared one: the claim is the stopped
    // process's graceful exit, which wrote its deferred done marks; the kill -9 test covers marks never written)
    const second = await defaultApp();
    await deliverAll(second, encoded);
    expect(grantsOf(ags, users)).toEqual(users.map(() => 1));
    expect(await statusesOf(second, users.map((u) => `sigterm-${u}`))).toEqual(users.map(() => 'duplicate'));
  });

  it('two replicas, each event delivered to both at once: one grant each', async () => {
    const [a, b] = await Promise.all([defaultApp(), otherReplica()]);
    const ca = connect(a);
    const cb = connect(b);
    const { users, encoded } = await loginEvents(12, 'replicas');
    await pool(
      encoded.flatMap((e) => [() => deliverUntilOk(() => ca, e), () => deliverUntilOk(() => cb, e)]),
      8,
    );
    expect(grantsOf(ags, users)).toEqual(users.map(() => 1));
    expect(ags.violations).toEqual([]);
  });

  it('AGS applies the fulfillment, its answer comes after AGS_TIMEOUT_MS: never sent again, reconciled, one grant over 3 deliveries', async () => {
    // the late answer waits for the app to give up (the stand-in's answerLateMs); every other call of the event (login,
    // Cloud Save) must beat AGS_TIMEOUT_MS, which undici ticks every 0.5 s: a margin a loaded machine keeps
    const app = await lookupApp();
    const c = connect(app);
    const { users, encoded } = await loginEvents(1, 'grantItem-late');
    ags.fail('/fulfillment', [{ answerLateMs: 1500 }]);
    const first = await callOnce(c, encoded[0]!);
    expect(first.code).toBe(grpc.status.UNAVAILABLE); // outcome unknown: redeliver, reconcile
    expect(grantsOf(ags, users)).toEqual([1]);
    await deliverUntilOk(() => c, encoded[0]!);
    await deliverUntilOk(() => c, encoded[0]!);
    expect(grantsOf(ags, users)).toEqual([1]);
    expect(actionCalls(ags).filter((q) => q.operation === 'fulfillItem')).toHaveLength(1); // not even the client's retries resent it
    expect(actionCalls(ags).filter((q) => q.operation === 'queryFulfillmentHistories').length).toBeGreaterThanOrEqual(1);
    await waitUntil('the reconciliation line', () => reconciledLines(app, `grantItem-late-${users[0]}`).length >= 1);
    expect(reconciledLines(app, `grantItem-late-${users[0]}`)).toHaveLength(1);
  });

  it('AGS applies the fulfillment, then the connection resets: one grant over 3 deliveries', async () => {
    const app = await defaultApp();
    const c = connect(app);
    const { users, encoded } = await loginEvents(1, 'reset');
    ags.fail('/fulfillment', [{ reset: true, afterEffect: true }]);
    for (let i = 0; i < 3; i++) await deliverUntilOk(() => c, encoded[0]!);
    expect(grantsOf(ags, users)).toEqual([1]);
    expect(actionCalls(ags).filter((q) => q.operation === 'fulfillItem')).toHaveLength(1);
  });

  it('an answer lost and the grant NOT applied (reset before effect): the lookup finds nothing and it is granted once', async () => {
    const app = await defaultApp();
    const c = connect(app);
    const { users, encoded } = await loginEvents(1, 'reset-before');
    ags.fail('/fulfillment', [{ reset: true }]);
    await deliverUntilOk(() => c, encoded[0]!);
    expect(grantsOf(ags, users)).toEqual([1]);
    expect(actionCalls(ags).filter((q) => q.operation === 'fulfillItem')).toHaveLength(2);
  });

  it('the caller\'s gRPC deadline is shorter than AGS\'s latency: the request completes, redeliveries meanwhile answer UNAVAILABLE, one grant over 5 deliveries', async () => {
    const app = await defaultApp();
    const c = connect(app);
    const { users, encoded } = await loginEvents(1, 'deadline');
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    ags.fail('/fulfillment', [{ proceed: true, until: gate }]);
    // a deadline long enough for the claim and the grant request to be under way on a loaded machine (AGS is held
    // by the gate, so the call cannot finish before it): shorter, the deadline can strike before the claim is written
    const first = await callOnce(c, encoded[0]!, 8_000);
    expect(first.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await waitUntil('the grant request is at AGS', () => ags.requests.some((q) => q.path.endsWith('/fulfillment')));
    for (let i = 0; i < 3; i++) {
      const again = await callOnce(c, encoded[0]!, 20_000); // answered at once; the margin is for a loaded machine
      expect(again.code).toBe(grpc.status.UNAVAILABLE); // the live claim of the first delivery
      expect(again.details).toMatch(/another delivery of this event is running this action/);
    }
    open();
    await waitUntil('the grant took effect', () => grantsOf(ags, users)[0] === 1);
    await deliverUntilOk(() => c, encoded[0]!);
    expect(grantsOf(ags, users)).toEqual([1]);
    expect(actionCalls(ags).filter((q) => q.operation === 'fulfillItem')).toHaveLength(1);
  });

  it('a log action inserted before grantItem between two deliveries (the rules file changed): one grant', async () => {
    // v1 is the shipped rules (the shared app's); v2 the same rule with a log action inserted before its grantItem
    const v2 = join(tempDir('eer-e2e-keys-'), 'v2.yaml');
    writeFileSync(
      v2,
      'version: 1\nrules:\n  - name: grant-item-on-login\n    on: userLoggedIn\n    when:\n      "==": [{ var: namespace }, "${env.AB_NAMESPACE}"]\n    do:\n' +
        '      - log: { message: welcome }\n      - grantItem:\n          itemId: ${env.ITEM_ID_TO_GRANT}\n          quantity: 1\n          source: REWARD\n          userId: ${event.userId}\n',
    );
    const { users, encoded } = await loginEvents(1, 'keys');
    await deliverAll(await defaultApp(), encoded);
    expect(grantsOf(ags, users)).toEqual([1]);
    const second = await startApp({ env: env({ RULES_FILE: v2 }) });
    await deliverAll(second, encoded);
    expect(grantsOf(ags, users)).toEqual([1]);
    await second.waitForLog(/^welcome$/); // v2 ran (its one event): the log action inserted took effect
  });

  it('no rule matches: the event never touches the store', async () => {
    const app = await defaultApp();
    const before = ags.serviceRequests().length;
    const e = await encode(LOGIN_SERVICE, loginEvent({ id: 'other-ns', userId: userId(), namespace: 'othergame' }));
    expect((await callOnce(connect(app), e)).code).toBe(grpc.status.OK);
    expect(ags.serviceRequests()).toHaveLength(before);
  });

  it('at most once: updateStat INCREMENT sent, answer lost, no lookup -> an unknown-outcome dead letter, no second effect; replay skips it unless --force', async () => {
    const dir = tempDir('eer-e2e-amo-');
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, 'version: 1\nrules:\n  - name: count-logins\n    on: userLoggedIn\n    do:\n      - updateStat: { statCode: logins, value: 1 }\n');
    const app = await startApp({ env: env({ RULES_FILE: rules }) });
    const c = connect(app);
    const { encoded } = await loginEvents(1, 'amo');
    ags.fail('/statitems/value', [{ reset: true, afterEffect: true }]);
    for (let i = 0; i < 3; i++) expect((await callOnce(c, encoded[0]!)).code).toBe(grpc.status.OK);
    const increments = (): number => actionCalls(ags).filter((q) => q.operation === 'updateUserStatItemValue').length;
    expect(increments()).toBe(1);
    // the dead letter lives in Cloud Save (the default store), read by the CLI with the server's environment
    const cli = async (...args: string[]): Promise<string> => (await runCli(args, { cwd: dir, env: env() })).stdout;
    const letters = JSON.parse(await cli('dead-letters', 'list', '--json')) as Record<string, unknown>[];
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ kind: 'unknown-outcome', rule: 'count-logins', action: 'updateStat' });
    expect(await cli('dead-letters', 'list')).toMatch(/^\S+Z count-logins\/updateStat#0 userLoggedIn \S+ unknown-outcome: /m);

    expect(await cli('replay', '--target', app.address)).toMatch(/^SKIPPED count-logins\/updateStat#0 .*outcome unknown/m);
    expect(increments()).toBe(1);
    expect(JSON.parse(await cli('dead-letters', 'list', '--json'))).toHaveLength(1); // skipped: kept
    expect(await cli('replay', '--target', app.address, '--force')).toMatch(/^OK count-logins\/updateStat#0 .*\(removed from the store\)$/m);
    expect(increments()).toBe(2); // forced: the operator checked AGS and chose to send it again
    expect(JSON.parse(await cli('dead-letters', 'list', '--json'))).toEqual([]); // replayed OK: removed
  });

  it('kill -9 while AGS applies the grant (between its effect and the done mark): after the lease, the redelivery reconciles instead of granting again', async () => {
    const lease = { EVENT_DEADLINE_MS: '1000', DEDUPE_LEASE_MS: '2500' };
    const first = await startApp({ env: env(lease) });
    const { users, encoded } = await loginEvents(1, 'kill-mid');
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    ags.fail('/fulfillment', [{ proceed: true, until: gate }]);
    const pending = callOnce(connect(first), encoded[0]!, 10_000);
    await waitUntil('the grant request is at AGS', () => ags.requests.some((q) => q.path.endsWith('/fulfillment')));
    first.child.kill('SIGKILL');
    await first.exited;
    await pending;
    open(); // AGS applies it; nobody hears the answer
    await waitUntil('the grant took effect', () => grantsOf(ags, users)[0] === 1);
    // redelivered to another process (the shared one: never killed); the lease is the dead holder's, in its claim
    const second = await defaultApp();
    await deliverUntilOk(() => connect(second), encoded[0]!); // busy until the dead holder's lease ends, then reconciled
    expect(grantsOf(ags, users)).toEqual([1]);
    await waitUntil('the reconciliation line', () => reconciledLines(second, `kill-mid-${users[0]}`).length >= 1);
    expect(reconciledLines(second, `kill-mid-${users[0]}`)).toHaveLength(1);
  });

  it('creditWallet whose answer is lost: found by its metadata in the wallet transactions, one credit over 3 deliveries', async () => {
    const app = await lookupApp();
    const c = connect(app);
    const { users, encoded } = await loginEvents(1, 'creditWallet-wallet');
    ags.fail('/wallets/COINS/credit', [{ reset: true, afterEffect: true }]);
    for (let i = 0; i < 3; i++) await deliverUntilOk(() => c, encoded[0]!);
    expect(ags.walletTransactions.filter((t) => t.userId === users[0])).toHaveLength(1);
    expect(actionCalls(ags).filter((q) => q.operation === 'listUserCurrencyTransactions').length).toBeGreaterThanOrEqual(1);
    await waitUntil('the reconciliation line', () => reconciledLines(app, `creditWallet-wallet-${users[0]}`).length >= 1);
    expect(reconciledLines(app, `creditWallet-wallet-${users[0]}`)).toHaveLength(1);
  });
});
