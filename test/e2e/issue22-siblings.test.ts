/**
 * Issue 22, checked from outside after it was declared done: siblings of its
 * rows, end to end on real processes (`node dist/main.js`, the AGS stand-in,
 * a gRPC sender), default store (Cloud Save).
 *
 * - 22.1's sibling: the lookup's own answer in a shape it does not declare. A
 *   history page whose entries lack the fields the spec requires of them
 *   (`FulfillmentHistoryInfo`, `WalletTransactionInfo`: `createdAt`, `id`...)
 *   cannot be read: it is no "not applied" (that would send the effect again).
 * - 22.8's sibling: the `http` action's credentials (a secret-named header's
 *   value, the URL's path and query) echoed back by the target in its error
 *   answer reach no log line, dead letter nor gRPC status.
 * - 22.5's sibling: the publisher sidecar refusing every `publishMessage` (a
 *   topic that does not exist) pauses the action like an AGS item that does
 *   not exist: 9 dead letters, then UNAVAILABLE.
 */
import { writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { liveEnv, useAgsStandIn } from '../support/ags-fixture.js';
import * as grpc from '@grpc/grpc-js';
import { AGS_SPECS_DIR, describeWith, sharedFile } from '../support/prereq.js';
import { startPublisherStandIn } from '../support/publisher-stand-in.js';
import type { PublisherStandIn } from '../support/publisher-stand-in.js';
import { LOGIN_SERVICE, builtApp, callOnce, clientPool, deadLetters, deliverUntilOk, encode, loginEvent, newDeadLetters, onLoginRules, runCli, sharedApp, startApp, stopAll, tempDir, userId, useLiveApps } from './support.js';

describeWith(builtApp(), 'e2e: siblings of issue 22 (checked from outside)', () => {
  // One app for all the tests of this suite (none kills or restarts it), its rules one per case, each taking the
  // events whose id starts with the case's name: the stand-in is not reset between the tests, so each test has a user
  // and events of its own, counts only its user's effects, and compares the store's dead letters after with those
  // before it (any new dead letter, whatever its event, is seen).
  const { ags, clients, env } = useLiveApps({}, { resetAfterEach: false });
  // the http case's target: echoes the request (its credentials) in its refusal, 400 for the permanent rule, else 503
  const key = 'literal-api-key-4242';
  const pathSecret = 'T0kenInThePath9876';
  const querySecret = 'sigInTheQuery5555';
  const target = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const echo = `bad request: ${req.method} ${req.url}; headers: ${JSON.stringify(req.headers)}`;
      const status = req.url?.includes('permanent') ? 400 : 503;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message: echo }));
    });
  });
  beforeAll(async () => {
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await new Promise((r) => target.close(r));
  });
  let rulesEnv: Record<string, string> | undefined;
  /** The environment of the shared app (and of the CLI reading its store), made once the target listens. */
  const appEnv = (): Record<string, string> => {
    const port = (target.address() as AddressInfo).port;
    const hook = (name: string): string => `http: { url: "http://127.0.0.1:${port}/${name}/${pathSecret}?sig=${querySecret}", headers: { X-Api-Key: "${key}" }, body: { u: "\${event.userId}" } }`;
    rulesEnv ??= env(
      onLoginRules({
        grantItem: 'grantItem: { itemId: item-1 }',
        creditWallet: 'creditWallet: { currencyCode: COINS, amount: 5 }',
        permanent: hook('permanent'),
        transient: hook('transient'),
      }),
    );
    return rulesEnv;
  };
  const sharedRulesApp = sharedApp(() => ({ env: appEnv() }));

  it.each([
    ['grantItem', /\/users\/[0-9a-f]{32}\/fulfillment$/, /\/fulfillment\/history$/],
    ['creditWallet', /\/credit$/, /\/transactions$/],
  ])('%s: answer lost, then the lookup answers a page whose entries lack their declared fields: not read as "not applied", one effect', async (action, effectPath, lookupPath) => {
    const app = await sharedRulesApp();
    const user = userId();
    const event = await encode(LOGIN_SERVICE, loginEvent({ id: `${action}-lookup-${user}`, userId: user }));
    ags.fail(effectPath, [{ reset: true, afterEffect: true }]);
    ags.fail(lookupPath, [{ status: 200, body: { data: [{}, { note: 'an entry without its declared fields' }], paging: {} } }]);
    await deliverUntilOk(() => clients.connect(app), event);
    const effects = action === 'grantItem' ? ags.fulfillments.filter((f) => f.userId === user).length : ags.walletTransactions.filter((t) => t.userId === user).length;
    // this user's lookups (queryFulfillmentHistories names the player in its query, the wallet's in its path)
    expect(ags.serviceRequests().filter((r) => lookupPath.test(r.path) && (r.path.includes(`/users/${user}/`) || r.query.userId === user)).length).toBeGreaterThan(0);
    expect(effects).toBe(1);
  });

  it('creditWallet to a player without a wallet, the credit cut before AGS applied it: the lookup\'s 404 "wallet does not exist" means not applied, credited once, no dead letter', async () => {
    const app = await sharedRulesApp();
    const before = await deadLetters(appEnv());
    const user = userId();
    const event = await encode(LOGIN_SERVICE, loginEvent({ id: `creditWallet-no-wallet-yet-${user}`, userId: user }));
    ags.fail(/\/credit$/, [{ reset: true }]); // before the effect: no wallet is created
    await deliverUntilOk(() => clients.connect(app), event);
    expect(ags.serviceRequests().filter((r) => r.operation === 'listUserCurrencyTransactions' && r.path.includes(`/users/${user}/`)).length).toBeGreaterThan(0); // the lookup ran, answered 404
    expect(ags.walletTransactions.filter((t) => t.userId === user)).toHaveLength(1);
    expect(await newDeadLetters(appEnv(), before)).toEqual([]);
    expect(ags.violations).toEqual([]);
  });

  it('creditWallet refused for a new player, fixed, then replayed: the replay\'s lookup meets "wallet does not exist" and credits once (before: dead-lettered again, for ever)', async () => {
    const app = await sharedRulesApp();
    const before = await deadLetters(appEnv());
    const user = userId();
    const id = `creditWallet-refused-then-fixed-${user}`;
    const event = await encode(LOGIN_SERVICE, loginEvent({ id, userId: user }));
    ags.fail(/\/credit$/, [{ status: 400, body: { errorCode: 20002, errorMessage: 'validation error' } }]);
    expect((await callOnce(clients.connect(app), event)).code).toBe(grpc.status.OK);
    expect(await newDeadLetters(appEnv(), before)).toMatchObject([{ eventId: id }]);
    const replay = await runCli(['replay', '--target', app.address], { env: appEnv() });
    expect(replay.stdout).toMatch(new RegExp(`^OK on-creditWallet/creditWallet#0 userLoggedIn ${id} \\(removed from the store\\)$`, 'm'));
    expect(ags.walletTransactions.filter((t) => t.userId === user)).toHaveLength(1);
    expect(await newDeadLetters(appEnv(), before)).toEqual([]);
    expect((await callOnce(clients.connect(app), event)).code).toBe(grpc.status.OK); // redelivered: nothing more
    expect(ags.walletTransactions.filter((t) => t.userId === user)).toHaveLength(1);
  });

  it('http: the target echoes the request (secret header value, URL path and query) in a refusal: the credentials reach no log line, dead letter nor gRPC status', async () => {
    const app = await sharedRulesApp();
    const before = await deadLetters(appEnv());
    const c = clients.connect(app);
    const permanent = await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: `permanent-${userId()}`, userId: userId() })));
    const transient = await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: `transient-${userId()}`, userId: userId() })));
    expect(permanent.code).toBe(0);
    expect(transient.code).not.toBe(0);
    const letters = JSON.stringify(await newDeadLetters(appEnv(), before));
    expect(letters).toContain('bad request'); // the refusal is kept, its credentials are not
    // every line the app wrote so far (those of the tests before too)
    const printed = `${app.logs.map((l) => JSON.stringify(l)).join('\n')}\n${app.stderr()}\n${transient.details}\n${letters}`;
    for (const secret of [key, pathSecret, querySecret]) expect(printed).not.toContain(secret);
  });
});

const PUBLISHER = 'accelbyte/extend/async_messaging/publisher_service.proto';

describeWith([builtApp(), sharedFile(`ags-event-specs/${PUBLISHER}`)], 'e2e: a publisher sidecar refusing every message pauses publishMessage (issue 22.5, checked from outside)', () => {
  const ags = useAgsStandIn();
  let sidecar: PublisherStandIn;
  const clients = clientPool();

  beforeAll(async () => {
    sidecar = await startPublisherStandIn(PUBLISHER, [AGS_SPECS_DIR]);
  });
  afterEach(async () => {
    clients.closeAll();
    await stopAll();
    sidecar.refuse();
  });
  afterAll(async () => {
    await sidecar.close();
  });

  it('a topic that does not exist (NOT_FOUND for every event): 9 dead letters, then paused (UNAVAILABLE, nothing more dead-lettered)', async () => {
    const dir = tempDir('eer-e2e-publish-refused-');
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, 'version: 1\nrules:\n  - name: announce\n    on: userLoggedIn\n    do:\n      - publishMessage: { topic: no-such-topic, body: { user: "${event.userId}" } }\n');
    const env = liveEnv(ags, { RULES_FILE: rules, ASYNC_MESSAGING_PUBLISHER_GRPC_PORT: String(sidecar.port), BREAKER_PROBE_INTERVAL_MS: '600000' });
    const app = await startApp({ env });
    const c = clients.connect(app);
    sidecar.refuse({ code: grpc.status.NOT_FOUND, details: 'topic no-such-topic not found' });
    const codes: grpc.status[] = [];
    for (let i = 0; i < 14; i++) codes.push((await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: `refused-${i}`, userId: userId() })))).code); // one after the other: a deterministic streak
    expect(codes).toEqual([...Array<grpc.status>(9).fill(grpc.status.OK), ...Array<grpc.status>(5).fill(grpc.status.UNAVAILABLE)]);
    expect(await app.waitForLogs(/publishMessage paused/, 1)).toHaveLength(1);
    expect(await deadLetters(env, dir)).toHaveLength(9);
  });
});
