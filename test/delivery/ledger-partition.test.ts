/**
 * Idempotency marks of events without a player are sharded over named game
 * documents by their event key: stable per event, spread over the shards, and a
 * redelivered event is still deduplicated across replicas on every store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor } from '../../src/delivery/executor.js';
import { GAME_LEDGER_SHARDS, ledgerPartition, ledgerShardKey } from '../../src/delivery/ledger-partition.js';
import { partitionOf } from '../../src/pipeline/evaluate.js';
import { markCount, markIn } from '../../src/delivery/action-ledger.js';
import { MemoryDeadLetterSink } from '../../src/delivery/dead-letters.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { createRedisStateStore } from '../../src/store/redis-state-store.js';
import { CloudSaveStateStore, DEFAULT_RECORD_KEY } from '../../src/store/cloudsave-state-store.js';
import { PARTITION_KEY } from '../../src/store/state-store.js';
import type { StateDocument, StateStore } from '../../src/store/state-store.js';
import { AgsClient } from '../../src/ags/client.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { describeWith, executable } from '../support/prereq.js';
import { startRedis } from '../support/redis.js';
import type { RedisProcess } from '../support/redis.js';
import { captureLogger, recordingAction, registryOf } from './support.js';
import type { PlannedAction } from '../../src/rules/types.js';

const SERVICE = { fullName: 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService', eventName: 'userLoggedIn' };
const PLAYER = '0123456789abcdef0123456789abcdef';
const plan: PlannedAction[] = [{ rule: 'r', index: 0, key: 'a#0', action: 'a', params: {}, mode: 'live', onFailure: 'deadLetter' }];

describe('ledgerPartition', () => {
  it('a player event: the player document; a player-less one: its shard, the same for the same event key', () => {
    expect(ledgerPartition({ id: 'e', userId: PLAYER }, 'ns', 'e')).toEqual({ namespace: 'ns', userId: PLAYER });
    const p = ledgerPartition({ id: 'e1' }, 'ns', 'e1');
    expect(p).toEqual({ namespace: 'ns', key: ledgerShardKey('e1') });
    expect(ledgerPartition({ id: 'e1', userId: 'not-an-ags-user-id' }, 'ns', 'e1')).toEqual(p);
    expect(p.key).toMatch(PARTITION_KEY);
    expect(ledgerShardKey('e1')).toBe(ledgerShardKey('e1'));
  });

  it('without an app namespace (a dry run), the event\'s namespace: the same player document as its stateful-rule state', () => {
    const event = { id: 'e', userId: PLAYER, namespace: 'evns' };
    expect(ledgerPartition(event, '', 'e')).toEqual({ namespace: 'evns', userId: PLAYER });
    expect(ledgerPartition(event, '', 'e')).toEqual(partitionOf(event, ''));
    expect(ledgerPartition(event, 'app', 'e')).toEqual(partitionOf(event, 'app'));
  });

  it('event keys spread over every shard', () => {
    const shards = new Map<string, number>();
    for (let i = 0; i < 1600; i++) {
      const k = ledgerShardKey(`event-${i}`);
      shards.set(k, (shards.get(k) ?? 0) + 1);
    }
    expect([...shards.keys()].sort()).toEqual(Array.from({ length: GAME_LEDGER_SHARDS }, (_, i) => `actions-${String(i).padStart(2, '0')}`));
    for (const n of shards.values()) expect(n).toBeGreaterThan(40); // 100 expected each
  });
});

/**
 * Two replicas (executors on stores sharing one key space) get the same
 * player-less events, concurrently and then again: each action runs once, and
 * the marks are in the events' shards, none in the game document.
 */
async function replicasDeduplicate(replicas: [StateStore, StateStore], shardDoc: (key: string) => Promise<StateDocument | undefined>, gameDoc: () => Promise<StateDocument | undefined>): Promise<void> {
  const a = recordingAction('a');
  const executors = replicas.map((store) =>
    createExecutor({ registry: registryOf(a), store, deadLetters: new MemoryDeadLetterSink(), logger: captureLogger().logger, dryRun: false, namespace: 'mygame' }),
  );
  const events = Array.from({ length: 12 }, (_, i) => ({ id: `game-evt-${i}`, namespace: 'mygame' }));
  let pending = events.flatMap((event) => executors.map((x) => ({ x, event })));
  for (let round = 0; pending.length > 0; round++) {
    expect(round).toBeLessThan(50);
    const reports = await Promise.all(pending.map(({ x, event }) => x.run({ service: SERVICE, event, plan })));
    pending = pending.filter((_, i) => reports[i]!.outcome.kind !== 'ok'); // a live claim on the other replica: redelivered
  }
  // redelivered to both once more: all duplicates
  for (const event of events) for (const x of executors) expect((await x.run({ service: SERVICE, event, plan })).actions[0]?.status).toBe('duplicate');
  expect(a.calls.map((c) => c.key).sort()).toEqual(events.map((e) => `${e.id}:r:a#0`).sort());
  for (const e of events) expect(markIn(await shardDoc(ledgerShardKey(e.id)), `${e.id}:r:a#0`)?.s).toBe('d');
  expect(markCount(await gameDoc())).toBe(0);
}

describe('player-less events across replicas', () => {
  it('memory', async () => {
    const store = new MemoryStateStore();
    await replicasDeduplicate(
      [store, store],
      (key) => store.read({ namespace: 'mygame', key }),
      () => store.read({ namespace: 'mygame' }),
    );
  });

  describeWith(executable('redis-server', 'redis-server'), 'redis', () => {
    let redis: RedisProcess;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });
    it('redis', async () => {
      const stores = await Promise.all([1, 2].map(() => createRedisStateStore({ url: redis.url, keyPrefix: 'shard:' })));
      try {
        await Promise.all(stores.map((s) => s.ready()));
        await replicasDeduplicate(
          [stores[0]!, stores[1]!],
          (key) => stores[0]!.read({ namespace: 'mygame', key }),
          () => stores[0]!.read({ namespace: 'mygame' }),
        );
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });
  });

  describe('cloudsave', () => {
    let ags: AgsStandIn;
    const clients: AgsClient[] = [];
    beforeAll(async () => {
      ags = await startAgsStandIn();
    });
    afterAll(async () => {
      for (const c of clients) c.close();
      await ags?.close();
    });
    it('cloudsave: one admin game record per shard', async () => {
      const stores = [1, 2].map(() => {
        const client = new AgsClient({ baseUrl: ags.url, clientId: ags.clientId, clientSecret: ags.clientSecret, backoffBaseMs: 1 });
        clients.push(client);
        return new CloudSaveStateStore({ ags: client });
      });
      await replicasDeduplicate(
        [stores[0]!, stores[1]!],
        (key) => Promise.resolve(ags.cloudSave.adminRecord(undefined, `${DEFAULT_RECORD_KEY}-${key}`)?.value.doc as StateDocument | undefined),
        () => Promise.resolve(ags.cloudSave.adminRecord(undefined, DEFAULT_RECORD_KEY)?.value.doc as StateDocument | undefined),
      );
    });
  });
});
