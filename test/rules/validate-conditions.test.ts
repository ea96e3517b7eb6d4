/**
 * Conditions validate refuses because they would decide the same for every
 * event, read the machine's time zone, name an instant that does not exist,
 * or use a regex RE2 cannot run (issues 15 and 16).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import type { RuleProblem } from '../../src/rules/types.js';
import { LOGIN, fixtureCatalog, loginEvent, testRegistry } from './support/fixtures.js';

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: testRegistry(), env: { NS: 'mygame' }, unsetEnv: 'error' };
});

function rules(ruleLines: string): string {
  return `version: 1\nrules:\n  - name: r\n    on: userLoggedIn\n${ruleLines}    do:\n      - log: { message: hi }\n`;
}

function problems(yaml: string): RuleProblem[] {
  const r = compileRulesText(yaml, 'rules.yaml', opts);
  return r.ok ? [] : [...r.problems];
}

describe('a when that is not a condition', () => {
  it.each([
    ['when: no', 'is a string, and every non-empty string is true', 'enabled: false'],
    ['when: "false"', 'is a string, and every non-empty string is true', 'enabled: false'],
    ['when: "0"', 'is a string, and every non-empty string is true', 'enabled: false'],
    ['when: false', 'the condition is the boolean false', 'enabled: false'],
    ['when: 0', 'the condition is the number 0', 'enabled: false'],
    ['when: true', 'the condition is the boolean true', 'remove "when"'],
    ['when:', 'the condition is the empty value', 'enabled: false'],
    [`when: '{"var": "namespace"}'`, 'is a string (quoted JSON), so it is always true', 'remove the quotes: {"var": "namespace"}'],
    [`when: '{"==": [{"var": "namespace"}, "other"]}'`, 'is a string (quoted JSON)', 'remove the quotes'],
    ['when: [{ var: namespace }]', 'the condition is a list', '"and"'],
    ['when: { and: [{ "==": [{ var: namespace }, mygame] }, "false"] }', 'is a string, and every non-empty string is true', 'write the boolean false unquoted'],
    ['when: { "!": "true" }', 'is a string', 'write the boolean true unquoted'],
    [`when: { or: ['{"var": "namespace"}'] }`, 'quoted JSON', 'remove the quotes'],
  ])('%s is refused with a fix', (line, message, fix) => {
    const p = problems(rules(`    ${line}\n`));
    expect(p, line).toHaveLength(1);
    expect(p[0]).toMatchObject({ code: 'logic', line: 5, rule: 'r' });
    expect(p[0]!.message).toContain(message);
    expect(p[0]!.fix).toContain(fix);
  });

  it('the same rules as conditions are accepted and decide per event', () => {
    const r = compileRulesText(rules('    when: { and: [{ "==": [{ var: namespace }, mygame] }, false] }\n'), 'rules.yaml', opts);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.rules.evaluate(LOGIN, loginEvent()).outcomes[0]!.outcome).toBe('notMatched');
  });
});

describe('instants', () => {
  it.each([
    ['    activeFrom: 2026-02-30T00:00:00Z\n', 'instant', 'activeFrom: "2026-02-30T00:00:00Z" is not a date: 2026-02 has no day 30'],
    ['    activeUntil: 2026-04-31T00:00:00+02:00\n', 'instant', 'no day 31'],
    ['    activeFrom: 2026-12-01T24:00:00Z\n', 'instant', 'is not a time of day: 24:00:00'],
    ['    activeFrom: 2026-12-01T10:60:00Z\n', 'instant', 'is not a time of day'],
    ['    activeFrom: 2025-02-29T00:00:00Z\n', 'instant', '2025-02 has no day 29'],
    ['    when: { before: [{ var: timestamp }, "2026-02-30T00:00:00Z"] }\n', 'instant', 'before: "2026-02-30T00:00:00Z" is not a date'],
    ['    when: { after: ["2026-12-01T00:00:00", { var: timestamp }] }\n', 'instant', 'has no UTC offset'],
    ['    when: { within: ["2026-12-01", "24h"] }\n', 'instant', 'has no UTC offset'],
    ['    when: { within: [{ var: timestamp }, "soon"] }\n', 'logic', 'is not a duration'],
  ])('%s', (line, code, message) => {
    const p = problems(rules(line));
    expect(p.map((x) => x.code)).toEqual([code]);
    expect(p[0]!.message).toContain(message);
    expect(p[0]!.fix).toBeTruthy();
  });

  it('an offset-less literal gets the fix with its offset written out', () => {
    const p = problems(rules('    when: { after: [{ var: timestamp }, "2026-12-01T00:00:00"] }\n'));
    expect(p[0]!.fix).toBe('give the offset: 2026-12-01T00:00:00Z (UTC) or 2026-12-01T00:00:00+02:00');
  });

  it('existing instants (leap day, offsets, fractions) are accepted', () => {
    const yaml = rules('    activeFrom: 2028-02-29T23:59:59.999+14:00\n    activeUntil: 2028-03-01T00:00:00-12:00\n    when: { before: [{ var: timestamp }, "2026-12-01T09:00:00.5+09:00"] }\n');
    expect(problems(yaml)).toEqual([]);
  });
});

describe('matches and var', () => {
  it('a pattern RE2 cannot run (backreference, lookaround) is refused with a fix', () => {
    for (const pattern of ['(a)\\\\1', '(?=a)b', '(?<!a)b']) {
      const p = problems(rules(`    when: { matches: [{ var: userId }, "${pattern}"] }\n`));
      expect(p.map((x) => x.code), pattern).toEqual(['bad-regex']);
      expect(p[0]!.fix).toContain('RE2');
    }
    expect(problems(rules('    when: { matches: [{ var: userId }, "^a", "g"] }\n'))[0]!.message).toContain('stateful');
  });

  it('paths that would reach inherited properties are refused; ../ outside an iterator too', () => {
    for (const path of ['__proto__', 'payload.constructor', 'payload.loginLocation.__proto__.polluted', 'prototype']) {
      const p = problems(rules(`    when: { var: "${path}" }\n`));
      expect(p.map((x) => x.code), path).toEqual(['forbidden-segment']);
    }
    const climb = problems(rules('    when: { "==": [{ var: "../namespace" }, mygame] }\n'));
    expect(climb).toHaveLength(1);
    expect(climb[0]!.fix).toBe('write {"var": "namespace"}');
    expect(problems(rules('    when: { some: [{ var: payload.tags }, { "==": [{ var: "../namespace" }, mygame] }] }\n'))).toEqual([]);
  });
});

describe('paths read by missing, missing_some, val and exists', () => {
  it('a typo is an error at the key, with did you mean (it would be missing on every event)', () => {
    for (const [when, typo, fix] of [
      ['{ missing: [payload.tgs] }', 'payload.tgs', 'payload.tags'],
      ['{ missing: usrId }', 'usrId', 'userId'],
      ['{ missing: [[namespace, payload.tgs]] }', 'payload.tgs', 'payload.tags'],
      ['{ missing: [namespace, [usrId, 0]] }', 'usrId', 'userId'],
      ['{ missing_some: [1, [namespace, usrId]] }', 'usrId', 'userId'],
      ['{ "!": { exists: [payload, tgs] } }', '[payload, tgs]', 'payload.tags'],
      ['{ "==": [{ val: [usrId] }, x] }', '[usrId]', 'userId'],
    ] as const) {
      const p = problems(rules(`    when: ${when}\n`));
      expect(p.map((x) => [x.code, x.line, x.column]), when).toEqual([['unknown-path', 5, 11 + when.indexOf(typo)]]);
      expect(p[0]!.fix, when).toBe(`did you mean "${fix}"?`);
    }
  });

  it('existing paths, computed keys and keys inside an iterator are accepted', () => {
    for (const when of [
      '{ missing: [userId, payload.loginLocation, [payload.tags, 0]] }',
      '{ missing_some: [1, [userId, namespace]] }',
      '{ exists: [payload, loginLocation] }', '{ val: [[payload, tags], 0] }',
      '{ missing: { if: [true, [userId], [namespace]] } }',
      '{ some: [{ var: payload.tags }, { missing: [anything] }] }',
    ]) {
      expect(problems(rules(`    when: ${when}\n`)), when).toEqual([]);
    }
  });
});

describe('the fix of an unknown path with nothing close', () => {
  it("lists the fields of the message the path reached, by the names var reads", () => {
    const p = problems(rules('    when: { var: payload.qqqqqqqqqq }\n'));
    expect(p.map((x) => x.code)).toEqual(['unknown-path']);
    expect(p[0]!.message).toContain('(at payload)');
    expect(p[0]!.fix).not.toContain('user_id');
    expect(p[0]!.fix).toMatch(/^fields: /);
    expect(p[0]!.fix).not.toMatch(/\bpayload\b/);
  });
});

