/**
 * Issue 23 end to end: the Cloud Save store's coalesced reads (bulk reads of
 * up to 20 players' records while a read is in flight) keep exactly one effect
 * per event. Two real replicas (`node dist/main.js`) on one AGS stand-in, each
 * first-seen player's event delivered to both at once; effects counted where
 * they take effect.
 */
import { afterEach, expect, it } from 'vitest';
import { liveEnv, useAgsStandIn } from '../support/ags-fixture.js';
import { describeWith } from '../support/prereq.js';
import { builtApp, clientPool, deliverUntilOk, loginEvents, pool, startApp, stopAll } from './support.js';
import { isStoreCall } from './store-support.js';

describeWith(builtApp(), 'e2e: bulk reads of first-seen players on Cloud Save (issue 23)', () => {
  const ags = useAgsStandIn();
  const clients = clientPool();
  afterEach(async () => {
    clients.closeAll();
    await stopAll();
  });

  it('two replicas, 24 first-seen players, each event delivered to both at once while their first reads are held: bulk reads of at most 20, one grant each', async () => {
    const [a, b] = await Promise.all([startApp({ env: liveEnv(ags) }), startApp({ env: liveEnv(ags) })]);
    const [ca, cb] = [clients.connect(a), clients.connect(b)];
    const { users, encoded } = await loginEvents(24, 'bulk');
    const bulkReads = (): number => ags.requests.filter((q) => q.operation === 'bulkGetAdminPlayerRecordByUserIdsV1').length;
    // each replica's first read of a player's record waits until both replicas have sent a bulk read (the reads asked for meanwhile)
    const bothBulked = ags.waitFor(() => bulkReads() >= 2);
    ags.fail(/\/users\/[0-9a-f]{32}\/adminrecords\/extend-event-rules-state$/, [
      { proceed: true, until: bothBulked },
      { proceed: true, until: bothBulked },
    ]);
    const from = ags.requests.length;
    await pool(
      encoded.flatMap((e) => [() => deliverUntilOk(() => ca, e), () => deliverUntilOk(() => cb, e)]),
      48,
    );
    expect(users.map((u) => ags.fulfillments.filter((f) => f.userId === u).length)).toEqual(users.map(() => 1));
    const bulks = ags.requests.slice(from).filter((q) => q.operation === 'bulkGetAdminPlayerRecordByUserIdsV1');
    expect(bulks.length).toBeGreaterThanOrEqual(2);
    for (const q of bulks) {
      expect(q.outcome).toBe(200);
      expect((q.body as { userIds: string[] }).userIds.length).toBeLessThanOrEqual(20);
    }
    const store = ags.requests.slice(from).filter(isStoreCall).length;
    console.log(`two replicas, 24 first-seen players each delivered to both: ${store} Cloud Save calls (${bulks.length} bulk reads) for 24 grants`);
    expect(ags.violations).toEqual([]);
  });
});
