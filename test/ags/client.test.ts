import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgsClient } from '../../src/ags/client.js';
import { AgsError, AgsLoginError } from '../../src/ags/errors.js';
import { ops } from '../../src/ags/operations.js';
import { mayHaveReached } from '../../src/ags/http-caller.js';
import { TransportError } from '../../src/ags/transport.js';
import { backoffDelay, parseRetryAfter } from '../../src/ags/retry.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { USER, captureLogger, clientFor } from './helpers.js';

let ags: AgsStandIn;
const clients: AgsClient[] = [];
function track<T extends { client: AgsClient }>(x: T): T {
  clients.push(x.client);
  return x;
}

beforeAll(async () => {
  ags = await startAgsStandIn();
});
afterAll(async () => {
  await ags.close();
});
afterEach(() => {
  expect(ags.violations).toEqual([]);
  ags.reset();
  for (const c of clients.splice(0)) c.close();
});

async function counter(metrics: Metrics, name: string): Promise<Array<{ labels: Record<string, string | number>; value: number }>> {
  const m = await metrics.registry.getSingleMetric(name)!.get();
  return m.values.map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}

const grant = { itemId: 'item-1', quantity: 1, source: 'REWARD' };

describe('token', () => {
  it('logs in with Basic auth and a form body, exactly as the contract says', async () => {
    const { client } = track(clientFor(ags));
    const info = await client.login();
    expect(info.expiresInSeconds).toBe(3600);
    const [login] = ags.requests;
    expect(login!.method).toBe('POST');
    expect(login!.path).toBe('/iam/v3/oauth/token');
    expect(login!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(login!.headers.authorization).toBe(`Basic ${Buffer.from('test-client-id:test-client-secret').toString('base64')}`);
    expect(login!.rawBody).toBe('grant_type=client_credentials');
  });

  it('shares one login among 100 concurrent calls', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const { client } = track(clientFor(ags, { metrics }));
    await Promise.all(Array.from({ length: 100 }, () => client.fulfillItem('mygame', USER, grant)));
    expect(ags.tokensIssued()).toBeGreaterThan(0);
    expect(ags.requests.filter((r) => r.operation === 'login')).toHaveLength(1);
    expect(ags.grants()).toBe(100);
    const bearer = new Set(ags.serviceRequests().map((r) => r.headers.authorization));
    expect(bearer.size).toBe(1);
    expect([...bearer][0]).toMatch(/^Bearer stand-in-token-/);
    expect(await counter(metrics, 'event_rules_ags_logins_total')).toEqual([{ labels: { reason: 'initial', result: 'ok' }, value: 1 }]);
    expect(await counter(metrics, 'event_rules_ags_requests_total')).toContainEqual({ labels: { operation: 'fulfillItem', status: '200' }, value: 100 });
  });

  it('refreshes once 80% of expires_in has passed (by the injected clock)', async () => {
    let now = 1_000_000;
    const metrics = new Metrics({ defaultMetrics: false });
    const { client } = track(clientFor(ags, { now: () => now, metrics }));
    await client.adminUnlockAchievement('mygame', USER, 'first-win');
    now += 0.79 * 3600_000;
    await client.adminUnlockAchievement('mygame', USER, 'first-win');
    expect(ags.requests.filter((r) => r.operation === 'login')).toHaveLength(1);
    now += 0.02 * 3600_000;
    await client.adminUnlockAchievement('mygame', USER, 'first-win');
    expect(ags.requests.filter((r) => r.operation === 'login')).toHaveLength(2);
    const auth = ags.serviceRequests().map((r) => r.headers.authorization);
    expect(auth[2]).not.toBe(auth[0]);
    expect(await counter(metrics, 'event_rules_ags_logins_total')).toContainEqual({ labels: { reason: 'refresh', result: 'ok' }, value: 1 });
  });

  it('on a 401 logs in again once and retries the call once', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const { client } = track(clientFor(ags, { metrics }));
    await client.login();
    ags.revokeTokens();
    await client.creditUserWallet('mygame', USER, 'COINS', { amount: 5, source: 'REWARD' });
    expect(ags.serviceRequests().map((r) => r.outcome)).toEqual([401, 200]);
    expect(ags.requests.filter((r) => r.operation === 'login')).toHaveLength(2);
    expect(await counter(metrics, 'event_rules_ags_logins_total')).toContainEqual({ labels: { reason: 'unauthorized', result: 'ok' }, value: 1 });
  });

  it('tokens revoked under a burst: every call logs in again through one shared login and succeeds once', async () => {
    const { client } = track(clientFor(ags));
    await client.login();
    ags.revokeTokens();
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => client.creditUserWallet('mygame', USER, i % 2 ? 'COINS' : 'GEMS', { amount: i + 1, source: 'REWARD' })));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(ags.requests.filter((r) => r.operation === 'login')).toHaveLength(2);
    expect(ags.serviceRequests().filter((r) => r.outcome === 200)).toHaveLength(30);
  });

  it('a second 401 in a row is an error, not a loop', async () => {
    const { client } = track(clientFor(ags));
    ags.fail('/wallets/', [
      { status: 401, body: { errorCode: 20001, errorMessage: 'unauthorized access' } },
      { status: 401, body: { errorCode: 20001, errorMessage: 'unauthorized access' } },
    ]);
    const err = await client.creditUserWallet('mygame', USER, 'COINS', { amount: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgsError);
    expect(err).toMatchObject({ status: 401, errorCode: 20001, retriable: false, attempts: 2 });
    expect(ags.serviceRequests()).toHaveLength(2);
  });

  it('wrong credentials: AgsLoginError naming AB_CLIENT_ID/AB_CLIENT_SECRET, no secret anywhere', async () => {
    const { logger, lines } = captureLogger();
    const client = new AgsClient({ baseUrl: ags.url, clientId: 'test-client-id', clientSecret: 'wrong-s3cr3t-value', logger });
    clients.push(client);
    const err = await client.login().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgsLoginError);
    expect(err).toMatchObject({ operation: 'login', status: 401, errorCode: 'invalid_client', retriable: false });
    expect((err as AgsLoginError).hint).toBe('wrong AB_CLIENT_ID/AB_CLIENT_SECRET');
    expect((err as Error).message).toContain('wrong AB_CLIENT_ID/AB_CLIENT_SECRET');
    const basic = Buffer.from('test-client-id:wrong-s3cr3t-value').toString('base64');
    for (const text of [(err as Error).message, JSON.stringify(err), ...lines]) {
      expect(text).not.toContain('wrong-s3cr3t-value');
      expect(text).not.toContain(basic);
    }
    expect(lines.length).toBeGreaterThan(0);
  });

  it('credentials revoked while running: the call fails retriable (the event is redelivered, not dead-lettered); login() at start stays permanent', async () => {
    const { client } = track(clientFor(ags, { maxAttempts: 3 }));
    await client.login();
    ags.revokeTokens();
    const refused = Array.from({ length: 10 }, () => ({ status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } }));
    ags.fail('/iam/v3/oauth/token', refused);
    const err = await client.fulfillItem('mygame', USER, { itemId: 'item-1', quantity: 1, source: 'REWARD' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgsLoginError);
    expect(err).toMatchObject({ operation: 'login', status: 401, retriable: true });
    expect((err as AgsLoginError).hint).toBe('wrong AB_CLIENT_ID/AB_CLIENT_SECRET');
    // the bearer call refused once, then one failed login per attempt (3), no fulfillment
    expect(ags.requests.filter((r) => r.operation === 'login' && r.outcome === 401)).toHaveLength(3);
    expect(ags.fulfillments).toEqual([]);
    // at start-up the same refusal stays permanent: the app exits naming the setting
    const startErr = await client.login().catch((e: unknown) => e);
    expect(startErr).toMatchObject({ operation: 'login', status: 401, retriable: false });
  });

  it('403 on login: hint about permissions', async () => {
    const { client } = track(clientFor(ags));
    ags.fail('/iam/v3/oauth/token', [{ status: 403, body: { error: 'access_denied', error_description: 'client not allowed' } }]);
    const err = (await client.login().catch((e: unknown) => e)) as AgsLoginError;
    expect(err).toBeInstanceOf(AgsLoginError);
    expect(err.status).toBe(403);
    expect(err.hint).toMatch(/permission/);
  });

  it('connection refused: hint to check AB_BASE_URL', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const client = new AgsClient({ baseUrl: `http://127.0.0.1:${port}`, clientId: 'a', clientSecret: 'b' });
    clients.push(client);
    const err = (await client.login().catch((e: unknown) => e)) as AgsLoginError;
    expect(err).toBeInstanceOf(AgsLoginError);
    expect(err).toMatchObject({ kind: 'network', code: 'ECONNREFUSED', retriable: true });
    expect(err.hint).toMatch(/check AB_BASE_URL/);
  });
});

describe('retries', () => {
  it('429 with Retry-After (seconds) waits what the server asked', async () => {
    const { client, delays } = track(clientFor(ags));
    ags.fail('/fulfillment', [{ status: 429, headers: { 'retry-after': '2' }, body: { errorCode: 20000, errorMessage: 'too many' } }]);
    await client.fulfillItem('mygame', USER, grant);
    expect(delays).toEqual([2000]);
    expect(ags.serviceRequests().map((r) => r.outcome)).toEqual([429, 200]);
  });

  it('429 with Retry-After as an HTTP date, relative to the injected clock', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const { client, delays } = track(clientFor(ags, { now: () => now }));
    ags.fail('/fulfillment', [{ status: 429, headers: { 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' } }]);
    await client.fulfillItem('mygame', USER, grant);
    expect(delays).toEqual([3000]);
  });

  it('429 without Retry-After: full-jitter exponential backoff', async () => {
    const { client, delays } = track(clientFor(ags, { random: () => 0.5, backoffBaseMs: 100, backoffMaxMs: 300 }));
    ags.fail('/fulfillment', [{ status: 429 }, { status: 429 }, { status: 429 }]);
    await client.fulfillItem('mygame', USER, grant);
    expect(delays).toEqual([50, 100, 150]);
    expect(ags.grants()).toBe(1);
  });

  it('503 then success', async () => {
    const { client } = track(clientFor(ags));
    ags.fail('/entitlements', [{ status: 503, body: { errorCode: 20000, errorMessage: 'unavailable' } }]);
    await client.grantUserEntitlement('mygame', USER, [{ itemId: 'item-1', itemNamespace: 'mygame', quantity: 1 }]);
    expect(ags.serviceRequests().map((r) => r.outcome)).toEqual([503, 201]);
  });

  it('gives up after maxAttempts with a retriable AgsError', async () => {
    const { client, delays } = track(clientFor(ags, { maxAttempts: 3 }));
    ags.fail('/fulfillment', [{ status: 429 }, { status: 503 }, { status: 503, body: { errorCode: 20000, errorMessage: 'unavailable' } }]);
    const err = (await client.fulfillItem('mygame', USER, grant).catch((e: unknown) => e)) as AgsError;
    expect(err).toBeInstanceOf(AgsError);
    expect(err).toMatchObject({ operation: 'fulfillItem', status: 503, errorCode: 20000, errorMessage: 'unavailable', retriable: true, attempts: 3, kind: 'http' });
    expect(err.message).toBe('fulfillItem (AGS Platform) failed: 503 errorCode 20000 "unavailable" (retriable, 3 attempts)');
    expect(delays).toHaveLength(2);
  });

  it('408 (the request was not received whole: not applied) is retried, even for a call that is not idempotent', async () => {
    const { client } = track(clientFor(ags));
    ags.fail('/entitlements', [{ status: 408, body: { errorCode: 20000, errorMessage: 'request timeout' } }]);
    await client.grantUserEntitlement('mygame', USER, [{ itemId: 'item-1', itemNamespace: 'mygame', quantity: 1 }]);
    expect(ags.serviceRequests().map((r) => r.outcome)).toEqual([408, 201]);
  });

  it('an idempotent call answered 502 and 504 is retried: it is safe to repeat', async () => {
    const { client } = track(clientFor(ags));
    ags.fail('/unlock', [{ status: 502 }, { status: 504 }]);
    await client.adminUnlockAchievement('mygame', USER, 'a');
    expect(ags.serviceRequests().map((r) => r.outcome)).toEqual([502, 504, 204]);
  });

  it.each([500, 502, 504])('a call that is not idempotent answered %i may have been applied: an outcome-unknown AgsError, never sent again', async (status) => {
    const { client } = track(clientFor(ags));
    ags.fail('/fulfillment', [{ status, body: { errorCode: 20000, errorMessage: 'upstream' } }]);
    const err = (await client.fulfillItem('mygame', USER, grant).catch((e: unknown) => e)) as AgsError;
    expect(err).toMatchObject({ operation: 'fulfillItem', status, errorCode: 20000, retriable: true, outcomeUnknown: true, attempts: 1, kind: 'http' });
    expect(err.errorMessage).toMatch(/may have been applied \(outcome unknown, not repeated\)/);
    expect(ags.serviceRequests().filter((r) => r.operation === 'fulfillItem')).toHaveLength(1);
  });

  it('a hanging server hits the per-attempt timeout, then the retry succeeds (a call safe to repeat)', async () => {
    const { client } = track(clientFor(ags, { timeoutMs: 300 }));
    ags.fail('/unlock', [{ hang: true }]);
    await client.adminUnlockAchievement('mygame', USER, 'a');
    expect(ags.serviceRequests().map((r) => r.outcome)).toEqual(['hang', 204]);
  });

  it('(the timeout tests stay deterministic) a slow answer, as on a loaded machine, is waited for: only a request scripted to go unanswered gets the short timeout', async () => {
    const { client } = track(clientFor(ags, { timeoutMs: 300 }));
    // the retry answered late: undici's attempt timeout runs on a 0.5 s tick, a 300 ms one fires by about 1.3 s
    ags.fail('/unlock', [{ hang: true }, { proceed: true, delayMs: 2000 }]);
    await client.adminUnlockAchievement('mygame', USER, 'a');
    expect(ags.serviceRequests().map((r) => r.outcome)).toEqual(['hang', 204]);
  });

  it('a non-idempotent call sent and unanswered (timeout, reset, answer after the timeout) is never sent again: outcome unknown', async () => {
    const { client } = track(clientFor(ags, { timeoutMs: 300 }));
    for (const fault of [{ hang: true as const }, { reset: true as const, afterEffect: true }, { answerLateMs: 1000 }]) {
      ags.reset();
      ags.fail('/fulfillment', [fault]);
      const err = (await client.fulfillItem('mygame', USER, grant).catch((e: unknown) => e)) as AgsError;
      expect(err).toMatchObject({ operation: 'fulfillItem', outcomeUnknown: true, retriable: true, attempts: 1 });
      expect(err.message).toMatch(/may have been applied/);
      expect(ags.serviceRequests().filter((r) => r.operation === 'fulfillItem')).toHaveLength(1);
    }
    expect(ags.grants()).toBe(1); // the answer-late one applied (after its reset), nothing twice
  });

  it('always hanging: a timeout AgsError without status', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const { client } = track(clientFor(ags, { timeoutMs: 200, maxAttempts: 2, metrics }));
    ags.fail('/unlock', [{ hang: true }, { hang: true }]);
    const err = (await client.adminUnlockAchievement('mygame', USER, 'a').catch((e: unknown) => e)) as AgsError;
    expect(err).toMatchObject({ kind: 'timeout', retriable: true, attempts: 2 });
    expect(err.status).toBeUndefined();
    expect(err.message).toMatch(/^AdminUnlockAchievement \(AGS Achievement\) failed: timeout .*\(retriable, 2 attempts\)$/);
    expect(await counter(metrics, 'event_rules_ags_requests_total')).toContainEqual({ labels: { operation: 'AdminUnlockAchievement', status: 'timeout' }, value: 2 });
  });

  it('a reset connection is retried (a call safe to repeat)', async () => {
    const { client } = track(clientFor(ags));
    ags.fail('/unlock', [{ reset: true }]);
    await client.adminUnlockAchievement('mygame', USER, 'a');
    expect(ags.serviceRequests().map((r) => r.outcome)).toEqual(['reset', 204]);
  });

  it('what may have reached AGS: not a refused connection, an unknown host, a connect timeout; yes a reset, a timeout waiting for the answer, an abort in flight', () => {
    expect(mayHaveReached(new TransportError('network', 'ECONNREFUSED', 'refused'))).toBe(false);
    expect(mayHaveReached(new TransportError('network', 'ENOTFOUND', 'no host'))).toBe(false);
    expect(mayHaveReached(new TransportError('timeout', 'ETIMEDOUT', 'connect timeout: x'))).toBe(false);
    expect(mayHaveReached(new TransportError('aborted', undefined, 'aborted before sending'))).toBe(false);
    expect(mayHaveReached(new TransportError('network', 'ECONNRESET', 'connection closed'))).toBe(true);
    expect(mayHaveReached(new TransportError('timeout', 'ETIMEDOUT', 'no answer within 300 ms'))).toBe(true);
    expect(mayHaveReached(new TransportError('aborted', undefined, 'aborted'))).toBe(true);
  });

  it.each([
    [400, 20002, 'validation failed'],
    [403, 20013, 'insufficient permission'],
    [404, 30341, 'item not found'],
    [409, 12273, 'Stat [logins] is not decreasable'], // a 409 other than the optimistic lock
  ])('no retry on %i', async (status, errorCode, errorMessage) => {
    const { client, delays } = track(clientFor(ags));
    ags.fail('/fulfillment', [{ status, body: { errorCode, errorMessage } }]);
    const err = (await client.fulfillItem('mygame', USER, grant).catch((e: unknown) => e)) as AgsError;
    expect(err).toBeInstanceOf(AgsError);
    expect(err).toMatchObject({ operation: 'fulfillItem', status, errorCode, errorMessage, retriable: false, attempts: 1, kind: 'http' });
    expect(err.message).toBe(`fulfillItem (AGS Platform) failed: ${status} errorCode ${errorCode} "${errorMessage}" (not retriable, 1 attempt)`);
    expect(delays).toEqual([]);
    expect(ags.serviceRequests()).toHaveLength(1);
  });

  it('409 errorCode 20006 "optimistic lock" (a concurrent write won, nothing applied) is retried', async () => {
    const { client, delays } = track(clientFor(ags));
    ags.fail('/fulfillment', [{ status: 409, body: { errorCode: 20006, errorMessage: 'optimistic lock' } }]);
    const res = await client.fulfillItem('mygame', USER, grant);
    expect(res.entitlementSummaries?.length).toBe(1);
    expect(delays).toHaveLength(1);
    expect(ags.serviceRequests()).toHaveLength(2);
  });

  it('an unknown item: the stand-in answers 404 30341 and nothing is retried', async () => {
    const { client } = track(clientFor(ags));
    const err = (await client.fulfillItem('mygame', USER, { itemId: 'nope', quantity: 1 }).catch((e: unknown) => e)) as AgsError;
    expect(err).toMatchObject({ status: 404, errorCode: 30341, retriable: false });
  });

  it('500 is retried only for idempotent operations', async () => {
    const { client } = track(clientFor(ags));
    ags.fail('/fulfillment', [{ status: 500, body: { errorCode: 20000, errorMessage: 'internal' } }]);
    const err = (await client.fulfillItem('mygame', USER, grant).catch((e: unknown) => e)) as AgsError;
    expect(err).toMatchObject({ status: 500, outcomeUnknown: true, attempts: 1 });
    ags.fail('/unlock', [{ status: 500 }]);
    await client.adminUnlockAchievement('mygame', USER, 'a');
    expect(ags.serviceRequests().filter((r) => r.operation === 'AdminUnlockAchievement').map((r) => r.outcome)).toEqual([500, 204]);
  });

  it('stops at the overall deadline (by the injected clock)', async () => {
    let now = 0;
    const delays: number[] = [];
    const client = new AgsClient({
      baseUrl: ags.url,
      clientId: ags.clientId,
      clientSecret: ags.clientSecret,
      now: () => now,
      deadlineMs: 5_000,
      maxAttempts: 10,
      sleep: (ms) => {
        delays.push(ms);
        now += ms;
        return Promise.resolve();
      },
    });
    clients.push(client);
    ags.fail('/fulfillment', Array.from({ length: 10 }, () => ({ status: 503, headers: { 'retry-after': '2' } })));
    const err = (await client.fulfillItem('mygame', USER, grant).catch((e: unknown) => e)) as AgsError;
    expect(err).toMatchObject({ status: 503, retriable: true, attempts: 3 });
    expect(delays).toEqual([2000, 2000]);
  });

  it('an aborted signal stops the call and its retries', async () => {
    const { client } = track(clientFor(ags, { timeoutMs: 30_000 }));
    ags.fail('/fulfillment', [{ hang: true }]);
    const controller = new AbortController();
    const pending = client.fulfillItem('mygame', USER, grant, controller.signal).catch((e: unknown) => e);
    await ags.waitFor(() => ags.serviceRequests().length === 1);
    controller.abort();
    const err = (await pending) as AgsError;
    expect(err).toMatchObject({ kind: 'aborted', retriable: true, attempts: 1 });
    expect(ags.serviceRequests()).toHaveLength(1);
  });

  it('no token, secret or Authorization header in any error or log line', async () => {
    const { logger, lines } = captureLogger();
    const { client } = track(clientFor(ags, { logger, maxAttempts: 2 }));
    await client.login();
    ags.revokeTokens();
    ags.fail('/fulfillment', [{ status: 503 }, { status: 503 }]);
    const errors: unknown[] = [await client.fulfillItem('mygame', USER, grant).catch((e: unknown) => e)];
    ags.fail('/bans', [{ status: 400, body: { errorCode: 20002, errorMessage: 'bad' } }]);
    errors.push(await client.adminBanUserV3('mygame', USER, { ban: 'CHAT_SEND', comment: '', endDate: '2030-01-01T00:00:00Z', reason: 'CHEATING', skipNotif: false }).catch((e: unknown) => e));
    const tokens = ags.requests.map((r) => r.headers.authorization).filter((a): a is string => !!a);
    expect(tokens.length).toBeGreaterThan(2);
    const secrets = [ags.clientSecret, ...tokens, ...tokens.map((t) => t.split(' ')[1]!)];
    const texts = [...lines, ...errors.map((e) => `${(e as Error).message} ${JSON.stringify(e)}`)];
    expect(lines.length).toBeGreaterThan(1);
    for (const text of texts) for (const s of secrets) expect(text).not.toContain(s);
  });
});

describe('pure parts', () => {
  it('encodes path segments', () => {
    expect(ops.adminPutPlayerRecordHandlerV1('my game', 'u/1', 'a?b#c', {}).path).toBe('/cloudsave/v1/admin/namespaces/my%20game/users/u%2F1/records/a%3Fb%23c');
  });
  it('backoff and Retry-After', () => {
    expect(backoffDelay(0, 100, 5000, () => 0.999)).toBe(99);
    expect(backoffDelay(10, 100, 5000, () => 0.5)).toBe(2500);
    expect(parseRetryAfter('1.5', 0)).toBe(1500);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4000)).toBe(6000);
  });
  it('idempotency per operation', () => {
    expect(ops.updateUserStatItemValue('n', 'u', 's', { updateStrategy: 'INCREMENT', value: 1 }).idempotent).toBe(false);
    expect(ops.updateUserStatItemValue('n', 'u', 's', { updateStrategy: 'OVERRIDE', value: 1 }).idempotent).toBe(true);
    expect(ops.fulfillItemsV3('n', 'u', 't', { items: [] }).idempotent).toBe(true);
    expect(ops.fulfillItem('n', 'u', { quantity: 1 }).idempotent).toBe(false);
  });
});
