/**
 * Issue 16, "Time and CPU": the AGS login honours each event's deadline, and
 * concurrent events leave no listeners behind on shared signals.
 *
 * - The token endpoint hangs (held open by the stand-in until the test lets
 *   it go): an event whose action needs a token answers UNAVAILABLE when its
 *   deadline passes, while the login is still hanging; the shared login goes
 *   on for the others and serves them once it completes.
 * - 30 concurrent grants through the real server (in this process): no
 *   `MaxListenersExceededWarning`, and the executor's shutdown signal keeps
 *   one listener whatever the number of events in flight.
 */
import { getEventListeners } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { AgsClient } from '../../src/ags/client.js';
import type { AgsError } from '../../src/ags/errors.js';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { createExecutor } from '../../src/delivery/executor.js';
import { MemoryDeadLetterSink } from '../../src/delivery/dead-letters.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import type { PlannedAction } from '../../src/rules/types.js';
import { startApp } from '../../src/main.js';
import type { RunningApp } from '../../src/main.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { LOGIN_SERVICE, PROTO_DIR, callOnce, client, encode, loginEvent, tempDir, userId } from '../e2e/support.js';
import { LogSink } from '../telemetry/support.js';

const USER = '0123456789abcdef0123456789abcdef';
const grant = { itemId: 'item-1', quantity: 1, source: 'REWARD' };

/** A promise the test resolves: the stand-in holds the matching requests until then. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

describe('the AGS login honours the caller\'s deadline (issue 16)', () => {
  let ags: AgsStandIn;
  const clients: AgsClient[] = [];
  beforeAll(async () => {
    ags = await startAgsStandIn();
  });
  afterAll(async () => {
    await ags.close();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    ags.reset();
  });

  it('a caller whose signal aborts stops waiting for a hanging login; the shared login goes on and serves the others', async () => {
    // one attempt, a long per-attempt timeout: only the caller's signal can end the wait early
    const client = new AgsClient({ baseUrl: ags.url, clientId: ags.clientId, clientSecret: ags.clientSecret, timeoutMs: 120_000, maxAttempts: 1 });
    clients.push(client);
    const held = gate();
    ags.fail('/iam/v3/oauth/token', [{ proceed: true, until: held.promise }]);
    const deadline = new AbortController();
    const early = client.fulfillItem('mygame', USER, grant, deadline.signal).catch((e: unknown) => e);
    let patientDone = false;
    const patient = client.fulfillItem('mygame', USER, grant).finally(() => {
      patientDone = true;
    });
    await ags.waitFor(() => ags.requests.some((r) => r.operation === 'login'));
    expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(1);
    deadline.abort(new Error('event deadline'));
    const err = (await early) as AgsError;
    expect(err).toMatchObject({ name: 'AgsError', kind: 'aborted', retriable: true });
    expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(0);
    expect(patientDone).toBe(false); // the login is still held by the stand-in
    expect(ags.serviceRequests()).toHaveLength(0);
    held.open();
    await patient;
    expect(ags.requests.filter((r) => r.operation === 'login')).toHaveLength(1);
    expect(ags.grants()).toBe(1);
  });

  it('a caller already past its deadline does not start waiting', async () => {
    const client = new AgsClient({ baseUrl: ags.url, clientId: ags.clientId, clientSecret: ags.clientSecret, maxAttempts: 1 });
    clients.push(client);
    const err = (await client.fulfillItem('mygame', USER, grant, AbortSignal.abort()).catch((e: unknown) => e)) as AgsError;
    expect(err).toMatchObject({ kind: 'aborted', retriable: true });
    expect(ags.serviceRequests()).toHaveLength(0);
  });

  it('a re-login (401) that hangs is bounded by the caller\'s signal too', async () => {
    const client = new AgsClient({ baseUrl: ags.url, clientId: ags.clientId, clientSecret: ags.clientSecret, timeoutMs: 120_000, maxAttempts: 1 });
    clients.push(client);
    await client.login();
    ags.revokeTokens();
    const held = gate();
    ags.fail('/iam/v3/oauth/token', [{ proceed: true, until: held.promise }]);
    const deadline = new AbortController();
    const pending = client.fulfillItem('mygame', USER, grant, deadline.signal).catch((e: unknown) => e);
    await ags.waitFor(() => ags.requests.filter((r) => r.operation === 'login').length === 2);
    deadline.abort(new Error('event deadline'));
    expect(await pending).toMatchObject({ kind: 'aborted', retriable: true });
    expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(0);
    held.open();
  });
});

describe('the real server: login deadline and listeners under concurrent grants (issue 16)', () => {
  let ags: AgsStandIn;
  const apps: RunningApp[] = [];
  const clients: grpc.Client[] = [];
  const logs = new LogSink();
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w);
  };
  let rulesFile: string;

  /** The real server in this process with an event deadline of `eventDeadlineMs`, and a client of it. */
  async function serve(eventDeadlineMs: number): Promise<grpc.Client> {
    const app = await startApp({
      env: {
        AB_BASE_URL: ags.url,
        AB_CLIENT_ID: ags.clientId,
        AB_CLIENT_SECRET: ags.clientSecret,
        AB_NAMESPACE: 'mygame',
        PORT: '0',
        ENABLE_PROMETHEUS: 'false',
        PROTO_DIR,
        RULES_FILE: rulesFile,
        RULES_WATCH: 'false',
        DEAD_LETTER_FILE: join(tempDir('eer-security-deadlines-'), 'dead-letters.jsonl'),
        EVENT_DEADLINE_MS: String(eventDeadlineMs),
        DEDUPE_LEASE_MS: String(2 * eventDeadlineMs + 60_000), // above the deadline plus a request's time in flight
        AGS_TIMEOUT_MS: '600000',
        AGS_MAX_ATTEMPTS: '1',
        STATE_STORE: 'memory', // the subject here is the AGS login and listeners, not the state store
      },
      logger: createLogger({ level: 'info', destination: logs }),
    });
    apps.push(app);
    const c = client(`127.0.0.1:${app.port}`);
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    process.on('warning', onWarning);
    ags = await startAgsStandIn();
    rulesFile = join(tempDir('eer-security-deadlines-'), 'rules.yaml');
    writeFileSync(
      rulesFile,
      `version: 1
rules:
  - name: welcome
    on: userLoggedIn
    do:
      - grantItem: { itemId: item-1, quantity: 1 }
`,
    );
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    for (const c of clients) c.close();
    await Promise.all(apps.map((app) => app.shutdown('test done')));
    await ags?.close();
  });

  it('30 concurrent grants: no MaxListenersExceededWarning', async () => {
    // a deadline far from reach: all 30 must be in flight at once, however long a loaded machine takes to send them
    const c = await serve(60_000);
    ags.reset();
    const n = 30;
    const held = gate();
    ags.fail('/fulfillment', Array.from({ length: n }, () => ({ proceed: true as const, until: held.promise })));
    const events = await Promise.all(Array.from({ length: n }, (_, i) => encode(LOGIN_SERVICE, loginEvent({ id: `listeners-${i}`, userId: userId() }))));
    const answers = Promise.all(events.map((e) => callOnce(c, e, 120_000)));
    await ags.waitFor(() => ags.serviceRequests().length === n, 30_000);
    held.open();
    const results = await answers;
    expect(results.map((r) => r.code)).toEqual(Array.from({ length: n }, () => grpc.status.OK));
    expect(ags.grants()).toBe(n);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
  });

  it('the token endpoint hangs on a re-login: the event answers UNAVAILABLE at its deadline, the login still hanging', async () => {
    // the login is held until the test lets it go: the deadline (short, to keep the test quick) is the only way out
    const c = await serve(1500);
    ags.reset();
    ags.revokeTokens();
    const issued = ags.tokensIssued();
    const held = gate();
    ags.fail('/iam/v3/oauth/token', [{ proceed: true, until: held.promise }]);
    const e = await encode(LOGIN_SERVICE, loginEvent({ id: 'deadline-1', userId: userId() }));
    const answer = await callOnce(c, e, 120_000);
    expect(answer.code).toBe(grpc.status.UNAVAILABLE);
    expect(answer.details).toMatch(/deadline/);
    expect(ags.requests.filter((r) => r.operation === 'login' && r.outcome === undefined)).toHaveLength(1); // still held
    held.open();
    // the next delivery finds the login done and grants
    await ags.waitFor(() => ags.tokensIssued() > issued);
    expect((await callOnce(c, e, 120_000)).code).toBe(grpc.status.OK);
    expect(ags.grants()).toBe(1);
  });
});

const live = (action: string): PlannedAction => ({ rule: 'r', index: 0, key: `${action}#0`, action, params: {}, mode: 'live', onFailure: 'deadLetter' });

describe('executor: one listener on the shutdown signal, whatever the number of events in flight', () => {
  it('30 events in flight add no listener per event to the shutdown signal or leave any on the call signals', async () => {
    const shutdown = new AbortController();
    const held = gate();
    const registry = createDefaultRegistry();
    registry.register({
      name: 'wait',
      description: 'waits for the test',
      params: { type: 'object' },
      usesAgs: false,
      normalize: (p) => p,
      plan: () => [],
      execute: async () => {
        await held.promise;
        return {};
      },
    });
    const letters = new MemoryDeadLetterSink();
    const executor = createExecutor({
      registry,
      store: new MemoryStateStore(),
      deadLetters: letters,
      logger: createLogger({ level: 'silent' }),
      namespace: 'mygame',
      dryRun: false,
      shutdownSignal: shutdown.signal,
    });
    const baseline = getEventListeners(shutdown.signal, 'abort').length;
    const calls = Array.from({ length: 30 }, () => new AbortController());
    const runs = calls.map((call, i) =>
      executor.run({
        service: { fullName: 'svc', eventName: 'userLoggedIn' },
        event: { id: `e${i}` },
        plan: [live('wait')],
        signal: call.signal,
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(getEventListeners(shutdown.signal, 'abort').length).toBe(baseline);
    held.open();
    const reports = await Promise.all(runs);
    expect(reports.every((r) => r.outcome.kind === 'ok')).toBe(true);
    expect(getEventListeners(shutdown.signal, 'abort').length).toBe(baseline);
    for (const call of calls) expect(getEventListeners(call.signal, 'abort')).toHaveLength(0);
    expect(letters.records).toEqual([]);
  });

  it('shutdown still aborts every event in flight', async () => {
    const shutdown = new AbortController();
    const registry = createDefaultRegistry();
    let started = 0;
    registry.register({
      name: 'waitAbort',
      description: 'waits for its signal',
      params: { type: 'object' },
      usesAgs: false,
      normalize: (p) => p,
      plan: () => [],
      execute: (_p, ctx) =>
        new Promise((_resolve, reject) => {
          started++;
          ctx.signal!.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { retriable: true })), { once: true });
        }),
    });
    const executor = createExecutor({
      registry,
      store: new MemoryStateStore(),
      deadLetters: new MemoryDeadLetterSink(),
      logger: createLogger({ level: 'silent' }),
      namespace: 'mygame',
      dryRun: false,
      shutdownSignal: shutdown.signal,
    });
    const runs = Array.from({ length: 12 }, (_, i) =>
      executor.run({ service: { fullName: 'svc', eventName: 'userLoggedIn' }, event: { id: `s${i}` }, plan: [live('waitAbort')] }),
    );
    while (started < 12) await new Promise((r) => setImmediate(r));
    shutdown.abort(new Error('shutdown'));
    const reports = await Promise.all(runs);
    expect(reports.map((r) => r.outcome.kind)).toEqual(Array.from({ length: 12 }, () => 'retry'));
  });
});
