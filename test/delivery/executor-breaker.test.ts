/**
 * The circuit breaker wired in the executor (issue 22.5), in process: a test
 * action refused 403 by "AGS" on every event, a clock the test moves. The
 * events are answered retry and kept (no dead letter), one line says why and
 * one a minute while events are refused, the gauge shows it, the other rules
 * still run, and a probe after the interval resumes the action.
 */
import { describe, expect, it } from 'vitest';
import { createExecutor } from '../../src/delivery/executor.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { MemoryDeadLetterSink } from '../../src/delivery/dead-letters.js';
import type { PlannedAction } from '../../src/rules/types.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { captureLogger, recordingAction, registryOf } from './support.js';

const SERVICE = { fullName: 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService', eventName: 'userLoggedIn' };

/** What the AGS client throws for a 403 (the fields of `AgsError`). */
class Refused extends Error {
  override readonly name = 'AgsError';
  readonly retriable = false;
  readonly operation = 'fulfillItem';
  readonly status = 403;
  readonly errorCode = 20013;
  readonly errorMessage = 'insufficient permissions';
  constructor() {
    super('fulfillItem (AGS Platform) failed: 403 errorCode 20013 "insufficient permissions" (not retriable, 1 attempt)');
  }
}

const plan = (): PlannedAction[] => [
  { rule: 'grant', index: 0, key: 'a#0', action: 'a', params: {}, mode: 'live', onFailure: 'deadLetter' },
  { rule: 'count', index: 0, key: 'b#0', action: 'b', params: {}, mode: 'live', onFailure: 'deadLetter' },
];

async function value(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

describe('executor: the circuit breaker (issue 22.5)', () => {
  it('403 on every event: retry, no dead letter, one line (then one a minute), gauge 1, other rules run; a probe after the interval resumes it', async () => {
    const a = recordingAction('a');
    const b = recordingAction('b');
    const deadLetters = new MemoryDeadLetterSink();
    const metrics = new Metrics({ defaultMetrics: false });
    const { logger, lines } = captureLogger();
    let clock = Date.parse('2026-03-11T10:00:00Z');
    const executor = createExecutor({ registry: registryOf(a, b), store: new MemoryStateStore(), deadLetters, logger, metrics, dryRun: false, namespace: 'mygame', now: () => new Date(clock) });
    const deliver = (i: number) => executor.run({ service: SERVICE, event: { id: `evt-${i}`, userId: `user-${i}` }, plan: plan() });
    const refuse = (): void => void a.next.push(() => Promise.reject(new Refused()));
    const pausedLines = (): Record<string, unknown>[] => lines.filter((l) => typeof l.msg === 'string' && /^a paused \(rule grant\)/.test(l.msg));
    const gauge = (): Promise<number> => value(metrics, 'event_rules_actions_paused', { rule: 'grant', action: 'a' });

    for (let i = 1; i <= 3; i++) refuse();
    for (let i = 1; i <= 10; i++) {
      const r = await deliver(i);
      expect(r.outcome.kind, `event ${i}`).toBe('retry');
      expect(r.actions.find((x) => x.rule === 'count')?.status).toBe('succeeded'); // other rules still run
    }
    expect(a.calls).toHaveLength(3); // events 4 to 10 not sent
    expect(deadLetters.records).toEqual([]);
    expect(pausedLines()).toHaveLength(1);
    expect(pausedLines()[0]).toMatchObject({ level: 50, rule: 'grant', action: 'a', operation: 'fulfillItem', status: 403, errorCode: 20013, since: '2026-03-11T10:00:00.000Z' });
    expect(pausedLines()[0]!.msg).toBe(
      'a paused (rule grant): fulfillItem answered 403 errorCode 20013 "insufficient permissions" on 3 consecutive events (the IAM client lacks a permission), since 2026-03-11T10:00:00.000Z; events that need it are answered UNAVAILABLE until a probe succeeds (one event every 30 s)',
    );
    expect(await gauge()).toBe(1);
    expect(await value(metrics, 'event_rules_actions_total', { rule: 'grant', action: 'a', outcome: 'paused' })).toBe(7);
    const refused = await deliver(11);
    expect(refused.outcome).toMatchObject({ kind: 'retry', message: expect.stringContaining('grant/a: a paused (rule grant): fulfillItem answered 403') as unknown });

    // a minute later: the first event is the probe, refused again (held); the next refused event says "still paused", once
    clock += 61_000;
    refuse();
    expect((await deliver(12)).outcome.kind).toBe('retry');
    expect(a.calls).toHaveLength(4);
    expect(deadLetters.records).toEqual([]);
    for (const i of [13, 14]) expect((await deliver(i)).outcome.kind).toBe('retry');
    const still = lines.filter((l) => typeof l.msg === 'string' && /^a still paused \(rule grant\)/.test(l.msg));
    expect(still).toHaveLength(1);
    expect(still[0]).toMatchObject({ refused: 9 }); // events 4 to 11 and 13
    expect(still[0]!.msg).toMatch(/9 event\(s\) answered UNAVAILABLE since the last line \(paused for 61 s\)$/);

    // healed: after the probe interval the next event goes through and resumes the action; the kept events run once each
    clock += 30_000;
    expect((await deliver(15)).outcome.kind).toBe('ok');
    expect(lines.filter((l) => typeof l.msg === 'string' && /^a resumed \(rule grant\)/.test(l.msg))).toHaveLength(1);
    expect(await gauge()).toBe(0);
    for (let i = 1; i <= 14; i++) expect((await deliver(i)).outcome.kind, `event ${i}`).toBe('ok');
    expect(new Set(a.calls.map((c) => c.key)).size).toBe(15); // each event's action ran (once it succeeded: never twice)
    expect(a.calls).toHaveLength(4 + 15);
    for (let i = 1; i <= 15; i++) expect((await deliver(i)).actions.every((x) => x.status === 'duplicate')).toBe(true);
    expect(deadLetters.records).toEqual([]);
    expect(pausedLines()).toHaveLength(1);
  });

  it('a single bad event among successes (one 400) is a dead letter at once, as before', async () => {
    const a = recordingAction('a');
    const b = recordingAction('b');
    const deadLetters = new MemoryDeadLetterSink();
    const executor = createExecutor({ registry: registryOf(a, b), store: new MemoryStateStore(), deadLetters, logger: captureLogger().logger, dryRun: false, namespace: 'mygame' });
    a.next.push(() => Promise.reject(Object.assign(new Error('fulfillItem failed: 400'), { name: 'AgsError', retriable: false, operation: 'fulfillItem', status: 400, errorCode: 20002 })));
    const r = await executor.run({ service: SERVICE, event: { id: 'bad', userId: 'u' }, plan: plan() });
    expect(r.outcome.kind).toBe('ok');
    expect(deadLetters.records).toHaveLength(1);
    expect((await executor.run({ service: SERVICE, event: { id: 'good', userId: 'u' }, plan: plan() })).outcome.kind).toBe('ok');
  });
});
