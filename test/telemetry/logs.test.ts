/**
 * Issue 6, "Done when" 3: every byte the built app writes (stdout and
 * stderr) during runs with a secret-bearing configuration: a login that
 * fails while events are handled, a login that fails at start, and a
 * successful run at debug level with payload logging. No client secret, no
 * token, no `Authorization` value (Basic or Bearer) appears anywhere; the
 * per-event summary line is there with its fields; with tracing off (the
 * default) no line carries a trace id; logged payloads have personal fields
 * masked.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { describeWith } from '../support/prereq.js';
import { LOGIN_SERVICE, builtApp, callOnce, clientPool, encode, loginEvent, userId, waitUntil } from '../e2e/support.js';
import { spawnRawApp, stopRawApps, waitServing } from './support.js';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

describeWith(builtApp(), 'logs: no secret, token or Authorization value; one summary line per event (issue 6)', () => {
  const clientId = `client-${hex(6)}`;
  const clientSecret = `Sup3rS3cret-${hex(12)}`;
  const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
  let ags: AgsStandIn;
  const clients = clientPool();
  const connect = clients.connect;

  beforeAll(async () => {
    ags = await startAgsStandIn({ clientId, clientSecret });
  });
  afterEach(async () => {
    clients.closeAll();
    await stopRawApps();
    ags.reset();
  });
  afterAll(async () => {
    await ags?.close();
  });

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    AB_BASE_URL: ags.url,
    AB_CLIENT_ID: clientId,
    AB_CLIENT_SECRET: clientSecret,
    AB_NAMESPACE: 'mygame',
    ITEM_ID_TO_GRANT: 'item-1',
    STATE_STORE: 'memory', // these tests read the exact AGS call sequence of the action: no store calls in between
    ...extra,
  });

  /** Everything that must never be written: the secret, the Basic value, every token and Authorization value the stand-in saw. */
  const secrets = (): string[] => {
    const seen = ags.requests.map((r) => r.headers.authorization ?? '').filter((a) => a !== '');
    const tokens = seen.filter((a) => a.startsWith('Bearer ')).map((a) => a.slice('Bearer '.length));
    expect(seen).toContain(`Basic ${basic}`); // the login happened, with the credentials we hide
    return [clientSecret, basic, ...seen, ...tokens, 'stand-in-token-'];
  };
  const expectClean = (text: string): void => {
    expect(text.length).toBeGreaterThan(0);
    for (const s of secrets()) expect(text).not.toContain(s);
    expect(text).not.toMatch(/Bearer [A-Za-z0-9]/);
    expect(text).not.toMatch(/Basic [A-Za-z0-9+/=]{8,}/);
    expect(text).not.toContain(clientSecret.slice(0, 20)); // nor a part of it
  };

  interface FailingLogin {
    readonly loginStatus: number;
    readonly code: grpc.status;
    readonly outcome: string;
    readonly status: string;
    readonly hint: RegExp;
    /** Logins tried after the 401 (each refused). */
    readonly logins: number;
  }

  /** The token in use stops working while the app runs and every new login answers `loginStatus`; one event is sent. */
  async function failingLogin(c: FailingLogin): Promise<void> {
    const app = await spawnRawApp(env({ LOG_LEVEL: 'debug', AGS_MAX_ATTEMPTS: '2' }));
    await waitServing(app);
    // the token in use stops working and every new login fails
    ags.revokeTokens();
    ags.fail('/iam/v3/oauth/token', Array.from({ length: 50 }, () => ({ status: c.loginStatus, body: { error: 'server_error', error_description: 'Client authentication failed' } })));
    const eventId = `evt-logs-${hex(4)}`;
    const user = userId();
    const r = await callOnce(connect(app), await encode(LOGIN_SERVICE, loginEvent({ id: eventId, userId: user })));
    expect(r.code).toBe(c.code);
    await waitUntil('the summary line', () => /rule\(s\) matched/.test(app.stdout()));
    await app.stop();

    // the failure happened as scripted: the bearer call refused, then a login failed
    const seen = ags.requests.map((req) => [req.operation, req.outcome]);
    expect(seen.slice(0, 3)).toEqual([
      ['login', 200],
      ['fulfillItem', 401],
      ['login', c.loginStatus],
    ]);
    expect(seen.slice(2)).toEqual(Array.from({ length: c.logins }, () => ['login', c.loginStatus]));
    expect(ags.fulfillments).toEqual([]);
    expectClean(app.stdout() + app.stderr());
    expect(r.details).not.toContain(clientSecret);

    const lines = app.lines();
    const summaries = lines.filter((l) => typeof l.msg === 'string' && /rule\(s\) matched/.test(l.msg));
    expect(summaries).toHaveLength(1);
    const s = summaries[0]!;
    expect(s).toMatchObject({ level: 'info', eventId, event: 'userLoggedIn', outcome: c.outcome, rules: { 'grant-item-on-login': 'matched' } });
    expect(s.msg).toBe(`userLoggedIn: 1 rule(s) matched, 1 action(s), ${c.outcome}`);
    expect(typeof s.durationMs).toBe('number');
    expect(s.actions).toEqual([{ rule: 'grant-item-on-login', action: 'grantItem', index: 0, status: c.status, error: expect.stringMatching(c.hint) as unknown }]);
    // tracing off: no line carries trace or span ids
    for (const l of lines) {
      expect(l).not.toHaveProperty('traceId');
      expect(l).not.toHaveProperty('spanId');
    }
    // every line written for the event names it
    const forEvent = lines.filter((x) => x.eventId !== undefined);
    expect(forEvent.length).toBeGreaterThan(1);
    for (const l of forEvent) expect(l).toMatchObject({ eventId, event: 'userLoggedIn' });
  }

  // A login refused (401: credentials revoked or rotated while the app runs) fails the event as retriable: it is
  // redelivered rather than dead-lettered, so nothing is lost while the settings are fixed (AGS_MAX_ATTEMPTS=2 logins).
  it('a login refused (401) while an event is handled: answered UNAVAILABLE, logs clean, summary line, no trace ids with tracing off', () =>
    failingLogin({ loginStatus: 401, code: grpc.status.UNAVAILABLE, outcome: 'retry', status: 'retriable', hint: /wrong AB_CLIENT_ID\/AB_CLIENT_SECRET/, logins: 2 }));

  // A login the token endpoint cannot serve (503) is retriable: the event is answered UNAVAILABLE after
  // AGS_MAX_ATTEMPTS (2) logins (each failed login counts as an attempt), the summary line says retry.
  it('a login failing with 503 while an event is handled: retried AGS_MAX_ATTEMPTS times, answered UNAVAILABLE, summary line says retry', () =>
    failingLogin({ loginStatus: 503, code: grpc.status.UNAVAILABLE, outcome: 'retry', status: 'retriable', hint: /AGS login \(IAM\) failed: 503/, logins: 2 }));

  it('a login that fails at start: exits 1 naming the cause, without the secret', async () => {
    ags.fail('/iam/v3/oauth/token', [{ status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } }]);
    const app = await spawnRawApp(env({ LOG_LEVEL: 'trace' }));
    expect(await app.exited).toBe(1);
    expect(app.stderr()).toMatch(/cannot start: .*wrong AB_CLIENT_ID\/AB_CLIENT_SECRET/);
    expectClean(app.stdout() + app.stderr());
  });

  it('LOG_LEVEL=debug and LOG_PAYLOADS=true: the payload line masks personal fields; still no secret or token', async () => {
    const app = await spawnRawApp(env({ LOG_LEVEL: 'debug', LOG_PAYLOADS: 'true' }));
    await waitServing(app);
    const eventId = `evt-payload-${hex(4)}`;
    const user = userId();
    const email = `player-${hex(4)}@example.com`;
    const displayName = `Display-${hex(4)}`;
    const userName = `uname-${hex(4)}`;
    const base = loginEvent({ id: eventId, userId: user });
    const event = { ...base, payload: { userAuthentication: { platformId: 'steam' }, userAccount: { userId: user, namespace: 'mygame', emailAddress: email, displayName, userName, country: 'FR' } } };
    expect(await callOnce(connect(app), await encode(LOGIN_SERVICE, event))).toEqual({ code: grpc.status.OK, details: '' });
    await waitUntil('the summary line', () => /rule\(s\) matched/.test(app.stdout()));
    await app.stop();

    const out = app.stdout() + app.stderr();
    expectClean(out);
    expect(ags.fulfillments).toEqual([expect.objectContaining({ namespace: 'mygame', userId: user, itemId: 'item-1', quantity: 1 })]);
    for (const personal of [email, displayName, userName]) expect(out).not.toContain(personal);

    const lines = app.lines();
    const payload = lines.find((l) => l.msg === 'event payload');
    expect(payload).toMatchObject({
      level: 'debug',
      eventId,
      event: 'userLoggedIn',
      payload: { id: eventId, payload: { userAccount: { userId: user, emailAddress: '***', displayName: '***', userName: '***', country: '***' } } },
    });
    const summary = lines.find((l) => typeof l.msg === 'string' && /rule\(s\) matched/.test(l.msg));
    expect(summary).toMatchObject({
      level: 'info',
      eventId,
      event: 'userLoggedIn',
      outcome: 'ok',
      msg: 'userLoggedIn: 1 rule(s) matched, 1 action(s), ok',
      rules: { 'grant-item-on-login': 'matched' },
      actions: [{ rule: 'grant-item-on-login', action: 'grantItem', index: 0, status: 'succeeded' }],
    });
    for (const l of lines) expect(l).not.toHaveProperty('traceId');
  });
});
