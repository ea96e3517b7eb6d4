/**
 * Back-pressure toward AGS (issue 23: "a per-service concurrency or rate bound, configurable, that turns
 * pressure into UNAVAILABLE rather than retry storms"): the real {@link HttpCaller} against a local HTTP
 * server that holds or throttles requests, counting what reaches it.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpCaller } from '../../src/ags/http-caller.js';
import type { CallSpec } from '../../src/ags/http-caller.js';
import { AgsError } from '../../src/ags/errors.js';
import { ServiceGate } from '../../src/ags/service-gate.js';
import { waitUntil } from '../support/wait.js';

interface Held {
  readonly path: string;
  readonly at: number;
  answer(status: number, headers?: Record<string, string>): void;
}

/** A server that holds every request until the test answers it (or answers at once with `auto`). */
async function holdingServer(auto?: (path: string, n: number) => { status: number; headers?: Record<string, string> } | undefined) {
  const held: Held[] = [];
  const arrivals: { path: string; at: number }[] = [];
  let n = 0;
  let mostAtOnce = 0;
  let open = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    const path = req.url ?? '/';
    const at = Date.now();
    arrivals.push({ path, at });
    open++;
    mostAtOnce = Math.max(mostAtOnce, open);
    const answer = (status: number, headers: Record<string, string> = {}): void => {
      open--;
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(status === 200 ? { ok: true } : { errorCode: 20000, errorMessage: 'throttled' }));
    };
    const now = auto?.(path, n++);
    if (now) answer(now.status, now.headers);
    else held.push({ path, at, answer });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    held,
    arrivals,
    mostAtOnce: () => mostAtOnce,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const servers: { close(): Promise<void> }[] = [];
const callers: HttpCaller[] = [];
afterEach(async () => {
  for (const c of callers.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

function caller(options: ConstructorParameters<typeof HttpCaller>[0]): HttpCaller {
  const c = new HttpCaller({ backoffBaseMs: 1, ...options });
  callers.push(c);
  return c;
}

function spec(url: string, path: string, extra: Partial<CallSpec> = {}): CallSpec {
  return { operation: 'fulfillItem', service: 'Platform', idempotent: false, prepare: () => ({ method: 'POST', url: new URL(path, url), headers: {}, body: '{}' }), ...extra };
}

describe('AGS back-pressure per service (AGS_MAX_IN_FLIGHT, AGS_QUEUE_WAIT_MS)', () => {
  it('at most AGS_MAX_IN_FLIGHT requests in flight to one service; the others wait their turn and all succeed, each sent once', async () => {
    const s = await holdingServer();
    servers.push(s);
    const c = caller({ maxInFlightPerService: 3, queueWaitMs: 60_000 });
    const calls = Array.from({ length: 10 }, (_, i) => c.call(spec(s.url, `/p/${i}`)));
    await waitUntil('3 held at the server, 7 waiting in the gate', () => s.held.length === 3 && c.gate.load('Platform').waiting === 7);
    expect(s.arrivals.map((a) => a.path).sort()).toEqual(['/p/0', '/p/1', '/p/2']); // the first three calls (their connections may reorder them)
    // another service is not held back by this one's queue
    const other = c.call(spec(s.url, '/cloudsave', { service: 'Cloud Save' }));
    await waitUntil('the Cloud Save request at the server', () => s.held.length === 4);
    s.held.pop()!.answer(200);
    await other;
    let answered = 0;
    while (answered < 10) {
      await waitUntil('a held request', () => s.held.length > 0);
      s.held.shift()!.answer(200);
      answered++;
    }
    const results = await Promise.all(calls);
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(s.arrivals.filter((a) => a.path.startsWith('/p/')).map((a) => a.path).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `/p/${i}`).sort()); // each sent once
    expect(s.mostAtOnce()).toBeLessThanOrEqual(4); // 3 of Platform + the Cloud Save one
    expect(c.gate.load('Platform')).toMatchObject({ inFlight: 0, waiting: 0 });
  });

  it('a request that gets no slot within AGS_QUEUE_WAIT_MS is refused before it is sent: a retriable `busy` error, nothing reaches AGS', async () => {
    const s = await holdingServer();
    servers.push(s);
    const c = caller({ maxInFlightPerService: 1, queueWaitMs: 50 });
    const first = c.call(spec(s.url, '/first'));
    await waitUntil('the first request held', () => s.held.length === 1);
    const refused = await c.call(spec(s.url, '/second')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AgsError);
    expect(refused).toMatchObject({ kind: 'busy', retriable: true, attempts: 0, service: 'Platform' });
    expect((refused as AgsError).outcomeUnknown).toBeFalsy();
    expect((refused as Error).message).toMatch(/not sent: AGS Platform is busy \(1 requests in flight; AGS_MAX_IN_FLIGHT=1, AGS_QUEUE_WAIT_MS=50\)/);
    expect(s.arrivals.map((a) => a.path)).toEqual(['/first']);
    s.held.shift()!.answer(200);
    expect((await first).status).toBe(200);
    expect(c.gate.load('Platform')).toMatchObject({ inFlight: 0, waiting: 0 }); // the refused call held no slot
  });

  it('a 429 holds the whole service for its Retry-After: a call that starts during the hold is sent after it, not into it', async () => {
    const s = await holdingServer((_path, n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    servers.push(s);
    const c = caller({ queueWaitMs: 10_000 });
    const first = c.call(spec(s.url, '/first'));
    await waitUntil('the 429 answered and the service held', () => c.gate.load('Platform').heldUntil > 0);
    const throttledAt = s.arrivals[0]!.at;
    const second = await c.call(spec(s.url, '/second'));
    expect(second.status).toBe(200);
    expect((await first).status).toBe(200);
    const secondAt = s.arrivals.find((a) => a.path === '/second')!.at;
    // nothing went out to the service during the second it asked for (lower bound only: a slow machine is later still)
    expect(secondAt - throttledAt).toBeGreaterThanOrEqual(950);
    expect(s.arrivals.map((a) => a.path).sort()).toEqual(['/first', '/first', '/second']); // the retry and the new call, in either order
  });

  it('a 429 without Retry-After (AGS sends none) holds new calls for the backoff\'s base only, not for the throttled call\'s growing backoff', async () => {
    const s = await holdingServer((_path, n) => (n < 8 ? { status: 429 } : { status: 200 }));
    servers.push(s);
    // the throttled call's own waits are skipped (recorded): its 7th retry would wait up to 6.4 s
    const c = caller({ backoffBaseMs: 100, backoffMaxMs: 60_000, random: () => 0.99, sleep: () => Promise.resolve(), maxAttempts: 8, queueWaitMs: 2_000 });
    const first = await c.call(spec(s.url, '/first')).catch((e: unknown) => e);
    expect(first).toMatchObject({ status: 429, attempts: 8 });
    expect(c.gate.load('Platform').heldUntil - Date.now()).toBeLessThanOrEqual(100);
    // a later call waits out the short hold (as the probe) and is sent; on the build before, held 6.3 s: refused as busy
    expect((await c.call(spec(s.url, '/second'))).status).toBe(200);
    expect(s.arrivals.filter((a) => a.path === '/second')).toHaveLength(1);
  });

  it('a hold longer than AGS_QUEUE_WAIT_MS refuses new calls at once as `busy` (UNAVAILABLE for their events), also when the throttled call itself gave up', async () => {
    const s = await holdingServer((_path, n) => (n === 0 ? { status: 429, headers: { 'retry-after': '30' } } : { status: 200 }));
    servers.push(s);
    const c = caller({ queueWaitMs: 1_000, maxAttempts: 1 });
    const first = await c.call(spec(s.url, '/first')).catch((e: unknown) => e);
    expect(first).toMatchObject({ status: 429, retriable: true });
    const refused = await c.call(spec(s.url, '/second')).catch((e: unknown) => e);
    expect(refused).toMatchObject({ kind: 'busy', retriable: true, attempts: 0 });
    expect((refused as Error).message).toMatch(/held after a 429/);
    expect(s.arrivals.map((a) => a.path)).toEqual(['/first']);
  });

  it('a call whose event is cancelled while it waits is answered `aborted` and leaves no slot taken', async () => {
    const s = await holdingServer();
    servers.push(s);
    const c = caller({ maxInFlightPerService: 1, queueWaitMs: 60_000 });
    const first = c.call(spec(s.url, '/first'));
    await waitUntil('the first request held', () => s.held.length === 1);
    const abort = new AbortController();
    const second = c.call(spec(s.url, '/second', { signal: abort.signal })).catch((e: unknown) => e);
    await waitUntil('the second call waiting', () => c.gate.load('Platform').waiting === 1);
    abort.abort();
    expect(await second).toMatchObject({ kind: 'aborted', retriable: true, attempts: 0 });
    s.held.shift()!.answer(200);
    await first;
    expect(c.gate.load('Platform')).toMatchObject({ inFlight: 0, waiting: 0 });
    expect(s.arrivals.map((a) => a.path)).toEqual(['/first']);
  });

  it('calls without a service (webhooks) are not bounded; 0 means no bound', async () => {
    const gate = new ServiceGate({ maxInFlight: 0 });
    for (let i = 0; i < 1000; i++) expect(gate.tryEnter('Platform')).toBe(true);
    const s = await holdingServer();
    servers.push(s);
    const c = caller({ maxInFlightPerService: 1, queueWaitMs: 50 });
    const calls = [0, 1, 2].map((i) => c.call(spec(s.url, `/hook/${i}`, { service: undefined })));
    await waitUntil('3 webhook requests held at once', () => s.held.length === 3);
    for (const h of s.held.splice(0)) h.answer(200);
    await Promise.all(calls);
  });
});
