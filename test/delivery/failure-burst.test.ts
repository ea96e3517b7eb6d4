/**
 * "Nothing lost, nothing doubled in a failure burst", in one process: replicas are executors (each with its own AGS
 * client, Cloud Save store and dead-letter sink, as `main.ts` wires them) on one AGS stand-in, so a test can set
 * what a process cannot be told from outside: the bound of deferred done marks (`maxPendingDoneMarks`), short leases.
 * A replica is killed as `kill -9` kills a process: from that instant none of its requests is sent and no answer
 * reaches it (its transport never settles again), so whatever it was doing stops where it was; its deferred marks
 * are lost. Effects are counted at the stand-in by each event's orderNo: every event ends with exactly one grant,
 * or none and a dead letter that a replay turns into one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AgsClient } from '../../src/ags/client.js';
import { HttpTransport, TransportError } from '../../src/ags/transport.js';
import type { RawRequest, RawResponse } from '../../src/ags/transport.js';
import { createDefaultRegistry, effectId } from '../../src/actions/index.js';
import { createExecutor, REPLAY_HEADER, REPLAY_SINCE_HEADER } from '../../src/delivery/executor.js';
import type { DeliveryReport, Executor } from '../../src/delivery/executor.js';
import { idempotencyKey } from '../../src/delivery/event-key.js';
import { replaySinceOf } from '../../src/delivery/dead-letters.js';
import { StoreDeadLetterSink } from '../../src/delivery/store-dead-letters.js';
import { listStoredDeadLetters, removeStoredDeadLetter } from '../../src/delivery/store-dead-letter-listing.js';
import { CloudSaveStateStore } from '../../src/store/cloudsave-state-store.js';
import type { PlannedAction } from '../../src/rules/types.js';
import type { FaultKind } from '../support/ags-stand-in.js';
import { useAgsStandIn } from '../support/ags-fixture.js';
import { fileRandom } from '../support/seed.js';
import { waitFor } from '../support/wait.js';
import { captureLogger, redeliveryPause } from './support.js';

const SERVICE = { fullName: 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService', eventName: 'userLoggedIn' };
const RULE = 'grant-item-on-login';
const NAMESPACE = 'mygame';

/**
 * A transport that a kill stops dead: nothing is sent after it, and no answer is delivered after it (each attempt then
 * fails at once, as never sent: a killed replica's executor winds down without a single request reaching AGS, and
 * without leaving promises that never settle in what replicas of one process share, such as the lookups' history queues).
 */
class CrashableTransport extends HttpTransport {
  dead = false;
  override send(req: RawRequest): Promise<RawResponse> {
    const killed = (): Promise<RawResponse> => Promise.reject(new TransportError('invalid', 'ERR_KILLED', 'the process was killed'));
    if (this.dead) return killed();
    return super.send(req).then(
      (res) => (this.dead ? killed() : res),
      (error: unknown) => (this.dead ? killed() : Promise.reject(error instanceof Error ? error : new Error(String(error)))),
    );
  }
}

interface Replica {
  readonly executor: Executor;
  readonly store: CloudSaveStateStore;
  readonly transport: CrashableTransport;
  readonly killed: Promise<never>;
  kill(): void;
}

function hex(n: number): string {
  return Math.floor(fileRandom() * 2 ** 32).toString(16).padStart(8, '0') + n.toString(16).padStart(24, '0');
}

describe('a failure burst on Cloud Save, replicas killed mid-burst (in process)', () => {
  const ags = useAgsStandIn();
  const replicas: Replica[] = [];
  afterEach(() => {
    for (const r of replicas.splice(0)) r.kill();
  });

  const replica = (options: { maxPendingDoneMarks?: number; leaseMs?: number; eventDeadlineMs?: number; probeIntervalMs?: number } = {}): Replica => {
    const transport = new CrashableTransport();
    const client = new AgsClient({ baseUrl: ags.url, clientId: ags.clientId, clientSecret: ags.clientSecret, backoffBaseMs: 1, backoffMaxMs: 20, timeoutMs: 500, transport });
    const store = new CloudSaveStateStore({ ags: client });
    const deadLetters = new StoreDeadLetterSink({ store, namespace: NAMESPACE, retentionMs: 14 * 24 * 3_600_000, sweepEveryMs: 0 });
    const executor = createExecutor({
      registry: createDefaultRegistry(),
      store,
      deadLetters,
      logger: captureLogger().logger,
      ags: client,
      namespace: NAMESPACE,
      leaseMs: options.leaseMs ?? 3_000,
      eventDeadlineMs: options.eventDeadlineMs ?? 2_000,
      ...(options.maxPendingDoneMarks !== undefined ? { maxPendingDoneMarks: options.maxPendingDoneMarks } : {}),
      ...(options.probeIntervalMs !== undefined ? { breaker: { probeIntervalMs: options.probeIntervalMs } } : {}),
    });
    let kill!: () => void;
    const killed = new Promise<never>((_, reject) => (kill = () => reject(new Error('killed'))));
    killed.catch(() => undefined);
    const r: Replica = {
      executor,
      store,
      transport,
      killed,
      kill: () => {
        transport.dead = true;
        kill();
      },
    };
    replicas.push(r);
    return r;
  };

  interface BurstEvent {
    readonly id: string;
    readonly userId: string;
    readonly event: { id: string; userId: string; namespace: string; payload: unknown };
    readonly plan: PlannedAction[];
  }
  const events = (prefix: string, players: number, perPlayer: number): BurstEvent[] => {
    const out: BurstEvent[] = [];
    for (let p = 0; p < players; p++) {
      const userId = hex(p);
      for (let n = 0; n < perPlayer; n++) {
        const id = `${prefix}-${n}-${userId}`;
        out.push({
          id,
          userId,
          event: { id, userId, namespace: NAMESPACE, payload: { userAccount: { userId } } },
          plan: [{ rule: RULE, index: 0, key: 'grantItem#0', action: 'grantItem', params: { itemId: 'item-1', quantity: 1, source: 'REWARD', userId }, mode: 'live', onFailure: 'deadLetter' }],
        });
      }
    }
    return out;
  };
  const grantsOf = (e: BurstEvent): number => {
    const orderNo = `eer-${effectId(idempotencyKey(e.id, RULE, 'grantItem#0'))}`;
    return ags.fulfillments.filter((f) => f.orderNo === orderNo).reduce((n, f) => n + f.quantity, 0);
  };
  /** One delivery on `r`: its report, or `undefined` when `r` was killed before answering. */
  const deliver = (r: Replica, e: BurstEvent, metadata?: Record<string, unknown>): Promise<DeliveryReport | undefined> =>
    Promise.race([r.executor.run({ service: SERVICE, event: e.event, plan: e.plan, ...(metadata ? { metadata } : {}) }), r.killed]).catch(() => undefined);

  /** The sidecar: each event redelivered (to a replica picked at random among the live ones) until answered ok. */
  const sidecar = async (live: () => Replica[], all: readonly BurstEvent[], concurrency: number, maxDeliveries = 400, fanout = 0.3): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < all.length) {
        const e = all[next++]!;
        for (let attempt = 0; ; attempt++) {
          const rs = live();
          // now and then the same event to every replica at once (a rebalance): their claims race on one record
          const report = fileRandom() < fanout ? (await Promise.all(rs.map((r) => deliver(r, e)))).find((x) => x?.outcome.kind === 'ok') : await deliver(rs[Math.floor(fileRandom() * rs.length)]!, e);
          if (report?.outcome.kind === 'ok') break;
          if (report && report.outcome.kind !== 'retry') throw new Error(`${e.id}: answered ${report.outcome.kind}`);
          if (attempt + 1 >= maxDeliveries && maxDeliveries < 400) break;
          if (attempt > 400) throw new Error(`${e.id}: not ok after ${attempt} deliveries: ${report ? JSON.stringify(report.outcome) : 'killed'}`);
          await redeliveryPause();
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
  };

  /** `replay` of every dead letter through `r`, as the CLI does (its since header; removed when answered ok): the ok ones. */
  const replayAll = async (r: Replica, all: readonly BurstEvent[]): Promise<number> => {
    const at = { store: r.store, namespace: NAMESPACE };
    let ok = 0;
    for (const l of (await listStoredDeadLetters(at)).records) {
      const e = all.find((x) => x.id === l.eventId)!;
      const report = await deliver(r, e, { [REPLAY_HEADER]: l.rule, [REPLAY_SINCE_HEADER]: replaySinceOf(l) });
      if (report?.outcome.kind === 'ok') {
        ok++;
        await removeStoredDeadLetter(at, l);
      }
    }
    return ok;
  };

  for (const [what, answer, lookupToo] of [
    ['404 item not found (a misconfigured item)', { status: 404, body: { errorCode: 30341, errorMessage: 'item [item-1] does not exist in namespace [mygame]' } }, false],
    ['403 (the permission removed)', { status: 403, body: { errorCode: 20013, errorMessage: 'insufficient permissions' } }, false],
    ['lost answers while the lookup is refused 403', { reset: true, afterEffect: true }, true],
  ] as const) {
    it(`every fulfillment answered ${what} for a burst, two replicas, one killed; then AGS recovers: one grant per event once the sidecar and replay are done, never two`, async () => {
      const opts = { maxPendingDoneMarks: 2, leaseMs: 2_500, eventDeadlineMs: 2_000, probeIntervalMs: 100 };
      let live = [replica(opts), replica(opts)];
      const all = events(`perm${lookupToo ? 'L' : answer.status ?? ''}`, 8, 4);
      ags.always(/\/fulfillment$/, answer);
      if (lookupToo) ags.deny(['queryFulfillmentHistories']);
      // the burst: each event delivered at most 12 times (paused or held ones are answered UNAVAILABLE meanwhile)
      const burst = sidecar(() => live, all, 12, 12);
      await waitFor(() => ags.serviceRequests().filter((q) => q.operation === 'fulfillItem').length >= 10, 60_000);
      live[0]!.kill();
      live = [live[1]!, replica(opts)];
      await burst;
      // AGS recovers; the sidecar delivers until ok, then every dead letter is replayed, twice, through each replica
      ags.always();
      ags.deny([]);
      await sidecar(() => live, all, 12);
      // a replica whose grantItem is still paused answers a replay UNAVAILABLE (kept) until a probe resumes it: replayed
      // again, as an operator would, until none is left; then once more through each replica (nothing left to send)
      for (let round = 0; (await listStoredDeadLetters({ store: live[0]!.store, namespace: NAMESPACE })).records.length > 0; round++) {
        if (round > 200) throw new Error('dead letters left after 200 replays');
        await replayAll(live[round % 2]!, all);
      }
      await replayAll(live[0]!, all);
      await replayAll(live[1]!, all);
      const wrong = all.filter((e) => grantsOf(e) !== 1).map((e) => `${e.id}: ${grantsOf(e)}`);
      expect(wrong).toEqual([]);
      expect(ags.violations).toEqual([]);
    });
  }

  it('grants applied but answered unreadably or as granting nothing, dead-lettered; replayed from two shells through two replicas at once while the sidecar redelivers every event, twice: never a second grant', async () => {
    const opts = { maxPendingDoneMarks: 2, leaseMs: 2_500, eventDeadlineMs: 2_000 };
    const live = [replica(opts), replica(opts)];
    const all = events('replays', 8, 4);
    ags.setFaultRate(0.5, ['nothingGranted', 'resetAfterEffect', 'truncated'], /\/fulfillment$/);
    ags.deny(['queryFulfillmentHistories']); // an unreadable answer's lookup refused: dead-lettered as unknown-outcome
    await sidecar(() => live, all, 12);
    ags.setFaultRate(0);
    ags.deny([]);
    const at = { store: live[0]!.store, namespace: NAMESPACE };
    expect((await listStoredDeadLetters(at)).records.length).toBeGreaterThan(0); // the faults happened
    for (let round = 0; round < 2; round++) await Promise.all([replayAll(live[0]!, all), replayAll(live[1]!, all), sidecar(() => live, all, 8)]);
    expect((await listStoredDeadLetters(at)).records).toEqual([]);
    const wrong = all.filter((e) => grantsOf(e) !== 1).map((e) => `${e.id}: ${grantsOf(e)}`);
    expect(wrong).toEqual([]);
  });

  it('lost answers, garbled 200s, 5xx, 429, resets on every service call; deferred marks bounded at 2; two of three replicas killed mid-burst and replaced: one grant per event, or a dead letter that replay turns into one', async () => {
    const opts = { maxPendingDoneMarks: 2, leaseMs: 2_500, eventDeadlineMs: 2_000 };
    let live = [replica(opts), replica(opts), replica(opts)];
    const all = events('burst', 10, 6);
    const kinds: FaultKind[] = ['429', '500', '502', '503', 'reset', 'resetAfterEffect', 'truncated', 'fieldsMissing'];
    ags.setFaultRate(0.25, kinds);
    const burst = sidecar(() => live, all, 16);
    for (const share of [4, 2]) {
      await waitFor(() => ags.fulfillments.length >= all.length / share, 60_000);
      const [victim, ...rest] = live;
      victim!.kill();
      live = [...rest, replica(opts)];
    }
    await burst;
    ags.setFaultRate(0);
    // after recovery, the sidecar redelivers every event once more: nothing new
    await sidecar(() => live, all, 16);
    expect(all.map(grantsOf).filter((g) => g > 1)).toEqual([]);
    expect(live.reduce((n, r) => n + r.store.counts.conflicts, 0)).toBeGreaterThan(0); // 412s: replicas raced on players' records
    const at = { store: live[0]!.store, namespace: NAMESPACE };
    const letters = (await listStoredDeadLetters(at)).records;
    const lettered = new Set(letters.map((l) => l.eventId));
    expect(all.filter((e) => grantsOf(e) === 0 && !lettered.has(e.id)).map((e) => e.id)).toEqual([]);
    // replay every dead letter (as the CLI does: its since header, removed when answered ok), twice
    for (let round = 0; round < 2; round++) {
      for (const l of (await listStoredDeadLetters(at)).records) {
        const e = all.find((x) => x.id === l.eventId)!;
        const report = await deliver(live[round]!, e, { [REPLAY_HEADER]: l.rule, [REPLAY_SINCE_HEADER]: replaySinceOf(l) });
        if (report?.outcome.kind === 'ok') await removeStoredDeadLetter(at, l);
      }
    }
    expect(all.map(grantsOf)).toEqual(all.map(() => 1));
    expect(ags.violations).toEqual([]);
  });
});
