/**
 * Issue 15, "Conditions": through the command (in-process, as the bin runs it) on the real AGS event catalog
 * (events filled with proto3 defaults exactly as decoding does), conditions
 * mean what json-logic-js says, and `explain` shows the evaluation that
 * decided the outcome.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCommand, workspace } from './support.js';
import type { Workspace } from './support.js';

const ENV = { AB_NAMESPACE: 'mygame', ITEM_ID_TO_GRANT: 'item-1' };
let ws: Workspace;
beforeAll(() => assertBuilt());
afterEach(() => ws?.remove());

function rule(name: string, when: unknown): string {
  return `  - name: ${name}\n    on: userLoggedIn\n    when: ${JSON.stringify(when)}\n    do:\n      - log: { message: hit }\n`;
}

interface Explained {
  rules: { rule: string; outcome: string; error?: string; condition: { passed: boolean; error?: string } | null }[];
}

describe('conditions on real decoded events', () => {
  it('mixed types compare as json-logic-js does (false, not an error per event); explain agrees with the outcome', async () => {
    ws = workspace();
    ws.write(
      'rules.yaml',
      `version: 1\nrules:\n${[
        rule('level-na', { '>': [{ var: 'payload.userAccount.displayName' }, 10] }),
        rule('vip-string', { '==': [{ var: 'payload.userAuthentication.platformId' }, true] }),
        rule('in-number', { in: ['gold', { var: 'version' }] }),
        rule('not-equal-mixed', { '!': [{ '==': [{ var: 'version' }, { var: 'payload.userAccount.platformId' }] }] }),
        rule('email-missing', { missing: ['payload.userAccount.emailAddress'] }),
        rule('refresh-missing', { missing_some: [1, ['payload.userAuthentication.refresh', 'payload.userAccount.country']] }),
      ].join('')}`,
    );
    const data = JSON.stringify({ payload: { userAccount: { displayName: 'n/a', emailAddress: '', platformId: 'steam' }, userAuthentication: { platformId: 'true', refresh: false } } });
    const r = await runCommand(['explain', 'userLoggedIn', '--data', '-', '--json'], { cwd: ws.dir, env: ENV, stdin: data });
    expect(r.stderr).toBe('');
    const x = JSON.parse(r.stdout) as Explained;
    const outcomes = Object.fromEntries(x.rules.map((e) => [e.rule, e.outcome]));
    expect(outcomes).toEqual({
      'level-na': 'notMatched',
      'vip-string': 'notMatched',
      'in-number': 'notMatched',
      'not-equal-mixed': 'matched',
      // "" is missing (json-logic-js); a bool at its proto3 default false counts as missing too
      'email-missing': 'matched',
      'refresh-missing': 'notMatched',
    });
    for (const e of x.rules) {
      // the trace is the evaluation: its root decides the outcome, no node errs
      expect(e.condition!.passed, e.rule).toBe(e.outcome === 'matched');
      expect(JSON.stringify(e.condition), e.rule).not.toContain('"error"');
    }
    const text = await runCommand(['explain', 'userLoggedIn', '--data', '-'], { cwd: ws.dir, env: ENV, stdin: data });
    expect(text.stdout).toContain('✓ not-equal-mixed  matched  (line 18)\n    ✓ enabled: yes\n    ✓ window: always active\n    when:\n      ✓ ! -> true\n        ✗ == : version = 1, payload.userAccount.platformId = "steam"\n');
  });

  it('missing on proto fields: an empty string, a zero, false and an absent sub-message are missing; set values are not', async () => {
    ws = workspace();
    const keys = ['payload.userAccount.emailAddress', 'payload.userAuthentication.refresh', 'version', 'payload.loginLocation', 'namespace', 'payload.userAccount'];
    ws.write('rules.yaml', `version: 1\nrules:\n${rule('which-missing', { missing: keys })}`);
    // an absent sub-message decodes as its defaults: loginLocation with every field empty
    const data = JSON.stringify({ payload: { userAccount: { emailAddress: '' }, userAuthentication: { refresh: false }, loginLocation: { country: '', state: '', city: '' } }, version: 0, namespace: 'mygame' });
    const r = await runCommand(['explain', 'userLoggedIn', '--data', '-', '--json'], { cwd: ws.dir, env: ENV, stdin: data });
    expect(r.stderr).toBe('');
    const x = JSON.parse(r.stdout) as { rules: { outcome: string; condition: { result: unknown } }[] };
    expect(x.rules[0]!.outcome).toBe('matched');
    expect(x.rules[0]!.condition.result).toEqual(['payload.userAccount.emailAddress', 'payload.userAuthentication.refresh', 'version', 'payload.loginLocation']);
  });
});
