/**
 * Issue 15, "Time": no answer depends on the process's time zone, and an
 * instant that does not exist is refused wherever it is read. The built CLI
 * runs the same rules and rule tests under two time zones 25 hours apart: one
 * process per zone (TZ is the process's), running `test` and `explain` there
 * (runCommandsAt: dist's runCli, as the bin runs each).
 */
import { spawnSync } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, childEnv, runCommand, runCommandsAt, workspace } from './support.js';
import { REPO_ROOT } from '../support/prereq.js';
import type { Workspace } from './support.js';

const ZONES = ['Pacific/Kiritimati', 'Pacific/Pago_Pago'];

const RULES = `version: 1
rules:
  - name: december
    on: userLoggedIn
    activeFrom: 2026-12-01T00:00:00+09:00
    activeUntil: 2027-01-01T00:00:00Z
    when: { and: [{ after: [{ var: timestamp }, "2026-11-30T15:00:00Z"] }, { within: [{ var: timestamp }, "24h"] }] }
    do:
      - log: { message: december }
  - name: event-time-without-offset
    on: userLoggedIn
    when: { before: [{ var: payload.userAccount.displayName }, "2026-12-01T00:00:00Z"] }
    do:
      - log: { message: never }
`;

const TESTS = `version: 1
now: 2026-11-30T15:30:00Z
cases:
  - name: just after activeFrom (00:00 in Tokyo)
    event: userLoggedIn
    data: { timestamp: "2026-11-30T15:10:00Z", payload: { userAccount: { displayName: "2026-11-30T00:00:00" } } }
    expect:
      matched: [december]
      errors: [event-time-without-offset]
  - name: before activeFrom
    event: userLoggedIn
    now: 2026-11-30T14:59:59.999Z
    data: { timestamp: "2026-11-30T15:10:00Z" }
    expect: { matched: [], errors: [event-time-without-offset] }
`;

let ws: Workspace;
beforeAll(() => assertBuilt());
afterEach(() => ws?.remove());

describe('time zones', () => {
  it("the processes the tests spawn (the bin, the server) run in the test run's time zone: .ci/run's TZ pass covers them", () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Pacific/Kiritimati';
    try {
      const zone = spawnSync(process.execPath, ['-p', 'Intl.DateTimeFormat().resolvedOptions().timeZone'], { env: childEnv({}), encoding: 'utf8' });
      expect(zone.stdout.trim()).toBe('Pacific/Kiritimati');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('rule tests and explain give the same answers under UTC+14 and UTC-11; an event instant without offset is an error, not a local time', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    ws.write('rules.test.yaml', TESTS);
    const outputs: string[] = [];
    for (const TZ of ZONES) {
      const { results, stray } = await runCommandsAt(
        REPO_ROOT,
        [
          { args: ['test', 'rules.test.yaml'] },
          {
            args: ['explain', 'userLoggedIn', '--data', '-', '--now', '2026-11-30T15:30:00Z', '--json', '--rules', 'rules.yaml'],
            stdin: JSON.stringify({ timestamp: '2026-11-30T15:10:00Z', payload: { userAccount: { displayName: '2026-11-30T00:00:00' } } }),
          },
        ],
        { cwd: ws.dir, env: { TZ } },
      );
      expect(stray).toBe('');
      const [t, x] = results;
      expect(t!.stdout, TZ).toBe('✓ just after activeFrom (00:00 in Tokyo)\n✓ before activeFrom\n2 passed, 0 failed\n');
      expect(t!.code).toBe(0);
      const parsed = JSON.parse(x!.stdout) as { rules: { rule: string; outcome: string; error?: string }[] };
      expect(parsed.rules.map((r) => [r.rule, r.outcome])).toEqual([
        ['december', 'matched'],
        ['event-time-without-offset', 'error'],
      ]);
      expect(parsed.rules[1]!.error).toBe('before: "2026-11-30T00:00:00" has no UTC offset (it would be read in the machine\'s time zone)');
      outputs.push(x!.stdout.replace(/"rulesFile": "[^"]*"/, ''));
    }
    expect(outputs[0]).toBe(outputs[1]);
  });

  it('impossible or offset-less clocks are refused: rule-test now: and explain --now', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    ws.write('rules.test.yaml', TESTS.replace('now: 2026-11-30T15:30:00Z', 'now: 2026-02-30T00:00:00Z').replace('now: 2026-11-30T14:59:59.999Z', 'now: 2026-11-30T14:59:59'));
    const t = await runCommand(['test', 'rules.test.yaml'], { cwd: ws.dir });
    expect(t.stderr).toContain('now: "2026-02-30T00:00:00Z" is not a date: 2026-02 has no day 30');
    expect(t.stderr).toContain('now: "2026-11-30T14:59:59" has no UTC offset');
    expect(t.code).toBe(2);
    const x = await runCommand(['explain', 'userLoggedIn', '--now', '2026-12-01T10:00:00', '--rules', 'rules.yaml'], { cwd: ws.dir });
    expect(x.stderr).toContain('--now: "2026-12-01T10:00:00" has no UTC offset');
    expect(x.stderr).toContain('give the offset: 2026-12-01T10:00:00Z (UTC) or 2026-12-01T10:00:00+02:00');
    expect(x.code).toBe(2);
  });
});
