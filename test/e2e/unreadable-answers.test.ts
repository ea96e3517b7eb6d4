/**
 * Issue 22.1 end to end, default configuration (the Cloud Save store): AGS
 * applies a share of the calls but answers them in a shape the operation does
 * not declare (JSON cut short, its declared fields missing, an HTML page).
 * Such an answer is an unknown outcome: the event is redelivered and the
 * action's lookup settles it (grantItem by orderNo in the fulfillment history,
 * creditWallet by metadata in the wallet transactions), or, without a lookup,
 * it ends as an `unknown-outcome` dead letter. Never "AGS granted nothing".
 * Effects are counted at the stand-in. Faults are drawn from a seeded random
 * source (the seed is printed; set TEST_SEED to repeat a run).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import type { FaultKind } from '../support/ags-stand-in.js';
import { describeWith } from '../support/prereq.js';
import { testSeed } from '../support/seed.js';
import { builtApp, callOnce, deadLetters as listDeadLetters, deliverAll as deliverEach, loginEvents, startApp, tempDir, waitUntil, useLiveApps } from './support.js';
import type { AppProcess, Encoded } from './support.js';

const { seed: SEED, random } = testSeed('unreadable-answers');

const GARBLED: readonly FaultKind[] = ['truncated', 'fieldsMissing', 'wrongContentType'];

describeWith(builtApp(), `e2e: an AGS answer that cannot be read is an unknown outcome (issue 22.1, seed ${SEED})`, () => {
  const { ags, clients, env } = useLiveApps({ random });

  const deliverAll = (app: AppProcess, encoded: readonly Encoded[]): Promise<void> => deliverEach(clients.connect(app), encoded);
  /** The dead letters (kept in Cloud Save), read by the CLI with the server's environment. */
  const deadLetters = (dir: string): Promise<Record<string, unknown>[]> => listDeadLetters(env(), dir);

  it('40 players, 30% of the fulfillments applied but answered unreadable: every event OK, one grant per player, no dead letter (the lookup settles each)', async () => {
    const app = await startApp({ env: env() });
    const { users, encoded } = await loginEvents(40, 'garbled');
    ags.setFaultRate(0.3, GARBLED, /\/fulfillment$/);
    await deliverAll(app, encoded);
    ags.setFaultRate(0);
    const garbled = ags.serviceRequests().filter((r) => typeof r.answer === 'string' && r.answer.startsWith('garbled')).length;
    expect(garbled).toBeGreaterThan(0);
    expect(users.map((u) => ags.fulfillments.filter((f) => f.userId === u).reduce((n, f) => n + f.quantity, 0))).toEqual(users.map(() => 1));
    // each garbled answer was settled by the fulfillment history, not sent again
    expect(ags.serviceRequests().filter((r) => r.operation === 'fulfillItem')).toHaveLength(40);
    expect(app.logsMatching(/granted nothing/)).toEqual([]);
    await waitUntil('one reconciliation line per garbled answer', () => app.logsMatching(/applied by an earlier attempt whose answer was lost/).length >= garbled);
    expect(app.logsMatching(/applied by an earlier attempt whose answer was lost/)).toHaveLength(garbled);
    expect(await deadLetters(tempDir('eer-e2e-garbled-'))).toEqual([]);
    // and a second delivery of every event changes nothing
    await deliverAll(app, encoded);
    expect(ags.grants()).toBe(40);
    expect(ags.violations).toEqual([]);
  });

  it('creditWallet, 30% applied but answered unreadable: one credit per player, found by its metadata', async () => {
    const dir = tempDir('eer-e2e-garbled-wallet-');
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, 'version: 1\nrules:\n  - name: coins\n    on: userLoggedIn\n    do:\n      - creditWallet: { currencyCode: COINS, amount: 5 }\n');
    const app = await startApp({ env: env({ RULES_FILE: rules }) });
    const { users, encoded } = await loginEvents(40, 'garbled-wallet');
    ags.setFaultRate(0.3, GARBLED, /\/credit$/);
    await deliverAll(app, encoded);
    ags.setFaultRate(0);
    const garbled = ags.serviceRequests().filter((r) => typeof r.answer === 'string' && r.answer.startsWith('garbled')).length;
    expect(garbled).toBeGreaterThan(0);
    expect(users.map((u) => ags.walletTransactions.filter((t) => t.userId === u).length)).toEqual(users.map(() => 1));
    expect(ags.serviceRequests().filter((r) => r.operation === 'creditUserWallet')).toHaveLength(40);
    // each garbled answer was an unknown outcome settled by the wallet transactions (never taken for an answer)
    await waitUntil('one reconciliation line per garbled answer', () => app.logsMatching(/applied by an earlier attempt whose answer was lost/).length >= garbled);
    expect(app.logsMatching(/applied by an earlier attempt whose answer was lost/)).toHaveLength(garbled);
    expect(await deadLetters(dir)).toEqual([]);
    expect(ags.violations).toEqual([]);
  });

  it('without a lookup (updateStat INCREMENT) an unreadable answer is an unknown-outcome dead letter, never sent again', async () => {
    const dir = tempDir('eer-e2e-garbled-stat-');
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, 'version: 1\nrules:\n  - name: count-logins\n    on: userLoggedIn\n    do:\n      - updateStat: { statCode: logins, value: 1 }\n');
    const app = await startApp({ env: env({ RULES_FILE: rules }) });
    const { encoded } = await loginEvents(1, 'garbled-stat');
    ags.fail('/statitems/value', [{ garble: 'truncated' }]);
    const c = clients.connect(app);
    for (let i = 0; i < 3; i++) expect((await callOnce(c, encoded[0]!)).code).toBe(grpc.status.OK);
    expect(ags.serviceRequests().filter((r) => r.operation === 'updateUserStatItemValue')).toHaveLength(1);
    const letters = await deadLetters(dir);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ kind: 'unknown-outcome', rule: 'count-logins', action: 'updateStat' });
  });
});
