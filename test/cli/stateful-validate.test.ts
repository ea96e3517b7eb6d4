/**
 * `validate` on the mistakes a live-ops person makes in stateful rules (issue
 * 14): the command (in-process, as the bin runs it) on a file; every problem has the file, line, column, a
 * code and a fix. Names the tz database uses today (Asia/Kolkata) and an
 * unquoted resetAt (YAML reads 05:00 as text) are accepted.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCommand, workspace } from './support.js';
import type { Workspace } from './support.js';

let ws: Workspace;
beforeAll(() => assertBuilt());
afterEach(() => ws?.remove());

/** One rule per mistake: name -> [fields of the rule (YAML flow), the message expected, the fix expected]. */
const MISTAKES: Readonly<Record<string, readonly [string, RegExp, RegExp]>> = {
  'zone-abbreviation': ['limit: { count: 1, per: day, timeZone: JST }', /"JST" is not an IANA time zone name/, /Asia\/Tokyo/],
  'zone-offset': ['limit: { count: 1, per: day, timeZone: UTC+9 }', /"UTC\+9" is not an IANA time zone name/, /offsets like \+09:00 do not follow daylight saving/],
  'zone-case': ['limit: { count: 1, per: day, timeZone: asia/tokyo }', /"asia\/tokyo" is not an IANA/, /^write Asia\/Tokyo$/],
  'reset-one-digit': ['limit: { count: 1, per: day, resetAt: "5:00" }', /resetAt must be a local time HH:MM/, /"05:00"/],
  'reset-24': ['limit: { count: 1, per: day, resetAt: "24:00" }', /HH:MM \(00:00 to 23:59\), not "24:00"/, /"05:00"/],
  'reset-60': ['limit: { count: 1, per: day, resetAt: "05:60" }', /not "05:60"/, /"05:00"/],
  'reset-on-duration': ['limit: { count: 1, per: 24h, resetAt: "05:00" }', /resetAt applies to day, week or month/, /remove resetAt/],
  'window-word': ['limit: { count: 1, per: fortnight }', /"fortnight" is not a window/, /day, week, month, lifetime, or a duration/],
  'window-month-duration': ['limit: { count: 1, per: P1M }', /"P1M" is not a window/, /P7D/],
  'limit-unknown-key': ['limit: { count: 1, per: day, zone: Asia/Tokyo }', /unknown key "zone" in limit/, /./],
  'limit-count-fraction': ['limit: { count: 1.5, per: day }', /limit.count must be integer/, /whole number from 1 to 100000/],
  'limit-count-zero': ['limit: { count: 0, per: day }', /limit.count must be >= 1/, /from 1 to 100000/],
  'limit-not-map': ['limit: 1', /limit must be object/, /a map of count, per/],
  'limit-no-per': ['limit: { count: 1 }', /missing the required key "per"/, /add per/],
  'cooldown-number': ['cooldown: 6', /cooldown must be string or object/, /a duration with its unit: "6h", "6m" or "PT6H"/],
  'empty-zone': ['limit: { count: 1, per: day, timeZone: "" }', /limit.timeZone must NOT have fewer than 1 characters/, /remove timeZone/],
  'empty-window': ['limit: { count: 1, per: "" }', /limit.per must NOT have fewer than 1 characters/, /write a value/],
  'empty-cooldown': ['cooldown: ""', /cooldown must NOT have fewer than 1 characters/, /write a value/],
  'cooldown-words': ['cooldown: 6 hours', /cooldown: "6 hours" is not a duration/, /6h, 90m or PT6H/],
  'count-unknown-event': ['when: { ">=": [ { count: [ userLogedIn, 24h ] }, 3 ] }', /count: unknown event "userLogedIn"/, /did you mean "userLoggedIn"/],
  'streak-unknown-event': ['when: { ">=": [ { streak: [ noSuchEvent, day ] }, 3 ] }', /streak: unknown event "noSuchEvent"/, /samples --list/],
  'count-number-window': ['when: { ">=": [ { count: [ userLoggedIn, 24 ] }, 3 ] }', /24 is not a window/, /24h/],
  'count-number-zone': ['when: { ">=": [ { count: [ userLoggedIn, day, 9 ] }, 3 ] }', /the time zone must be an IANA name, not 9/, /Asia\/Tokyo/],
  'streak-month': ['when: { ">=": [ { streak: [ userLoggedIn, month ] }, 3 ] }', /streak counts consecutive days or weeks/, /write day or week/],
  'streak-zone': ['when: { ">=": [ { streak: [ userLoggedIn, day, Tokyo ] }, 3 ] }', /"Tokyo" is not an IANA/, /./],
  'fired-unknown-rule': ['when: { ">=": [ { fired: [ daily-login-rewrd, day ] }, 1 ] }', /fired: no rule is named "daily-login-rewrd"/, /did you mean "daily-login-reward"/],
  'count-variable': ['when: { ">=": [ { count: [ { var: name }, 24h ] }, 1 ] }', /arguments of count must be written as literal text/, /plain values/],
  'count-one-argument': ['when: { ">=": [ { count: [ userLoggedIn ] }, 1 ] }', /count takes \[event, window, timeZone\?, resetAt\?\]/, /userLoggedIn, 24h/],
  'count-zone-on-duration': ['when: { ">=": [ { count: [ userLoggedIn, 24h, Asia/Tokyo ] }, 1 ] }', /a time zone applies to day, week or month/, /remove the time zone/],
  'operator-typo': ['when: { ">=": [ { cuont: [ userLoggedIn, 24h ] }, 1 ] }', /unknown JSON Logic operator "cuont"/, /did you mean "count"/],
};

describe('validate: stateful rules', () => {
  it('every mistake is reported with file, line, column, code and a fix; nothing else is reported', async () => {
    ws = workspace();
    const lines = ['version: 1', 'rules:', '  - name: daily-login-reward', '    on: userLoggedIn', '    limit: { count: 1, per: day, timeZone: Asia/Kolkata, resetAt: 05:00 }', '    do: [ { log: { message: ok } } ]'];
    const lineOf: Record<string, number> = {};
    for (const [name, [fields]] of Object.entries(MISTAKES)) {
      lines.push(`  - name: ${name}`, '    on: userLoggedIn');
      lineOf[name] = lines.length + 1;
      lines.push(`    ${fields}`, '    do: [ { log: { message: x } } ]');
    }
    ws.write('rules.yaml', `${lines.join('\n')}\n`);
    const r = await runCommand(['validate', 'rules.yaml'], { cwd: ws.dir });
    const out = (r.stdout + r.stderr).split('\n');
    const problems = out.flatMap((l, i) => {
      const m = /^(.*rules\.yaml):(\d+):(\d+): error \[([a-z-]+)\] rule "([^"]+)": (.*)$/.exec(l);
      const fix = /^\s+fix: (.*)$/.exec(out[i + 1] ?? '')?.[1];
      return m ? [{ line: Number(m[2]), column: Number(m[3]), code: m[4]!, rule: m[5]!, message: m[6]!, fix }] : [];
    });
    for (const [name, [, message, fix]] of Object.entries(MISTAKES)) {
      const found = problems.filter((p) => p.rule === name);
      expect(found, name).toHaveLength(1);
      expect(found[0]!.line, name).toBe(lineOf[name]);
      expect(found[0]!.column, name).toBeGreaterThan(4);
      expect(found[0]!.message, name).toMatch(message);
      expect(found[0]!.fix, name).toMatch(fix);
    }
    expect(problems.filter((p) => p.rule === 'daily-login-reward')).toEqual([]);
    expect(out.join('\n')).toMatch(new RegExp(`invalid: ${Object.keys(MISTAKES).length} problems`));
    expect(r.code).toBe(1);
  });
});
