/**
 * Issue 4 end to end: the built app (`node dist/main.js`) with the shipped
 * rules.yaml, called over gRPC, against the local AGS stand-in.
 */
import { actionCalls } from './store-support.js';
import { expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { describeWith } from '../support/prereq.js';
import {
  LOGIN_SERVICE,
  THIRD_PARTY_SERVICE,
  builtApp,
  callOnce,
  encode,
  loginEvent,
  startApp,
  userId,
  waitUntil,
  useLiveApps,
} from './support.js';

describeWith(builtApp(), 'e2e: the app grants the login item through AGS (issue 4)', () => {
  const { ags, clients, env: liveEnv } = useLiveApps();
  const connect = clients.connect;

  it('logs in at start, grants exactly once per login event of our namespace, and nothing for another namespace', async () => {
    const app = await startApp({ env: liveEnv() });
    await app.waitForLog(/logged in to AGS/);
    expect(app.logsMatching(/DRY RUN/)).toEqual([]);
    expect(ags.tokensIssued()).toBe(1);
    const c = connect(app);

    // userLoggedIn in mygame -> one fulfillment, exact path and body
    const alice = userId();
    const r1 = await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: 'evt-login-1', userId: alice })));
    expect(r1).toEqual({ code: grpc.status.OK, details: '' });
    let calls = actionCalls(ags); // the state store's Cloud Save calls aside
    expect(calls).toHaveLength(1);
    expect(calls[0]!.method).toBe('POST');
    expect(calls[0]!.path).toBe(`/platform/admin/namespaces/mygame/users/${alice}/fulfillment`);
    expect(calls[0]!.query).toEqual({});
    expect(calls[0]!.body).toEqual({ itemId: 'item-1', quantity: 1, source: 'REWARD', orderNo: expect.stringMatching(/^eer-/) });
    expect(calls[0]!.headers.authorization).toMatch(/^Bearer stand-in-token-1-/);
    expect(calls[0]!.headers['content-type']).toMatch(/^application\/json/);
    expect(ags.fulfillments).toEqual([expect.objectContaining({ namespace: 'mygame', userId: alice, itemId: 'item-1', quantity: 1 })]);

    // userThirdPartyLoggedIn likewise
    const bob = userId();
    const third = { ...loginEvent({ id: 'evt-3p-1', userId: bob }), name: 'userThirdPartyLoggedIn' };
    const r2 = await callOnce(c, await encode(THIRD_PARTY_SERVICE, third));
    expect(r2.code).toBe(grpc.status.OK);
    calls = actionCalls(ags);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.path).toBe(`/platform/admin/namespaces/mygame/users/${bob}/fulfillment`);
    expect(calls[1]!.body).toEqual({ itemId: 'item-1', quantity: 1, source: 'REWARD', orderNo: expect.stringMatching(/^eer-/) });

    // another namespace -> answered OK, no AGS call
    const r3 = await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: 'evt-other-ns', userId: userId(), namespace: 'othergame' })));
    expect(r3.code).toBe(grpc.status.OK);
    // the same event redelivered -> answered OK, no second grant
    const r4 = await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: 'evt-login-1', userId: alice })));
    expect(r4.code).toBe(grpc.status.OK);
    // every call has its summary line, so all four were handled before we count
    await waitUntil('four event summary lines', () => app.logsMatching(/rule\(s\) matched/).length >= 4);
    expect(actionCalls(ags)).toHaveLength(2);
    expect(ags.grants()).toBe(2);
    expect(ags.violations).toEqual([]);
    // the secret never reaches the logs
    expect(JSON.stringify(app.logs)).not.toContain(ags.clientSecret);
    expect(JSON.stringify(app.logs)).not.toContain('stand-in-token-');
  });

  it('an event without an id is keyed by its bytes: redelivered, it is granted once', async () => {
    const app = await startApp({ env: liveEnv() });
    const c = connect(app);
    const carol = userId();
    const e = await encode(LOGIN_SERVICE, loginEvent({ id: '', userId: carol }));
    expect((await callOnce(c, e)).code).toBe(grpc.status.OK);
    expect((await callOnce(c, e)).code).toBe(grpc.status.OK);
    // a different event without an id (other user) is not mistaken for the first
    const dave = userId();
    expect((await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: '', userId: dave })))).code).toBe(grpc.status.OK);
    expect(ags.fulfillments.map((f) => f.userId)).toEqual([carol, dave]);
  });

  it('refuses to start when the AGS login fails, naming the cause', async () => {
    const app = await startApp({ env: { ...liveEnv(), AB_CLIENT_SECRET: 'wrong-secret' }, waitServing: false });
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(app.stderr()).toMatch(/cannot start/);
    expect(app.stderr()).not.toContain('wrong-secret');
    expect(ags.serviceRequests()).toHaveLength(0);
  });

  it('dry run (no credential, no base URL): says so at start, logs the planned request, sends nothing', async () => {
    const app = await startApp({ env: { AB_NAMESPACE: 'mygame', ITEM_ID_TO_GRANT: 'item-1' } });
    const banner = await app.waitForLog(/^DRY RUN/);
    expect(banner.msg).toMatch(/no AGS credential is set \(AB_BASE_URL, AB_CLIENT_ID, AB_CLIENT_SECRET\)/);
    expect(banner.msg).toMatch(/nothing is sent to AGS/);
    const c = connect(app);
    const erin = userId();
    expect((await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: 'evt-dry-1', userId: erin })))).code).toBe(grpc.status.OK);
    const planned = await app.waitForLog(/^dry run: grant-item-on-login\/grantItem would send/);
    expect(planned.msg).toContain(`POST /platform/admin/namespaces/mygame/users/${erin}/fulfillment`);
    expect(planned.requests).toEqual([
      expect.objectContaining({ method: 'POST', path: `/platform/admin/namespaces/mygame/users/${erin}/fulfillment`, body: { itemId: 'item-1', quantity: 1, source: 'REWARD' } }),
    ]);
    expect(ags.requests).toEqual([]); // not even a login
  });
});
