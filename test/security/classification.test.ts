/**
 * Issue 16, poison events: a permanent failure is never reported as
 * retriable (that answers UNAVAILABLE forever and blocks the sidecar's
 * batch). An event value with CR/LF/NUL used as an `http` header value, a
 * body that cannot be JSON, a request undici refuses before sending: each is
 * dead-lettered with its reason; timeouts and connection failures stay
 * retriable. Table-tested at the transport, the retry loop and the executor.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgsClient } from '../../src/ags/client.js';
import { AgsError, AgsPathSegmentError } from '../../src/ags/errors.js';
import { HttpCaller } from '../../src/ags/http-caller.js';
import type { TransportError} from '../../src/ags/transport.js';
import { HttpTransport, transportErrorOf } from '../../src/ags/transport.js';
import { ActionError, ActionParamError } from '../../src/actions/errors.js';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { MemoryDeadLetterSink } from '../../src/delivery/dead-letters.js';
import { EventDeadlineError, UnknownActionError, createExecutor } from '../../src/delivery/executor.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import type { PlannedAction } from '../../src/rules/types.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';

const USER = '0123456789abcdef0123456789abcdef';

function coded(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('transport errors: permanent vs retriable (table)', () => {
  const table: [string, unknown, TransportError['kind'], boolean][] = [
    ['undici invalid header value (CR/LF/NUL)', coded('UND_ERR_INVALID_ARG', 'invalid x-a header'), 'invalid', false],
    ['undici not supported', coded('UND_ERR_NOT_SUPPORTED'), 'invalid', false],
    ['undici request content-length mismatch', coded('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'), 'invalid', false],
    ['node invalid argument type', coded('ERR_INVALID_ARG_TYPE'), 'invalid', false],
    ['node invalid argument value', coded('ERR_INVALID_ARG_VALUE'), 'invalid', false],
    ['invalid URL', coded('ERR_INVALID_URL'), 'invalid', false],
    ['invalid header character', coded('ERR_INVALID_CHAR'), 'invalid', false],
    ['invalid HTTP token', coded('ERR_INVALID_HTTP_TOKEN'), 'invalid', false],
    ['a TypeError without code (Headers, URL)', new TypeError('Headers.append: "a\r\nb" is an invalid header value.'), 'invalid', false],
    ['headers timeout', coded('UND_ERR_HEADERS_TIMEOUT'), 'timeout', true],
    ['body timeout', coded('UND_ERR_BODY_TIMEOUT'), 'timeout', true],
    ['connect timeout', coded('UND_ERR_CONNECT_TIMEOUT'), 'timeout', true],
    ['socket closed', coded('UND_ERR_SOCKET'), 'network', true],
    ['connection reset', coded('ECONNRESET'), 'network', true],
    ['connection refused', coded('ECONNREFUSED'), 'network', true],
    ['DNS lookup failed', coded('ENOTFOUND'), 'network', true],
    ['DNS temporary failure', coded('EAI_AGAIN'), 'network', true],
    ['response content-length mismatch (the server\'s fault)', coded('UND_ERR_RES_CONTENT_LENGTH_MISMATCH'), 'network', true],
    ['an error without code', new Error('other side closed'), 'network', true],
  ];
  it.each(table)('%s -> %s', (_what, error, kind, retriable) => {
    const t = transportErrorOf(error, 1000);
    expect(t.kind).toBe(kind);
    expect(t.kind !== 'invalid').toBe(retriable);
  });
});

describe('the error classes of a failed action: retriable only when redelivery can help', () => {
  const table: [string, unknown, boolean][] = [
    ['ActionParamError', new ActionParamError('a', 'p', 'bad'), false],
    ['ActionError (permanent)', new ActionError('a', 'x', false), false],
    ['ActionError (retriable)', new ActionError('a', 'x', true), true],
    ['UnknownActionError', new UnknownActionError('nope'), false],
    ['AgsPathSegmentError', new AgsPathSegmentError('..'), false],
    ['EventDeadlineError', new EventDeadlineError(1000), true],
    ['AgsError invalid request', new AgsError({ operation: 'http', kind: 'invalid', retriable: false, attempts: 1 }), false],
    ['a TypeError', new TypeError('x'), false],
  ];
  it.each(table)('%s: retriable %s', (_what, error, retriable) => {
    expect((error as { retriable?: unknown }).retriable === true).toBe(retriable);
  });
});

describe('real requests (issue 16)', () => {
  let receiver: http.Server;
  let receiverUrl: string;
  const received: string[] = [];
  let ags: AgsStandIn;
  let client: AgsClient;

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      received.push(`${req.method} ${req.url}`);
      res.end('{}');
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    ags = await startAgsStandIn();
    client = new AgsClient({ baseUrl: ags.url, clientId: ags.clientId, clientSecret: ags.clientSecret, sleep: () => Promise.resolve() });
  });
  afterAll(async () => {
    client.close();
    await ags.close();
    await new Promise((r) => receiver.close(r));
  });

  it('undici refuses a CR/LF header value: one attempt, a permanent AgsError, nothing sent', async () => {
    received.length = 0;
    const caller = new HttpCaller({ transport: new HttpTransport(), sleep: () => Promise.resolve() });
    const err = (await caller
      .call({ operation: 'http', idempotent: true, prepare: () => ({ url: new URL(`${receiverUrl}/hook`), method: 'GET', headers: { 'x-user': 'a\r\nx-forged: 1' } }) })
      .catch((e: unknown) => e)) as AgsError;
    caller.close();
    expect(err).toBeInstanceOf(AgsError);
    expect(err).toMatchObject({ kind: 'invalid', retriable: false, attempts: 1, code: 'UND_ERR_INVALID_ARG' });
    expect(err.message).toMatch(/invalid request/);
    expect(received).toEqual([]);
  });

  it('an unsupported protocol is permanent too', async () => {
    const err = (await new HttpTransport().send({ url: new URL('ftp://127.0.0.1/x'), method: 'GET', headers: {}, timeoutMs: 1000 }).catch((e: unknown) => e)) as TransportError;
    expect(err).toMatchObject({ kind: 'invalid' });
  });

  it('an AGS body that cannot be JSON (BigInt) is a permanent AgsError, nothing sent', async () => {
    ags.reset();
    const err = (await client.request({ operation: 'fulfillItem', method: 'POST', path: `/platform/admin/namespaces/mygame/users/${USER}/fulfillment`, body: { quantity: 1n }, idempotent: false }).catch((e: unknown) => e)) as AgsError;
    expect(err).toMatchObject({ kind: 'invalid', retriable: false, code: 'ERR_JSON_BODY' });
    expect(ags.serviceRequests()).toEqual([]);
  });

  async function run(action: string, params: Record<string, unknown>) {
    const deadLetters = new MemoryDeadLetterSink();
    const executor = createExecutor({ registry: createDefaultRegistry(), store: new MemoryStateStore(), deadLetters, logger: createLogger({ level: 'silent' }), ags: client, namespace: 'mygame' });
    const plan: PlannedAction[] = [{ rule: 'r', index: 0, key: `${action}#0`, action, params, mode: 'live', onFailure: 'deadLetter' }];
    const report = await executor.run({ service: { fullName: 'svc', eventName: 'userLoggedIn' }, event: { id: `e-${randomUUID()}`, userId: USER }, plan });
    return { report, deadLetters };
  }

  const poison: [string, Record<string, unknown>, RegExp][] = [
    ['CR/LF in a header value', { headers: { 'x-user': 'x\r\nx-forged: yes' } }, /headers\.x-user.*not allowed/],
    ['NUL in a header value', { headers: { 'x-user': 'x\u0000y' } }, /headers\.x-user/],
    ['a header value beyond Latin-1', { headers: { 'x-user': 'snow ☃' } }, /headers\.x-user/],
    ['an invalid header name', { headers: { 'x user': 'y' } }, /not a valid HTTP header name/],
    ['a body with a BigInt', { body: { n: 1n } }, /cannot be serialised as JSON/],
    ['a body with a cycle', { body: (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })() }, /cannot be serialised as JSON/],
  ];
  it.each(poison)('http action, %s: dead-lettered with the reason, the batch moves on, nothing sent', async (_what, extra, reason) => {
    received.length = 0;
    const { report, deadLetters } = await run('http', { url: `${receiverUrl}/hook`, ...extra });
    expect(report.outcome).toEqual({ kind: 'ok', deadLettered: [expect.objectContaining({ rule: 'r', action: 'http' })] });
    expect(report.actions[0]!.status).toBe('deadLettered');
    expect(deadLetters.records[0]!.error.message).toMatch(reason);
    expect(received).toEqual([]);
  });

  it('a receiver that is down stays retriable (the event is redelivered)', async () => {
    const { report } = await run('http', { url: 'http://127.0.0.1:1/hook', method: 'GET' });
    expect(report.outcome.kind).toBe('retry');
  });
});
