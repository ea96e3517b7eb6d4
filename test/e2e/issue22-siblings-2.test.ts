/**
 * Issue 22, attacked from outside again (second round): siblings of its rows
 * not covered before, end to end on real processes (`node dist/main.js`, the
 * AGS stand-in counting effects, a gRPC sender), default store (Cloud Save).
 *
 * - 22.1's sibling: a gateway error after AGS applied the call. A 502 or 504
 *   (the gateway gave up on an upstream that may have applied the call) or a
 *   500 (raised after the write) is no "nothing happened" for a call that is
 *   not idempotent: it is an unknown outcome, settled by the action's lookup
 *   or dead-lettered `unknown-outcome`, never sent again blindly (by the HTTP
 *   retry, a redelivery or `replay`). Effects are counted at the stand-in
 *   (`applied`: the route handled the call, whatever was answered).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { describeWith } from '../support/prereq.js';
import { LOGIN_SERVICE, appliedCalls, builtApp, callOnce, deadLetters, deliverUntilOk, encode, loginEvent, newDeadLetters, runCli, sharedApp, startApp, userId, useLiveApps, onLoginRules, waitUntil } from './support.js';

describeWith(builtApp(), 'e2e: a 5xx after AGS applied a call that is not idempotent is an unknown outcome (issue 22.1, second round)', () => {
  // One app for every test of this suite (none kills it), with a rule per action, each taking the logins whose event id
  // starts with the action's name (onLoginRules): the stand-in is not reset between the tests, so each test has a user
  // and an event of its own, counts only its user's effects, and compares the store's dead letters after with those
  // before it (any new dead letter, whatever its event, is seen).
  const { ags, clients, env } = useLiveApps({}, { resetAfterEach: false });
  // the webhook's target: it answers 502 like a proxy, after the POST took effect (`posted`: the bodies it was sent)
  const posted: string[] = [];
  const target = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      posted.push(body); // the webhook's effect
      res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
    });
  });
  beforeAll(() => new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r())));
  afterAll(() => new Promise<void>((r) => target.close(() => r())));
  let appEnv: Record<string, string> | undefined;
  /** The app's environment (its rules name the webhook target's port: made once the target listens). */
  const envOf = (): Record<string, string> =>
    (appEnv ??= env(
      onLoginRules({
        grantItem: 'grantItem: { itemId: item-1 }',
        creditWallet: 'creditWallet: { currencyCode: COINS, amount: 5 }',
        grantEntitlement: 'grantEntitlement: { itemId: demo-item-id }',
        grantSeasonExp: 'grantSeasonExp: { exp: 10 }',
        updateStat: 'updateStat: { statCode: logins, value: 1 }',
        http: `http: { url: "http://127.0.0.1:${(target.address() as AddressInfo).port}/hook", body: { user: "\${event.userId}" } }`,
      }),
    ));
  const theApp = sharedApp(() => ({ env: envOf() }));
  const applied = (operation: string, user: string): number => appliedCalls(ags, operation, user);

  it.each([
    ['grantItem', '502', 'fulfillItem', /\/users\/[0-9a-f]{32}\/fulfillment$/],
    ['grantItem', '504', 'fulfillItem', /\/users\/[0-9a-f]{32}\/fulfillment$/],
    ['creditWallet', '504', 'creditUserWallet', /\/credit$/],
    ['creditWallet', '500', 'creditUserWallet', /\/credit$/],
  ] as const)('%s applied, then answered %s: settled by the lookup, one effect, no dead letter', async (action, status, operation, path) => {
    const app = await theApp();
    const before = await deadLetters(envOf());
    const user = userId();
    const event = await encode(LOGIN_SERVICE, loginEvent({ id: `${action}-after-effect-${status}-${user}`, userId: user }));
    ags.fail(path, [{ statusAfterEffect: Number(status) }]);
    await deliverUntilOk(() => clients.connect(app), event);
    expect(applied(operation, user)).toBe(1);
    expect(await newDeadLetters(envOf(), before)).toEqual([]);
    await deliverUntilOk(() => clients.connect(app), event); // a redelivery changes nothing
    expect(applied(operation, user)).toBe(1);
    expect(ags.violations).toEqual([]);
  });

  it.each([
    ['grantEntitlement', '504', 'grantUserEntitlement', /\/entitlements$/],
    ['grantEntitlement', '500', 'grantUserEntitlement', /\/entitlements$/],
    ['grantSeasonExp', '502', 'grantUserExp', /\/seasons\/current\/exp$/],
    ['updateStat', '504', 'updateUserStatItemValue', /\/statitems\/value$/],
  ] as const)('%s (no lookup) applied, then answered %s: an unknown-outcome dead letter; neither a redelivery nor replay sends it again', async (action, status, operation, path) => {
    const ruleEnv = envOf();
    const app = await theApp();
    const before = await deadLetters(ruleEnv);
    const user = userId();
    const event = await encode(LOGIN_SERVICE, loginEvent({ id: `${action}-after-effect-${status}-${user}`, userId: user }));
    ags.fail(path, [{ statusAfterEffect: Number(status) }]);
    const c = clients.connect(app);
    for (let i = 0; i < 3; i++) expect((await callOnce(c, event)).code).toBe(grpc.status.OK);
    expect(applied(operation, user)).toBe(1);
    const letters = await newDeadLetters(ruleEnv, before);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ kind: 'unknown-outcome', rule: `on-${action}`, action });
    const replay = await runCli(['replay', '--target', app.address], { env: ruleEnv });
    expect(replay.stdout).toMatch(/^SKIPPED .*outcome unknown/m); // not sent again without --force
    expect(applied(operation, user)).toBe(1);
    expect(ags.violations).toEqual([]);
  });

  it('http POST (a webhook) applied, then answered 502 by its proxy: an unknown-outcome dead letter; neither the client, a redelivery nor replay posts it again', async () => {
    const app = await theApp();
    const before = await deadLetters(envOf());
    const user = userId();
    const event = await encode(LOGIN_SERVICE, loginEvent({ id: `http-webhook-502-${user}`, userId: user }));
    const c = clients.connect(app);
    for (let i = 0; i < 3; i++) expect((await callOnce(c, event)).code).toBe(grpc.status.OK);
    expect(posted.filter((body) => body.includes(user))).toHaveLength(1);
    const letters = await newDeadLetters(envOf(), before);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ kind: 'unknown-outcome', action: 'http' });
    const replay = await runCli(['replay', '--target', app.address], { env: envOf() });
    expect(replay.stdout).toMatch(/^SKIPPED .*outcome unknown/m);
    expect(posted).toHaveLength(1); // no other test posts: nothing posted again, for this event or any other
  });

  it('408 "request timeout" (AGS never received the whole request) is retried, not dead-lettered: one effect, no dead letter', async () => {
    const app = await theApp();
    const before = await deadLetters(envOf());
    const user = userId();
    const event = await encode(LOGIN_SERVICE, loginEvent({ id: `grantEntitlement-timeout-408-${user}`, userId: user }));
    ags.fail(/\/entitlements$/, [{ status: 408, body: { errorCode: 20000, errorMessage: 'request timeout' } }]);
    await deliverUntilOk(() => clients.connect(app), event);
    expect(applied('grantUserEntitlement', user)).toBe(1);
    expect(await newDeadLetters(envOf(), before)).toEqual([]);
  });

  it('a non-idempotent call answered 503 or 429 (refused before it ran) is still retried: one effect, no dead letter', async () => {
    const app = await theApp();
    const before = await deadLetters(envOf());
    const user = userId();
    const event = await encode(LOGIN_SERVICE, loginEvent({ id: `grantEntitlement-refused-${user}`, userId: user }));
    ags.fail(/\/entitlements$/, [{ status: 503, body: { errorCode: 20000, errorMessage: 'unavailable' } }, { status: 429, body: { errorCode: 20007, errorMessage: 'too many requests' } }]);
    await deliverUntilOk(() => clients.connect(app), event);
    expect(applied('grantUserEntitlement', user)).toBe(1);
    expect(await newDeadLetters(envOf(), before)).toEqual([]);
  });

  // issue 22.7's second round on the same app (its grantItem rule): last, so no replay above sends its dead letter
  describe('other event fields of hostile length (issue 22.7, second round)', () => {
    it('a 100,000-character userId is refused before sending and bounded in every log line, the dead letter\'s reason and the gRPC status', async () => {
      const app = await theApp();
      const from = app.logs.length;
      const before = await deadLetters(envOf());
      const grantsBefore = ags.serviceRequests().filter((r) => r.operation === 'fulfillItem').length;
      const c = clients.connect(app);
      const longUser = 'a'.repeat(100_000);
      const answer = await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: 'grantItem-long-user', userId: longUser })));
      expect(answer.code).toBe(grpc.status.OK);
      expect(answer.details.length).toBeLessThan(2_000);
      await waitUntil('the long event summarised', () => app.logs.slice(from).some((l) => /rule\(s\) matched|dead-letter/.test(String(l.msg))));
      expect(ags.serviceRequests().filter((r) => r.operation === 'fulfillItem')).toHaveLength(grantsBefore); // nothing sent
      const letters = await newDeadLetters(envOf(), before);
      expect(letters).toHaveLength(1);
      expect(JSON.stringify((letters[0] as { error: unknown }).error).length).toBeLessThan(2_000);
      const longest = Math.max(...app.logs.map((l) => JSON.stringify(l).length)); // every line the app wrote, this suite's
      expect(longest).toBeLessThan(2_000);
    });
  });
});

describeWith(builtApp(), 'e2e: credentials in the userinfo of a configured URL (issue 22.8, second round)', () => {
  const { ags, env } = useLiveApps();
  const SECRET = 's3cretPWxyz42';
  /** Everything the process printed: its JSON log lines and its stderr. */
  const printed = (app: { logs: Record<string, unknown>[]; stderr(): string }): string => `${app.logs.map((l) => JSON.stringify(l)).join('\n')}\n${app.stderr()}`;

  it.each([
    ['AB_BASE_URL with user:password@', (url: string) => ({ AB_BASE_URL: url.replace('http://', `http://proxyuser:${SECRET}@`) })],
    ['AB_BASE_URL with a token as the only userinfo', (url: string) => ({ AB_BASE_URL: url.replace('http://', `http://${SECRET}@`) })],
    ['REDIS_URL with ?password=', () => ({ STATE_STORE: 'redis', REDIS_URL: `redis://127.0.0.1:1/0?password=${SECRET}`, REDIS_CONNECT_TIMEOUT_MS: '300' })],
  ] as const)('%s: the credential reaches no log line nor start-up error', async (_case, extra) => {
    const app = await startApp({ env: env(extra(ags.url)), waitServing: false });
    await Promise.race([app.exited, app.waitForLog(/^serving \d+ events on :/, undefined, 60_000).catch(() => undefined)]);
    await app.stop();
    const out = printed(app);
    expect(out.length).toBeGreaterThan(0);
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain(encodeURIComponent(SECRET));
  });
});
