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
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { describeWith } from '../support/prereq.js';
import { LOGIN_SERVICE, builtApp, callOnce, deadLetters, deliverUntilOk, encode, loginEvent, runCli, startApp, tempDir, userId, useLiveApps } from './support.js';

/** Envoy's local answer for a stream reset before the answer's headers (`Http::Utility::resetReasonToString`). */
const envoy503 = (reason: string): string => `upstream connect error or disconnect/reset before headers. reset reason: ${reason}`;

describeWith(builtApp(), "e2e: Envoy's 503 for a reset after the request was sent is an unknown outcome (issue 22.1, third round)", () => {
  const { ags, clients, env } = useLiveApps();

  const rulesWith = (action: string): Record<string, string> => {
    const rules = join(tempDir('eer-e2e-503-rules-'), 'rules.yaml');
    writeFileSync(rules, `version: 1\nrules:\n  - name: on-login\n    on: userLoggedIn\n    do:\n      - ${action}\n`);
    return { RULES_FILE: rules };
  };
  const applied = (operation: string, user: string): number =>
    ags.serviceRequests().filter((r) => r.operation === operation && r.applied === true && r.path.includes(`/users/${user}/`)).length;

  it.each([
    ['grantItem', 'connection termination', 'fulfillItem', /\/users\/[0-9a-f]{32}\/fulfillment$/, undefined],
    ['creditWallet', 'remote reset', 'creditUserWallet', /\/credit$/, 'creditWallet: { currencyCode: COINS, amount: 5 }'],
  ] as const)('%s applied, then Envoy answered 503 "%s": settled by the lookup, one effect, no dead letter', async (_action, reason, operation, path, rule) => {
    const ruleEnv = rule !== undefined ? rulesWith(rule) : {};
    const app = await startApp({ env: env(ruleEnv) });
    const user = userId();
    const event = await encode(LOGIN_SERVICE, loginEvent({ id: `envoy-503-${operation}-${user}`, userId: user }));
    ags.fail(path, [{ statusAfterEffect: 503, body: envoy503(reason) }]);
    await deliverUntilOk(() => clients.connect(app), event);
    expect(applied(operation, user)).toBe(1);
    expect(await deadLetters(env(ruleEnv))).toEqual([]);
    await deliverUntilOk(() => clients.connect(app), event); // a redelivery changes nothing
    expect(applied(operation, user)).toBe(1);
    expect(ags.violations).toEqual([]);
  });

  it.each([
    ['grantEntitlement', 'connection termination', 'grantUserEntitlement', /\/entitlements$/, 'grantEntitlement: { itemId: demo-item-id }'],
    ['updateStat', 'local reset', 'updateUserStatItemValue', /\/statitems\/value$/, 'updateStat: { statCode: logins, value: 1 }'],
  ] as const)('%s (no lookup) applied, then Envoy answered 503 "%s": an unknown-outcome dead letter; neither a redelivery nor replay sends it again', async (action, reason, operation, path, rule) => {
    const ruleEnv = rulesWith(rule);
    const app = await startApp({ env: env(ruleEnv) });
    const user = userId();
    const event = await encode(LOGIN_SERVICE, loginEvent({ id: `envoy-503-${action}-${user}`, userId: user }));
    ags.fail(path, [{ statusAfterEffect: 503, body: envoy503(reason) }]);
    const c = clients.connect(app);
    for (let i = 0; i < 3; i++) expect((await callOnce(c, event)).code).toBe(grpc.status.OK);
    expect(applied(operation, user)).toBe(1);
    const letters = await deadLetters(env(ruleEnv));
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ kind: 'unknown-outcome', rule: 'on-login', action });
    expect(JSON.stringify(letters[0]?.error)).toContain(reason); // the reason Envoy gave is kept for the operator
    const replay = await runCli(['replay', '--target', app.address], { env: env(ruleEnv) });
    expect(replay.stdout).toMatch(/^SKIPPED .*outcome unknown/m);
    expect(applied(operation, user)).toBe(1);
    expect(ags.violations).toEqual([]);
  });

  it.each(['connection failure', 'retried and the latest reset reason: remote connection failure', 'overflow'])(
    'Envoy\'s 503 "%s" (the request never left Envoy) is still retried: one effect, no dead letter',
    async (reason) => {
      const ruleEnv = rulesWith('grantEntitlement: { itemId: demo-item-id }');
      const app = await startApp({ env: env(ruleEnv) });
      const user = userId();
      const event = await encode(LOGIN_SERVICE, loginEvent({ id: `envoy-503-not-sent-${user}`, userId: user }));
      const text = reason.startsWith('retried') ? `upstream connect error or disconnect/reset before headers. ${reason}` : envoy503(reason);
      ags.fail(/\/entitlements$/, [{ status: 503, body: text, headers: { 'content-type': 'text/plain' } }]);
      await deliverUntilOk(() => clients.connect(app), event);
      expect(applied('grantUserEntitlement', user)).toBe(1);
      expect(await deadLetters(env(ruleEnv))).toEqual([]);
    },
  );
});
