/**
 * Issue 5 end to end: exactly one effect per event across redeliveries and
 * replicas, dead letters and replay, Redis outages, SIGTERM. Real processes:
 * `node dist/main.js` (two replicas), `redis-server`, the AGS stand-in, a
 * sender that retries UNAVAILABLE as the Extend sidecar does.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { liveEnv, liveEnv as liveEnvOf, useAgsStandIn } from '../support/ags-fixture.js';
import { describeWith, executable } from '../support/prereq.js';
import { fileRandom } from '../support/seed.js';
import { healthClient } from '../server/support.js';
import {
  clientPool,
  LOGIN_SERVICE,
  THIRD_PARTY_SERVICE,
  builtApp,
  callOnce,
  client,
  deliverUntilOk,
  encode,
  loginEvent,
  metricValue,
  pool,
  shuffle,
  startApp,
  startRedis,
  stopAll,
  tempDir,
  userId,
  waitUntil,
  runCli,
} from './support.js';
import type { AppProcess, Encoded, RedisProcess, CliResult } from './support.js';
import { actionCalls, redisMark } from './store-support.js';

const ready = [builtApp(), executable('redis-server', 'redis-server')];

/** Fulfillments per user id. */
function grantsByUser(ags: AgsStandIn): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of ags.fulfillments) m.set(f.userId, (m.get(f.userId) ?? 0) + f.quantity);
  return m;
}

describeWith(ready, 'e2e: delivery guarantees (issue 5)', () => {
  const ags = useAgsStandIn(); // reset after each test: requests, fulfillments, scripted answers, fault rate
  const clients = clientPool();
  const connect = clients.connect;
  const liveEnv = (extra: Record<string, string> = {}): Record<string, string> => liveEnvOf(ags, extra);

  afterAll(async () => {
    clients.closeAll();
    await stopAll();
  });

  // One Redis (with persistence) and one app on it for the tests below that stop and restart Redis (not the app), and
  // the process the SIGTERM tests redeliver to: started by the first test that asks (after the two replicas' suite,
  // whose afterAll stops every Redis), stopped after the suite. Each test has events and players of its own and counts
  // only the log lines that come after its own actions (`nextLog`).
  let redisAndApp: Promise<{ readonly redis: RedisProcess; readonly app: AppProcess }> | undefined;
  const sharedRedisApp = (): Promise<{ readonly redis: RedisProcess; readonly app: AppProcess }> =>
    (redisAndApp ??= (async () => {
      const redis = await startRedis({ persist: true });
      const app = await startApp({ env: liveEnv({ REDIS_URL: redis.url, EVENT_DEADLINE_MS: '10000', AGS_TIMEOUT_MS: '5000', DEDUPE_LEASE_MS: '15001' }) });
      return { redis, app };
    })());
  /** Starts waiting for the next log line matching `msg` (one more than now): call it before what causes the line. */
  const nextLog = (app: AppProcess, msg: RegExp): (() => Promise<Record<string, unknown>>) => {
    const count = app.logsMatching(msg).length;
    return async () => (await app.waitForLogs(msg, count + 1))[count]!;
  };

  describe('two replicas sharing a real Redis', () => {
    let redis: RedisProcess;
    let apps: AppProcess[];
    let replicas: grpc.Client[];

    beforeAll(async () => {
      redis = await startRedis();
      // retention and lease from the environment (checked on the keys below)
      const env = liveEnv({ REDIS_URL: redis.url, AGS_TIMEOUT_MS: '2000', DEDUPE_RETENTION_HOURS: '2', DEDUPE_LEASE_MS: '40000', EVENT_DEADLINE_MS: '30000' });
      apps = await Promise.all([startApp({ env }), startApp({ env })]);
      replicas = apps.map(connect);
    });
    afterAll(async () => {
      await stopAll();
    });

    /** N distinct events, each delivered `copies` times, shuffled, concurrently, to random replicas. */
    async function storm(n: number, copies: number): Promise<{ users: string[]; unavailable: number }> {
      const users: string[] = [];
      const events: Encoded[] = [];
      for (let i = 0; i < n; i++) {
        const u = userId();
        users.push(u);
        const thirdParty = i % 4 === 3;
        const e = { ...loginEvent({ id: `storm-${u}`, userId: u }), ...(thirdParty ? { name: 'userThirdPartyLoggedIn' } : {}) };
        events.push(await encode(thirdParty ? THIRD_PARTY_SERVICE : LOGIN_SERVICE, e));
      }
      const deliveries = shuffle(events.flatMap((e) => Array.from({ length: copies }, () => e)));
      const pick = (): grpc.Client => replicas[Math.floor(fileRandom() * replicas.length)]!; // seeded: TEST_SEED repeats the choice
      const results = await pool(
        deliveries.map((e) => () => deliverUntilOk(pick, e)),
        12,
      );
      return { users, unavailable: results.reduce((s, r) => s + r.codes.filter((c) => c === grpc.status.UNAVAILABLE).length, 0) };
    }

    it('redelivery storm: N events x 3, shuffled, concurrent, across both replicas -> exactly N grants', async () => {
      const n = 30;
      const { users } = await storm(n, 3);
      const byUser = grantsByUser(ags);
      expect(ags.grants()).toBe(n);
      for (const u of users) expect(byUser.get(u), u).toBe(1);
      expect(ags.violations).toEqual([]);
      // both replicas took part
      for (const app of apps) expect((await app.waitForLogs(/rule\(s\) matched/, 1)).length).toBeGreaterThan(0);

      // retention from DEDUPE_RETENTION_HOURS=2 on the done marks
      const mark =
        (await redisMark(redis.url, users[0], `storm-${users[0]}:grant-item-on-login:grantItem#0`)) ?? (await redisMark(redis.url, users[0], `storm-${users[0]}:grant-item-on-third-party-login:grantItem#0`));
      expect(mark?.s).toBe('d');
      const ttl = mark!.e - Date.now();
      expect(ttl).toBeGreaterThan(3_600_000);
      expect(ttl).toBeLessThanOrEqual(7_200_000);
    });

    it('faults: AGS fails ~20% of calls (503, 429, resets, timeouts) while events are redelivered until OK -> each granted exactly once', async () => {
      ags.setFaultRate(0.2, ['503', '429', 'reset', 'hang']);
      const n = 40;
      const { users } = await storm(n, 3);
      ags.setFaultRate(0);
      const faults = ags.serviceRequests().filter((q) => q.outcome === 'reset' || q.outcome === 'hang' || q.outcome === 503 || q.outcome === 429);
      expect(faults.length).toBeGreaterThan(0); // the faults really happened
      const byUser = grantsByUser(ags);
      for (const u of users) expect(byUser.get(u), u).toBe(1);
      expect(ags.grants()).toBe(n);
      expect(ags.violations).toEqual([]);
    });

    it('a dead letter written by one replica lives in Redis: listed by `dead-letters list`, replayed through the other replica, then removed', async () => {
      const u = userId();
      const e = await encode(LOGIN_SERVICE, loginEvent({ id: `evt-dl-redis-${u}`, userId: u }));
      ags.fail('/fulfillment', [{ status: 404, body: { errorCode: 30341, errorMessage: 'item not found' } }]);
      expect((await callOnce(replicas[0]!, e)).code).toBe(grpc.status.OK); // permanent: dead-lettered, answered OK
      expect(grantsByUser(ags).get(u)).toBeUndefined();
      // the CLI with the server's environment (its store: this Redis), in this process (runCli)
      const cli = (...args: string[]): Promise<CliResult> =>
        runCli(args, { env: { REDIS_URL: redis.url, AB_BASE_URL: ags.url, AB_CLIENT_ID: ags.clientId, AB_CLIENT_SECRET: ags.clientSecret, AB_NAMESPACE: 'mygame' } });
      const listed = await cli('dead-letters', 'list', '--rule', 'grant-item-on-login');
      expect(listed.stderr).toBe('');
      expect(listed.stdout).toMatch(new RegExp(`^\\S+Z grant-item-on-login/grantItem#0 userLoggedIn evt-dl-redis-${u} failed: AgsError: .*\\(HTTP 404, errorCode 30341\\)$`, 'm'));
      expect(listed.stdout).toMatch(/in the redis state store \(namespace mygame\)/);
      expect(listed.stdout).not.toContain(ags.clientSecret);

      const replayed = await cli('replay', '--rule', 'grant-item-on-login', '--target', apps[1]!.address);
      expect(replayed.stdout).toMatch(new RegExp(`^OK grant-item-on-login/grantItem#0 userLoggedIn evt-dl-redis-${u} \\(removed from the store\\)$`, 'm'));
      expect(grantsByUser(ags).get(u)).toBe(1);
      const json = JSON.parse((await cli('dead-letters', 'list', '--json')).stdout) as { eventId: string }[];
      expect(json.map((r) => r.eventId)).not.toContain(`evt-dl-redis-${u}`);
      expect(ags.violations).toEqual([]);
    });

    it('an event without an id is keyed by the digest of its wire bytes', async () => {
      const u = userId();
      const e = await encode(LOGIN_SERVICE, loginEvent({ id: '', userId: u }));
      await deliverUntilOk(() => replicas[0]!, e);
      await deliverUntilOk(() => replicas[1]!, e);
      expect(grantsByUser(ags).get(u)).toBe(1);
      expect(ags.grants()).toBe(1);
      const digest = createHash('sha256').update(e.bytes).digest('hex');
      expect((await redisMark(redis.url, u, `sha256:${digest}:grant-item-on-login:grantItem#0`))?.s).toBe('d');
    });
  });

  it('STATE_STORE=memory: a permanent failure is dead-lettered to DEAD_LETTER_FILE and answered OK; replay after the fix grants once', async () => {
    const dir = tempDir('eer-e2e-dl-');
    const deadLetterFile = join(dir, 'dead-letters.jsonl');
    const app = await startApp({ env: liveEnv({ STATE_STORE: 'memory', ITEM_ID_TO_GRANT: 'item-later', DEAD_LETTER_FILE: deadLetterFile }) });
    const c = connect(app);
    const u = userId();
    const e = await encode(LOGIN_SERVICE, loginEvent({ id: 'evt-permanent', userId: u }));

    expect(await callOnce(c, e)).toEqual({ code: grpc.status.OK, details: '' });
    expect(ags.successes('fulfillItem')).toBe(0);
    const lines = readFileSync(deadLetterFile, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({
      rule: 'grant-item-on-login',
      action: 'grantItem',
      index: 0,
      eventId: 'evt-permanent',
      service: LOGIN_SERVICE,
      attempts: 1,
      error: { status: 404, errorCode: 30341 },
      event: { id: 'evt-permanent', userId: u },
    });
    const metrics = await app.metrics();
    expect(metricValue(metrics, 'event_rules_dead_letters_total', { rule: 'grant-item-on-login' })).toBe(1);

    // redelivered: still one dead letter, no new AGS call
    const before = actionCalls(ags).length;
    expect((await callOnce(c, e)).code).toBe(grpc.status.OK);
    expect(actionCalls(ags)).toHaveLength(before);
    expect(readFileSync(deadLetterFile, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);

    // the cause fixed, replay
    ags.addItem({ id: 'item-later' });
    const replay = (): Promise<CliResult> => runCli(['replay', deadLetterFile, '--target', app.address], { env: {}, cwd: dir });
    const first = await replay();
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/^OK grant-item-on-login\/grantItem#0 userLoggedIn evt-permanent$/m);
    expect(first.stdout).toMatch(/1 of 1 replayed OK/);
    expect(first.code).toBe(0);
    expect(ags.fulfillments).toEqual([expect.objectContaining({ namespace: 'mygame', userId: u, itemId: 'item-later', quantity: 1 })]);
    const grant = ags.serviceRequests().find((q) => q.operation === 'fulfillItem' && q.outcome === 200);
    expect(grant?.body).toEqual({ itemId: 'item-later', quantity: 1, source: 'REWARD', orderNo: expect.stringMatching(/^eer-[\w-]{22}$/) });

    // a second replay, or a redelivery, grants nothing more
    expect((await replay()).code).toBe(0);
    expect((await callOnce(c, e)).code).toBe(grpc.status.OK);
    expect(ags.grants()).toBe(1);
    expect(ags.violations).toEqual([]);
    await app.stop();
  });

  it('Redis stopped mid-run: calls answer UNAVAILABLE without calling AGS, logged and counted; back -> each event granted once', async () => {
    const { redis, app } = await sharedRedisApp();
    const c = connect(app);
    const [ua, ub, uc] = [userId(), userId(), userId()];
    const a = await encode(LOGIN_SERVICE, loginEvent({ id: 'evt-redis-a', userId: ua }));
    const b = await encode(LOGIN_SERVICE, loginEvent({ id: 'evt-redis-b', userId: ub }));
    const cc = await encode(LOGIN_SERVICE, loginEvent({ id: 'evt-redis-c', userId: uc }));

    expect((await callOnce(c, a)).code).toBe(grpc.status.OK);
    expect(ags.grants()).toBe(1);

    const unreachable = nextLog(app, /state store \(redis\) unreachable/);
    const notProcessed = nextLog(app, /idempotency store unavailable: event not processed/);
    const errorsBefore = metricValue(await app.metrics(), 'event_rules_dedupe_store_errors_total', { store: 'redis' });
    await redis.stop();
    await unreachable();
    const callsBefore = ags.serviceRequests().length;
    for (const e of [b, a, cc]) {
      const r = await callOnce(c, e);
      expect(r.code).toBe(grpc.status.UNAVAILABLE);
      expect(r.details).toMatch(/idempotency store unavailable/);
    }
    expect(ags.serviceRequests()).toHaveLength(callsBefore); // fail closed: nothing sent
    const line = await notProcessed();
    expect(line.level).toBe('error');
    expect(metricValue(await app.metrics(), 'event_rules_dedupe_store_errors_total', { store: 'redis' }) - errorsBefore).toBeGreaterThanOrEqual(3);

    const reachable = nextLog(app, /state store \(redis\) reachable again/);
    await redis.start();
    await reachable();
    for (const e of [a, b, cc, b, a]) await deliverUntilOk(() => c, e);
    const byUser = grantsByUser(ags);
    expect([byUser.get(ua), byUser.get(ub), byUser.get(uc)]).toEqual([1, 1, 1]);
    expect(ags.grants()).toBe(3);
    expect(ags.violations).toEqual([]);
  });

  it('Redis lost between the grant and its done mark: the redelivery records it instead of granting again', async () => {
    const { redis, app } = await sharedRedisApp();
    const c = connect(app);
    const u = userId();
    const e = await encode(LOGIN_SERVICE, loginEvent({ id: 'evt-unrecorded', userId: u }));
    let open!: () => void;
    const gate = new Promise<void>((res) => (open = res));
    ags.fail('/fulfillment', [{ proceed: true, until: gate }]);

    const pending = callOnce(c, e);
    await waitUntil('the fulfillment request reached AGS', () => ags.serviceRequests().length === 1);
    const unreachable = nextLog(app, /state store \(redis\) unreachable/);
    await redis.stop(); // the claim (with its lease) is on disk
    await unreachable();
    open(); // AGS grants; the done mark cannot be written
    const first = await pending;
    expect(first.code).toBe(grpc.status.UNAVAILABLE);
    expect(ags.grants()).toBe(1);

    const reachable = nextLog(app, /state store \(redis\) reachable again/);
    await redis.start();
    await reachable();
    await deliverUntilOk(() => c, e); // the sidecar redelivers (past the lease if need be)
    expect(ags.grants()).toBe(1);
    expect((await redisMark(redis.url, u, 'evt-unrecorded:grant-item-on-login:grantItem#0'))?.s).toBe('d');
  });

  it('SIGTERM with a short grace during a hung AGS call: the call is cancelled, its claim released with an unknown outcome before exit; the redelivery reconciles and grants once', async () => {
    // redelivered to the shared app on the same Redis: another process
    const { redis, app: second } = await sharedRedisApp();
    const env = liveEnv({ REDIS_URL: redis.url, SHUTDOWN_GRACE_MS: '300', AGS_TIMEOUT_MS: '20000' });
    const first = await startApp({ env });
    const c = connect(first);
    const u = userId();
    const e = await encode(LOGIN_SERVICE, loginEvent({ id: 'evt-short-grace', userId: u }));
    ags.fail('/fulfillment', [{ hang: true }]); // AGS never answers (and grants nothing)
    const pending = callOnce(c, e);
    await waitUntil('the fulfillment request reached AGS', () => ags.serviceRequests().length === 1);
    first.child.kill('SIGTERM');
    expect((await pending).code).not.toBe(grpc.status.OK);
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(first.logsMatching(/grace period over/)).toHaveLength(1);
    expect(first.logsMatching(/outcome unknown, the event will be redelivered and the action reconciled/)).toHaveLength(1);
    const mark = await redisMark(redis.url, u, 'evt-short-grace:grant-item-on-login:grantItem#0');
    expect(mark).toMatchObject({ s: 'f', u: expect.any(Number) }); // released (not left to its lease), outcome unknown
    expect(ags.grants()).toBe(0);

    expect((await callOnce(connect(second), e)).code).toBe(grpc.status.OK);
    expect(ags.fulfillments).toEqual([expect.objectContaining({ namespace: 'mygame', userId: u, itemId: 'item-1', quantity: 1 })]);
    // looked up first (not found: the hung request granted nothing), then granted
    expect(ags.serviceRequests().filter((q) => q.operation === 'queryFulfillmentHistories')).toHaveLength(1);
  });

  it('refuses to start when REDIS_URL does not answer, saying what to check', async () => {
    const redis = await startRedis();
    const url = redis.url;
    await redis.stop(); // a port where nothing listens
    const app = await startApp({ env: liveEnv({ REDIS_URL: url, REDIS_CONNECT_TIMEOUT_MS: '500' }), waitServing: false });
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(app.stderr()).toMatch(/cannot start: the state store at REDIS_URL did not answer/);
    expect(app.stderr()).toMatch(/unset REDIS_URL/);
  });

  it('SIGTERM during a slow action: NOT_SERVING first, the call completes, exit 0; redelivered to another process, not granted again', async () => {
    // redelivered to the shared app on the same Redis: another process
    const { redis, app: second } = await sharedRedisApp();
    const env = liveEnv({ REDIS_URL: redis.url, SHUTDOWN_GRACE_MS: '30000', DEDUPE_LEASE_MS: '45000' });
    const first = await startApp({ env });
    const c = connect(first);
    const u = userId();
    const e = await encode(LOGIN_SERVICE, loginEvent({ id: 'evt-sigterm', userId: u }));

    let open!: () => void;
    const gate = new Promise<void>((res) => (open = res));
    ags.fail('/fulfillment', [{ proceed: true, until: gate }]);

    const health = healthClient(first.address);
    const statuses: string[] = [];
    const watch = health.Watch({ service: '' });
    watch.on('data', (r: { status: string }) => statuses.push(r.status));
    watch.on('error', () => undefined);
    try {
      await waitUntil('health watch SERVING', () => statuses.includes('SERVING'));

      const pending = callOnce(c, e);
      await waitUntil('the fulfillment request reached AGS', () => ags.serviceRequests().length === 1);
      // the claim is held, with the lease from DEDUPE_LEASE_MS
      const mark = await redisMark(redis.url, u, 'evt-sigterm:grant-item-on-login:grantItem#0');
      expect(mark?.s).toBe('c');
      const ttl = mark!.l! - Date.now();
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(45_000);

      first.child.kill('SIGTERM');
      await waitUntil('health NOT_SERVING', () => statuses.at(-1) === 'NOT_SERVING');
      watch.cancel();
      await first.waitForLog(/shutting down: finishing calls in flight/);
      expect(first.child.exitCode).toBeNull(); // still finishing the call

      open(); // AGS answers now
      expect(await pending).toEqual({ code: grpc.status.OK, details: '' });
      const exit = await first.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(first.logsMatching(/grace period over/)).toEqual([]);
      expect(first.logsMatching(/^stopped$/)).toHaveLength(1);
      expect(ags.grants()).toBe(1);
    } finally {
      watch.cancel();
      health.close();
    }

    // the sidecar redelivers the event to another process
    const c2 = connect(second);
    expect((await callOnce(c2, e)).code).toBe(grpc.status.OK);
    const summary = await second.waitForLog(/rule\(s\) matched/, (l) => l.eventId === 'evt-sigterm');
    expect(summary.actions).toEqual([expect.objectContaining({ rule: 'grant-item-on-login', status: 'duplicate' })]);
    expect(ags.grants()).toBe(1);
    expect(ags.serviceRequests()).toHaveLength(1);
  });
});

describeWith(ready, 'e2e: lost answers with the v3 transaction id (issue 5, opt-in)', () => {
  const ags = useAgsStandIn();
  let app: AppProcess;
  let c: grpc.Client;

  beforeAll(async () => {
    const dir = tempDir('eer-e2e-v3-');
    const rulesFile = join(dir, 'rules.yaml');
    writeFileSync(
      rulesFile,
      [
        'version: 1',
        'rules:',
        '  - name: grant-item-on-login',
        '    on: userLoggedIn',
        '    do:',
        '      - grantItem:',
        '          itemId: item-1',
        '          useTransactionId: true',
        '',
      ].join('\n'),
    );
    app = await startApp({
      env: liveEnv(ags, { RULES_FILE: rulesFile, AGS_TIMEOUT_MS: '2000' }),
    });
    c = client(app.address);
  });
  afterAll(async () => {
    c.close();
    await stopAll();
  });

  it('AGS performs the grant but the answer is lost (reset after effect) -> the retry reuses the transaction: one grant per event', async () => {
    ags.fail('/fulfillments/', [{ reset: true, afterEffect: true }]); // one lost answer for certain (a draw of none: 0.85^40, 1 run in 650)
    ags.setFaultRate(0.3, ['resetAfterEffect', '503'], /\/fulfillments\//); // the rest drawn from the file's seed
    const users = Array.from({ length: 20 }, () => userId());
    const events = await Promise.all(users.map((u) => encode(LOGIN_SERVICE, loginEvent({ id: `v3-${u}`, userId: u }))));
    await pool(
      shuffle([...events, ...events]).map((e) => () => deliverUntilOk(() => c, e)),
      8,
    );
    ags.setFaultRate(0);
    expect(ags.serviceRequests().filter((q) => q.outcome === 'reset').length).toBeGreaterThan(0); // answers were lost
    const byUser = grantsByUser(ags);
    for (const u of users) expect(byUser.get(u), u).toBe(1);
    expect(ags.grants()).toBe(users.length);
    expect(ags.violations).toEqual([]);
    const v3 = ags.serviceRequests().find((q) => q.operation === 'fulfillItemsV3');
    expect(v3?.method).toBe('PUT');
    expect(v3?.path).toMatch(/^\/platform\/v3\/admin\/namespaces\/mygame\/users\/[0-9a-f]{32}\/fulfillments\/[^/]+$/);
  });
});
