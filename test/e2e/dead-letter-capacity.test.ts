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
import { builtApp, callOnce, encode, LOGIN_SERVICE, loginEvent, metricValue, pool, runCli as runBin, startApp, tempDir, userId, waitFor, useLiveApps } from './support.js';
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
    expect(app.logsMatching(/its dead letter could not be written: the event will be redelivered/).some((l) => /the dead-letter store is full/.test(String(l.writeError)))).toBe(true);
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
