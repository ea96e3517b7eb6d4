import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog, EventService } from '../../src/events/types.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { callRaw, healthCheck, healthClient, listServices, rawClient, startHost, waitFor } from './support.js';
import type { RunningHost } from './support.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';

const LOGGED_IN = 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService';
const THIRD_PARTY = 'accelbyte.iam.account.v1.UserAuthenticationUserThirdPartyLoggedInService';
const INFRA = ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

export const USER_LOGGED_IN = {
  id: 'evt-1',
  version: 3,
  name: 'userLoggedIn',
  namespace: 'mygame',
  parentNamespace: 'studio',
  timestamp: '2026-03-11T10:00:00Z',
  clientId: 'client-1',
  userId: 'user-1',
  traceId: 'trace-1',
  sessionId: 'session-1',
  payload: {
    userAccount: { userId: 'user-1', namespace: 'mygame', emailAddress: 'a@example.com', country: 'SE' },
    userAuthentication: { platformId: 'steam', refresh: false },
  },
};

let catalog: Catalog;
let loggedIn: EventService;
let thirdParty: EventService;

beforeAll(async () => {
  catalog = await loadCatalog({ dirs: [FIXTURE_PROTO_DIR] });
  const a = catalog.resolve(LOGGED_IN);
  const b = catalog.resolve(THIRD_PARTY);
  if (!a.ok || !b.ok) throw new Error('proto/ lacks the account services');
  loggedIn = a.service;
  thirdParty = b.service;
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function start(options: Partial<Parameters<typeof startHost>[0]> = {}): Promise<{ h: RunningHost; client: grpc.Client }> {
  const h = await startHost({ catalog, ...options });
  cleanups.push(() => h.host.shutdown(0));
  const client = rawClient(h.address);
  cleanups.push(() => client.close());
  return { h, client };
}

function encode(service: EventService, event: Record<string, unknown>): Uint8Array {
  return catalog.codec(service).encode(event);
}

describe('event calls', () => {
  it('decodes UserLoggedIn and answers OK with an empty reply', async () => {
    const { h, client } = await start({ served: new Set([LOGGED_IN]) });
    const md = new grpc.Metadata();
    md.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    const result = await new Promise<{ err: grpc.ServiceError | null; reply?: Buffer }>((done) => {
      client.makeUnaryRequest(
        loggedIn.path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(encode(loggedIn, USER_LOGGED_IN)),
        md,
        (err, reply) => done({ err, ...(reply ? { reply } : {}) }),
      );
    });
    expect(result.err).toBeNull();
    expect(result.reply?.length).toBe(0);
    expect(h.seen).toHaveLength(1);
    const seen = h.seen[0]!;
    expect(seen.service.fullName).toBe(LOGGED_IN);
    expect(seen.event).toMatchObject({
      id: 'evt-1',
      userId: 'user-1',
      parentNamespace: 'studio',
      payload: { userAccount: { namespace: 'mygame', userId: 'user-1', emailAddress: 'a@example.com' } },
    });
    expect(seen.call.metadata!.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(seen.call.signal!.aborted).toBe(false);
  });

  it("reads one header without the metadata map (the replay header, every event): the first text value, as metadata[name] gives it", async () => {
    const { h, client } = await start({ served: new Set([LOGGED_IN]) });
    const md = new grpc.Metadata();
    md.set('x-event-rules-replay', 'first-login-bonus');
    md.add('x-twice', 'a');
    md.add('x-twice', 'b');
    md.set('x-trace-bin', Buffer.from([1, 2, 3]));
    await new Promise<void>((done) => {
      client.makeUnaryRequest(loggedIn.path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(encode(loggedIn, USER_LOGGED_IN)), md, () => done());
    });
    const call = h.seen[0]!.call;
    expect(call.header!('x-event-rules-replay')).toBe('first-login-bonus');
    expect(call.header!('X-Event-Rules-Replay')).toBe('first-login-bonus'); // gRPC header names are case-insensitive
    expect(call.header!('x-trace-bin')).toBeUndefined(); // binary: not text
    expect(call.header!('absent')).toBeUndefined();
    const twice = call.header!('x-twice');
    expect(twice).toMatch(/^a(, b)?$/); // as HTTP/2 delivers a repeated header
    // what the map gives, also once it is made
    expect(call.metadata!['x-event-rules-replay']).toBe('first-login-bonus');
    expect(call.metadata!['x-twice']).toBe(twice);
    expect(call.header!('x-event-rules-replay')).toBe('first-login-bonus');
    expect(call.header!('x-trace-bin')).toBeUndefined();
  });

  it('answers garbage with INVALID_ARGUMENT, logs a warning and keeps serving', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const { h, client } = await start({ metrics });
    // field 1 (payload) as a length-delimited record claiming 100 bytes that are not there
    const bad = await callRaw(client, loggedIn.path, Buffer.from([0x0a, 0x64, 0x01, 0x02]));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/^cannot decode accelbyte\.iam\.account\.v1\.UserLoggedIn: /);
    expect(h.seen).toHaveLength(0);
    const warn = h.logLines().find((l) => l.level === 'warn');
    expect(warn).toMatchObject({ service: LOGGED_IN, event: 'userLoggedIn' });
    expect(String(warn?.reason)).toContain('cannot decode accelbyte.iam.account.v1.UserLoggedIn');

    const good = await callRaw(client, loggedIn.path, encode(loggedIn, USER_LOGGED_IN));
    expect(good.code).toBe(grpc.status.OK);
    expect(h.seen).toHaveLength(1);
    const invalid = await metrics.eventsInvalid.get();
    expect(invalid.values).toEqual([expect.objectContaining({ labels: { event: 'userLoggedIn' }, value: 1 })]);
  });

  it('decidedOn: hands over only those fields and the id (the whole through call.partial), refuses garbage as before; a whole that does not decode is INVALID_ARGUMENT', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const { h, client } = await start({ metrics, decidedOn: (s) => (s.fullName === LOGGED_IN ? ['namespace'] : undefined) });
    expect((await callRaw(client, loggedIn.path, encode(loggedIn, USER_LOGGED_IN))).code).toBe(grpc.status.OK);
    const [seen] = h.seen;
    expect(seen!.event).toEqual({ namespace: 'mygame', id: 'evt-1' });
    expect(seen!.call.partial!.fields).toEqual(['namespace']);
    expect(seen!.call.partial!.whole()).toEqual(catalog.codec(loggedIn).decode(encode(loggedIn, USER_LOGGED_IN)));
    // other services: whole, as without decidedOn
    expect((await callRaw(client, thirdParty.path, encode(thirdParty, { id: 'evt-2', namespace: 'mygame' }))).code).toBe(grpc.status.OK);
    expect(h.seen[1]!.call.partial).toBeUndefined();
    expect(h.seen[1]!.event).toMatchObject({ id: 'evt-2', payload: expect.any(Object) as unknown });

    const bad = await callRaw(client, loggedIn.path, Buffer.from([0x0a, 0x64, 0x01, 0x02]));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/^cannot decode accelbyte\.iam\.account\.v1\.UserLoggedIn: /);
    expect(h.seen).toHaveLength(2);

    h.respond = ({ call }) => {
      call.partial!.whole = () => catalog.codec(loggedIn).decode(Buffer.from([0x0a, 0x64])); // as if the rest did not decode
      call.partial!.whole();
      return Promise.resolve({ kind: 'ok' });
    };
    const late = await callRaw(client, loggedIn.path, encode(loggedIn, USER_LOGGED_IN));
    expect(late.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(late.details).toMatch(/^cannot decode accelbyte\.iam\.account\.v1\.UserLoggedIn: /);
    const invalid = await metrics.eventsInvalid.get();
    expect(invalid.values).toEqual([expect.objectContaining({ labels: { event: 'userLoggedIn' }, value: 2 })]);
  });

  it('maps outcomes to codes: retry UNAVAILABLE, failed INTERNAL, throw INTERNAL (generic), and counts them', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const { h, client } = await start({ metrics });
    const body = encode(loggedIn, USER_LOGGED_IN);

    h.respond = () => Promise.resolve({ kind: 'retry', message: 'AGS is unavailable' });
    expect(await callRaw(client, loggedIn.path, body)).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'AGS is unavailable' });

    h.respond = () => Promise.resolve({ kind: 'failed', message: 'grant failed' });
    expect(await callRaw(client, loggedIn.path, body)).toMatchObject({ code: grpc.status.INTERNAL, details: 'grant failed' });

    h.respond = () => Promise.reject(new Error('secret-ish detail that must not leak'));
    const thrown = await callRaw(client, loggedIn.path, body);
    expect(thrown.code).toBe(grpc.status.INTERNAL);
    expect(thrown.details).not.toContain('secret-ish');
    expect(h.logLines().some((l) => l.level === 'error' && l.msg === 'event handler threw')).toBe(true);

    h.respond = () => Promise.resolve({ kind: 'ok' });
    expect((await callRaw(client, loggedIn.path, body)).code).toBe(grpc.status.OK);
    expect((await callRaw(client, thirdParty.path, encode(thirdParty, {}))).code).toBe(grpc.status.OK);

    const handled = (await metrics.grpcHandled.get()).values;
    const count = (service: string, code: string): number =>
      handled.find((v) => v.labels.grpc_service === service && v.labels.grpc_code === code)?.value ?? 0;
    expect(count(LOGGED_IN, 'Unavailable')).toBe(1);
    expect(count(LOGGED_IN, 'Internal')).toBe(2);
    expect(count(LOGGED_IN, 'OK')).toBe(1);
    expect(count(THIRD_PARTY, 'OK')).toBe(1);
    expect(handled.every((v) => v.labels.grpc_type === 'unary' && v.labels.grpc_method === 'OnMessage')).toBe(true);
    const started = (await metrics.grpcStarted.get()).values.find((v) => v.labels.grpc_service === LOGGED_IN);
    expect(started?.value).toBe(4);
    const received = (await metrics.grpcMsgReceived.get()).values.find((v) => v.labels.grpc_service === LOGGED_IN);
    expect(received?.value).toBe(4);
    const sent = (await metrics.grpcMsgSent.get()).values.find((v) => v.labels.grpc_service === LOGGED_IN);
    expect(sent?.value).toBe(1);
    const seconds = (await metrics.grpcHandlingSeconds.get()).values.find(
      (v) => v.labels.grpc_service === LOGGED_IN && v.metricName === 'grpc_server_handling_seconds_count',
    );
    expect(seconds?.value).toBe(4);
  });

  it('a handler that answers synchronously (no rule matched) is answered the same way, a synchronous throw included', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const { h, client } = await start({ metrics });
    const body = encode(loggedIn, USER_LOGGED_IN);

    h.respond = () => ({ kind: 'ok' });
    expect(await callRaw(client, loggedIn.path, body)).toMatchObject({ code: grpc.status.OK });
    h.respond = () => ({ kind: 'retry', message: 'later' });
    expect(await callRaw(client, loggedIn.path, body)).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'later' });
    h.respond = () => {
      throw new Error('secret-ish detail that must not leak');
    };
    const thrown = await callRaw(client, loggedIn.path, body);
    expect(thrown.code).toBe(grpc.status.INTERNAL);
    expect(thrown.details).not.toContain('secret-ish');
    expect(h.logLines().some((l) => l.level === 'error' && l.msg === 'event handler threw')).toBe(true);

    // the handler's signal, asked for after the answer, is not aborted (nothing is left to cancel)
    expect(h.seen.at(-1)?.call.signal!.aborted).toBe(false);
    const handled = (await metrics.grpcHandled.get()).values;
    const count = (code: string): number => handled.find((v) => v.labels.grpc_service === LOGGED_IN && v.labels.grpc_code === code)?.value ?? 0;
    expect([count('OK'), count('Unavailable'), count('Internal')]).toEqual([1, 1, 1]);
  });
});

describe('served set', () => {
  it('answers UNIMPLEMENTED for a loaded service not served, and serves it after setServed', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const { h, client } = await start({ served: new Set([LOGGED_IN]), metrics });
    const body = encode(thirdParty, { userId: 'user-2' });

    expect(await listServices(h.address, 'v1')).toEqual([LOGGED_IN, ...INFRA].sort());
    const before = await callRaw(client, thirdParty.path, body);
    expect(before.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(h.seen).toHaveLength(0);

    h.host.setServed([LOGGED_IN, THIRD_PARTY, 'accelbyte.nothing.v1.NoSuchService']);
    expect(await listServices(h.address, 'v1alpha')).toEqual([LOGGED_IN, THIRD_PARTY, ...INFRA].sort());
    const after = await callRaw(client, thirdParty.path, body);
    expect(after.code).toBe(grpc.status.OK);
    expect(h.seen[0]?.event).toMatchObject({ userId: 'user-2' });
    expect(h.logLines().some((l) => l.level === 'warn' && JSON.stringify(l.services).includes('NoSuchService'))).toBe(true);

    h.host.setServed((s) => s.fullName === THIRD_PARTY);
    expect(await listServices(h.address, 'v1')).toEqual([THIRD_PARTY, ...INFRA].sort());
    expect((await callRaw(client, loggedIn.path, encode(loggedIn, USER_LOGGED_IN))).code).toBe(grpc.status.UNIMPLEMENTED);
    const handled = (await metrics.grpcHandled.get()).values;
    expect(handled.find((v) => v.labels.grpc_service === THIRD_PARTY && v.labels.grpc_code === 'Unimplemented')?.value).toBe(1);
  });

  it('answers UNIMPLEMENTED for a method no proto declares', async () => {
    const { client } = await start();
    const r = await callRaw(client, '/accelbyte.nothing.v1.NoSuchService/OnMessage', Buffer.alloc(0));
    expect(r.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('lists no health service when health is off, and no reflection when reflection is off', async () => {
    const { h } = await start({ served: new Set([LOGGED_IN]), health: false });
    expect(await listServices(h.address, 'v1')).toEqual([LOGGED_IN, ...INFRA.slice(1)].sort());
    const health = healthClient(h.address);
    cleanups.push(() => health.close());
    await expect(healthCheck(health)).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });

    const { h: h2 } = await start({ reflection: false });
    await expect(listServices(h2.address, 'v1')).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });
});

describe('health and shutdown', () => {
  it('goes NOT_SERVING -> SERVING -> NOT_SERVING at shutdown, and finishes the call in flight', async () => {
    const { h, client } = await start({ served: new Set([LOGGED_IN]) });
    const health = healthClient(h.address);
    cleanups.push(() => health.close());

    expect(await healthCheck(health)).toBe('NOT_SERVING');
    expect(await healthCheck(health, LOGGED_IN)).toBe('NOT_SERVING');
    h.host.setServing(true);
    expect(await healthCheck(health)).toBe('SERVING');
    expect(await healthCheck(health, LOGGED_IN)).toBe('SERVING');
    await expect(healthCheck(health, THIRD_PARTY)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });

    // a watcher sees the change when shutdown begins
    const statuses: string[] = [];
    const watch = health.Watch({ service: '' });
    watch.on('data', (r: { status: string }) => statuses.push(r.status));
    watch.on('error', () => undefined);
    await waitFor(() => statuses.includes('SERVING'));

    // a call in flight, blocked until released after shutdown has begun
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    h.respond = async () => {
      await gate;
      return { kind: 'ok' };
    };
    const inFlight = callRaw(client, loggedIn.path, encode(loggedIn, USER_LOGGED_IN));
    await waitFor(() => h.seen.length === 1);

    const stopped = h.host.shutdown(60_000);
    await waitFor(() => statuses.at(-1) === 'NOT_SERVING');
    watch.cancel();
    release();
    expect((await inFlight).code).toBe(grpc.status.OK);
    await stopped;
    expect(h.seen[0]?.call.signal!.aborted).toBe(false);

    // new calls are refused once stopped
    const late = rawClient(h.address);
    cleanups.push(() => late.close());
    const refused = await callRaw(late, loggedIn.path, encode(loggedIn, USER_LOGGED_IN));
    expect(refused.code).toBe(grpc.status.UNAVAILABLE);
    expect(h.seen).toHaveLength(1);
  });

  it('an open Watch stream does not hold shutdown for the grace period: it sees NOT_SERVING, then ends with OK', async () => {
    const { h } = await start({ served: new Set([LOGGED_IN]) });
    const health = healthClient(h.address);
    cleanups.push(() => health.close());
    h.host.setServing(true);
    const byService = new Map<string, { statuses: string[]; end: Promise<grpc.StatusObject> }>();
    for (const service of ['', LOGGED_IN]) {
      const watch = health.Watch({ service });
      const statuses: string[] = [];
      watch.on('data', (r: { status: string }) => statuses.push(r.status));
      watch.on('error', () => undefined);
      const end = new Promise<grpc.StatusObject>((resolve) => watch.on('status', resolve));
      byService.set(service, { statuses, end });
    }
    await waitFor(() => [...byService.values()].every((w) => w.statuses.includes('SERVING')));

    // no event in flight: shutdown is graceful, not a forced stop after the (long) grace period
    await h.host.shutdown(60_000);
    for (const w of byService.values()) {
      expect(w.statuses.at(-1)).toBe('NOT_SERVING');
      expect((await w.end).code).toBe(grpc.status.OK);
    }
    expect(h.logLines().some((l) => String(l.msg).startsWith('grace period over'))).toBe(false);
    // a late reload or status change writes nothing to the ended streams (no write after end)
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      h.host.setServed(new Set([THIRD_PARTY]));
      h.host.setServing(true);
      // a write after end fails in a later tick (stream errors are emitted on nextTick): two turns of the event loop
      for (let turn = 0; turn < 2; turn++) await new Promise((r) => setImmediate(r));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  });

  it('forces calls still in flight when the grace period ends and aborts their signal', async () => {
    const { h, client } = await start({ served: new Set([LOGGED_IN]) });
    h.respond = ({ call }) =>
      new Promise((resolve) => {
        call.signal!.addEventListener('abort', () => resolve({ kind: 'retry', message: 'aborted' }));
      });
    const inFlight = callRaw(client, loggedIn.path, encode(loggedIn, USER_LOGGED_IN));
    await waitFor(() => h.seen.length === 1);
    await h.host.shutdown(50);
    expect(h.seen[0]?.call.signal!.aborted).toBe(true);
    expect((await inFlight).code).not.toBe(grpc.status.OK);
  });

  it('aborts the signal when the client cancels', async () => {
    const { h, client } = await start({ served: new Set([LOGGED_IN]) });
    h.respond = ({ call }) =>
      new Promise((resolve) => {
        call.signal!.addEventListener('abort', () => resolve({ kind: 'retry', message: 'cancelled' }));
      });
    const call = client.makeUnaryRequest(
      loggedIn.path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(encode(loggedIn, USER_LOGGED_IN)),
      () => undefined,
    );
    await waitFor(() => h.seen.length === 1);
    call.cancel();
    await waitFor(() => h.seen[0]?.call.signal!.aborted === true);
  });

  it('abortWith: the handler\'s own controller is aborted on a client cancel and on a forced shutdown, without a signal of the call\'s own', async () => {
    const { h, client } = await start({ served: new Set([LOGGED_IN]) });
    const handed: AbortController[] = [];
    h.respond = ({ call }) =>
      new Promise((resolve) => {
        const c = new AbortController();
        handed.push(c);
        call.abortWith!(c);
        c.signal.addEventListener('abort', () => resolve({ kind: 'retry', message: String(c.signal.reason) }));
      });
    const cancelled = client.makeUnaryRequest(loggedIn.path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(encode(loggedIn, USER_LOGGED_IN)), () => undefined);
    await waitFor(() => handed.length === 1);
    cancelled.cancel();
    await waitFor(() => handed[0]!.signal.aborted);
    expect(String(handed[0]!.signal.reason)).toContain('cancelled by the client');
    // the call's signal, read later, is the handed controller's
    expect(h.seen[0]?.call.signal).toBe(handed[0]!.signal);

    const forced = callRaw(client, loggedIn.path, encode(loggedIn, USER_LOGGED_IN));
    await waitFor(() => handed.length === 2);
    await h.host.shutdown(50);
    expect(handed[1]!.signal.aborted).toBe(true);
    expect((await forced).code).not.toBe(grpc.status.OK);
  });

  it('abortWith after the call\'s signal was made: the handed controller follows that signal', async () => {
    const { h, client } = await start({ served: new Set([LOGGED_IN]) });
    const handed = new AbortController();
    h.respond = ({ call }) =>
      new Promise((resolve) => {
        const own = call.signal!;
        call.abortWith!(handed);
        expect(own).not.toBe(handed.signal);
        handed.signal.addEventListener('abort', () => resolve({ kind: 'retry', message: 'cancelled' }));
      });
    const call = client.makeUnaryRequest(loggedIn.path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(encode(loggedIn, USER_LOGGED_IN)), () => undefined);
    await waitFor(() => h.seen.length === 1);
    call.cancel();
    await waitFor(() => handed.signal.aborted);
  });

  it('rejects with ServerBindError when the port is taken', async () => {
    const { h } = await start();
    const { createEventHost, ServerBindError } = await import('../../src/server/host.js');
    const { memoryLogger } = await import('./support.js');
    const second = createEventHost({
      catalog,
      logger: memoryLogger().logger,
      onEvent: () => Promise.resolve({ kind: 'ok' }),
      host: '127.0.0.1',
      port: h.port,
    });
    cleanups.push(() => second.shutdown(0));
    await expect(second.start()).rejects.toBeInstanceOf(ServerBindError);
  });
});
