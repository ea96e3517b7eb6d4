import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, REPLAY_HEADER } from '../../src/delivery/executor.js';
import type { ExecutorOptions } from '../../src/delivery/executor.js';
import { ActionLedger } from '../../src/delivery/action-ledger.js';
import { ledgerPartition } from '../../src/delivery/ledger-partition.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { StateStoreUnavailableError } from '../../src/store/state-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { createRedisStateStore } from '../../src/store/redis-state-store.js';
import type { RedisStateStore } from '../../src/store/redis-state-store.js';
import { MemoryDeadLetterSink } from '../../src/delivery/dead-letters.js';
import { DeadLetterStoreFullError } from '../../src/delivery/store-dead-letters.js';
import type { DeadLetterRecord, DeadLetterSink } from '../../src/delivery/dead-letters.js';
import { eventKey } from '../../src/delivery/event-key.js';
import type { PlannedAction } from '../../src/rules/types.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { describeWith, executable } from '../support/prereq.js';
import { PermanentError, TransientError, captureLogger, recordingAction, registryOf } from './support.js';
import { startRedis } from '../support/redis.js';
import type { RedisProcess } from '../support/redis.js';

const SERVICE = { fullName: 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService', eventName: 'userLoggedIn' };
const EVENT = { id: 'evt-1', userId: 'user-1', namespace: 'mygame', payload: { userAccount: { userId: 'user-1' } } };
/** EVENT's user id is not an AGS one: its ledger is in the game shard of its event key. */
const GAME = ledgerPartition(EVENT, 'mygame', 'evt-1');

function planned(rule: string, index: number, action: string, extra: Partial<PlannedAction> = {}): PlannedAction {
  return { rule, index, key: `${action}#0`, action, params: { n: index }, mode: 'live', onFailure: 'deadLetter', ...extra };
}

async function counter(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

function setup(overrides: Partial<ExecutorOptions> = {}) {
  const a = recordingAction('a');
  const b = recordingAction('b');
  const c = recordingAction('c');
  const store = overrides.store ?? new MemoryStateStore();
  const ledger = new ActionLedger({ store });
  const deadLetters = new MemoryDeadLetterSink();
  const metrics = new Metrics({ defaultMetrics: false });
  const { logger, lines } = captureLogger();
  const executor = createExecutor({
    registry: registryOf(a, b, c),
    store,
    deadLetters,
    logger,
    metrics,
    dryRun: false,
    namespace: 'mygame',
    now: () => new Date('2026-03-11T10:00:00Z'),
    ...overrides,
  });
  return { a, b, c, store, ledger, deadLetters, metrics, logger, lines, executor };
}

describe('executor', () => {
  it('runs every action once; a second delivery of the same event is all duplicates', async () => {
    const t = setup();
    const plan = [planned('r1', 0, 'a'), planned('r1', 1, 'b'), planned('r2', 0, 'c')];
    const first = await t.executor.run({ service: SERVICE, event: EVENT, plan });
    expect(first.outcome).toEqual({ kind: 'ok' });
    expect(first.actions.map((x) => x.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(t.a.calls).toEqual([{ key: 'evt-1:r1:a#0', params: { n: 0 } }]);
    expect(t.b.calls.map((x) => x.key)).toEqual(['evt-1:r1:b#0']);
    expect(t.c.calls.map((x) => x.key)).toEqual(['evt-1:r2:c#0']);

    const again = await t.executor.run({ service: SERVICE, event: EVENT, plan });
    expect(again.outcome).toEqual({ kind: 'ok' });
    expect(again.actions.map((x) => x.status)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect([t.a.calls.length, t.b.calls.length, t.c.calls.length]).toEqual([1, 1, 1]);
    expect(await counter(t.metrics, 'event_rules_actions_total', { rule: 'r1', action: 'a', outcome: 'succeeded' })).toBe(1);
    expect(await counter(t.metrics, 'event_rules_actions_total', { rule: 'r1', action: 'a', outcome: 'duplicate' })).toBe(1);
  });

  it('an event without id is keyed by a digest of its bytes (or canonical JSON)', async () => {
    const t = setup();
    const event = { userId: 'u', namespace: 'ns' };
    const r1 = await t.executor.run({ service: SERVICE, event, plan: [planned('r', 0, 'a')] });
    expect(r1.eventKey).toMatch(/^sha256:[0-9a-f]{64}$/);
    // same content, other key order: same key, so a duplicate
    const r2 = await t.executor.run({ service: SERVICE, event: { namespace: 'ns', userId: 'u' }, plan: [planned('r', 0, 'a')] });
    expect(r2.eventKey).toBe(r1.eventKey);
    expect(r2.actions[0]?.status).toBe('duplicate');
    expect(eventKey(event, new Uint8Array([1, 2]))).not.toBe(eventKey(event, new Uint8Array([1, 3])));
    expect(t.a.calls).toHaveLength(1);
  });

  it('a retriable failure answers retry and stops its rule, not the others; the next delivery completes only the rest', async () => {
    const t = setup();
    t.b.next.push(() => {
      throw new TransientError('AGS 503');
    });
    const plan = [planned('r1', 0, 'a'), planned('r1', 1, 'b'), planned('r1', 2, 'c'), planned('r2', 0, 'c')];
    const first = await t.executor.run({ service: SERVICE, event: EVENT, plan });
    expect(first.outcome.kind).toBe('retry');
    expect(first.outcome.kind === 'retry' && first.outcome.message).toContain('AGS 503');
    expect(first.actions.map((x) => `${x.rule}/${x.index}:${x.status}`)).toEqual(['r1/0:succeeded', 'r1/1:retriable', 'r1/2:skipped', 'r2/0:succeeded']);
    expect(first.actions[1]?.attempts).toBe(1);

    const second = await t.executor.run({ service: SERVICE, event: EVENT, plan });
    expect(second.outcome).toEqual({ kind: 'ok' });
    expect(second.actions.map((x) => x.status)).toEqual(['duplicate', 'succeeded', 'succeeded', 'duplicate']);
    expect(t.a.calls.map((x) => x.key)).toEqual(['evt-1:r1:a#0']);
    expect(t.b.calls.map((x) => x.key)).toEqual(['evt-1:r1:b#0', 'evt-1:r1:b#0']);
    expect(t.c.calls.map((x) => x.key)).toEqual(['evt-1:r2:c#0', 'evt-1:r1:c#0']);
    expect(t.deadLetters.records).toEqual([]);
  });

  it('a dead letter the sink cannot take (store full, write failed) is never answered ok: retriable, counted by reason, logged (issue 22.4)', async () => {
    const refusals: Error[] = [new DeadLetterStoreFullError('the cloudsave state store', 3, 2, 16), new Error('EIO: disk full')];
    const sink: DeadLetterSink = {
      write: () => Promise.reject(refusals.shift() ?? new Error('no more')),
      close: () => Promise.resolve(),
    };
    const t = setup({ deadLetters: sink });
    const plan = [planned('r1', 0, 'b')];
    for (let i = 0; i < 2; i++) {
      t.b.next.push(() => {
        throw new PermanentError('item not found', 400, 30341);
      });
      const run = await t.executor.run({ service: SERVICE, event: EVENT, plan });
      expect(run.outcome.kind).not.toBe('ok');
      expect(run.actions.map((x) => x.status)).toEqual(['retriable']);
    }
    expect(await counter(t.metrics, 'event_rules_dead_letters_refused_total', { rule: 'r1', action: 'b', reason: 'full' })).toBe(1);
    expect(await counter(t.metrics, 'event_rules_dead_letters_refused_total', { rule: 'r1', action: 'b', reason: 'write-failed' })).toBe(1);
    const lines = t.lines.filter((l) => String(l.msg).includes('its dead letter could not be written: the event will be redelivered'));
    expect(lines.map((l) => String(l.writeError))).toEqual([expect.stringMatching(/the dead-letter store is full: shard 3 holds 2 of its 2/), expect.stringMatching(/disk full/)]);
  });

  it('a permanent failure writes one dead letter, answers ok, and is not retried by redeliveries', async () => {
    const t = setup();
    t.b.next.push(() => {
      throw new PermanentError('item not found', 404, 30341);
    });
    const plan = [planned('r1', 0, 'a'), planned('r1', 1, 'b'), planned('r1', 2, 'c'), planned('r2', 0, 'c')];
    const first = await t.executor.run({ service: SERVICE, event: EVENT, plan });
    expect(first.outcome).toMatchObject({ kind: 'ok', deadLettered: [{ rule: 'r1', action: 'b' }] });
    expect(first.actions.map((x) => x.status)).toEqual(['succeeded', 'deadLettered', 'skipped', 'succeeded']);
    expect(t.deadLetters.records).toEqual([
      {
        version: 1,
        timestamp: '2026-03-11T10:00:00.000Z',
        eventName: 'userLoggedIn',
        service: SERVICE.fullName,
        eventId: 'evt-1',
        idempotencyKey: 'evt-1:r1:b#0',
        rule: 'r1',
        index: 1,
        action: 'b',
        error: { name: 'PermanentError', message: 'item not found', status: 404, errorCode: 30341 },
        attempts: 1,
        event: EVENT,
      } satisfies DeadLetterRecord,
    ]);
    expect(await counter(t.metrics, 'event_rules_dead_letters_total', { rule: 'r1', action: 'b' })).toBe(1);
    expect(t.lines.some((l) => l.level === 50 && String(l.msg).includes('dead-lettered'))).toBe(true);

    // redelivered (the batch failed elsewhere): no second dead letter, the rest of r1 stays stopped
    const again = await t.executor.run({ service: SERVICE, event: EVENT, plan });
    expect(again.outcome).toMatchObject({ kind: 'ok', deadLettered: [{ rule: 'r1', action: 'b', error: expect.stringContaining('earlier delivery') as unknown }] });
    expect(again.actions.map((x) => x.status)).toEqual(['duplicate', 'duplicate', 'skipped', 'duplicate']);
    expect(t.deadLetters.records).toHaveLength(1);
    expect(t.b.calls).toHaveLength(1);
    expect(t.c.calls.map((x) => x.key)).toEqual(['evt-1:r2:c#0']);

    // a replay of r1 runs the dead-lettered action and the ones after it, nothing else
    const replay = await t.executor.run({ service: SERVICE, event: EVENT, plan, metadata: { [REPLAY_HEADER]: 'r1' } });
    expect(replay.outcome).toEqual({ kind: 'ok' });
    expect(replay.actions.map((x) => x.status)).toEqual(['duplicate', 'succeeded', 'succeeded', 'duplicate']);
    expect(t.a.calls).toHaveLength(1);
    expect(t.b.calls).toHaveLength(2);
    expect(t.c.calls.map((x) => x.key)).toEqual(['evt-1:r2:c#0', 'evt-1:r1:c#0']);
    // replaying again is a duplicate
    const replay2 = await t.executor.run({ service: SERVICE, event: EVENT, plan, replayRule: 'r1' });
    expect(replay2.actions.map((x) => x.status)).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate']);
  });

  it('a param that resolves to nothing (normalize throws) is dead-lettered; the attempt count includes earlier transient failures', async () => {
    const t = setup();
    t.a.next.push(() => {
      throw new TransientError('timeout');
    });
    const plan = [planned('r', 0, 'a', { params: { required: 'x' } })];
    expect((await t.executor.run({ service: SERVICE, event: EVENT, plan })).outcome.kind).toBe('retry');
    const bad = [planned('r', 0, 'a', { params: { required: '' } })];
    const report = await t.executor.run({ service: SERVICE, event: EVENT, plan: bad });
    expect(report.outcome).toMatchObject({ kind: 'ok', deadLettered: [{ rule: 'r', action: 'a' }] });
    expect(report.actions[0]?.status).toBe('deadLettered');
    expect(t.deadLetters.records[0]?.attempts).toBe(2);
    expect(t.deadLetters.records[0]?.error.message).toContain('required');
  });

  it('onFailure: retry answers retry on a permanent failure, without a dead letter', async () => {
    const t = setup();
    t.a.next.push(() => {
      throw new PermanentError('bad request');
    });
    const plan = [planned('r', 0, 'a', { onFailure: 'retry' })];
    const first = await t.executor.run({ service: SERVICE, event: EVENT, plan });
    expect(first.outcome.kind).toBe('retry');
    expect(first.actions[0]?.status).toBe('failed');
    expect(t.deadLetters.records).toEqual([]);
    const second = await t.executor.run({ service: SERVICE, event: EVENT, plan });
    expect(second.outcome).toEqual({ kind: 'ok' });
    expect(t.a.calls).toHaveLength(2);
  });

  it('an unknown action is a permanent failure (dead letter)', async () => {
    const t = setup();
    const report = await t.executor.run({ service: SERVICE, event: EVENT, plan: [planned('r', 0, 'nope')] });
    expect(report.outcome).toMatchObject({ kind: 'ok', deadLettered: [{ rule: 'r', action: 'nope' }] });
    expect(report.actions[0]?.status).toBe('deadLettered');
    expect(t.deadLetters.records[0]?.error.name).toBe('UnknownActionError');
  });

  it('a dead letter that cannot be written makes the event retry (never lost silently)', async () => {
    const failing: DeadLetterSink = { write: () => Promise.reject(new Error('disk full')), close: () => Promise.resolve() };
    const t = setup({ deadLetters: failing });
    t.a.next.push(() => {
      throw new PermanentError('bad');
    });
    const report = await t.executor.run({ service: SERVICE, event: EVENT, plan: [planned('r', 0, 'a')] });
    expect(report.outcome.kind).toBe('retry');
    expect((await t.executor.run({ service: SERVICE, event: EVENT, plan: [planned('r', 0, 'a')] })).outcome).toEqual({ kind: 'ok' });
    expect(t.a.calls).toHaveLength(2);
  });

  it('another delivery holding the claim: retry without executing', async () => {
    const t = setup();
    await t.ledger.claim(GAME, 'evt-1:r:a#0');
    const report = await t.executor.run({ service: SERVICE, event: EVENT, plan: [planned('r', 0, 'a')] });
    expect(report.outcome.kind).toBe('retry');
    expect(report.actions[0]?.status).toBe('retriable');
    expect(t.a.calls).toHaveLength(0);
  });

  it('the per-event deadline aborts ctx.signal, answers retry and releases the claim', async () => {
    const t = setup({ eventDeadlineMs: 50 });
    t.a.next.push(
      ({ ctx }) =>
        new Promise((_resolve, reject) => {
          ctx.signal?.addEventListener('abort', () => reject(new Error('aborted by signal')), { once: true });
        }),
    );
    const plan = [planned('r', 0, 'a'), planned('r', 1, 'b')];
    const report = await t.executor.run({ service: SERVICE, event: EVENT, plan });
    expect(report.outcome.kind).toBe('retry');
    expect(report.outcome.kind === 'retry' && report.outcome.message).toContain('deadline');
    expect(report.actions.map((x) => x.status)).toEqual(['retriable', 'skipped']);
    // released: the next delivery runs it (through a replica with the default deadline: 50 ms would race a loaded machine)
    const patient = createExecutor({ registry: registryOf(t.a, t.b, t.c), store: t.store, deadLetters: t.deadLetters, logger: t.logger, dryRun: false, namespace: 'mygame' });
    const next = await patient.run({ service: SERVICE, event: EVENT, plan });
    expect(next.outcome).toEqual({ kind: 'ok' });
    expect(t.a.calls).toHaveLength(2);
  });

  it('shutdown (the given signal aborted): nothing new starts, the event answers retry', async () => {
    const t = setup();
    const controller = new AbortController();
    t.a.next.push(() => {
      controller.abort(new Error('shutdown'));
      return { summary: 'finished in flight' };
    });
    const plan = [planned('r1', 0, 'a'), planned('r1', 1, 'b'), planned('r2', 0, 'c')];
    const report = await t.executor.run({ service: SERVICE, event: EVENT, plan, signal: controller.signal });
    expect(report.outcome.kind).toBe('retry');
    expect(report.actions.map((x) => x.status)).toEqual(['succeeded', 'skipped', 'skipped']);
    expect(t.b.calls).toHaveLength(0);
    const next = await t.executor.run({ service: SERVICE, event: EVENT, plan });
    expect(next.actions.map((x) => x.status)).toEqual(['duplicate', 'succeeded', 'succeeded']);
  });

  it('abortWith: the caller is handed the event\'s own controller; aborting it is a cancel (the deadline still applies)', async () => {
    const t = setup();
    let handed: AbortController | undefined;
    t.a.next.push(({ ctx }) => {
      expect(ctx.signal).toBe(handed!.signal);
      handed!.abort(new Error('call cancelled by the client'));
      return { summary: 'finished in flight' };
    });
    const plan = [planned('r1', 0, 'a'), planned('r1', 1, 'b')];
    const report = await t.executor.run({ service: SERVICE, event: EVENT, plan, abortWith: (c) => (handed = c) });
    expect(report.outcome.kind === 'retry' && report.outcome.message).toContain('cancelled by the client');
    expect(report.actions.map((x) => x.status)).toEqual(['succeeded', 'skipped']);
    expect(t.b.calls).toHaveLength(0);

    const quick = setup({ eventDeadlineMs: 50 });
    quick.a.next.push(({ ctx }) => new Promise((_resolve, reject) => ctx.signal?.addEventListener('abort', () => reject(new Error('aborted by signal')), { once: true })));
    const late = await quick.executor.run({ service: SERVICE, event: EVENT, plan: [planned('r', 0, 'a')], abortWith: () => undefined });
    expect(late.outcome.kind === 'retry' && late.outcome.message).toContain('deadline');
  });

  it('shadow rules and dry runs plan, log and count, never execute nor claim', async () => {
    const t = setup();
    const report = await t.executor.run({ service: SERVICE, event: EVENT, plan: [planned('s', 0, 'a', { mode: 'shadow' }), planned('live', 0, 'b')] });
    expect(report.actions.map((x) => x.status)).toEqual(['shadow', 'succeeded']);
    expect(report.actions[0]?.requests).toEqual([{ operation: 'a', method: 'POST', path: '/test/a', body: { n: 0 } }]);
    expect(t.a.calls).toHaveLength(0);
    expect((await t.ledger.claim(GAME, 'evt-1:s:a#0')).status).toBe('claimed');
    expect(await counter(t.metrics, 'event_rules_actions_total', { rule: 's', action: 'a', outcome: 'shadow' })).toBe(1);

    const dry = setup({ dryRun: true });
    const r = await dry.executor.run({ service: SERVICE, event: EVENT, plan: [planned('r', 0, 'a')] });
    expect(r.outcome).toEqual({ kind: 'ok' });
    expect(r.actions[0]?.status).toBe('planned');
    expect(dry.a.calls).toHaveLength(0);
    const line = dry.lines.find((l) => String(l.msg).startsWith('dry run'));
    expect(line?.msg).toBe('dry run: r/a would send POST /test/a');
    expect(line?.requests).toEqual([{ operation: 'a', method: 'POST', path: '/test/a', body: { n: 0 } }]);
    expect((await dry.ledger.claim(GAME, 'evt-1:r:a#0')).status).toBe('claimed');
  });

  it('an action that ran while its done mark could not be written is recorded, not run again, on redelivery', async () => {
    let clock = 1_000_000;
    const inner = new MemoryStateStore();
    let failWrites = 0;
    const store: StateStore = {
      kind: 'memory',
      read: (p, o) => inner.read(p, o),
      transact: (p, update, o) => {
        if (failWrites > 0) {
          failWrites--;
          return Promise.reject(new StateStoreUnavailableError('memory', 'transact', 'connection lost'));
        }
        return inner.transact(p, update, o);
      },
      close: () => inner.close(),
    };
    const a = recordingAction('a');
    a.next.push(() => {
      failWrites = 1; // the done mark after this execution is lost
      return { summary: 'a done' };
    });
    const b = recordingAction('b');
    const t = setup({ store, leaseMs: 1000, registry: registryOf(a, b), now: () => new Date(clock) });
    const plan = [planned('r1', 0, 'a'), planned('r1', 1, 'b')];
    const first = await t.executor.run({ service: SERVICE, event: EVENT, plan });
    expect(first.outcome.kind).toBe('retry');
    expect(first.actions.map((x) => x.status)).toEqual(['succeeded', 'skipped']);
    clock += 5000; // the claim's lease is over before the redelivery
    const again = await t.executor.run({ service: SERVICE, event: EVENT, plan });
    expect(again.outcome).toEqual({ kind: 'ok' });
    expect(again.actions.map((x) => x.status)).toEqual(['duplicate', 'succeeded']);
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(1);
    expect(await new ActionLedger({ store: inner, now: () => clock }).claim(GAME, 'evt-1:r1:a#0')).toEqual({ status: 'done', state: 'succeeded' });
  });

  it('without an AGS client the default is a dry run', async () => {
    const t = setup({ dryRun: undefined });
    const r = await t.executor.run({ service: SERVICE, event: EVENT, plan: [planned('r', 0, 'a')] });
    expect(r.actions[0]?.status).toBe('planned');
    expect(t.a.calls).toHaveLength(0);
  });
});

describeWith(executable('redis-server', 'redis-server'), 'executor with Redis', () => {
  let redis: RedisProcess;
  const stores: RedisStateStore[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await redis?.stop();
  });

  async function redisStore(prefix: string): Promise<RedisStateStore> {
    const store = await createRedisStateStore({ url: redis.url, keyPrefix: prefix });
    stores.push(store);
    await store.ready();
    return store;
  }

  it('two replicas receiving the same event concurrently: each action runs once', async () => {
    const t1 = setup({ store: await redisStore('rep:') });
    const shared = t1.a; // one "AGS": count effects across both replicas
    const t2 = setup({ store: await redisStore('rep:'), registry: registryOf(shared, t1.b, t1.c) });
    const plan = [planned('r1', 0, 'a'), planned('r1', 1, 'b'), planned('r2', 0, 'c')];
    const events = Array.from({ length: 20 }, (_, i) => ({ ...EVENT, id: `evt-${i}` }));
    const reports = await Promise.all(events.flatMap((event) => [t1.executor.run({ service: SERVICE, event, plan }), t2.executor.run({ service: SERVICE, event, plan })]));
    // redeliver whatever answered retry (a live claim elsewhere) until all are ok
    let pending = reports.map((r, i) => ({ r, event: events[Math.floor(i / 2)]! })).filter((x) => x.r.outcome.kind !== 'ok');
    while (pending.length > 0) {
      const again = await Promise.all(pending.map((p) => t1.executor.run({ service: SERVICE, event: p.event, plan })));
      pending = again.map((r, i) => ({ r, event: pending[i]!.event })).filter((x) => x.r.outcome.kind !== 'ok');
    }
    const keys = [...t1.a.calls, ...t1.b.calls, ...t1.c.calls].map((c) => c.key).sort();
    expect(keys).toHaveLength(60);
    expect(new Set(keys).size).toBe(60);
  });

  it('Redis down: retry, nothing executed, one error line; resumes when Redis is back', async () => {
    const store = await redisStore('down:');
    const t = setup({ store });
    const plan = [planned('r1', 0, 'a'), planned('r2', 0, 'b')];
    await redis.stop();
    try {
      const report = await t.executor.run({ service: SERVICE, event: EVENT, plan });
      expect(report.outcome.kind).toBe('retry');
      expect(report.outcome.kind === 'retry' && report.outcome.message).toContain('idempotency store unavailable');
      expect(report.actions.map((x) => x.status)).toEqual(['skipped', 'skipped']);
      expect(t.a.calls).toHaveLength(0);
      expect(t.b.calls).toHaveLength(0);
      expect(t.lines.filter((l) => String(l.msg).startsWith('idempotency store unavailable'))).toHaveLength(1);
      expect(await counter(t.metrics, 'event_rules_dedupe_store_errors_total', { store: 'redis' })).toBe(1);
    } finally {
      await redis.start();
    }
    await store.ready(30_000);
    const report = await t.executor.run({ service: SERVICE, event: EVENT, plan });
    expect(report.outcome).toEqual({ kind: 'ok' });
    expect(t.a.calls).toHaveLength(1);
    expect(t.b.calls).toHaveLength(1);
  });
});
