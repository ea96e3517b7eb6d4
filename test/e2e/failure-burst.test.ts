/**
 * "Nothing lost, nothing doubled in a failure burst", end to end on the default store (AGS Cloud Save): real
 * replicas (`node dist/main.js`, one killed with SIGKILL mid-burst), one AGS stand-in whose every service call
 * (fulfillments, their history, the Cloud Save records) may fail for the whole burst, a gRPC sender that
 * redelivers like the sidecar. Effects are counted at the stand-in by each event's orderNo; every event ends
 * with exactly one grant, or none and a dead letter that `replay` turns into exactly one.
 */
import { expect, it } from 'vitest';
import { effectId } from '../../src/actions/reconcile.js';
import { idempotencyKey } from '../../src/delivery/event-key.js';
import type { FaultKind } from '../support/ags-stand-in.js';
import { describeWith } from '../support/prereq.js';
import { builtApp, deadLetters, deliverUntilOk, loginEvent, encode, LOGIN_SERVICE, pool, runCli, startApp, userId, useLiveApps, waitUntil } from './support.js';
import type { AppProcess, Encoded } from './support.js';

const RULE = 'grant-item-on-login';

/** The orderNo of an event's grant (its idempotency key's effect id). */
function orderNoOf(eventId: string): string {
  return `eer-${effectId(idempotencyKey(eventId, RULE, 'grantItem#0'))}`;
}

describeWith(builtApp(), 'e2e: a failure burst on Cloud Save, two replicas, kill -9: nothing lost, nothing doubled', () => {
  const { ags, clients, env } = useLiveApps();

  /** `players` players with `perPlayer` events each (ids `<prefix>-<n>-<userId>`). */
  const burstEvents = async (prefix: string, players: number, perPlayer: number): Promise<{ ids: string[]; encoded: Encoded[] }> => {
    const ids: string[] = [];
    const encoded: Encoded[] = [];
    for (let p = 0; p < players; p++) {
      const u = userId();
      for (let n = 0; n < perPlayer; n++) {
        const id = `${prefix}-${n}-${u}`;
        ids.push(id);
        encoded.push(await encode(LOGIN_SERVICE, loginEvent({ id, userId: u })));
      }
    }
    return { ids, encoded };
  };
  const grantsOf = (ids: readonly string[]): number[] => ids.map((id) => ags.fulfillments.filter((f) => f.orderNo === orderNoOf(id)).reduce((n, f) => n + f.quantity, 0));

  it('every service call faulty for the burst (5xx, 429, resets, lost answers, garbled 200s), each event to both replicas at once, one killed mid-burst: one grant each, or a dead letter that replay turns into one', async () => {
    const e = env({ AGS_TIMEOUT_MS: '1500', EVENT_DEADLINE_MS: '6000', DEDUPE_LEASE_MS: '8000' });
    let a: AppProcess = await startApp({ env: e });
    const b = await startApp({ env: e });
    const { ids, encoded } = await burstEvents('burst', 12, 3);
    const kinds: FaultKind[] = ['429', '500', '502', '503', '504', 'reset', 'resetAfterEffect', 'truncated', 'fieldsMissing', 'wrongContentType', 'nothingGranted'];
    ags.setFaultRate(0.3, kinds);
    let killed = false;
    const pickA = (): AppProcess => a;
    const deliveries = encoded.flatMap((x) => [() => deliverUntilOk(() => clients.connect(pickA()), x, 120_000), () => deliverUntilOk(() => clients.connect(b), x, 120_000)]);
    const killer = (async () => {
      await waitUntil('a third of the grants', () => ags.fulfillments.length >= ids.length / 3, 60_000);
      a.child.kill('SIGKILL');
      await a.exited;
      // a replica starts only once its start-up probe of AGS passes: the new one starts in a lull of the burst
      ags.setFaultRate(0);
      a = await startApp({ env: e });
      ags.setFaultRate(0.3, kinds);
      killed = true;
    })();
    await pool(deliveries, 24);
    await killer;
    expect(killed).toBe(true);
    ags.setFaultRate(0);
    // every event once more to both (the sidecar's redelivery after recovery): nothing new
    await pool(encoded.flatMap((x) => [() => deliverUntilOk(() => clients.connect(a), x), () => deliverUntilOk(() => clients.connect(b), x)]), 12);
    const grants = grantsOf(ids);
    expect(grants.filter((g) => g > 1)).toEqual([]);
    const letters = await deadLetters(e);
    const lettered = new Set(letters.map((l) => String((l.event as { id?: string } | undefined)?.id)));
    const lost = ids.filter((id, i) => grants[i] === 0 && !lettered.has(id));
    expect(lost).toEqual([]);
    console.log(`burst: ${ids.length} events, ${grants.filter((g) => g === 1).length} granted, ${letters.length} dead letters`);
    if (letters.length > 0) {
      const r = await runCli(['replay', '--target', b.address], { env: e });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const again = await runCli(['replay', '--target', a.address], { env: e });
      expect(again.code, again.stdout + again.stderr).toBe(0);
    }
    expect(grantsOf(ids)).toEqual(ids.map(() => 1));
    expect(ags.violations).toEqual([]);
  });
});
