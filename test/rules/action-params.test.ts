/**
 * Validation says at load everything the actions' own checks would refuse per
 * event: constant parameters run through the action's `normalize` (the same
 * code as at run time), templated ones are checked by the proto type of the
 * field they read and by `${env...}` values when the environment is known;
 * integers a double cannot hold exactly are refused; every problem carries
 * file:line:column, rule and fix, all reported at once.
 */
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateCommand } from '../../src/cli/validate.js';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { ActionParamError } from '../../src/actions/errors.js';
import type { Catalog } from '../../src/events/types.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import type { RuleProblem } from '../../src/rules/types.js';
import { loadCatalog } from '../../src/events/catalog.js';
import { AGS_SPECS_DIR, describeWith, sharedSpecs } from '../support/prereq.js';
import { LOGIN, MATCH, PROTO_DIR, fixtureCatalog, tempDir } from './support/fixtures.js';

let catalog: Catalog;
beforeAll(async () => {
  catalog = await fixtureCatalog();
});

const registry = createDefaultRegistry();

function compile(rules: string, extra: Partial<RulesCompileOptions> = {}) {
  const text = `version: 1\nrules:\n${rules}`;
  return compileRulesText(text, 'rules.yaml', { catalog, registry, env: { AB_NAMESPACE: 'mygame' }, unsetEnv: 'error', ...extra });
}

/** One rule on userLoggedIn with one action, written as a flow map. */
const one = (action: string, on = 'userLoggedIn') => `  - name: r\n    on: ${on}\n    do:\n      - ${action}\n`;

function problemsOf(rules: string, extra: Partial<RulesCompileOptions> = {}): { errors: RuleProblem[]; warnings: RuleProblem[] } {
  const r = compile(rules, extra);
  return { errors: r.ok ? [] : [...r.problems], warnings: [...r.warnings] };
}

describe('constant parameters: what normalize refuses per event is refused at load', () => {
  // [action as written, the text the problem points at, message (substring), fix (substring)]
  const CASES: Array<[string, string, string, string]> = [
    ['grantItem: { itemId: x, quantity: one }', 'one', 'grantItem: parameter "quantity" must be a whole number, got "one"', 'e.g. quantity: 1'],
    // ranges also sit in the file schema (editors show them): the schema reports them
    ['grantItem: { itemId: x, quantity: 0 }', '0', 'grantItem.quantity must be >= 1', ''],
    ['creditWallet: { currencyCode: C, amount: -5 }', '-5', 'creditWallet.amount must be >= 1', ''],
    ['creditWallet: { currencyCode: C, amount: lots }', 'lots', 'parameter "amount" must be a whole number, got "lots"', 'whole number from 1 to 9007199254740991'],
    ['grantItem: { itemId: x, itemSku: y }', '{', 'grantItem: takes itemId or itemSku, not both', 'keep one of itemId, itemSku'],
    ['http: { url: "not a url" }', '"not', 'parameter "url" "not a url" is not an absolute URL', ''],
    ['updateStat: { statCode: s, value: ten }', 'ten', 'parameter "value" must be a number, got "ten"', 'e.g. value: 1'],
    ['banUser: { ban: LOGIN, reason: CHEATING, duration: forever }', 'forever', 'parameter "duration" "forever" is not a duration', 'P7D'],
    ['creditWallet: { currencyCode: C, amount: 1, source: EXPIRATION }', 'EXPIRATION', 'creditWallet.source must be one of ACHIEVEMENT,', ''],
    ['notifyUser: { templateSlug: level-up, templateContext: { level: "3" } }', '{', 'notifyUser is missing the required key "topicName"', ''],
    ['banUser: { ban: LOGIN, reason: CHEATING, endDate: "2026-02-30T00:00:00Z" }', '"2026', 'is not a date that exists', 'RFC 3339'],
    ['grantEntitlement: { itemId: x, origin: steam }', 'steam', 'grantEntitlement.origin must be one of', 'Steam'],
    ['grantSeasonExp: { exp: "2147483648" }', '"2147', 'parameter "exp" must be from 1 to 2147483647, got 2147483648', ''],
  ];
  it.each(CASES)('%s', (action, marker, message, fix) => {
    const { errors } = problemsOf(one(action));
    expect(errors, JSON.stringify(errors)).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: 'rules.yaml', line: 6, column: 9 + action.indexOf(marker), rule: 'r', severity: 'error' });
    expect(errors[0]!.message).toContain(message);
    if (fix) expect(errors[0]!.fix).toContain(fix);
  });

  it('valid forms pass (no false alarms)', () => {
    const r = compile(
      one('grantItem: { itemId: x, quantity: "3", source: PROMOTION }') +
        one('creditWallet: { currencyCode: C, amount: 9007199254740991, expireAt: "2026-12-01T00:00:00+01:00" }').replace('name: r', 'name: r2') +
        one('banUser: { ban: LOGIN, reason: CHEATING, duration: 24h }').replace('name: r', 'name: r3') +
        one('notifyUser: { topicName: T, templateSlug: s, templateContext: { a: 1 } }').replace('name: r', 'name: r4') +
        one('http: { url: "https://example.com/hook" }').replace('name: r', 'name: r5'),
    );
    expect(r.ok ? [] : r.problems).toEqual([]);
    expect(r.warnings).toEqual([]);
  });

  it('every problem of a file at once, each with its position, rule and fix', () => {
    const rules = [
      'grantItem: { itemId: x, quantity: one }',
      'creditWallet: { currencyCode: C, amount: -5, expireAt: soon }',
      'grantItem: { itemId: x, itemSku: y, quantity: 0 }',
      'banUser: { ban: LOGIN, reason: CHEATING, duration: forever }',
    ]
      .map((a, i) => one(a).replace('name: r', `name: r${i}`))
      .join('');
    const { errors } = problemsOf(rules);
    expect(errors.map((p) => [p.line, p.rule, /parameter "(\w+)"|(not both)|\.(\w+) must/.exec(p.message)?.slice(1).find(Boolean)])).toEqual([
      [6, 'r0', 'quantity'],
      [10, 'r1', 'amount'],
      [10, 'r1', 'expireAt'],
      [14, 'r2', 'not both'],
      [14, 'r2', 'quantity'],
      [18, 'r3', 'duration'],
    ]);
    for (const p of errors) expect(p.fix, p.message).toBeTruthy();
  });

  it('a parameter the schema refuses does not hide a bad template or $logic in the others', () => {
    for (const action of [
      'log: { message: "${event.usrId}", lvl: info }',
      'log: { message: "${event.usrId}", level: loud }',
      'grantItem: { itemId: "${event.payload.itemId}", quantity: { $logic: { var: payload.cout } }, extra: 1 }',
    ]) {
      const { errors } = problemsOf(one(action));
      expect(errors.map((p) => p.code).sort(), action).toContain('unknown-path');
      expect(errors.length, action).toBeGreaterThanOrEqual(2);
    }
  });
});

describe('integers beyond 2^53-1 are refused, never rounded', () => {
  it('amount: 9007199254740993 (read as ...992)', () => {
    const { errors } = problemsOf(one('creditWallet: { currencyCode: C, amount: 9007199254740993 }'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 6, column: 50, rule: 'r', code: 'inexact-number' });
    expect(errors[0]!.message).toBe('do[0].creditWallet.amount is beyond 2^53-1: numbers are read as doubles and it would be rounded to 9007199254740992');
    expect(errors[0]!.fix).toContain('9007199254740991');
  });

  it('in a condition too', () => {
    const { errors } = problemsOf(`  - name: r\n    on: userLoggedIn\n    when: { ">": [{ var: payload.count }, 18014398509481985] }\n    do:\n      - log: { message: hi }\n`);
    expect(errors.map((p) => p.code)).toEqual(['inexact-number']);
  });

  it('a string of digits beyond 2^53-1 (from ${env} or an event) is refused by the action, not rounded', () => {
    const { errors } = problemsOf(one('creditWallet: { currencyCode: C, amount: "${env.BIG}" }'), { env: { BIG: '9007199254740993' } });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain('9007199254740993 is beyond 2^53-1 and cannot be sent exactly');
  });
});

describe('${env...} values are checked when the environment is known', () => {
  const rule = one('grantItem: { itemId: x, quantity: "${env.QTY}" }');
  it('with the environment (server start, validate --env-file): a bad value is an error', () => {
    const { errors } = problemsOf(rule, { env: { QTY: 'abc' } });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain('parameter "quantity" must be a whole number, got "abc"');
  });
  it('a good value passes', () => {
    expect(problemsOf(rule, { env: { QTY: '2' } })).toEqual({ errors: [], warnings: [] });
  });
  it('without the environment (validate without --env-file), an unset variable is unknown: only the unset warning', () => {
    const { errors, warnings } = problemsOf(rule, { env: {}, unsetEnv: 'warn' });
    expect(errors).toEqual([]);
    expect(warnings.map((w) => w.code)).toEqual(['unset-env']);
  });
});

describe('${event...} parameters: the proto type of the field decides', () => {
  const cases: Array<[string, string, 'error' | 'warning' | 'none', string?]> = [
    ['an int32 into amount', 'creditWallet: { currencyCode: C, amount: "${event.payload.count}" }', 'none'],
    ['an int64 into quantity', 'grantItem: { itemId: x, quantity: "${event.version}" }', 'none'],
    ['a string into amount: some values fail', 'creditWallet: { currencyCode: C, amount: "${event.id}" }', 'warning', 'reads a string field'],
    ['an enum into amount: no value can pass', 'creditWallet: { currencyCode: C, amount: "${event.payload.platform}" }', 'error', 'reads an enum field (Platform)'],
    ['an int32 into duration: never a duration', 'banUser: { ban: LOGIN, reason: CHEATING, duration: "${event.payload.count}" }', 'error', 'reads an int32 field'],
    ['a message into itemId', 'grantItem: { itemId: "${event.payload.loginLocation}" }', 'error', 'reads a message field'],
    ['a Struct value: unknown, not reported', 'grantItem: { itemId: x, quantity: "${event.payload.extra.n}" }', 'none'],
    ['text with an event value into a URL', 'http: { url: "https://example.com/u/${event.userId}" }', 'none'],
    ['a string into a spec enum (source)', 'creditWallet: { currencyCode: C, amount: 1, source: "${event.id}" }', 'warning', 'must be one of'],
    ['$logic: unknown', 'grantItem: { itemId: x, quantity: { $logic: { "+": [1, 2] } } }', 'none'],
  ];
  it.each(cases)('%s', (_what, action, expected, message) => {
    const { errors, warnings } = problemsOf(one(action));
    if (expected === 'none') {
      expect({ errors, warnings }).toEqual({ errors: [], warnings: [] });
      return;
    }
    const list = expected === 'error' ? errors : warnings;
    expect(list, JSON.stringify({ errors, warnings })).toHaveLength(1);
    expect(list[0]).toMatchObject({ line: 6, rule: 'r', code: 'invalid-params', severity: expected });
    expect(list[0]!.message).toContain(message);
    expect(list[0]!.fix).toBeTruthy();
    if (expected === 'warning') expect(errors).toEqual([]);
  });

  it('on another event, the same path is typed by that event (MatchEnded.won is a bool: the schema coerces false to 0, refused)', () => {
    expect(catalog.resolve('matchEnded')).toMatchObject({ ok: true, service: { fullName: MATCH } });
    const { errors, warnings } = problemsOf(one('grantSeasonExp: { exp: "${event.won}" }', 'matchEnded'));
    expect(errors).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain('${event.won} reads a bool field: grantSeasonExp: parameter "exp" must be >= 1');
  });
});

describe('an escaped dot in ${event...} means the same at load and per event', () => {
  it('a Struct key with a dot: accepted at load and read per event', () => {
    const r = compile(one('log: { message: "score ${event.payload.extra.a\\\\.b}" }'));
    expect(r.ok ? [] : r.problems).toEqual([]);
    if (!r.ok) return;
    const { plan, outcomes } = r.rules.evaluate(LOGIN, { userId: 'u', payload: { extra: { 'a.b': 7 } } });
    expect(outcomes).toEqual([{ rule: 'r', outcome: 'matched' }]);
    expect(plan[0]!.params).toEqual({ message: 'score 7' });
  });

  it('a proto field path with an escaped dot names no field: refused at load (the run could never read it)', () => {
    const { errors } = problemsOf(one('log: { message: "${event.payload.count\\\\.x}" }'));
    expect(errors.map((p) => p.code)).toEqual(['unknown-path']);
    expect(errors[0]!.message).toContain('LoginPayload has no field "count.x"');
  });
});

describeWith(sharedSpecs(), 'on AGS events without a userId (33 of the catalog: groups, async messaging...)', () => {
  it('an AGS action relying on the event\'s userId is refused at load, with the event\'s user fields as the fix', async () => {
    const ags = await loadCatalog({ dirs: [AGS_SPECS_DIR] });
    const rules = `version: 1\nrules:\n${one('grantItem: { itemId: x }', 'groupMemberInvitedPayload')}${one('grantItem: { itemId: x, userId: "${event.invitedUserId}" }', 'groupMemberInvitedPayload').replace('name: r', 'name: r2')}`;
    const r = compileRulesText(rules, 'rules.yaml', { catalog: ags, registry, env: {}, unsetEnv: 'error' });
    const errors = r.ok ? [] : r.problems;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 6, rule: 'r', code: 'invalid-params' });
    expect(errors[0]!.message).toContain('grantItem: parameter "userId" is empty (the event has no userId');
    expect(errors[0]!.fix).toContain('userId: "${event.requesterUserId}" (requesterUserId, invitedUserId)');
  });
});

describe('custom actions', () => {
  it('a normalize that reads event fields the load-time stand-in event lacks is not a finding; its ActionParamErrors are', () => {
    const custom = createDefaultRegistry().register({
      name: 'award',
      description: 'custom',
      params: { type: 'object', additionalProperties: false, properties: { points: { type: ['integer', 'string'] } } },
      usesAgs: false,
      normalize(params, ctx) {
        if (Number(params.points) > 100) throw new ActionParamError('award', 'points', 'is more than 100', 'award at most 100 points');
        const level = (ctx.event as { payload: { level: number } }).payload.level; // TypeError on the stand-in event
        return { points: Number(params.points) + level };
      },
      plan: () => [],
      execute: () => Promise.resolve({}),
    });
    const r = compile(one('award: { points: 5 }'), { registry: custom });
    expect(r.ok ? [] : r.problems).toEqual([]);
    const bad = compile(one('award: { points: 500 }'), { registry: custom });
    expect(bad.ok ? [] : bad.problems.map((p) => [p.line, p.message, p.fix])).toEqual([[6, 'award: parameter "points" is more than 100', 'award at most 100 points']]);
  });
});

describe('validate --env-file checks the values the environment gives', () => {
  it('a QTY that is not a whole number fails validate with the rule, position and fix; a good one passes', async () => {
    const tmp = tempDir();
    try {
      const rules = tmp.write('rules.yaml', `version: 1\nrules:\n${one('grantItem: { itemId: x, quantity: "${env.QTY}" }')}`);
      const run = async (env: string) => {
        const envFile = tmp.write('.env', env);
        let out = '';
        const sink = new Writable({ write: (c: Buffer, _e, cb) => void ((out += c.toString()), cb()) });
        const code = await validateCommand([rules, '--proto', PROTO_DIR, '--env-file', envFile], { stdout: sink, stderr: sink }, { rulesFile: rules, protoDirs: [PROTO_DIR], env: {} });
        return { code, out };
      };
      const bad = await run('QTY=lots\n');
      expect(bad.code).toBe(1);
      expect(bad.out).toContain(`${rules}:6:43: error [invalid-params] rule "r": grantItem: parameter "quantity" must be a whole number, got "lots"`);
      expect(bad.out).toContain('fix: write a whole number from 1 to 2147483647, e.g. quantity: 1');
      expect((await run('QTY=2\n')).code).toBe(0);
    } finally {
      tmp.remove();
    }
  });
});
