/**
 * Issue 22.4 end to end, on the default Cloud Save store (AGS stand-in): nothing
 * dropped, ever. Real processes: `node dist/main.js`, the CLI, a gRPC sender.
 * - 2,000 events whose fulfillment is refused (400 item not found): all answered
 *   OK and dead-lettered, and `dead-letters list` shows all 2,000, in pages, filtered;
 * - the store full (DEAD_LETTER_CAPACITY): the event is answered UNAVAILABLE
 *   (the sidecar keeps it), counted and logged, never answered OK and lost;
 * - the retention passed (TEST_CLOCK_FILE): the expired dead letters are counted
 *   in `event_rules_dead_letters_expired_total` and logged.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { liveEnv } from '../support/ags-fixture.js';
import { describeWith } from '../support/prereq.js';
import { builtApp, callOnce, deliverUntilOk, encode, LOGIN_SERVICE, loginEvent, metricValue, pool, runCli as runBin, startApp, tempDir, userId, waitFor, useLiveApps } from './support.js';
import type { CliResult } from './support.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';

const ITEM_NOT_FOUND = { status: 400, body: { errorCode: 30341, errorMessage: 'item not found' } };

/** The CLI with the server's environment (its store: the stand-in's Cloud Save). */
function runCli(ags: AgsStandIn, args: readonly string[], bin = false): Promise<CliResult> {
  return runBin(args, { env: liveEnv(ags), bin });
}

/** Event ids in `dead-letters list` output. */
function listedIds(out: string): string[] {
  return [...out.matchAll(/^\S+Z grant-item-on-login\/grantItem#0 userLoggedIn (\S+) /gm)].map((m) => m[1]!);
}

describeWith(builtApp(), 'e2e: nothing dropped, ever (issue 22.4)', () => {
  const { ags, clients } = useLiveApps({}, { stop: 'all' });

  // The circuit breaker (22.5) would pause the action after 10 identical refusals; these tests are about the dead-letter store.
  it('2,000 refused fulfillments: every one answered OK and dead-lettered, and `dead-letters list` shows 2,000, pageable and filterable', async () => {
    const n = 2000;
    const app = await startApp({ env: liveEnv(ags, { BREAKER_PERMANENT_FAILURES: '0' }) });
    const grpcClient = clients.connect(app);
    ags.fail('/fulfillment', Array.from({ length: n }, () => ITEM_NOT_FOUND));
    const ids = Array.from({ length: n }, (_, i) => `evt-dlq-${i}-${userId()}`);
    const codes = await pool(
      ids.map((id) => async () => (await callOnce(grpcClient, await encode(LOGIN_SERVICE, loginEvent({ id, userId: userId() })))).code),
      64, // the sidecar's batch: more at once lets the app's group commit write the dead-letter pages in fewer, larger writes
    );
    expect(codes.filter((c) => c !== grpc.status.OK)).toEqual([]);
    expect(metricValue(await app.metrics(), 'event_rules_dead_letters_total', { rule: 'grant-item-on-login' })).toBe(n);

    // pages of 700 through the cursor, each page after the one before; the other listings at the same time
    const pageThrough = async (): Promise<{ ids: string[]; pages: number }> => {
      const ids: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await runCli(ags, ['dead-letters', 'list', '--limit', '700', ...(cursor ? ['--cursor', cursor] : [])]);
        expect(page.code).toBe(0);
        ids.push(...listedIds(page.stdout));
        cursor = /^more: --cursor (\S+)$/m.exec(page.stdout)?.[1];
        pages++;
      } while (cursor !== undefined);
      return { ids, pages };
    };
    const [all, paged, reason, until, noRule] = await Promise.all([
      runCli(ags, ['dead-letters', 'list'], true), // the real bin, beside the in-process listings
      pageThrough(),
      // filters: the reason, the action, the time range, a rule with none
      runCli(ags, ['dead-letters', 'list', '--reason', 'HTTP 400, errorCode 30341', '--action', 'grantItem', '--since', '1h', '--json', '--limit', '5']),
      runCli(ags, ['dead-letters', 'list', '--until', '2000-01-01T00:00:00Z']),
      runCli(ags, ['dead-letters', 'list', '--rule', 'nope']),
    ]);
    expect(all.stderr).toBe('');
    expect(all.stdout).toMatch(/^2000 dead letters in the cloudsave state store \(namespace mygame\)$/m);
    expect(new Set(listedIds(all.stdout))).toEqual(new Set(ids));

    // each id once over the pages
    expect(paged.pages).toBe(3);
    expect(paged.ids).toHaveLength(n);
    expect(new Set(paged.ids)).toEqual(new Set(ids));

    const json = JSON.parse(reason.stdout) as { records: { eventId: string; error: { status: number } }[]; next: string | null };
    expect(json.records).toHaveLength(5);
    expect(json.records.every((r) => r.error.status === 400)).toBe(true);
    expect(json.next).toEqual(expect.any(String));
    expect(until.stdout).toMatch(/^no dead letters for until 2000-01-01T00:00:00.000Z in the cloudsave/m);
    expect(noRule.stdout).toMatch(/^no dead letters for rule nope in/m);
    expect(ags.violations).toEqual([]);
    await app.stop();
  }, 600_000);

  it('the store full (DEAD_LETTER_CAPACITY): the event is answered UNAVAILABLE, counted and logged; every event answered OK is listed', async () => {
    const app = await startApp({ env: liveEnv(ags, { DEAD_LETTER_CAPACITY: '8', BREAKER_PERMANENT_FAILURES: '0' }) });
    const grpcClient = clients.connect(app);
    ags.fail('/fulfillment', Array.from({ length: 200 }, () => ITEM_NOT_FOUND));
    const results: { id: string; code: grpc.status }[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `evt-full-${i}-${userId()}`;
      results.push({ id, code: (await callOnce(grpcClient, await encode(LOGIN_SERVICE, loginEvent({ id, userId: userId() })))).code });
    }
    const ok = results.filter((r) => r.code === grpc.status.OK).map((r) => r.id);
    const unavailable = results.filter((r) => r.code === grpc.status.UNAVAILABLE).map((r) => r.id);
    expect(ok.length + unavailable.length).toBe(40); // never anything else
    expect(unavailable.length).toBeGreaterThan(0);
    expect(ok.length).toBeLessThanOrEqual(8);
    const listed = await runCli(ags, ['dead-letters', 'list']);
    expect(new Set(listedIds(listed.stdout))).toEqual(new Set(ok)); // what was answered OK is held; nothing else claimed
    const metrics = await app.metrics();
    expect(metricValue(metrics, 'event_rules_dead_letters_refused_total', { rule: 'grant-item-on-login', action: 'grantItem', reason: 'full' })).toBe(unavailable.length);
    expect((await app.waitForLogs(/its dead letter could not be written: the event will be redelivered/, 1)).some((l) => /the dead-letter store is full/.test(String(l.writeError)))).toBe(true);
    await app.stop();
  }, 300_000);

  it('retention: dead letters older than DEAD_LETTER_RETENTION_HOURS expire with a metric and a log line', async () => {
    const clock = join(tempDir('eer-e2e-dlq-clock-'), 'now');
    const t0 = Date.now(); // the dead letters are stamped by the executor's own (real) clock; the sweep reads TEST_CLOCK_FILE
    writeFileSync(clock, new Date(t0).toISOString());
    const app = await startApp({ env: liveEnv(ags, { DEAD_LETTER_RETENTION_HOURS: '1', TEST_CLOCK_FILE: clock, BREAKER_PERMANENT_FAILURES: '0' }) });
    const grpcClient = clients.connect(app);
    ags.fail('/fulfillment', Array.from({ length: 10 }, () => ITEM_NOT_FOUND));
    const send = async (id: string): Promise<grpc.status> => (await callOnce(grpcClient, await encode(LOGIN_SERVICE, loginEvent({ id, userId: userId() })))).code;
    for (let i = 0; i < 5; i++) expect(await send(`evt-old-${i}-${userId()}`)).toBe(grpc.status.OK);
    writeFileSync(clock, new Date(t0 + 8 * 3_600_000).toISOString()); // past the retention and the page span
    expect(await send(`evt-new-${userId()}`)).toBe(grpc.status.OK); // its write starts the sweep
    const line = await app.waitForLog(/dead letters? expired/);
    expect(String(line.msg)).toMatch(/older than the retention of 1 h: DEAD_LETTER_RETENTION_HOURS\): grant-item-on-login\/grantItem \d/);
    await waitFor('5 expired dead letters counted', async () => metricValue(await app.metrics(), 'event_rules_dead_letters_expired_total', { rule: 'grant-item-on-login', action: 'grantItem' }) === 5);
    const left = await runCli(ags, ['dead-letters', 'list']);
    expect(listedIds(left.stdout)).toHaveLength(1);
    expect(left.stdout).toContain('evt-new-');
    await app.stop();
  }, 300_000);
});

describeWith(builtApp(), 'e2e: two replicas dead-letter one burst at once, one killed -9 mid-burst (issue 22.4, checked from outside)', () => {
  const { ags, clients } = useLiveApps({}, { stop: 'all' });

  it('replay before the cause is fixed: each action fails again, the replay says so (exit 1, none "replayed OK") and each event stays listed exactly once; fixed, the next replay grants each once', async () => {
    const n = 40;
    const env = liveEnv(ags, { ITEM_ID_TO_GRANT: 'still-missing', BREAKER_PERMANENT_FAILURES: '0' });
    const app = await startApp({ env });
    const c = clients.connect(app);
    const users = Array.from({ length: n }, () => userId());
    const encoded = await Promise.all(users.map((u, i) => encode(LOGIN_SERVICE, loginEvent({ id: `again-${i}-${u}`, userId: u }))));
    for (const e of encoded) expect((await callOnce(c, e)).code).toBe(grpc.status.OK);
    const ids = encoded.map((_, i) => `again-${i}-${users[i]}`);
    const listed = async (): Promise<string[]> => (JSON.parse((await runCli(ags, ['dead-letters', 'list', '--json'])).stdout) as { eventId: string }[]).map((l) => l.eventId);
    expect((await listed()).sort()).toEqual([...ids].sort());

    const early = await runCli(ags, ['replay', '--target', app.address]);
    expect(early.code).toBe(1); // nothing was fixed: a script running replay must not read success
    expect(early.stdout).toContain(`0 of ${n} replayed OK`);
    expect(early.stdout.match(/^FAILED_PRECONDITION .*failed again/gm)).toHaveLength(n);
    expect((await listed()).sort()).toEqual([...ids].sort()); // each still listed once: its newer dead letter
    expect(ags.fulfillments).toEqual([]);

    ags.addItem({ id: 'still-missing' });
    const fixed = await runCli(ags, ['replay', '--target', app.address]);
    expect(fixed.stdout).toContain(`${n} of ${n} replayed OK`);
    expect(fixed.code).toBe(0);
    expect(users.map((u) => ags.fulfillments.filter((f) => f.userId === u).length)).toEqual(users.map(() => 1));
    expect(await listed()).toEqual([]);
    await app.stop();
  }, 300_000);

  it('300 refused fulfillments over two replicas writing the same shards, one killed mid-burst: each failed event listed exactly once; the item created, replay grants each once', async () => {
    const n = 300;
    // every fulfillment refused (the item does not exist); the breaker off: this is about the dead letters; a short lease: the killed replica's claims expire soon
    const env = liveEnv(ags, { ITEM_ID_TO_GRANT: 'missing-item', BREAKER_PERMANENT_FAILURES: '0', EVENT_DEADLINE_MS: '3000', DEDUPE_LEASE_MS: '6500' });
    const [a, b] = await Promise.all([startApp({ env }), startApp({ env })]);
    const ca = clients.connect(a);
    const cb = clients.connect(b);
    const users = Array.from({ length: n }, () => userId());
    const encoded = await Promise.all(users.map((u, i) => encode(LOGIN_SERVICE, loginEvent({ id: `burst-${i}-${u}`, userId: u }))));
    let answeredByB = 0;
    const killed = b.exited;
    const first = await pool(
      encoded.map((e, i) => async () => {
        if (i % 2 === 0) return (await callOnce(ca, e)).code;
        const code = (await callOnce(cb, e, 5_000)).code;
        if (++answeredByB === 40) b.child.kill('SIGKILL'); // mid-burst: its other calls are in flight or not sent yet
        return code;
      }),
      32,
    );
    await killed;
    // the survivor answered its own OK, or UNAVAILABLE when an event's 3 s deadline passed (a loaded machine: 13 of 150
    // at load 20), redelivered below like the killed replica's: never any other code
    expect(first.filter((c, i) => i % 2 === 0 && c !== grpc.status.OK && c !== grpc.status.UNAVAILABLE)).toEqual([]);
    // the sidecar redelivers to the survivor what the killed replica did not answer OK, with its backoff (UNAVAILABLE
    // while the killed replica's claims last: a redelivery without a pause cost ~12 calls per event, each one a
    // claim read by the survivor); any code but OK, UNAVAILABLE or DEADLINE_EXCEEDED fails the test
    const again = encoded.filter((_, i) => first[i] !== grpc.status.OK);
    expect(again.length).toBeGreaterThan(0);
    await pool(again.map((e) => () => deliverUntilOk(() => ca, e)), 16);

    const listed = JSON.parse((await runCli(ags, ['dead-letters', 'list', '--json'])).stdout) as { eventId: string }[];
    const ids = encoded.map((_, i) => `burst-${i}-${users[i]}`);
    expect(listed).toHaveLength(n); // each failed event exactly once
    expect(new Set(listed.map((l) => l.eventId))).toEqual(new Set(ids));
    expect(ags.fulfillments).toEqual([]);

    ags.addItem({ id: 'missing-item' });
    const replay = await runCli(ags, ['replay', '--target', a.address]);
    expect(replay.stdout).toContain(`${n} of ${n} replayed OK`);
    expect(users.map((u) => ags.fulfillments.filter((f) => f.userId === u).length)).toEqual(users.map(() => 1));
    expect((await runCli(ags, ['dead-letters', 'list'])).stdout).toMatch(/^no dead letters/m);
    // a second replay finds nothing; the sidecar redelivering everything grants nothing more
    for (const e of encoded.slice(0, 20)) expect((await callOnce(ca, e)).code).toBe(grpc.status.OK);
    expect(ags.grants()).toBe(n);
    expect(ags.violations).toEqual([]);
  }, 600_000);
});
