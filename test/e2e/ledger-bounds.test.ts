/**
 * Issue 22, rows "one player with 2,100 granted events within a week" (22.2)
 * and "the player's Cloud Save record overwritten with content the product
 * cannot read" (22.8), end to end on real processes: `node dist/main.js` with
 * the default configuration (the state store is AGS Cloud Save), the AGS
 * stand-in counting grants where they take effect, a gRPC sender; and the same
 * unreadable records on a real Redis.
 */
import { beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { describeWith, executable } from '../support/prereq.js';
import { DEFAULT_RECORD_KEY } from '../../src/store/cloudsave-state-store.js';
import { horizonMarks } from '../../src/delivery/action-ledger.js';
import type { StateDocument } from '../../src/store/index.js';
import { LOGIN_SERVICE, builtApp, callOnce, deliverAll as deliverEach, encode, loginEvent, metricValue, sharedApp, startRedis, useLiveApps, userId } from './support.js';
import type { AppProcess, Encoded } from './support.js';
import * as grpc from '@grpc/grpc-js';

describeWith(builtApp(), 'e2e: marks never expire into a second effect; an unreadable state record fails closed (issue 22)', () => {
  // one app per store for the whole file (each test has players of its own); the apps stop after the suite
  const { ags, clients, env } = useLiveApps({}, { stop: 'all' });
  const cloudSaveApp = sharedApp(() => ({ env: env() }));
  const grantsOf = (user: string): number => ags.fulfillments.filter((f) => f.userId === user).reduce((n, f) => n + f.quantity, 0);
  /** The store errors the app has counted so far. */
  const storeErrors = async (app: AppProcess, store: string): Promise<number> => metricValue(await app.metrics(), 'event_rules_dedupe_store_errors_total', { store });

  const deliverAll = (app: AppProcess, encoded: readonly Encoded[]): Promise<void> => deliverEach(clients.connect(app), encoded, { concurrency: 32 }); // a batch of the partition: the player's claims group-commit into fewer record writes

  it('a player with 2,100 granted events (past the 2,000 marks a record keeps): the oldest 20 redelivered, then all 2,100, grant nothing more', { timeout: 600_000 }, async () => {
    const app = await cloudSaveApp();
    const user = userId();
    const encoded = await Promise.all(Array.from({ length: 2100 }, (_, i) => encode(LOGIN_SERVICE, loginEvent({ id: `heavy-${String(i).padStart(4, '0')}-${user}`, userId: user }))));
    // one after the other, as a partition of the topic delivers them
    for (let i = 0; i < encoded.length; i += 100) await deliverAll(app, encoded.slice(i, i + 100));
    expect(grantsOf(user)).toBe(2100);

    // The redeliveries below the player's horizon (the ~200 marks dropped when the record passed 2,000) are
    // settled by grantItem's lookup (orderNo in the fulfillment history, 2,100 entries: 21 pages of 100,
    // newest first). The lookups of one player share their positive answers (the history is append-only),
    // and settling one adds no mark that pushes the next-oldest marks under the horizon: each burst reads the
    // history at most once, 21 pages, plus a page of slack. On 8654081 every redelivery settled by a lookup
    // evicted the marks its successors needed (a cascade): 16,300 pages for the 2,100 (up to the 10-page bound
    // per lookup) and 1,100 `unknown-outcome` dead letters for events granted once (the oldest beyond 10 pages).
    const pages = (): number => ags.requests.filter((r) => r.operation === 'queryFulfillmentHistories' && r.query.userId === user).length;
    const deadLettered = async (): Promise<number> => metricValue(await app.metrics(), 'event_rules_dead_letters_total');
    /** Marks the player's record holds in its horizons (dropped to bound it). */
    const belowHorizon = (): number => horizonMarks(ags.cloudSave.adminRecord(user, DEFAULT_RECORD_KEY)?.value.doc as StateDocument | undefined);
    const horizonBefore = belowHorizon();
    expect(horizonBefore).toBeGreaterThan(0);
    const deadBefore = await deadLettered();
    const pagesBefore = pages();
    await deliverAll(app, encoded.slice(0, 20));
    expect(grantsOf(user)).toBe(2100);
    const pagesOldest = pages() - pagesBefore;

    await deliverAll(app, encoded);
    const pagesAll = pages() - pagesBefore - pagesOldest;
    console.log(`history pages read: ${pagesOldest} to redeliver the oldest 20, ${pagesAll} to redeliver all 2,100`);
    expect(grantsOf(user)).toBe(2100);
    expect(pagesOldest).toBeLessThanOrEqual(22);
    expect(pagesAll).toBeLessThanOrEqual(22);
    expect((await deadLettered()) - deadBefore).toBe(0);
    // settling the old events pushed no newer mark under the horizon (on 8654081 each one did: a cascade)
    expect(belowHorizon()).toBe(horizonBefore);
    expect(ags.violations).toEqual([]);
  });

  /** Values of the player's admin record the product cannot read, as another client of Cloud Save could leave them. */
  const UNREADABLE_RECORDS: ReadonlyArray<[string, (good: Record<string, unknown>) => Record<string, unknown>]> = [
    ['{"actions":"garbage"} (no document)', () => ({ actions: 'garbage' })],
    ['a document that is []', (good) => ({ ...good, doc: [] })],
    ['an actions section that is "garbage"', (good) => ({ ...good, doc: { ...(good.doc as object), actions: 'garbage' } })],
    ['buckets of the wrong shape', (good) => ({ ...good, doc: { ...(good.doc as object), actions: { n: 1, b: { a: 1 } } } })],
  ];

  it.each(UNREADABLE_RECORDS)('Cloud Save: the player record overwritten with %s: redeliveries are answered UNAVAILABLE with an error line naming the record, never granted again', async (_name, overwrite) => {
    const app = await cloudSaveApp();
    const user = userId();
    const event = await encode(LOGIN_SERVICE, loginEvent({ id: `unreadable-${user}`, userId: user }));
    await deliverAll(app, [event]);
    const errorsBefore = await storeErrors(app, 'cloudsave');
    expect(grantsOf(user)).toBe(1);
    const good = ags.cloudSave.adminRecord(user, DEFAULT_RECORD_KEY)!.value;
    ags.cloudSave.putAdminRecord(user, DEFAULT_RECORD_KEY, overwrite(good));

    const c = clients.connect(app);
    for (let i = 0; i < 3; i++) {
      const answer = await callOnce(c, event);
      expect(answer.code).toBe(grpc.status.UNAVAILABLE);
    }
    expect(grantsOf(user)).toBe(1);
    // this player's line (the app is shared with the other tests)
    const line = await app.waitForLog(/idempotency store unavailable/, (l) => String(l.reason).includes(user));
    expect(String(line.reason)).toContain(`admin player record ${DEFAULT_RECORD_KEY} of mygame/${user}`);
    expect(String(line.reason)).toContain('cannot be read');
    expect((await storeErrors(app, 'cloudsave')) - errorsBefore).toBeGreaterThanOrEqual(3);

    // repaired (the good content back): the event is recognised as done
    ags.cloudSave.putAdminRecord(user, DEFAULT_RECORD_KEY, good);
    expect((await callOnce(c, event)).code).toBe(grpc.status.OK);
    expect(grantsOf(user)).toBe(1);
  });

  describeWith(executable('redis-server', 'redis-server'), 'on Redis', () => {
    let redisUrl = '';
    beforeAll(async () => {
      redisUrl = (await startRedis()).url; // stopped after the suite (useLiveApps)
    });
    const redisApp = sharedApp(() => ({ env: env({ STATE_STORE: 'redis', REDIS_URL: redisUrl }) }));
    it.each([
      ['[]', '[]'],
      ['{"actions":"garbage"}', '{"actions":"garbage"}'],
      ['text that is not JSON', 'garbage'],
    ])('Redis: the player document overwritten with %s: UNAVAILABLE with an error line naming it, never granted again', async (_name, d) => {
      const app = await redisApp();
      const user = userId();
      const event = await encode(LOGIN_SERVICE, loginEvent({ id: `unreadable-redis-${user}`, userId: user }));
      await deliverAll(app, [event]);
      expect(grantsOf(user)).toBe(1);
      const errorsBefore = await storeErrors(app, 'redis');
      const raw = new Redis(redisUrl);
      try {
        await raw.hset(`eer:s:mygame:${user}`, 'v', 'edited-by-hand', 'd', d);
      } finally {
        raw.disconnect();
      }
      const c = clients.connect(app);
      for (let i = 0; i < 3; i++) expect((await callOnce(c, event)).code).toBe(grpc.status.UNAVAILABLE);
      expect(grantsOf(user)).toBe(1);
      const line = await app.waitForLog(/idempotency store unavailable/, (l) => String(l.reason).includes(user));
      expect(String(line.reason)).toContain(`hash eer:s:mygame:${user}`);
      expect((await storeErrors(app, 'redis')) - errorsBefore).toBeGreaterThanOrEqual(3);
    });
  });
});
