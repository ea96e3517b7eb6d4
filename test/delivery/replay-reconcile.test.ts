/**
 * Issue 22.3 at the executor: a replay looks up every action of its rule that
 * has a lookup before it sends anything, whatever its dead letter says; two
 * replays at once make one effect; an unknown outcome is never dropped from a
 * claim on the way to a dead letter; a permanent failure after a lost answer is
 * dead-lettered, never retried for ever. The "AGS" here is a set of applied
 * effect keys; each test counts its effects.
 */
import { describe, expect, it } from 'vitest';
import { createExecutor, REPLAY_HEADER, REPLAY_SINCE_HEADER } from '../../src/delivery/executor.js';
import type { ExecutorOptions } from '../../src/delivery/executor.js';
import { DEFAULT_LEASE_MS, markIn } from '../../src/delivery/action-ledger.js';
import { ledgerPartition } from '../../src/delivery/ledger-partition.js';
import { idempotencyKey } from '../../src/delivery/event-key.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { MemoryDeadLetterSink, replaySinceOf } from '../../src/delivery/dead-letters.js';
import type { DeadLetterRecord, DeadLetterSink } from '../../src/delivery/dead-letters.js';
import type { ActionDefinition, ActionContext } from '../../src/actions/types.js';
import type { PlannedAction } from '../../src/rules/types.js';
import { PermanentError, captureLogger, registryOf } from './support.js';

const SERVICE = { fullName: 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService', eventName: 'userLoggedIn' };
const USER = '0123456789abcdef0123456789abcdef';
const EVENT = { id: 'evt-1', userId: USER, namespace: 'mygame', payload: { userAccount: { userId: USER } } };
const PARTITION = ledgerPartition(EVENT, 'mygame', 'evt-1');
const NOW = Date.parse('2026-03-11T10:00:00Z');

/** An error saying the request may have been applied (its answer was lost or unreadable). */
class LostAnswerError extends Error {
  override readonly name = 'LostAnswerError';
  readonly retriable = true;
  readonly outcomeUnknown = true;
}

type Step = 'apply' | 'apply-then-permanent' | 'permanent' | 'lost-after-apply' | ((ctx: ActionContext) => Promise<void>);

/**
 * A grant with a lookup (like grantItem's orderNo): `applied` holds the effect keys AGS applied;
 * `steps` script the next executions (default: apply); `lookups` records each lookup's `since`.
 */
function grant(name = 'grant', options: { lookup?: boolean; lookupFails?: Error } = {}) {
  const applied: string[] = [];
  const steps: Step[] = [];
  const lookups: number[] = [];
  const def: ActionDefinition = {
    name,
    description: 'test grant',
    params: { type: 'object' },
    usesAgs: false,
    normalize(params) {
      if (params.broken === true) throw new PermanentError('parameter "item" resolves to nothing');
      return params;
    },
    plan: () => [],
    async execute(_params, ctx) {
      const step = steps.shift() ?? 'apply';
      if (typeof step === 'function') await step(ctx);
      if (step === 'permanent') throw new PermanentError('item not found', 404);
      applied.push(ctx.idempotencyKey);
      if (step === 'apply-then-permanent') throw new PermanentError('AGS answered but granted nothing', 200);
      if (step === 'lost-after-apply') throw new LostAnswerError('answer lost');
      return { summary: 'granted' };
    },
  };
  if (options.lookup !== false) {
    def.reconcile = (_params, ctx, since) => {
      lookups.push(since);
      if (options.lookupFails) return Promise.reject(options.lookupFails);
      return Promise.resolve(applied.includes(ctx.idempotencyKey));
    };
  }
  return { def, applied, steps, lookups };
}

function plan(action: string, extra: Partial<PlannedAction> = {}): PlannedAction[] {
  return [{ rule: 'r', index: 0, key: `${action}#0`, action, params: {}, mode: 'live', onFailure: 'deadLetter', ...extra }];
}

function setup(defs: ActionDefinition[], overrides: Partial<ExecutorOptions> = {}) {
  const store = new MemoryStateStore();
  const deadLetters = new MemoryDeadLetterSink();
  const { logger, lines } = captureLogger();
  const options: ExecutorOptions = { registry: registryOf(...defs), store, deadLetters, logger, dryRun: false, namespace: 'mygame', now: () => new Date(NOW), ...overrides };
  const executor = createExecutor(options);
  const run = (action: string, metadata: Record<string, unknown> = {}, extra: Partial<PlannedAction> = {}) => executor.run({ service: SERVICE, event: EVENT, plan: plan(action, extra), metadata });
  const mark = async (action: string) => markIn(await store.read(PARTITION), idempotencyKey('evt-1', 'r', `${action}#0`));
  return { store, deadLetters, lines, executor, run, mark };
}

const REPLAY = { [REPLAY_HEADER]: 'r' };

describe('replay reconciles before it sends (issue 22.3)', () => {
  it('a dead letter whose attempt was applied ("granted nothing"): the replay finds it by the lookup and does not send again', async () => {
    const g = grant();
    const t = setup([g.def]);
    g.steps.push('apply-then-permanent');
    expect((await t.run('grant')).outcome).toMatchObject({ kind: 'ok', deadLettered: [expect.objectContaining({ action: 'grant' })] });
    expect(t.deadLetters.records).toHaveLength(1);
    expect((await t.mark('grant'))?.s).toBe('x');
    const report = await t.run('grant', REPLAY);
    expect(report.outcome).toEqual({ kind: 'ok' });
    expect(report.actions[0]).toMatchObject({ status: 'succeeded', summary: expect.stringContaining('replay: found by its lookup') });
    expect(g.applied).toHaveLength(1); // one effect
    // looked up from when the dead-lettered attempt was claimed (kept on the mark)
    expect(g.lookups).toEqual([NOW]);
    expect((await t.mark('grant'))?.s).toBe('d');
    // a second replay finds it done
    expect((await t.run('grant', REPLAY)).actions[0]?.status).toBe('duplicate');
    expect(g.applied).toHaveLength(1);
  });

  it('a dead letter whose attempt was not applied (404): the lookup says so, the replay sends it once', async () => {
    const g = grant();
    const t = setup([g.def]);
    g.steps.push('permanent');
    await t.run('grant');
    expect(g.applied).toHaveLength(0);
    expect((await t.run('grant', REPLAY)).actions[0]?.status).toBe('succeeded');
    expect(g.lookups).toHaveLength(1);
    expect(g.applied).toHaveLength(1);
  });

  it('an action without a lookup is sent again by a replay, as before (no unknown-outcome for a plain dead letter)', async () => {
    const g = grant('stat', { lookup: false });
    const t = setup([g.def]);
    g.steps.push('permanent');
    await t.run('stat');
    expect((await t.run('stat', REPLAY)).actions[0]?.status).toBe('succeeded');
    expect(g.applied).toHaveLength(1);
  });

  it('the key has no mark left (expired, or another store): the replay still looks up first, from the dead letter\'s time less the lease', async () => {
    const g = grant();
    const t = setup([g.def]);
    g.steps.push('apply-then-permanent');
    await t.run('grant');
    await t.store.transact(PARTITION, () => ({ next: {}, result: undefined })); // the marks are gone
    const written = '2026-03-11T09:59:30.000Z';
    const report = await t.run('grant', { ...REPLAY, [REPLAY_SINCE_HEADER]: written });
    expect(report.actions[0]?.status).toBe('succeeded');
    expect(g.lookups).toEqual([Date.parse(written) - DEFAULT_LEASE_MS]);
    expect(g.applied).toHaveLength(1);
  });

  it('an unknown-outcome dead letter written long after its lost attempt, replayed once its mark expired: looked up from the attempt, not from the dead letter less the lease (never a second effect)', async () => {
    // "AGS": each effect with when it was applied; the lookup reads the history back to `since` less a minute (skew)
    const applied: { key: string; at: number }[] = [];
    let lookupRefused: Error | undefined = Object.assign(new Error('queryFulfillmentHistories: 503'), { retriable: true });
    let lose = true;
    const def: ActionDefinition = {
      name: 'grant',
      description: 'test grant with a history',
      params: { type: 'object' },
      usesAgs: false,
      normalize: (params) => params,
      plan: () => [],
      execute(_params, ctx) {
        applied.push({ key: ctx.idempotencyKey, at: clock });
        if (lose) throw new LostAnswerError('answer lost');
        return Promise.resolve({ summary: 'granted' });
      },
      reconcile(_params, ctx, since) {
        if (lookupRefused) return Promise.reject(lookupRefused);
        return Promise.resolve(applied.some((x) => x.key === ctx.idempotencyKey && x.at >= since - 60_000));
      },
    };
    let clock = NOW;
    const t = setup([def], { now: () => new Date(clock) });
    expect((await t.run('grant')).outcome.kind).toBe('retry'); // sent at NOW, answer lost
    // the lookup's history is unavailable for two hours: every redelivery answered retry, nothing sent
    for (let h = 1; h <= 4; h++) {
      clock = NOW + h * 30 * 60_000;
      expect((await t.run('grant')).outcome.kind).toBe('retry');
    }
    // then its permission is removed: an unknown-outcome dead letter, two hours after the attempt
    lookupRefused = Object.assign(new Error('queryFulfillmentHistories: 403 forbidden'), { retriable: false, status: 403 });
    expect((await t.run('grant')).actions[0]?.status).toBe('deadLettered');
    const letter = t.deadLetters.records.at(-1)!;
    expect(letter.kind).toBe('unknown-outcome');
    expect(applied).toHaveLength(1);
    // a week later the mark has expired (DEDUPE_RETENTION_HOURS; the dead letter is kept 14 days); the permission is back
    clock += 8 * 24 * 3_600_000;
    await t.store.transact(PARTITION, () => ({ next: {}, result: undefined })); // the marks are gone
    lookupRefused = undefined;
    lose = false;
    // the replay sends what `replay` sends for this record
    const report = await t.run('grant', { ...REPLAY, [REPLAY_SINCE_HEADER]: replaySinceOf(letter) });
    expect(report.outcome).toEqual({ kind: 'ok' });
    expect(report.actions[0]?.summary).toMatch(/found by its lookup/);
    expect(applied).toHaveLength(1);
  });

  it('two replays of one dead letter at once: one sends, the other is told to retry (busy), then finds it done', async () => {
    const g = grant();
    const t = setup([g.def]);
    g.steps.push('permanent');
    await t.run('grant');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    g.steps.push(async () => {
      entered();
      await held;
    });
    const first = t.run('grant', REPLAY);
    await inside;
    const second = await t.run('grant', REPLAY);
    expect(second.outcome.kind).toBe('retry');
    expect(second.actions[0]).toMatchObject({ status: 'retriable', error: 'another delivery of this event is running this action' });
    release();
    expect((await first).outcome).toEqual({ kind: 'ok' });
    expect((await t.run('grant', REPLAY)).actions[0]?.status).toBe('duplicate');
    expect(g.applied).toHaveLength(1);
  });

  it('a lookup that cannot tell (inconclusive) during a replay: dead-lettered again as unknown-outcome, not sent', async () => {
    const inconclusive = Object.assign(new Error('history does not reach back'), { retriable: false, outcomeUnknown: true, inconclusive: true });
    const g = grant('grant', { lookupFails: inconclusive });
    const t = setup([g.def]);
    g.steps.push('apply-then-permanent');
    await t.run('grant');
    const report = await t.run('grant', REPLAY);
    expect(report.outcome).toMatchObject({ kind: 'ok', deadLettered: [expect.objectContaining({ action: 'grant' })] });
    expect(report.actions[0]?.status).toBe('deadLettered');
    expect(t.deadLetters.records.at(-1)).toMatchObject({ kind: 'unknown-outcome' });
    expect(g.applied).toHaveLength(1);
  });
});

describe('an unknown outcome survives a dead letter that cannot be written (issue 22.3, known bug)', () => {
  it('no lookup, answer lost, dead letter write fails: the redelivery does not send again, it dead-letters as unknown-outcome', async () => {
    const g = grant('stat', { lookup: false });
    let failWrites = true;
    const memory = new MemoryDeadLetterSink();
    const flaky: DeadLetterSink = { write: (r: DeadLetterRecord) => (failWrites ? Promise.reject(new Error('disk full')) : memory.write(r)), close: () => Promise.resolve() };
    const t = setup([g.def], { deadLetters: flaky });
    g.steps.push('lost-after-apply');
    expect((await t.run('stat')).outcome.kind).toBe('retry');
    expect((await t.mark('stat'))?.u).toBe(NOW); // kept: the next claim is told the outcome is unknown
    failWrites = false;
    const again = await t.run('stat');
    expect(again.outcome).toMatchObject({ kind: 'ok', deadLettered: [expect.objectContaining({ action: 'stat' })] });
    expect(again.actions[0]?.status).toBe('deadLettered');
    expect(memory.records).toEqual([expect.objectContaining({ kind: 'unknown-outcome' })]);
    expect(g.applied).toHaveLength(1);
  });
});

describe('a permanent failure after a lost answer is dead-lettered, never retried for ever (issue 22.3, known bug)', () => {
  it('the lookup itself refused (403): unknown-outcome dead letter, answered OK, nothing sent again', async () => {
    const denied = Object.assign(new Error('listUserCurrencyTransactions: 403 forbidden'), { retriable: false, status: 403 });
    const g = grant('grant', { lookupFails: denied });
    const t = setup([g.def]);
    g.steps.push('lost-after-apply');
    expect((await t.run('grant')).outcome.kind).toBe('retry');
    const report = await t.run('grant');
    expect(report.outcome).toMatchObject({ kind: 'ok', deadLettered: [expect.objectContaining({ action: 'grant' })] });
    expect(report.actions[0]?.status).toBe('deadLettered');
    expect(t.deadLetters.records).toEqual([expect.objectContaining({ kind: 'unknown-outcome' })]);
    expect(g.applied).toHaveLength(1);
  });

  it('its params no longer resolve on the redelivery: unknown-outcome dead letter, answered OK', async () => {
    const g = grant();
    const t = setup([g.def]);
    g.steps.push('lost-after-apply');
    expect((await t.run('grant')).outcome.kind).toBe('retry');
    const report = await t.run('grant', {}, { params: { broken: true } });
    expect(report.outcome).toMatchObject({ kind: 'ok', deadLettered: [expect.objectContaining({ action: 'grant' })] });
    expect(t.deadLetters.records).toEqual([expect.objectContaining({ kind: 'unknown-outcome' })]);
    // replayed once fixed: the lookup finds the lost attempt applied
    expect((await t.run('grant', REPLAY)).actions[0]?.status).toBe('succeeded');
    expect(g.applied).toHaveLength(1);
  });
});
