/**
 * Deferred done marks past their bound (issue 23: AGS calls per first-seen player's event). A mark
 * deferred for an action with a lookup (grantItem's orderNo) waits for its player's next write; a
 * first-seen player usually sends nothing more, so past `maxPendingDoneMarks` the oldest player's
 * marks are forgotten unwritten (no state-store write: on Cloud Save, no AGS call), never re-sent:
 * the claim on record is settled through the lookup, as after a crash. The "AGS" here is a set of
 * applied effect keys; each test counts its effects and the store's writes.
 */
import { describe, expect, it } from 'vitest';
import { createExecutor } from '../../src/delivery/executor.js';
import { markIn } from '../../src/delivery/action-ledger.js';
import { idempotencyKey } from '../../src/delivery/event-key.js';
import { ledgerPartition } from '../../src/delivery/ledger-partition.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { MemoryDeadLetterSink } from '../../src/delivery/dead-letters.js';
import type { ActionDefinition } from '../../src/actions/types.js';
import type { PlannedAction } from '../../src/rules/types.js';
import { captureLogger, registryOf } from './support.js';

const SERVICE = { fullName: 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService', eventName: 'userLoggedIn' };
const T0 = Date.parse('2026-03-11T10:00:00Z');
const LEASE_MS = 60_000;

function eventOf(n: number) {
  const userId = n.toString(16).padStart(32, '0');
  return { id: `evt-${n}`, userId, namespace: 'mygame', payload: { userAccount: { userId } } };
}

/** A grant with a lookup: `applied` is what AGS applied; the lookup answers from it. */
function grant() {
  const applied: string[] = [];
  const lookups: string[] = [];
  const def: ActionDefinition = {
    name: 'grant',
    description: 'test grant',
    params: { type: 'object' },
    usesAgs: false,
    normalize: (params) => params,
    plan: () => [],
    execute(_params, ctx) {
      applied.push(ctx.idempotencyKey);
      return Promise.resolve({ summary: 'granted' });
    },
    reconcile(_params, ctx) {
      lookups.push(ctx.idempotencyKey);
      return Promise.resolve(applied.includes(ctx.idempotencyKey));
    },
  };
  return { def, applied, lookups };
}

/** A memory store that counts its writes (a transaction whose change writes a document). */
function counting(): { store: StateStore; writes: () => number } {
  const inner = new MemoryStateStore();
  let writes = 0;
  const store: StateStore = {
    kind: 'cloudsave',
    read: (p, o) => inner.read(p, o),
    transact: (p, update, o) =>
      inner.transact(p, (doc) => {
        const change = update(doc);
        if (change.next !== undefined) writes++;
        return change;
      }, o),
    close: () => inner.close(),
  };
  return { store, writes: () => writes };
}

const PLAN: PlannedAction[] = [{ rule: 'r', index: 0, key: 'grant#0', action: 'grant', params: {}, mode: 'live', onFailure: 'deadLetter' }];

describe('deferred done marks past maxPendingDoneMarks', () => {
  function setup() {
    const g = grant();
    const { store, writes } = counting();
    let now = T0;
    const executor = createExecutor({
      registry: registryOf(g.def),
      store,
      deadLetters: new MemoryDeadLetterSink(),
      logger: captureLogger().logger,
      dryRun: false,
      namespace: 'mygame',
      now: () => new Date(now),
      leaseMs: LEASE_MS,
      deferDoneMarks: true,
      maxPendingDoneMarks: 2,
    });
    const run = (n: number) => executor.run({ service: SERVICE, event: eventOf(n), plan: PLAN });
    const mark = async (n: number) => markIn(await store.read(ledgerPartition(eventOf(n), 'mygame', `evt-${n}`)), idempotencyKey(`evt-${n}`, 'r', 'grant#0'));
    return { g, writes, run, mark, executor, later: (ms: number) => void (now += ms) };
  }

  it('the oldest player\'s marks are forgotten, not written: one write per first-seen player\'s event (its claim)', async () => {
    const t = setup();
    for (let n = 1; n <= 5; n++) expect((await t.run(n)).actions[0]?.status).toBe('succeeded');
    expect(t.g.applied).toHaveLength(5);
    // 5 claims and nothing else (the evicted marks of players 1 to 3 used to be written: 8)
    expect(t.writes()).toBe(5);
    for (const n of [1, 2, 3]) expect((await t.mark(n))?.s).toBe('c');
    // the 2 within the bound are still written at shutdown
    await t.executor.flush();
    expect(t.writes()).toBe(7);
    for (const n of [4, 5]) expect((await t.mark(n))?.s).toBe('d');
  });

  it('a redelivery of an event whose mark was forgotten: settled by the lookup (duplicate), within the lease and after it; never applied again', async () => {
    const t = setup();
    for (let n = 1; n <= 3; n++) await t.run(n);
    expect((await t.mark(1))?.s).toBe('c');
    // within the lease: the claim is live, the lookup finds the effect, the mark is written then
    const again = await t.run(1);
    expect(again.outcome).toEqual({ kind: 'ok' });
    expect(again.actions[0]?.status).toBe('duplicate');
    expect(t.g.lookups).toHaveLength(1);
    expect((await t.mark(1))?.s).toBe('d');
    // forgotten as well once players 4 and 5 came; after the lease, taken over as an unknown outcome and settled by the lookup
    await t.run(4);
    await t.run(5);
    expect((await t.mark(2))?.s).toBe('c');
    t.later(LEASE_MS + 1);
    const late = await t.run(2);
    expect(late.actions[0]?.status).toBe('succeeded');
    expect(late.actions[0]?.summary).toMatch(/reconciled, not sent again/);
    expect(t.g.lookups).toHaveLength(2);
    expect(t.g.applied.filter((k) => k === idempotencyKey('evt-2', 'r', 'grant#0'))).toHaveLength(1);
    expect(t.g.applied).toHaveLength(5);
  });
});
