/**
 * Issue 22.3 end to end, default configuration (the Cloud Save store): `replay`
 * never doubles. AGS applies a share of the calls but answers them so that the
 * event is dead-lettered (a readable 200 naming nothing granted: "AGS answered
 * but granted nothing"; an unreadable answer whose lookup is refused 403). The
 * documented `replay` then looks each action up (grantItem by orderNo in the
 * fulfillment history, creditWallet by metadata in the wallet transactions)
 * before it sends anything: still one effect per player, also with two `replay`
 * processes at once through two replicas. Effects are counted at the stand-in.
 * Faults are drawn from a seeded random source (the seed is printed; set
 * TEST_SEED to repeat a run).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeWith } from '../support/prereq.js';
import { testSeed } from '../support/seed.js';
import { builtApp, deadLetters as listDeadLetters, deliverAll as deliverEach, loginEvents, runCli, sharedApp, startApp, tempDir, useLiveApps } from './support.js';
import type { AppProcess, CliResult, Encoded } from './support.js';

const { seed: SEED, random } = testSeed('replay-reconcile');

describeWith(builtApp(), `e2e: replay looks every action with a lookup up before it sends: never a second effect (issue 22.3, seed ${SEED})`, () => {
  const { ags, clients, env } = useLiveApps({ random });

  /** Each event delivered until answered OK, at most 5 times (a permanent failure must not be answered UNAVAILABLE for ever). */
  const deliverAll = (app: AppProcess, encoded: readonly Encoded[]): Promise<void> => deliverEach(clients.connect(app), encoded, { maxDeliveries: 5 });
  /** The CLI in this process (runCli: the bin's own entry point; the bin is proven in test/cli). */
  const cli = (dir: string, envOf: Record<string, string>, ...args: string[]): Promise<CliResult> => runCli(args, { cwd: dir, env: envOf });
  /** `replay` as its own process (the bin): two of them run at once. */
  const cliProcess = (dir: string, envOf: Record<string, string>, ...args: string[]): Promise<CliResult> => runCli(args, { cwd: dir, env: envOf, bin: true });
  // the first test's app, and the replica the third test's second replay goes through (it delivers no event there:
  // every replayed record is found by its lookup, so it writes no dead letter after the stand-in's reset, which the
  // dead-letter pages it wrote in the first test would otherwise bring back)
  const replica = sharedApp(() => ({ env: env() }));
  const deadLetters = (dir: string, envOf: Record<string, string>): Promise<Record<string, unknown>[]> => listDeadLetters(envOf, dir);

  const grantsOf = (users: readonly string[]): number[] => users.map((u) => ags.fulfillments.filter((f) => f.userId === u).reduce((n, f) => n + f.quantity, 0));

  /** `n` players, a share `rate` of the fulfillments applied and answered 200 naming nothing granted: dead-lettered "granted nothing". */
  async function grantedNothing(app: AppProcess, dir: string, prefix: string, n = 40, rate = 0.3): Promise<{ users: string[]; letters: Record<string, unknown>[] }> {
    const { users, encoded } = await loginEvents(n, prefix);
    ags.setFaultRate(rate, ['nothingGranted'], /\/fulfillment$/);
    await deliverAll(app, encoded);
    ags.setFaultRate(0);
    const letters = await deadLetters(dir, env());
    expect(letters.length).toBeGreaterThan(0); // the faults really happened
    expect(letters.every((l) => /granted nothing/.test(String((l.error as { message?: unknown }).message)))).toBe(true);
    expect(grantsOf(users)).toEqual(users.map(() => 1)); // each applied once, dead-lettered or not
    return { users, letters };
  }

  it('40 players, 30% of the grants applied but answered "granted nothing" -> dead-lettered -> replay: looked up by orderNo, still one grant each', async () => {
    const dir = tempDir('eer-e2e-replay-granted-');
    const app = await replica();
    const { users, letters } = await grantedNothing(app, dir, 'replay-gn');
    const fulfills = ags.serviceRequests().filter((r) => r.operation === 'fulfillItem').length;

    const replay = await cli(dir, env(), 'replay', '--target', app.address);
    expect(replay.stdout).toContain(`${letters.length} of ${letters.length} replayed OK`);
    expect(replay.code).toBe(0);
    expect(grantsOf(users)).toEqual(users.map(() => 1));
    expect(ags.serviceRequests().filter((r) => r.operation === 'fulfillItem')).toHaveLength(fulfills); // nothing sent again
    expect(ags.serviceRequests().filter((r) => r.operation === 'queryFulfillmentHistories').length).toBeGreaterThanOrEqual(letters.length);
    expect(await app.waitForLogs(/replay: found by its lookup, not sent again/, letters.length)).toHaveLength(letters.length);
    expect(await deadLetters(dir, env())).toEqual([]); // replayed OK: removed
    expect(ags.violations).toEqual([]);
  });

  it('creditWallet: 30% of the credits applied but answered unreadable while the lookup is refused (403) -> unknown-outcome dead letters, answered OK -> permission restored, replay: one credit each', async () => {
    const dir = tempDir('eer-e2e-replay-wallet-');
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, 'version: 1\nrules:\n  - name: coins\n    on: userLoggedIn\n    do:\n      - creditWallet: { currencyCode: COINS, amount: 5 }\n');
    // the default breaker: a refused lookup never pauses creditWallet, whose credits work (before, 3 in a row did)
    const app = await startApp({ env: env({ RULES_FILE: rules }) });
    const { users, encoded } = await loginEvents(40, 'replay-wallet');
    ags.deny(['listUserCurrencyTransactions']);
    ags.setFaultRate(0.3, ['truncated', 'fieldsMissing', 'wrongContentType'], /\/credit$/);
    await deliverAll(app, encoded); // the refused lookup is permanent: dead-lettered, never UNAVAILABLE for ever
    ags.setFaultRate(0);
    const credits = (): number[] => users.map((u) => ags.walletTransactions.filter((t) => t.userId === u).length);
    expect(credits()).toEqual(users.map(() => 1));
    const letters = await deadLetters(dir, env({ RULES_FILE: rules }));
    expect(letters.length).toBeGreaterThan(0);
    expect(letters.every((l) => l.kind === 'unknown-outcome' && l.action === 'creditWallet')).toBe(true);
    const sent = ags.serviceRequests().filter((r) => r.operation === 'creditUserWallet').length;
    expect(sent).toBe(40); // never sent again blindly

    ags.deny([]);
    const replay = await cli(dir, env({ RULES_FILE: rules }), 'replay', '--target', app.address);
    expect(replay.stdout).toContain(`${letters.length} of ${letters.length} replayed OK`);
    expect(replay.stdout).not.toMatch(/SKIPPED/); // an action with a lookup needs no --force
    expect(credits()).toEqual(users.map(() => 1));
    expect(ags.serviceRequests().filter((r) => r.operation === 'creditUserWallet')).toHaveLength(sent);
    expect(await app.waitForLogs(/replay: found by its lookup, not sent again/, letters.length)).toHaveLength(letters.length);
    expect(ags.violations).toEqual([]);
  });

  it('two replay processes at once, through two replicas, on the same dead letters: still one grant each', async () => {
    const dir = tempDir('eer-e2e-replay-twice-');
    const apps = [await startApp({ env: env() }), await replica()]; // the events are delivered to apps[0], a process of its own
    const { users, letters } = await grantedNothing(apps[0]!, dir, 'replay-twice', 20, 0.5);
    const fulfills = ags.serviceRequests().filter((r) => r.operation === 'fulfillItem').length;
    // one replays from the store (and removes what replays OK), the other from an export of the same list,
    // so both send every record whichever starts first
    const exported = join(dir, 'exported.jsonl');
    writeFileSync(exported, letters.map((l) => `${JSON.stringify(l)}\n`).join(''));
    const [a, b] = await Promise.all([cliProcess(dir, env(), 'replay', '--target', apps[0]!.address), cliProcess(dir, env(), 'replay', exported, '--target', apps[1]!.address)]);
    for (const r of [a, b]) {
      expect(r.stdout, r.stdout).toContain(`${letters.length} of ${letters.length} replayed OK`);
      expect(r.code).toBe(0);
    }
    expect(grantsOf(users)).toEqual(users.map(() => 1));
    expect(ags.serviceRequests().filter((r) => r.operation === 'fulfillItem')).toHaveLength(fulfills);
    expect(await deadLetters(dir, env())).toEqual([]);
    expect(ags.violations).toEqual([]);
  });
});
