/** `extend-event-rules explain`: the command on real files in a temp dir (in-process; one case through the real bin). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runBin, runCommand, workspace } from './support.js';
import type { Workspace } from './support.js';
import { FIXTURE_RULES_FILE } from '../support/app-fixture.js';

const SHIPPED_RULES = readFileSync(FIXTURE_RULES_FILE, 'utf8');
const USER = '0123456789abcdef0123456789abcdef';
const ENV = { AB_NAMESPACE: 'mygame', ITEM_ID_TO_GRANT: 'item-1' };

let ws: Workspace;
beforeAll(() => assertBuilt());
afterEach(() => ws?.remove());

describe('explain command', () => {
  it('a non-matching event: the failing sub-condition with the value it saw and the value expected', async () => {
    ws = workspace();
    ws.write('rules.yaml', SHIPPED_RULES);
    ws.write('event.json', JSON.stringify({ namespace: 'othergame' }));
    const r = await runCommand(['explain', 'userLoggedIn', '--data', 'event.json', '--now', '2026-12-01T00:00:00Z'], { cwd: ws.dir, env: ENV });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        'event userLoggedIn (accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService) at 2026-12-01T00:00:00.000Z',
        `1 rule listens on it in ${resolve(ws.dir, 'rules.yaml')}; 0 matched`,
        '',
        '✗ grant-item-on-login  not matched: the condition is false  (line 14)',
        '    ✓ enabled: yes',
        '    ✓ window: always active',
        '    when:',
        '      ✗ == : namespace = "othergame", expected "mygame"',
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(0);
  });

  it('a matching event (data on stdin): the condition and the exact request that would be sent', async () => {
    ws = workspace();
    ws.write('rules.yaml', SHIPPED_RULES);
    const r = await runBin(['explain', 'userLoggedIn', '--data', '-'], { cwd: ws.dir, env: ENV, stdin: JSON.stringify({ namespace: 'mygame', userId: USER }) });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('✓ grant-item-on-login  matched  (line 14)\n');
    expect(r.stdout).toContain('      ✓ == : namespace = "mygame", expected "mygame"\n');
    expect(r.stdout).toContain(
      [
        '    would send:',
        '      grantItem #0',
        `        params: {"namespace":"mygame","userId":"${USER}","itemId":"item-1","quantity":1,"source":"REWARD","useTransactionId":false}`,
        `        POST /platform/admin/namespaces/mygame/users/${USER}/fulfillment`,
        '          body: {"itemId":"item-1","quantity":1,"source":"REWARD"}',
      ].join('\n'),
    );
    expect(r.code).toBe(0);
  });

  it('nested and/or/!, the activation window against --now, shadow and disabled rules; --json gives the same as a structure', async () => {
    ws = workspace();
    ws.write(
      'rules.yaml',
      `version: 1
rules:
  - name: spring-promo
    on: userLoggedIn
    mode: shadow
    activeFrom: 2026-03-01T00:00:00Z
    activeUntil: 2026-06-01T00:00:00Z
    when:
      and:
        - "==": [{ var: namespace }, "\${env.AB_NAMESPACE}"]
        - or:
            - startsWith: [{ var: payload.loginLocation.country }, "F"]
            - in: [{ var: payload.userAccount.platformId }, [psn, xbox]]
    do:
      - grantItem: { itemId: promo }
  - name: off
    on: userLoggedIn
    enabled: false
    do:
      - log: { message: hello }
`,
    );
    const data = JSON.stringify({ payload: { loginLocation: { country: 'FR' }, userAccount: { platformId: 'steam' } } });
    const inside = await runCommand(['explain', 'userLoggedIn', '--data', '-', '--now', '2026-04-01T00:00:00Z'], { cwd: ws.dir, env: ENV, stdin: data });
    expect(inside.stdout).toContain(
      [
        '✓ spring-promo  matched  [shadow: planned and counted, never sent]  (line 3)',
        '    ✓ enabled: yes',
        '    ✓ window: from 2026-03-01T00:00:00.000Z until 2026-06-01T00:00:00.000Z (exclusive) - now is 2026-04-01T00:00:00.000Z',
        '    when:',
        '      ✓ and -> true',
        '        ✓ == : namespace = "mygame", expected "mygame"',
        '        ✓ or -> true',
        '          ✓ startsWith : payload.loginLocation.country = "FR", "F"',
        // or stops at its first true branch: the next one is not evaluated (the trace is the evaluation itself)
        '          - not evaluated: in(payload.userAccount.platformId, ["psn","xbox"])',
        '    would plan (shadow: nothing sent):',
        '      grantItem #0 [shadow]',
      ].join('\n'),
    );
    expect(inside.stdout).toContain('✗ off  disabled (enabled: false)  (line 16)\n    ✗ enabled: no\n');

    const after = await runCommand(['explain', 'userLoggedIn', '--data', '-', '--now', '2026-07-01T00:00:00Z', '--json'], { cwd: ws.dir, env: ENV, stdin: data });
    expect(after.code).toBe(0);
    const x = JSON.parse(after.stdout) as { now: string; rules: { rule: string; outcome: string; window: { active: boolean }; actions: unknown[]; condition: { operator: string; passed: boolean; children: { operator: string; operands?: { label: string; value: unknown }[] }[] } | null }[] };
    expect(x.now).toBe('2026-07-01T00:00:00.000Z');
    const promo = x.rules.find((r) => r.rule === 'spring-promo')!;
    expect(promo.outcome).toBe('inactive');
    expect(promo.window.active).toBe(false);
    expect(promo.actions).toEqual([]);
    expect(promo.condition!.operator).toBe('and');
    expect(promo.condition!.passed).toBe(true);
    expect(promo.condition!.children[0]!.operands).toEqual([
      { expr: { var: 'namespace' }, label: 'namespace', literal: false, value: 'mygame' },
      { expr: 'mygame', label: '"mygame"', literal: true, value: 'mygame' },
    ]);
    expect(x.rules.find((r) => r.rule === 'off')).toMatchObject({ outcome: 'disabled', condition: null });
  });

  it('exit 2 for an unknown event (with candidates) and for data that does not fit (field path and expected type)', async () => {
    ws = workspace();
    ws.write('rules.yaml', SHIPPED_RULES);
    const unknown = await runCommand(['explain', 'userLogedIn'], { cwd: ws.dir, env: ENV });
    expect(unknown.stderr).toBe('extend-event-rules explain: unknown event "userLogedIn"; did you mean "userLoggedIn"? (samples --list shows every event)\n');
    expect(unknown.code).toBe(2);
    const bad = await runCommand(['explain', 'userLoggedIn', '--data', '-'], { cwd: ws.dir, env: ENV, stdin: '{"payload":{"userAccount":{"userId":{"a":1}}}}' });
    expect(bad.stderr).toMatch(/^extend-event-rules explain: stdin: the data does not fit accelbyte\.iam\.account\.v1\.UserLoggedIn: payload\.userAccount\.userId: expected a string/);
    expect(bad.code).toBe(2);
    const notJson = await runCommand(['explain', 'userLoggedIn', '--data', '-'], { cwd: ws.dir, env: ENV, stdin: '{nope' });
    expect(notJson.stderr).toMatch(/^extend-event-rules explain: stdin: not valid JSON/);
    expect(notJson.code).toBe(2);
  });
  it('--facts: the answers of the AGS lookups are the values the condition trace shows (group membership: a member, not a member, no answer given)', async () => {
    ws = workspace();
    ws.write(
      'rules.yaml',
      `version: 1
rules:
  - name: guild-login-gift
    on: userLoggedIn
    facts:
      guild: { AdminGetUserGroupStatusInformationV2: { groupId: raid-guild-7 } }
    when: { "==": [ { var: facts.guild.member }, true ] }
    do: [ { grantItem: { itemId: raid-chest } } ]
`,
    );
    ws.write('event.json', JSON.stringify({ namespace: 'mygame', userId: USER }));
    ws.write('member.json', JSON.stringify({ guild: { member: true, groupId: 'raid-guild-7', userId: USER, status: 'JOINED', memberRoleId: ['raider'], joinedAt: '2026-01-01T00:00:00Z' } }));
    ws.write('not-member.json', JSON.stringify({ guild: { member: false } }));
    const explain = (...extra: string[]) => runCommand(['explain', 'userLoggedIn', '--data', 'event.json', '--now', '2026-03-01T12:00:00Z', ...extra], { cwd: ws.dir, env: ENV });
    const member = await explain('--facts', 'member.json');
    expect(member.stdout).toContain('✓ guild-login-gift  matched  (line 3)\n');
    expect(member.stdout).toContain('      ✓ == : facts.guild.member = true, expected true\n');
    expect(member.stdout).toContain(`POST /platform/admin/namespaces/mygame/users/${USER}/fulfillment`);
    const notMember = await explain('--facts', 'not-member.json');
    expect(notMember.stdout).toContain('✗ guild-login-gift  not matched: the condition is false  (line 3)\n');
    expect(notMember.stdout).toContain('      ✗ == : facts.guild.member = false, expected true\n');
    const none = await explain();
    expect(none.stdout).toMatch(/✗ guild-login-gift {2}error: .*fact guild \(AdminGetUserGroupStatusInformationV2\): no fixture/);
    for (const r of [member, notMember, none]) expect([r.code, r.stderr]).toEqual([0, '']);
  });
});
