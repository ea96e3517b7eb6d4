/**
 * The circuit breaker of live actions (issue 22.5) as a state machine: an
 * injected clock, a listener recording what it says; each scenario a table of
 * steps. No timers.
 */
import { describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { PublishError, publishErrorOf } from '../../src/custom-events/publisher.js';
import { ActionBreaker, MAX_HELD_DELIVERIES, describePause, systemicFailureOf } from '../../src/delivery/breaker.js';
import type { Admission, BreakerOptions, BreakerTarget, SystemicFailure, Verdict } from '../../src/delivery/breaker.js';
import { AgsError } from '../../src/ags/errors.js';

const GRANT: BreakerTarget = { rule: 'grant-on-login', action: 'grantItem', key: 'grantItem#0', permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:FULFILLMENT [CREATE,UPDATE]' };
const OTHER: BreakerTarget = { rule: 'other-rule', action: 'grantItem', key: 'grantItem#0' };

const F401: SystemicFailure = { kind: 'auth', operation: 'fulfillItem', status: 401, errorCode: 20001, errorMessage: 'unauthorized access' };
const F403: SystemicFailure = { kind: 'auth', operation: 'fulfillItem', status: 403, errorCode: 20013, errorMessage: 'insufficient permissions' };
const NOT_FOUND: SystemicFailure = { kind: 'permanent', operation: 'fulfillItem', status: 404, errorCode: 30341, errorMessage: 'item [x] does not exist' };
const BAD_USER: SystemicFailure = { kind: 'permanent', operation: 'fulfillItem', status: 404, errorCode: 20008, errorMessage: 'user not found' };

type Step =
  | readonly ['at', number] // the clock, ms
  | readonly ['admit', Admission, BreakerTarget?]
  | readonly ['fail', string, SystemicFailure, number, Admission, Verdict, BreakerTarget?] // event key, failure, attempts, its admission, verdict
  | readonly ['ok', BreakerTarget?]
  | readonly ['settled', Admission]
  | readonly ['said', readonly string[]]; // what the listener was told since the last 'said'

function run(steps: readonly Step[], options: Partial<BreakerOptions> = {}): void {
  let clock = 0;
  let said: string[] = [];
  const b = new ActionBreaker({
    now: () => clock,
    probeIntervalMs: 1000,
    logIntervalMs: 60_000,
    listener: {
      paused: (r) => said.push(`paused ${r.target.rule} ${r.cause.status} x${r.events}`),
      stillPaused: (r) => said.push(`still ${r.target.rule} refused ${r.refused}`),
      resumed: (r) => said.push(`resumed ${r.target.rule} refused ${r.refused}`),
    },
    ...options,
  });
  steps.forEach((step, i) => {
    const where = `step ${i}: ${JSON.stringify(step)}`;
    switch (step[0]) {
      case 'at':
        clock = step[1];
        break;
      case 'admit':
        expect(b.admit(step[2] ?? GRANT), where).toBe(step[1]);
        break;
      case 'fail':
        expect(b.failed(step[6] ?? GRANT, step[4], step[2], step[1], step[3]), where).toBe(step[5]);
        break;
      case 'ok':
        b.succeeded(step[1] ?? GRANT);
        break;
      case 'settled':
        b.settled(GRANT, step[1]);
        break;
      case 'said':
        expect(said, where).toEqual(step[1]);
        said = [];
        break;
    }
  });
}

/** `n` distinct events failing with `f` (first delivery each), verdict of each. */
function streak(n: number, f: SystemicFailure, verdicts: (i: number) => Verdict, prefix = 'e'): Step[] {
  return Array.from({ length: n }, (_, i) => ['fail', `${prefix}${i}`, f, 1, 'run', verdicts(i)] as const);
}

describe('ActionBreaker (issue 22.5: stop the line on systemic failures)', () => {
  it('401 with a fresh token on 3 distinct events: held (never dead-lettered), then paused; the line is said once', () => {
    run([...streak(3, F401, () => 'hold'), ['said', ['paused grant-on-login 401 x3']], ['admit', 'paused'], ['admit', 'paused'], ['said', []]]);
  });

  it('401 and 403 mixed count as one streak (both: the IAM client is refused)', () => {
    run([
      ['fail', 'a', F401, 1, 'run', 'hold'],
      ['fail', 'b', F403, 1, 'run', 'hold'],
      ['fail', 'c', F401, 1, 'run', 'hold'],
      ['said', ['paused grant-on-login 401 x3']],
    ]);
  });

  it('a lone 403 among successes: held once, dead-lettered at its next delivery after another event succeeded; never paused', () => {
    run([
      ['fail', 'bad', F403, 1, 'run', 'hold'],
      ['fail', 'bad', F403, 2, 'run', 'hold'], // no success since: it may be the deployment's
      ['ok'],
      ['fail', 'bad', F403, 3, 'run', 'pass'],
      ['admit', 'run'],
      ['said', []],
    ]);
  });

  it('a lone 401 with no success anywhere: held for MAX_HELD_DELIVERIES deliveries, then dead-lettered (a batch is never blocked for ever)', () => {
    run([...Array.from({ length: MAX_HELD_DELIVERIES - 1 }, (_, i) => ['fail', 'alone', F401, i + 1, 'run', 'hold'] as const), ['fail', 'alone', F401, MAX_HELD_DELIVERIES, 'run', 'pass'], ['admit', 'run'], ['said', []]]);
  });

  it('held events before a pause are dead-lettered only once the action succeeded after their first hold', () => {
    run([
      ['fail', 'a', F403, 1, 'run', 'hold'],
      ['fail', 'a', F403, 2, 'run', 'hold'],
      ['fail', 'b', F403, 1, 'run', 'hold'],
      ['fail', 'a', F403, 3, 'run', 'hold'], // a sequential sidecar: a again before a third event
      ['fail', 'c', F403, 1, 'run', 'hold'], // the third distinct event: paused
      ['said', ['paused grant-on-login 403 x3']],
      ['at', 1000],
      ['admit', 'probe'],
      ['ok'], // healed
      ['said', ['resumed grant-on-login refused 0']],
      ['fail', 'a', F403, 4, 'run', 'pass'], // still refused after a success: its own
    ]);
  });

  it('the same event refused again and again is one event: it never pauses the action', () => {
    run([...Array.from({ length: 20 }, (_, i) => ['fail', 'same', NOT_FOUND, i + 1, 'run', 'pass'] as const), ['admit', 'run'], ['said', []]]);
  });

  it('an item that does not exist for every event: 9 dead letters (pass), the 10th pauses', () => {
    run([...streak(10, NOT_FOUND, (i) => (i < 9 ? 'pass' : 'hold')), ['said', ['paused grant-on-login 404 x10']], ['admit', 'paused']]);
  });

  it('a single bad event among successes is a dead letter; different errors do not add up', () => {
    run([
      ...streak(9, NOT_FOUND, () => 'pass'),
      ['ok'], // the streak ends
      ...streak(9, NOT_FOUND, () => 'pass', 'f'),
      ['fail', 'g', BAD_USER, 1, 'run', 'pass'], // another errorCode: a new streak
      ...streak(9, NOT_FOUND, () => 'pass', 'h'),
      ['admit', 'run'],
      ['said', []],
    ]);
  });

  it('each rule and action has its own breaker', () => {
    run([...streak(3, F403, () => 'hold'), ['admit', 'paused'], ['admit', 'run', OTHER], ['ok', OTHER], ['admit', 'paused']]);
  });

  it('probes: one event per interval goes through; the same failure keeps it paused (held), a success resumes', () => {
    run([
      ['at', 10_000],
      ...streak(3, F403, () => 'hold'),
      ['said', ['paused grant-on-login 403 x3']],
      ['at', 10_999],
      ['admit', 'paused'],
      ['at', 11_000],
      ['admit', 'probe'],
      ['admit', 'paused'], // one probe at a time
      ['fail', 'p1', F403, 1, 'probe', 'hold'],
      ['admit', 'paused'], // the next probe waits a whole interval
      ['at', 11_999],
      ['admit', 'paused'],
      ['at', 12_000],
      ['admit', 'probe'],
      ['ok'],
      ['said', ['resumed grant-on-login refused 4']],
      ['admit', 'run'],
      ['fail', 'x', F403, 1, 'run', 'hold'], // a fresh streak: held, not paused
      ['admit', 'run'],
    ]);
  });

  it('a probe that decides nothing (transient failure, bad parameter, duplicate) lets the next event probe', () => {
    run([...streak(3, F403, () => 'hold'), ['at', 1000], ['admit', 'probe'], ['admit', 'paused'], ['settled', 'probe'], ['admit', 'probe'], ['settled', 'run'], ['admit', 'paused']]);
  });

  it('a probe that never settles (lost) is replaced after an interval', () => {
    run([...streak(3, F403, () => 'hold'), ['at', 1000], ['admit', 'probe'], ['at', 1999], ['admit', 'paused'], ['at', 2000], ['admit', 'probe']]);
  });

  it('a probe meeting another failure resumes the action: the paused cause is gone, the failure is its own', () => {
    run([...streak(10, NOT_FOUND, (i) => (i < 9 ? 'pass' : 'hold')), ['at', 1000], ['admit', 'probe'], ['fail', 'p', BAD_USER, 1, 'probe', 'pass'], ['said', ['paused grant-on-login 404 x10', 'resumed grant-on-login refused 0']], ['admit', 'run']]);
  });

  it('a probe meeting the same permanent error is dead-lettered (pass) and the action stays paused: a run of events each refused for its own reason moves on, one per interval, never held for ever', () => {
    run([
      ...streak(10, NOT_FOUND, (i) => (i < 9 ? 'pass' : 'hold')),
      ['at', 1000],
      ['admit', 'probe'],
      ['fail', 'p1', NOT_FOUND, 1, 'probe', 'pass'],
      ['admit', 'paused'], // still paused: the next probe waits a whole interval
      ['at', 2000],
      ['admit', 'probe'],
      ['fail', 'p2', NOT_FOUND, 1, 'probe', 'pass'],
      ['said', ['paused grant-on-login 404 x10']],
    ]);
  });

  it('events admitted before the pause: the same failure is held, another one passes', () => {
    run([...streak(3, F403, () => 'hold'), ['fail', 'late', F403, 1, 'run', 'hold'], ['fail', 'own', NOT_FOUND, 1, 'run', 'pass'], ['admit', 'paused']]);
  });

  it('says "still paused" once per log interval while events are refused, with the count since the last line', () => {
    run([
      ...streak(3, F401, () => 'hold'),
      ['said', ['paused grant-on-login 401 x3']],
      ['at', 500],
      ['admit', 'paused'],
      ['at', 900],
      ['admit', 'paused'],
      ['said', []],
      ['at', 60_001],
      ['admit', 'paused'],
      ['said', ['still grant-on-login refused 3']],
      ['at', 100_000],
      ['admit', 'probe'], // the probe is not refused
      ['fail', 'p', F401, 1, 'probe', 'hold'],
      ['at', 119_999],
      ['admit', 'paused'],
      ['said', []],
      ['at', 120_001],
      ['admit', 'paused'],
      ['said', ['still grant-on-login refused 2']],
    ], { probeIntervalMs: 100_000 });
  });

  it('thresholds of 0 never pause nor hold', () => {
    run([...streak(30, F403, () => 'pass'), ...streak(30, NOT_FOUND, () => 'pass', 'n'), ['admit', 'run'], ['said', []]], { authFailures: 0, permanentFailures: 0 });
  });

  it('thresholds are configurable: auth 1 pauses on the first refusal, permanent 2 on the second event', () => {
    run([['fail', 'a', F403, 1, 'run', 'hold'], ['admit', 'paused']], { authFailures: 1 });
    run([['fail', 'a', NOT_FOUND, 1, 'run', 'pass'], ['fail', 'b', NOT_FOUND, 1, 'run', 'hold'], ['admit', 'paused']], { permanentFailures: 2 });
  });

  it('the line names the action, rule, operation, status, AGS error, permission, since when, and what happens to events', () => {
    const line = describePause({ target: GRANT, since: Date.UTC(2026, 0, 2, 3, 4, 5), cause: F403, events: 3, probeIntervalMs: 30_000 });
    expect(line).toBe(
      'grantItem paused (rule grant-on-login): fulfillItem answered 403 errorCode 20013 "insufficient permissions" on 3 consecutive events (the IAM client lacks a permission; grantItem needs ADMIN:NAMESPACE:{namespace}:USER:{userId}:FULFILLMENT [CREATE,UPDATE]), since 2026-01-02T03:04:05.000Z; events that need it are answered UNAVAILABLE until a probe succeeds (one event every 30 s)',
    );
    expect(describePause({ target: { rule: 'hook', action: 'http', key: 'http#0' }, since: 0, cause: { kind: 'auth', operation: 'http', status: 403 }, events: 3, probeIntervalMs: 1500 })).toContain(
      'http paused (rule hook): http answered 403 on 3 consecutive events (the webhook refused the request',
    );
    expect(describePause({ target: GRANT, since: 0, cause: NOT_FOUND, events: 10, probeIntervalMs: 1500 })).toContain('fulfillItem answered 404 errorCode 30341 "item [x] does not exist" on 10 consecutive events (the same error for every event');
  });

  it('only a permanent 4xx AGS answer with a known outcome may be systemic', () => {
    const ags = (f: Partial<ConstructorParameters<typeof AgsError>[0]>): AgsError => new AgsError({ operation: 'fulfillItem', retriable: false, attempts: 1, kind: 'http', ...f });
    expect(systemicFailureOf(ags({ status: 403, errorCode: 20013, errorMessage: 'no' }))).toEqual({ kind: 'auth', operation: 'fulfillItem', status: 403, errorCode: 20013, errorMessage: 'no' });
    expect(systemicFailureOf(ags({ status: 401 }))?.kind).toBe('auth');
    expect(systemicFailureOf(ags({ status: 400, errorCode: 30341 }))?.kind).toBe('permanent');
    expect(systemicFailureOf(ags({ status: 404, errorMessage: 'x'.repeat(1000) }))?.errorMessage).toHaveLength(200);
    for (const e of [
      ags({ status: 503, retriable: true }),
      ags({ status: 429, retriable: true }),
      ags({ status: 408 }),
      ags({ status: 500 }),
      ags({ kind: 'timeout', retriable: true }),
      ags({ status: 400, outcomeUnknown: true }),
      ags({ status: 403, retriable: true }),
      new Error('bad params'),
      'a string',
      undefined,
    ]) {
      expect(systemicFailureOf(e), String(e)).toBeUndefined();
    }
  });

  it('a permanent answer of the publisher sidecar (gRPC) may be systemic too; a lost or transient one is not', () => {
    expect(systemicFailureOf(publishErrorOf(Object.assign(new Error('x'), { code: grpc.status.NOT_FOUND, details: 'topic t not found', metadata: new grpc.Metadata() })))).toEqual({
      kind: 'permanent',
      operation: 'PublishMessage',
      status: 404,
      errorCode: 'NOT_FOUND',
      errorMessage: 'publishMessage: PublishMessage answered NOT_FOUND: topic t not found',
    });
    expect(systemicFailureOf(new PublishError('no', false, false, grpc.status.PERMISSION_DENIED))?.kind).toBe('auth');
    expect(systemicFailureOf(new PublishError('lost', false, true, grpc.status.UNAVAILABLE))).toBeUndefined();
    expect(systemicFailureOf(new PublishError('busy', true, false, grpc.status.RESOURCE_EXHAUSTED))).toBeUndefined();
  });
});
