/**
 * Rule tests and explain with a player's history written by hand (issue 14):
 * the mistakes a live-ops person makes in a `history:` fixture are format
 * errors with line and column (a firing of a rule that does not exist, an
 * entry after the event, the history of another player than the event's, a
 * history without `now:`, an expected rule name that does not exist), never a
 * silent pass or a confusing diff; `explain --history` reports the same with
 * line and column and shows when a cooldown ends. The command (in-process, as the bin runs it) on real files.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCommand, workspace } from './support.js';
import type { Workspace } from './support.js';

const USER = '0123456789abcdef0123456789abcdef';
const OTHER = 'fedcba9876543210fedcba9876543210';
const RULES = `version: 1
rules:
  - name: daily-login-reward
    on: userLoggedIn
    limit: { count: 1, per: day, timeZone: Asia/Tokyo }
    do: [ { grantItem: { itemId: daily } } ]
  - name: gift-every-6h
    on: userLoggedIn
    cooldown: 6h
    do: [ { creditWallet: { currencyCode: GEMS, amount: 5 } } ]
`;

let ws: Workspace;
beforeAll(() => assertBuilt());
afterEach(() => ws?.remove());

describe('history fixtures with mistakes', () => {
  it('rule tests: each mistake is a format error at its line and column, with the fix', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    ws.write(
      'rules.test.yaml',
      `version: 1
cases:
  - name: a firing of a rule that does not exist
    event: userLoggedIn
    now: 2026-03-01T14:59:30Z
    data: { userId: ${USER} }
    history:
      ${USER}:
        firings: [ { rule: daily-login-rewrd, at: 2026-03-01T00:00:00Z } ]
    expect: { suppressed: [daily-login-reward] }
  - name: the history of another player
    event: userLoggedIn
    now: 2026-03-01T14:59:30Z
    data: { userId: ${USER} }
    history:
      ${OTHER}:
        firings: [ { rule: daily-login-reward, at: 2026-03-01T00:00:00Z } ]
    expect: { suppressed: [daily-login-reward] }
  - name: no now
    event: userLoggedIn
    data: { userId: ${USER} }
    history:
      ${USER}:
        firings: [ { rule: daily-login-reward, at: 2026-03-01T00:00:00Z } ]
    expect: { suppressed: [daily-login-reward] }
  - name: an entry after the event
    event: userLoggedIn
    now: 2026-03-01T00:00:00Z
    data: { userId: ${USER} }
    history:
      ${USER}:
        firings: [ { rule: gift-every-6h, at: 2026-03-01T05:00:00Z } ]
    expect: { suppressed: [gift-every-6h] }
  - name: expected rules that do not exist
    event: userLoggedIn
    now: 2026-03-01T00:00:00Z
    data: { userId: ${USER} }
    expect: { suppressed: [gift-every-6], matched: [daily-login-rewards] }
`,
    );
    const r = await runCommand(['test'], { cwd: ws.dir, env: { RULES_FILE: `${ws.dir}/rules.yaml` } });
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      'rules.test.yaml:9:28: no rule is named "daily-login-rewrd": did you mean "daily-login-reward"?',
      `rules.test.yaml:16:7: history of "${OTHER}", but the case's event is about userId "${USER}" (data.userId): the history is the record of the event's player`,
      'rules.test.yaml:22:5: a case with a history needs "now:" (the instant of its event, e.g. now: 2026-03-01T12:00:00Z), in the case or at the top of the file',
      'rules.test.yaml:32:47: "at" 2026-03-01T05:00:00.000Z is after now (2026-03-01T00:00:00.000Z): a history holds what happened before the event; set "now" or move the entry',
      'rules.test.yaml:38:28: suppressed: no rule is named "gift-every-6": did you mean "gift-every-6h"?',
      'rules.test.yaml:38:53: matched: no rule is named "daily-login-rewards": did you mean "daily-login-reward"?',
    ]);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
  });

  it('rule tests: a now at the top of the file serves the cases with a history; expect.suppressed passes and fails on the limit and the cooldown', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    ws.write(
      'rules.test.yaml',
      `version: 1
now: 2026-03-01T03:00:00Z
cases:
  - name: both refused
    event: userLoggedIn
    data: { userId: ${USER} }
    history:
      ${USER}:
        firings: [ { rule: daily-login-reward, at: 2026-03-01T00:00:00Z }, { rule: gift-every-6h, at: 2026-03-01T00:00:00Z } ]
    expect: { matched: [], suppressed: [daily-login-reward, gift-every-6h] }
  - name: wrongly expected to be refused
    event: userLoggedIn
    data: { userId: ${USER} }
    history:
      ${USER}:
        firings: [ { rule: gift-every-6h, at: 2026-02-28T20:59:59Z } ]
    expect: { suppressed: [gift-every-6h] }
`,
    );
    const r = await runCommand(['test'], { cwd: ws.dir, env: { RULES_FILE: `${ws.dir}/rules.yaml` } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/✓ both refused/);
    expect(r.stdout).toMatch(/✗ wrongly expected to be refused[\s\S]*- suppressed: gift-every-6h[\s\S]*gift-every-6h: matched \(cooldown 6h, last firing 2026-02-28T20:59:59.000Z\)/);
    expect(r.stdout).toMatch(/1 passed, 1 failed/);
    expect(r.code).toBe(1);
  });

  it('rule tests: the history firings of a rule in shadow mode count for it, as the server records them (apart from its live firings)', async () => {
    ws = workspace();
    ws.write('rules.yaml', `version: 1
rules:
  - name: first-login-bonus
    on: userLoggedIn
    mode: shadow
    limit: { count: 1, per: lifetime }
    do: [ { grantItem: { itemId: first-bonus } } ]
`);
    ws.write(
      'rules.test.yaml',
      `version: 1
now: 2026-03-01T03:00:00Z
cases:
  - name: the shadow rule already fired for this player
    event: userLoggedIn
    data: { userId: ${USER} }
    history:
      ${USER}:
        firings: [ { rule: first-login-bonus, at: 2026-02-01T00:00:00Z } ]
    expect: { matched: [], suppressed: [first-login-bonus] }
`,
    );
    const r = await runCommand(['test'], { cwd: ws.dir, env: { RULES_FILE: `${ws.dir}/rules.yaml` } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/1 passed, 0 failed/);
    expect(r.code).toBe(0);
  });

  it('explain --history: mistakes at their line and column; a cooldown that refuses says when the rule fires again', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    ws.write('event.json', JSON.stringify({ namespace: 'mygame', userId: USER }));
    ws.write('bad.yaml', 'events:\n  - { event: userLogedIn, at: 2026-03-01T00:00:00Z }\n  - { event: userLoggedIn, at: 2026-03-05T00:00:00Z }\nfirings:\n  - { rule: gift-every-6, at: 2026-03-01T00:00:00Z }\n  - { rule: gift-every-6h, at: yesterday }\n');
    const bad = await runCommand(['explain', 'userLoggedIn', '--data', 'event.json', '--now', '2026-03-01T03:00:00Z', '--history', 'bad.yaml', '--rules', 'rules.yaml'], { cwd: ws.dir });
    expect(bad.stderr).toMatch(/^bad\.yaml:2:14: unknown event "userLogedIn"/m);
    expect(bad.stderr).toMatch(/^bad\.yaml:3:32: "at" 2026-03-05T00:00:00.000Z is after now/m);
    expect(bad.stderr).toMatch(/^bad\.yaml:5:13: no rule is named "gift-every-6": did you mean "gift-every-6h"\?/m);
    expect(bad.stderr).toMatch(/^bad\.yaml:6:32: "at" must be an RFC 3339 instant/m);
    expect(bad.code).toBe(2);
    ws.write('history.yaml', 'firings:\n  - { rule: gift-every-6h, at: 2026-03-01T00:00:00Z }\n');
    const ok = await runCommand(['explain', 'userLoggedIn', '--data', 'event.json', '--now', '2026-03-01T03:00:00Z', '--history', 'history.yaml', '--rules', 'rules.yaml'], { cwd: ws.dir });
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/✗ gift-every-6h {2}suppressed by its cooldown/);
    expect(ok.stdout).toMatch(/✗ cooldown 6h: last firing 2026-03-01T00:00:00.000Z; fires again from 2026-03-01T06:00:00.000Z/);
    expect(ok.stdout).toMatch(/✓ limit: 0 of 1 firing per day Asia\/Tokyo before this event\n/);
    // refused by a calendar limit: when the Tokyo day ends
    ws.write('daily.yaml', 'firings:\n  - { rule: daily-login-reward, at: 2026-03-01T00:00:00Z }\n');
    const daily = await runCommand(['explain', 'userLoggedIn', '--data', 'event.json', '--now', '2026-03-01T03:00:00Z', '--history', 'daily.yaml', '--rules', 'rules.yaml'], { cwd: ws.dir });
    expect(daily.stdout).toMatch(/✗ limit: 1 of 1 firing per day Asia\/Tokyo before this event; the period ends at 2026-03-01T15:00:00.000Z/);
    expect(ok.code).toBe(0);
  });
});
