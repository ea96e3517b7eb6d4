/**
 * Stateful rules written, validated, tested and explained without code: the
 * command (in-process, as the bin runs it) on real files. Rule tests take the player's prior record
 * (`history:`) and `now:`; explain shows the counts, streak and limit state
 * the decision used (`--history`); validate reports bad windows with line and fix.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AGS_SPECS_DIR, REPO_ROOT, itWith, sharedSpecs } from '../support/prereq.js';
import { assertBuilt, runCommand, workspace } from './support.js';
import type { Workspace } from './support.js';

const USER = '0123456789abcdef0123456789abcdef';
const RULES = `version: 1
rules:
  - name: daily-login-reward
    on: userLoggedIn
    limit: { count: 1, per: day, timeZone: Asia/Tokyo }
    do: [ { grantItem: { itemId: daily, userId: "\${event.userId}" } } ]
  - name: busy-bee
    on: userLoggedIn
    when: { ">=": [ { count: [ userLoggedIn, 24h ] }, 3 ] }
    do: [ { grantItem: { itemId: busy-bee, userId: "\${event.userId}" } } ]
  - name: login-streak-7
    on: userLoggedIn
    when: { "==": [ { streak: [ userLoggedIn, day, Asia/Tokyo ] }, 7 ] }
    do: [ { grantItem: { itemId: streak-7-chest, userId: "\${event.userId}" } } ]
`;

let ws: Workspace;
beforeAll(() => assertBuilt());
afterEach(() => ws?.remove());

describe('stateful rules without code', () => {
  it('rule tests: history and now decide limits, counts and streaks; a failing case shows the state used', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    ws.write(
      'rules.test.yaml',
      `version: 1
env: { AB_NAMESPACE: mygame }
cases:
  - name: first login of the Tokyo day gets the reward
    event: userLoggedIn
    now: 2026-03-01T15:00:00Z
    data: { namespace: mygame, userId: ${USER} }
    history:
      ${USER}:
        firings: [ { rule: daily-login-reward, at: 2026-03-01T14:59:00Z } ]
    expect: { matched: [daily-login-reward] }
  - name: second login of the same Tokyo day is refused by the limit
    event: userLoggedIn
    now: 2026-03-01T14:59:30Z
    data: { namespace: mygame, userId: ${USER} }
    history:
      ${USER}:
        firings: [ { rule: daily-login-reward, at: 2026-03-01T00:00:00Z } ]
    expect: { matched: [], suppressed: [daily-login-reward] }
  - name: third login in 24 h and the seventh day in a row
    event: userLoggedIn
    now: 2026-03-07T03:00:00Z
    data: { namespace: mygame, userId: ${USER} }
    history:
      ${USER}:
        events:
          - { event: userLoggedIn, at: 2026-03-01T03:00:00Z }
          - { event: userLoggedIn, at: 2026-03-02T03:00:00Z }
          - { event: userLoggedIn, at: 2026-03-03T03:00:00Z }
          - { event: userLoggedIn, at: 2026-03-04T03:00:00Z }
          - { event: userLoggedIn, at: 2026-03-05T03:00:00Z }
          - { event: userLoggedIn, at: 2026-03-06T04:00:00Z }
          - { event: userLoggedIn, at: 2026-03-07T01:00:00Z }
    expect: { matched: [daily-login-reward, busy-bee, login-streak-7] }
  - name: a wrong expectation shows the limit state
    event: userLoggedIn
    now: 2026-03-01T14:59:30Z
    data: { namespace: mygame, userId: ${USER} }
    history:
      ${USER}:
        firings: [ { rule: daily-login-reward, at: 2026-03-01T00:00:00Z } ]
    expect: { matched: [daily-login-reward] }
`,
    );
    const r = await runCommand(['test'], { cwd: ws.dir, env: { RULES_FILE: `${ws.dir}/rules.yaml` } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/✓ first login of the Tokyo day gets the reward/);
    expect(r.stdout).toMatch(/✓ second login of the same Tokyo day is refused by the limit/);
    expect(r.stdout).toMatch(/✓ third login in 24 h and the seventh day in a row/);
    expect(r.stdout).toMatch(/✗ a wrong expectation shows the limit state/);
    expect(r.stdout).toMatch(/daily-login-reward: suppressed \(limit: 1 of 1 per day Asia\/Tokyo\)/);
    expect(r.stdout).toMatch(/3 passed, 1 failed/);
    expect(r.code).toBe(1);
  });

  it('rule tests: a history entry with a bad instant or an unknown event is a format error with line and column', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    ws.write(
      'rules.test.yaml',
      `version: 1
cases:
  - name: bad history
    event: userLoggedIn
    data: { userId: ${USER} }
    history:
      ${USER}:
        events: [ { event: userLogedIn, at: 2026-03-01T00:00:00Z } ]
        firings: [ { rule: daily-login-reward, at: yesterday }, { rule: daily-login-reward, at: 2026-02-30T00:00:00Z }, { rule: daily-login-reward, at: 2026-03-01T00:00:00 } ]
    expect: { nothing: true }
`,
    );
    const r = await runCommand(['test'], { cwd: ws.dir, env: { RULES_FILE: `${ws.dir}/rules.yaml` } });
    expect(r.stderr).toMatch(/rules\.test\.yaml:8:\d+: .*userLogedIn/);
    expect(r.stderr).toMatch(/rules\.test\.yaml:9:\d+: "at" must be an RFC 3339 instant/);
    expect(r.stderr).toMatch(/rules\.test\.yaml:9:\d+: "at": "2026-02-30T00:00:00Z" is not a date: 2026-02 has no day 30/);
    expect(r.stderr).toMatch(/rules\.test\.yaml:9:\d+: "at": "2026-03-01T00:00:00" has no UTC offset/);
    expect(r.code).toBe(2);
  });

  it('explain --history shows the count, the streak and the limit state the decision used', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    ws.write('history.yaml', `events:\n  - { event: userLoggedIn, at: 2026-03-01T00:00:00Z }\n  - { event: userLoggedIn, at: 2026-03-01T01:00:00Z }\nfirings:\n  - { rule: daily-login-reward, at: 2026-03-01T00:00:00Z }\n`);
    ws.write('event.json', JSON.stringify({ namespace: 'mygame', userId: USER }));
    const r = await runCommand(['explain', 'userLoggedIn', '--data', 'event.json', '--now', '2026-03-01T02:00:00Z', '--history', 'history.yaml', '--rules', 'rules.yaml'], { cwd: ws.dir });
    // the only thing said besides: the streak starts when the rule is loaded (state-history, a warning)
    expect(r.stderr.split('\n').filter((l) => l.trim() !== '' && !/starts when this rule is loaded|state-history|docs\/facts\.md/.test(l))).toEqual([]);
    expect(r.stderr).toMatch(/streak of userLoggedIn starts when this rule is loaded/);
    expect(r.stdout).toMatch(/✗ daily-login-reward {2}suppressed by its limit/);
    expect(r.stdout).toMatch(/✗ limit: 1 of 1 firing per day Asia\/Tokyo before this event/);
    expect(r.stdout).toMatch(/✓ busy-bee {2}matched/);
    expect(r.stdout).toMatch(/count\("userLoggedIn", "24h"\) = 3/);
    expect(r.stdout).toMatch(/streak\("userLoggedIn", "day", "Asia\/Tokyo"\) = 1/);
    expect(r.code).toBe(0);
    const json = await runCommand(['explain', 'userLoggedIn', '--data', 'event.json', '--now', '2026-03-01T02:00:00Z', '--history', 'history.yaml', '--rules', 'rules.yaml', '--json'], { cwd: ws.dir });
    const x = JSON.parse(json.stdout) as { rules: { rule: string; outcome: string; firing?: unknown }[] };
    expect(x.rules.find((r2) => r2.rule === 'daily-login-reward')).toMatchObject({ outcome: 'suppressed', firing: { decision: 'suppressed', suppressedBy: 'limit', limit: { fired: 1, count: 1, per: 'day Asia/Tokyo' } } });
  });

  it('validate: a window that does not parse and a non-IANA zone, with line, column and fix', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES.replace('timeZone: Asia/Tokyo }', 'timeZone: JST }').replace('userLoggedIn, 24h', 'userLoggedIn, 24 hours'));
    const r = await runCommand(['validate', 'rules.yaml'], { cwd: ws.dir });
    expect(r.stdout + r.stderr).toMatch(/rules\.yaml:5:\d+: .*"JST" is not an IANA time zone name/);
    expect(r.stdout + r.stderr).toMatch(/rules\.yaml:9:\d+: .*"24 hours" is not a window/);
    expect(r.stdout + r.stderr).toMatch(/did you mean "24h"\? \(day, week, month, lifetime, or a duration/);
    expect(r.code).not.toBe(0);
  });

  it('the examples of docs/stateful-rules.md are valid rules', async () => {
    ws = workspace();
    const doc = readFileSync(resolve(REPO_ROOT, 'docs/stateful-rules.md'), 'utf8');
    const block = /```yaml\n(rules:[\s\S]*?)```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    ws.write('rules.yaml', `version: 1\n${block!}`);
    const r = await runCommand(['validate', 'rules.yaml'], { cwd: ws.dir, env: { DAILY_ITEM: 'daily' } });
    expect(r.stdout).toMatch(/valid: 5 rules on 1 event/);
    expect(r.code).toBe(0);
  });

  it('the README\'s stateful example is a valid rule', async () => {
    ws = workspace();
    const readme = readFileSync(resolve(REPO_ROOT, 'README.md'), 'utf8');
    const block = /### 7\. Remember the player[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    ws.write('rules.yaml', `version: 1\nrules:\n${block!}`);
    const r = await runCommand(['validate', 'rules.yaml'], { cwd: ws.dir });
    expect(r.stdout).toMatch(/valid: 1 rule on 1 event/);
    expect(r.code).toBe(0);
  });

  itWith(sharedSpecs(), 'the limit.key examples of docs/stateful-rules.md are valid rules on the AGS protos', async () => {
    ws = workspace();
    const doc = readFileSync(resolve(REPO_ROOT, 'docs/stateful-rules.md'), 'utf8');
    const block = /## Counting under another key[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    ws.write('rules.yaml', `version: 1\nrules:\n${block!}`);
    const r = await runCommand(['validate', 'rules.yaml', '--proto', AGS_SPECS_DIR], { cwd: ws.dir });
    expect(r.stdout + r.stderr).toMatch(/valid: 3 rules on 2 events/);
    expect(r.code).toBe(0);
  });

  it('rule tests: a history under a name that is neither the player nor a key fails the case (it would be silently unused)', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    ws.write(
      'rules.test.yaml',
      `version: 1
cases:
  - name: history under a nickname
    event: userLoggedIn
    now: 2026-03-01T12:00:00Z
    data: { namespace: mygame, userId: ${USER} }
    history:
      bob:
        firings: [ { rule: daily-login-reward, at: 2026-03-01T01:00:00Z } ]
    expect: { suppressed: [daily-login-reward] }
`,
    );
    const r = await runCommand(['test'], { cwd: ws.dir, env: { RULES_FILE: `${ws.dir}/rules.yaml` } });
    expect(r.stdout + r.stderr).toMatch(/history: "bob" is not the event's player \(data\.userId\) and no rule on this event has a limit\.key/);
    expect(r.code).not.toBe(0);
  });

  it('rule tests: a limit.key rule reads the key\'s record from history under the key\'s value', async () => {
    ws = workspace();
    ws.write(
      'rules.yaml',
      `version: 1
rules:
  - name: country-daily
    on: userLoggedIn
    limit: { count: 1, per: day, key: "\${event.payload.userAccount.country}" }
    do: [ { grantItem: { itemId: daily, userId: "\${event.userId}" } } ]
`,
    );
    ws.write(
      'rules.test.yaml',
      `version: 1
env: { AB_NAMESPACE: mygame }
cases:
  - name: the country already had its firing today
    event: userLoggedIn
    now: 2026-03-01T12:00:00Z
    data: { namespace: mygame, userId: ${USER}, payload: { userAccount: { country: FR } } }
    history:
      FR:
        firings: [ { rule: country-daily, at: 2026-03-01T01:00:00Z } ]
    expect: { matched: [], suppressed: [country-daily] }
  - name: another country has not
    event: userLoggedIn
    now: 2026-03-01T12:00:00Z
    data: { namespace: mygame, userId: ${USER}, payload: { userAccount: { country: JP } } }
    history:
      FR:
        firings: [ { rule: country-daily, at: 2026-03-01T01:00:00Z } ]
    expect: { matched: [country-daily] }
`,
    );
    const r = await runCommand(['test'], { cwd: ws.dir, env: { RULES_FILE: `${ws.dir}/rules.yaml` } });
    expect(r.stdout + r.stderr).toMatch(/2 passed/);
    expect(r.code).toBe(0);
  });
});
