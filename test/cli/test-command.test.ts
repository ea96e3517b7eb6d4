/** `extend-event-rules test`: the command on real files in a temp dir (in-process; one case through the real bin). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runBin, runCommand, workspace } from './support.js';
import type { Workspace } from './support.js';
import { FIXTURE_RULES_FILE, FIXTURE_RULES_TEST_FILE } from '../support/app-fixture.js';

const SHIPPED_RULES = readFileSync(FIXTURE_RULES_FILE, 'utf8');
const USER = '0123456789abcdef0123456789abcdef';

const SHADOW_RULES = `version: 1
rules:
  - name: welcome-pack
    on: userLoggedIn
    mode: shadow
    when: { "==": [{ var: payload.loginLocation.country }, "FR"] }
    do:
      - grantItem: { itemId: welcome-pack, userId: "\${event.userId}" }
`;

let ws: Workspace;
beforeAll(() => assertBuilt());
afterEach(() => ws?.remove());

describe('test command', () => {
  it('passes the shipped rules.test.yaml against the shipped rules.yaml (exit 0, one ✓ per case, summary)', async () => {
    ws = workspace();
    const r = await runBin(['test', FIXTURE_RULES_TEST_FILE], { cwd: ws.dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        '✓ a login in our namespace grants the item',
        '✓ a login in another namespace grants nothing',
        '✓ a third-party login in our namespace grants the item',
        '✓ a third-party login in another namespace grants nothing',
        '✓ the granted item follows ITEM_ID_TO_GRANT',
        '5 passed, 0 failed',
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(0);
  });

  it('defaults to rules.test.yaml beside RULES_FILE, and prints a -/+ diff per field for a failing case (exit 1)', async () => {
    ws = workspace();
    ws.write('rules.yaml', SHIPPED_RULES);
    ws.write(
      'rules.test.yaml',
      `version: 1
env: { AB_NAMESPACE: mygame, ITEM_ID_TO_GRANT: item-1 }
cases:
  - name: grants the item
    event: userLoggedIn
    data: { namespace: mygame, userId: ${USER} }
    expect:
      matched: [grant-item-on-login]
      actions:
        - rule: grant-item-on-login
          action: grantItem
          params: { namespace: mygame, userId: ${USER}, itemId: item-1, quantity: 1, source: REWARD, useTransactionId: false }
  - name: wrong item and wrong path
    event: userLoggedIn
    data: { namespace: mygame, userId: ${USER} }
    expect:
      actions:
        - rule: grant-item-on-login
          action: grantItem
          params: { namespace: mygame, userId: ${USER}, itemId: item-2, quantity: 1, source: REWARD, useTransactionId: false }
          requests:
            - method: POST
              path: /platform/admin/namespaces/mygame/users/${USER}/entitlements
  - name: expects a match that does not happen
    event: userLoggedIn
    data: { namespace: othergame }
    expect: { matched: [grant-item-on-login] }
`,
    );
    const r = await runCommand(['test'], { cwd: ws.dir, env: { RULES_FILE: resolve(ws.dir, 'rules.yaml') } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        '✓ grants the item',
        '✗ wrong item and wrong path  (rules.test.yaml:13)',
        '    - expected  + actual',
        '    - actions[0].params.itemId: "item-2"',
        '    + actions[0].params.itemId: "item-1"',
        `    - actions[0].requests[0].path: "/platform/admin/namespaces/mygame/users/${USER}/entitlements"`,
        `    + actions[0].requests[0].path: "/platform/admin/namespaces/mygame/users/${USER}/fulfillment"`,
        '    rules: grant-item-on-login: matched',
        '✗ expects a match that does not happen  (rules.test.yaml:24)',
        '    - expected  + actual',
        '    - matched: grant-item-on-login',
        '    rules: grant-item-on-login: notMatched',
        '1 passed, 2 failed',
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(1);
  });

  it('shows shadow rules\' planned actions as mode shadow: passes when expected so, a diff when not', async () => {
    ws = workspace();
    ws.write('shadow.yaml', SHADOW_RULES);
    const cases = (mode: string) => `version: 1
rules: shadow.yaml
env: { AB_NAMESPACE: mygame }
cases:
  - name: a login from France plans the welcome pack in shadow
    event: userLoggedIn
    data: { userId: ${USER}, payload: { loginLocation: { country: FR } } }
    expect:
      matched: [welcome-pack]
      actions:
        - rule: welcome-pack
          action: grantItem
${mode}          requests:
            - { method: POST, body: { itemId: welcome-pack, quantity: 1, source: REWARD } }
  - name: a login from elsewhere plans nothing
    event: userLoggedIn
    data: { payload: { loginLocation: { country: US } } }
    expect: { nothing: true }
`;
    ws.write('shadow.test.yaml', cases('          mode: shadow\n'));
    const ok = await runCommand(['test', 'shadow.test.yaml'], { cwd: ws.dir });
    expect(ok.stdout).toBe('✓ a login from France plans the welcome pack in shadow\n✓ a login from elsewhere plans nothing\n2 passed, 0 failed\n');
    expect(ok.code).toBe(0);

    ws.write('live.test.yaml', cases(''));
    const bad = await runCommand(['test', 'live.test.yaml'], { cwd: ws.dir });
    expect(bad.stdout).toContain('✗ a login from France plans the welcome pack in shadow  (live.test.yaml:5)\n    - expected  + actual\n    - actions[0].mode: "live"\n    + actions[0].mode: "shadow"\n');
    expect(bad.stdout).toContain('1 passed, 1 failed\n');
    expect(bad.code).toBe(1);
  });

  it('exit 2 with file:line:col problems for a malformed test file (unknown event, unknown key, data that does not fit)', async () => {
    ws = workspace();
    ws.write('rules.yaml', SHIPPED_RULES);
    ws.write(
      'rules.test.yaml',
      `version: 1
cases:
  - name: misspelled event
    event: userLogedIn
    expect: { nothing: true }
  - name: bad data
    event: userLoggedIn
    data: { payload: { userAccount: { userId: [1] } } }
    expect: { nothing: true, matchd: [] }
`,
    );
    const r = await runCommand(['test', 'rules.test.yaml'], { cwd: ws.dir });
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('rules.test.yaml:4:12: unknown event "userLogedIn"; did you mean "userLoggedIn"? (samples --list shows every event)');
    expect(lines[1]).toBe('rules.test.yaml:9:30: unknown key "matchd" in expect (allowed: matched, actions, errors, nothing, suppressed)');
    expect(lines[2]).toMatch(/^rules\.test\.yaml:8:\d+: case "bad data" data: the data does not fit accelbyte\.iam\.account\.v1\.UserLoggedIn: payload\.userAccount\.userId: expected a string/);
    expect(lines).toHaveLength(3);
    expect(r.code).toBe(2);
  });

  it('exit 2 with file:line:col and the fix for an expected action whose rule or action the rules file does not have', async () => {
    ws = workspace();
    ws.write('rules.yaml', SHIPPED_RULES);
    ws.write(
      'rules.test.yaml',
      `version: 1
env: { AB_NAMESPACE: mygame, ITEM_ID_TO_GRANT: item-1 }
cases:
  - name: misspelled rule and action
    event: userLoggedIn
    data: { namespace: mygame }
    expect:
      actions:
        - { rule: grant-item-on-logn, action: grantItem }
        - { rule: grant-item-on-login, action: grantItm }
        - { rule: grant-item-on-login, action: creditWallet }
`,
    );
    const r = await runCommand(['test', 'rules.test.yaml'], { cwd: ws.dir });
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'rules.test.yaml:9:19: actions: no rule is named "grant-item-on-logn": did you mean "grant-item-on-login"?',
      'rules.test.yaml:10:48: actions: rule "grant-item-on-login" has no action "grantItm": did you mean "grantItem"?',
      'rules.test.yaml:11:48: actions: rule "grant-item-on-login" has no action "creditWallet": its actions are grantItem',
    ]);
    expect(r.code).toBe(2);
  });

  it('a key whose ":" is left out before a flow map (expect { nothing: true }) says so', async () => {
    ws = workspace();
    ws.write('rules.yaml', SHIPPED_RULES);
    ws.write('rules.test.yaml', 'version: 1\ncases:\n  - name: no colon\n    event: userLoggedIn\n    expect { nothing: true }\n');
    const r = await runCommand(['test', 'rules.test.yaml'], { cwd: ws.dir });
    expect(r.stderr).toContain('rules.test.yaml:5:5: unknown key "expect { nothing" in a case: missing ":" after "expect" (write expect: { nothing: ...)');
    expect(r.code).toBe(2);
  });

  it('exit 2 with the rules file\'s problems when it is invalid', async () => {
    ws = workspace();
    ws.write('rules.yaml', SHIPPED_RULES.replace('on: userLoggedIn', 'on: userLogin'));
    ws.write('rules.test.yaml', 'version: 1\nenv: { AB_NAMESPACE: mygame, ITEM_ID_TO_GRANT: item-1 }\ncases:\n  - name: c\n    event: userLoggedIn\n    expect: { nothing: true }\n');
    const r = await runCommand(['test', 'rules.test.yaml'], { cwd: ws.dir });
    expect(r.stderr).toMatch(/rules\.yaml:\d+:\d+: error \[unknown-event\] rule "grant-item-on-login": unknown event "userLogin"/);
    expect(r.stderr).toContain('invalid rules file (case "c", rules.test.yaml:4)');
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
  });

  it('exit 2 when the default test file does not exist', async () => {
    ws = workspace();
    ws.write('rules.yaml', SHIPPED_RULES);
    const r = await runCommand(['test'], { cwd: ws.dir, env: { RULES_FILE: 'rules.yaml' } });
    expect(r.stderr).toContain('rules.test.yaml: no such test file');
    expect(r.code).toBe(2);
  });
});
