/**
 * Stable action keys (issue 13, item 5): editing a rule between two deliveries
 * of one event (inserting, removing, reordering other actions) never runs an
 * action twice, because an action's idempotency key is its `id` or its name and
 * ordinal among same-named actions, not its position.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createExecutor } from '../../src/delivery/executor.js';
import { MemoryDedupeStore } from '../../src/delivery/memory-store.js';
import { MemoryDeadLetterSink } from '../../src/delivery/dead-letters.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import { LOGIN, fixtureCatalog, loginEvent } from '../rules/support/fixtures.js';
import { captureLogger, recordingAction, registryOf } from './support.js';

const grant = recordingAction('grantItem');
const log = recordingAction('log');
const credit = recordingAction('creditWallet');
let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: registryOf(grant, log, credit), env: {}, unsetEnv: 'error' };
});

function compile(doList: string) {
  const r = compileRulesText(`version: 1\nrules:\n  - name: r\n    on: userLoggedIn\n    do:\n${doList}`, 'rules.yaml', opts);
  if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
  return r;
}

/** Delivers one event with each rules version in turn, on one store; returns the calls per action name. */
async function deliverAcrossEdits(versions: string[]) {
  for (const a of [grant, log, credit]) a.calls.length = 0;
  const store = new MemoryDedupeStore();
  const executor = createExecutor({ registry: registryOf(grant, log, credit), store, deadLetters: new MemoryDeadLetterSink(), logger: captureLogger().logger, dryRun: false, namespace: 'mygame' });
  const event = loginEvent();
  for (const v of versions) {
    const { plan } = compile(v).rules.evaluate(LOGIN, event);
    const report = await executor.run({ service: { fullName: LOGIN, eventName: 'userLoggedIn' }, event, plan });
    expect(report.outcome).toEqual({ kind: 'ok' });
  }
  return { grant: grant.calls.map((c) => c.key), log: log.calls.map((c) => c.key), credit: credit.calls.map((c) => c.key) };
}

describe('stable action keys', () => {
  it('a log action inserted before grantItem between two deliveries: one grant (the key was the position)', async () => {
    const calls = await deliverAcrossEdits(['      - grantItem: { itemId: a }\n', '      - log: { message: hi }\n      - grantItem: { itemId: a }\n']);
    expect(calls.grant).toEqual(['evt-1:r:grantItem#0']);
    expect(calls.log).toEqual(['evt-1:r:log#0']);
  });

  it('removing or reordering other actions keeps every key', async () => {
    const calls = await deliverAcrossEdits([
      '      - log: { message: hi }\n      - grantItem: { itemId: a }\n      - creditWallet: { c: 1 }\n',
      '      - creditWallet: { c: 1 }\n      - grantItem: { itemId: a }\n',
      '      - grantItem: { itemId: a }\n      - log: { message: hi }\n      - creditWallet: { c: 1 }\n',
    ]);
    expect(calls).toEqual({ grant: ['evt-1:r:grantItem#0'], log: ['evt-1:r:log#0'], credit: ['evt-1:r:creditWallet#0'] });
  });

  it('an id is the key: same-named actions can be reordered when they carry ids', async () => {
    const calls = await deliverAcrossEdits([
      '      - id: first\n        grantItem: { itemId: a }\n      - id: second\n        grantItem: { itemId: b }\n',
      '      - id: second\n        grantItem: { itemId: b }\n      - id: first\n        grantItem: { itemId: a }\n',
    ]);
    expect(calls.grant).toEqual(['evt-1:r:first', 'evt-1:r:second']);
  });

  it('validate: warns about same-named actions without ids, refuses duplicate ids and an id without action', () => {
    const warned = compile('      - grantItem: { itemId: a }\n      - grantItem: { itemId: b }\n');
    expect(warned.warnings.map((w) => [w.code, w.line])).toEqual([['action-key', 6]]);
    expect(warned.warnings[0]?.fix).toContain('id:');
    expect(compile('      - id: x\n        grantItem: { itemId: a }\n      - grantItem: { itemId: b }\n').warnings).toEqual([]);

    const dup = compileRulesText('version: 1\nrules:\n  - name: r\n    on: userLoggedIn\n    do:\n      - { id: x, grantItem: { itemId: a } }\n      - { id: x, log: { message: m } }\n', 'rules.yaml', opts);
    expect(dup.ok).toBe(false);
    expect(!dup.ok && dup.problems.map((p) => [p.code, p.line])).toEqual([['duplicate-id', 7]]);

    const bare = compileRulesText('version: 1\nrules:\n  - name: r\n    on: userLoggedIn\n    do:\n      - { id: x }\n', 'rules.yaml', opts);
    expect(!bare.ok && bare.problems.map((p) => p.code)).toContain('schema');

    const badId = compileRulesText('version: 1\nrules:\n  - name: r\n    on: userLoggedIn\n    do:\n      - { id: "a b", log: { message: m } }\n', 'rules.yaml', opts);
    expect(badId.ok).toBe(false);
  });
});
