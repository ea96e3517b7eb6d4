import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRules } from '../../src/rules/load.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import { formatProblems } from '../../src/rules/format.js';
import type { RuleProblem } from '../../src/rules/types.js';
import { FIXTURES, fixtureCatalog, testRegistry } from './support/fixtures.js';

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: testRegistry(), env: {}, unsetEnv: 'error' };
});

async function problemsOf(name: string): Promise<RuleProblem[]> {
  const file = resolve(FIXTURES, 'invalid', name);
  const r = await loadRules({ ...opts, file });
  expect(r.ok, `${name} should be invalid`).toBe(false);
  if (r.ok) return [];
  for (const p of r.problems) expect(p.file).toBe(file);
  return [...r.problems];
}

// [fixture, code, line, column, rule, message (exact), fix (substring or undefined)]
const CASES: [string, string, number, number, string | undefined, string, string | undefined][] = [
  ['yaml-syntax.yaml', 'yaml-syntax', 6, 1, undefined, 'Flow sequence in block collection must be sufficiently indented and end with a ]', undefined],
  ['unknown-key.yaml', 'unknown-key', 5, 5, 'typo', 'unknown key "enabeld" in a rule', 'did you mean "enabled"?'],
  ['unknown-param.yaml', 'unknown-key', 8, 11, 'typo-param', 'unknown key "quantiy" in the parameters of grant', 'did you mean "quantity"?'],
  ['wrong-type.yaml', 'wrong-type', 8, 21, 'bad-quantity', 'grant.quantity must be integer', undefined],
  ['missing-param.yaml', 'missing-key', 7, 11, 'no-item', 'grant is missing the required key "itemId"', undefined],
  // one mistake, one problem: not also "grant is missing the required key itemId"
  ['misspelt-required-param.yaml', 'unknown-key', 7, 11, 'misspelt-item', 'unknown key "itemID" in the parameters of grant', 'did you mean "itemId"?'],
  // the actions under another key than do: one problem (not also "the rule is missing the required key do"), and not "did you mean when"
  ['actions-not-under-do.yaml', 'unknown-key', 5, 5, 'then-actions', 'unknown key "then" in a rule', 'did you mean "do"? (a rule\'s actions go under do:)'],
  // a list written as a map (the "- " left out)
  ['rules-map.yaml', 'wrong-type', 3, 3, undefined, 'rules must be a list, not a map', 'write its items as "- name: ..." (each rule starts with "- ")'],
  ['do-map.yaml', 'wrong-type', 6, 7, 'do-map', 'do must be a list, not a map', 'write its items as "- grant: ..." (each action starts with "- ")'],
  ['version.yaml', 'version', 1, 10, undefined, 'unsupported version 2: this release reads version 1', 'version: 1'],
  ['unknown-event.yaml', 'unknown-event', 4, 9, 'misspelled', 'unknown event "userLogedIn"', 'did you mean "userLoggedIn"?'],
  ['unloaded-event.yaml', 'unknown-event', 4, 9, 'not-loaded', 'unknown event "zzzQuestCompletedXyzzy"', 'run "extend-event-rules samples --list" for the loaded events; for another AGS event, download its .proto from https://github.com/AccelByte/accelbyte-api-proto (asyncapi/accelbyte/...) into proto/ (PROTO_DIR), keeping its folder path, and restart the server (it loads protos at start-up)'],
  ['bare-list.yaml', 'wrong-type', 1, 1, undefined, 'the file must be object', 'the file is a list of rules: start it with "version: 1" and "rules:", then the list indented under rules:'],
  ['flow-template.yaml', 'yaml-syntax', 6, 26, undefined, 'unquoted ${env.ITEM_ID_TO_GRANT} inside { } or [ ]: there YAML reads { and } as its own syntax', 'quote it: itemId: "${env.ITEM_ID_TO_GRANT}" (or write the map in block style, one key per line)'],
  ['unknown-action.yaml', 'unknown-action', 7, 9, 'misspelled-action', 'unknown action "grnat"', 'did you mean "grant"?'],
  // the list of actions, not the item keys forEach, as, max, id
  ['unknown-action-far.yaml', 'unknown-action', 6, 9, 'unknown', 'unknown action "zzzqx"', 'registered actions: grant,'],
  // one problem with the column to indent to, not "grant must be object" + "unknown action itemId" + "split it into one list item per action"
  ['params-not-indented.yaml', 'schema', 7, 9, 'flat-params', '"itemId", "quantity" are not indented under grant: YAML reads them beside grant (line 6), whose parameters are then empty', 'start "itemId", "quantity" at column 11, 2 spaces deeper than grant (or write - grant: { itemId: ... })'],
  ['unknown-operator.yaml', 'unknown-operator', 7, 11, 'bad-operator', 'unknown JSON Logic operator "startWith"', 'did you mean "startsWith"?'],
  ['unknown-path.yaml', 'unknown-path', 5, 27, 'bad-path', 'var "payload.loginLocaton.country": LoginPayload has no field "loginLocaton" (at payload)', 'did you mean "payload.loginLocation"?'],
  ['not-an-index.yaml', 'unknown-path', 5, 27, 'list', 'var "payload.items.itemId": payload.items is a list: "itemId" is not an index', 'payload.items.0.itemId'],
  ['unknown-event-ref.yaml', 'unknown-path', 8, 19, 'bad-ref', '${event.user_id}: UserLoggedIn has no field "user_id"', 'did you mean "userId"?'],
  ['unset-env.yaml', 'unset-env', 7, 19, 'needs-env', 'environment variable ITEM_ID_TO_GRANT is not set (${env.ITEM_ID_TO_GRANT})', '${env.ITEM_ID_TO_GRANT:-value}'],
  ['duplicate-name.yaml', 'duplicate-name', 7, 11, 'twice', 'rule name "twice" is already used by the rule at line 3', 'unique'],
  ['forbidden-segment.yaml', 'forbidden-segment', 5, 27, 'proto-pollution', 'the path segment "constructor" is not allowed (it would read the object prototype)', undefined],
  ['window.yaml', 'window', 6, 18, 'backwards', 'activeUntil (2026-12-01T00:00:00Z) is not after activeFrom (2026-12-24T00:00:00Z)', 'activeUntil later'],
  ['bad-instant.yaml', 'schema', 5, 17, 'no-offset', 'activeFrom is not an ISO 8601 instant with offset', '2026-12-01T00:00:00+00:00'],
  ['template.yaml', 'template', 7, 20, 'bad-namespace', 'unknown reference "${user.name}": "user" is not a namespace', '${env.NAME:-default}'],
  ['event-ref-in-when.yaml', 'template', 5, 20, 'ref-in-when', '${event.namespace} cannot be used in "when": conditions read the event with var', '{"var": "namespace"}'],
  ['bad-regex.yaml', 'bad-regex', 5, 40, 'regex', 'invalid regular expression: error parsing regexp: missing closing ): `(unclosed` (RE2 syntax: no backreferences such as \\1, no lookahead or lookbehind)', undefined],
  ['no-actions.yaml', 'schema', 5, 9, 'idle', 'the rule has no actions: "do" needs at least one', undefined],
  ['alias-bomb.yaml', 'limits', 1, 1, undefined, 'Excessive alias count indicates a resource exhaustion attack', 'at most 100'],
  ['too-deep.yaml', 'limits', 5, 214, undefined, 'nesting deeper than 32 levels', undefined],
];

describe('one fixture per validation error', () => {
  it.each(CASES)('%s -> %s at %i:%i', async (fixture, code, line, column, rule, message, fix) => {
    const problems = await problemsOf(fixture);
    expect(problems).toHaveLength(1);
    const p = problems[0]!;
    expect({ code: p.code, line: p.line, column: p.column, rule: p.rule, message: p.message, severity: p.severity }).toEqual({ code, line, column, rule, message, severity: 'error' });
    if (fix === undefined) expect(p.fix === undefined || typeof p.fix === 'string').toBe(true);
    else expect(p.fix).toContain(fix);
  });
});

describe('validation as a whole', () => {
  it('reports every problem of a file at once, sorted by position', () => {
    const r = compileRulesText(
      `version: 1
rules:
  - name: a
    on: userLogedIn
    do: [{ log: { message: hi } }]
  - name: b
    on: userLoggedIn
    when: { "==": [{ var: nmespace }, x] }
    do: [{ grnat: {} }]
`,
      'multi.yaml',
      opts,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => [p.line, p.code, p.rule])).toEqual([
      [4, 'unknown-event', 'a'],
      [8, 'unknown-path', 'b'],
      [9, 'unknown-action', 'b'],
    ]);
  });

  it('unsetEnv "warn" substitutes "" and warns instead of failing', () => {
    const yaml = 'version: 1\nrules:\n  - name: r\n    on: userLoggedIn\n    do:\n      - log:\n          message: ${env.NOPE}\n';
    const strict = compileRulesText(yaml, 'f.yaml', opts);
    expect(strict.ok).toBe(false);
    const lax = compileRulesText(yaml, 'f.yaml', { ...opts, unsetEnv: 'warn' });
    expect(lax.ok).toBe(true);
    expect(lax.warnings.map((w) => [w.code, w.severity, w.line])).toEqual([['unset-env', 'warning', 7]]);
  });

  it('an empty env value counts as unset; a default covers it', () => {
    const yaml = 'version: 1\nrules:\n  - name: r\n    on: userLoggedIn\n    do:\n      - log:\n          message: ${env.E:-fallback}\n';
    const r = compileRulesText(yaml, 'f.yaml', { ...opts, env: { E: '' } });
    expect(r.ok).toBe(true);
  });

  it('accepts the event by full or short service name and refuses ambiguous loose names', () => {
    for (const on of ['test.events.v1.MatchEndedService', 'MatchEndedService', 'matchEnded']) {
      const r = compileRulesText(`version: 1\nrules:\n  - name: r\n    on: ${on}\n    do: [{ log: { message: hi } }]\n`, 'f.yaml', opts);
      expect(r.ok, on).toBe(true);
    }
  });

  it('map, Struct and repeated paths: any sub-path below maps and Struct, numeric index on lists', () => {
    const r = compileRulesText(
      `version: 1
rules:
  - name: r
    on: userLoggedIn
    when:
      and:
        - { "==": [{ var: payload.attributes.tier }, gold] }
        - { "==": [{ var: payload.extra.campaign.code }, XMAS] }
        - { "==": [{ var: payload.items.0.itemId }, sword] }
        - { some: [{ var: payload.items }, { ">": [{ var: count }, 1] }] }
        - { in: [vip, { var: payload.tags }] }
    do: [{ log: { message: hi } }]
`,
      'f.yaml',
      opts,
    );
    expect(r.ok ? [] : r.problems).toEqual([]);
  });

  it('a scalar has no fields', () => {
    const r = compileRulesText('version: 1\nrules:\n  - name: r\n    on: userLoggedIn\n    when: { var: userId.x }\n    do: [{ log: { message: hi } }]\n', 'f.yaml', opts);
    expect(r.ok ? '' : r.problems[0]!.message).toBe('var "userId.x": userId is a string: it has no field "x"');
  });

  it('a missing file is one problem, not an exception', async () => {
    const r = await loadRules({ ...opts, file: '/nonexistent/rules.yaml' });
    expect(r.ok ? '' : r.problems[0]!.code).toBe('read');
  });
});

describe('formatProblems', () => {
  const problems: RuleProblem[] = [
    { file: 'rules.yaml', line: 4, column: 9, rule: 'r', message: 'unknown event "x"', fix: 'did you mean "y"?', severity: 'error', code: 'unknown-event' },
    { file: 'a,b.yaml', line: 1, column: 1, message: '50% done\nnext', severity: 'warning', code: 'unset-env' },
  ];
  it('text', () => {
    expect(formatProblems(problems, 'text')).toBe(
      'rules.yaml:4:9: error [unknown-event] rule "r": unknown event "x"\n    fix: did you mean "y"?\na,b.yaml:1:1: warning [unset-env] 50% done\nnext\n',
    );
  });
  it('github annotations, escaped', () => {
    expect(formatProblems(problems, 'github')).toBe(
      '::error file=rules.yaml,line=4,col=9,title=rules%3A unknown-event::rule "r": unknown event "x" (did you mean "y"?)\n' +
        '::warning file=a%2Cb.yaml,line=1,col=1,title=rules%3A unset-env::50%25 done%0Anext\n',
    );
  });
  it('json', () => {
    expect(JSON.parse(formatProblems(problems, 'json'))).toEqual(problems);
  });
});
