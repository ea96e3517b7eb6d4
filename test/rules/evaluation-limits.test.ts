/**
 * Evaluation is bounded whatever the event carries: RE2 regexes (linear
 * time), bounded patterns from the event, an operation budget and a cap on
 * arrays walked; `var` reads own properties only (issue 16).
 */
import { describe, expect, it } from 'vitest';
import { EvaluationLimitError, LogicOperatorError } from '../../src/rules/errors.js';
import { MAX_ARRAY_WALKED, MAX_OPERATIONS } from '../../src/rules/evaluator.js';
import { RulesLogic } from '../../src/rules/logic.js';
import { MAX_PATTERN_LENGTH } from '../../src/rules/regex.js';
import { compileLogicValue } from '../../src/rules/template.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import { LOGIN, fixtureCatalog, loginEvent, testRegistry } from './support/fixtures.js';

const logic = new RulesLogic();

describe('matches', () => {
  it('a catastrophic-backtracking pattern runs in linear time (RE2)', () => {
    const f = logic.compile({ matches: [{ var: 's' }, '^(x+x+)+y$'] });
    expect(f({ s: 'x'.repeat(30) })).toBe(false);
    expect(f({ s: 'x'.repeat(100_000) })).toBe(false);
    expect(f({ s: `${'x'.repeat(30)}y` })).toBe(true);
  });

  it('a pattern from the event is bounded and RE2-checked: too long or unsupported is an operator error', () => {
    const f = logic.compile({ matches: ['abc', { var: 'p' }] });
    expect(f({ p: '^a' })).toBe(true);
    expect(() => f({ p: 'a'.repeat(MAX_PATTERN_LENGTH + 1) })).toThrow(LogicOperatorError);
    expect(() => f({ p: '(a)\\1' })).toThrow(/RE2 syntax/);
    expect(() => f({ p: 5 })).toThrow(/must be a string/);
    // many distinct patterns: each compiles, the cache stays bounded (no growth to assert from outside: it must not throw)
    for (let i = 0; i < 2000; i++) expect(f({ p: `^${i}` })).toBe(false);
  });

  it('flags i, m, s; g and y refused', () => {
    expect(logic.compile({ matches: ['A\nb', '^a.b$', 'is'] })({})).toBe(true);
    expect(logic.compile({ matches: ['x\nb', '^b$', 'm'] })({})).toBe(true);
    expect(() => logic.regex('a', 'g')).toThrow(/stateful/);
  });
});

describe('operation budget and array cap', () => {
  const members = Array.from({ length: 20_000 }, (_, i) => `m${i}`);
  const quadratic = { some: [{ var: 'members' }, { some: [{ var: '../members' }, { '==': [{ var: '' }, 'nobody'] }] }] };

  it('a condition quadratic over an event array stops at the budget with EvaluationLimitError', () => {
    const f = logic.compile(quadratic);
    let err: unknown;
    try {
      f({ members });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EvaluationLimitError);
    expect((err as EvaluationLimitError).limit).toBe('operations');
    expect((err as Error).message).toBe(`the condition took more than ${MAX_OPERATIONS} operations on this event (evaluation stopped)`);
    // the same condition on a small list answers
    expect(f({ members: ['a', 'b'] })).toBe(false);
  });

  it('an array longer than the cap is not walked', () => {
    const f = logic.compile({ some: [{ var: 'xs' }, { '==': [{ var: '' }, 1] }] });
    expect(() => f({ xs: new Array(MAX_ARRAY_WALKED + 1).fill(0) })).toThrow(/longer than 100000 items/);
    expect(f({ xs: new Array(MAX_ARRAY_WALKED).fill(1) })).toBe(true);
  });

  it('through the rule set: the rule\'s outcome is error, other rules still run', async () => {
    const opts: RulesCompileOptions = { catalog: await fixtureCatalog(), registry: testRegistry(), env: {}, unsetEnv: 'error' };
    const r = compileRulesText(
      `version: 1
rules:
  - name: quadratic
    on: userLoggedIn
    when: { some: [{ var: payload.tags }, { some: [{ var: "../payload.tags" }, { "==": [{ var: "" }, nobody] }] }] }
    do: [{ log: { message: x } }]
  - name: other
    on: userLoggedIn
    do: [{ log: { message: y } }]
`,
      'rules.yaml',
      opts,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const event = loginEvent();
    (event.payload as { tags: string[] }).tags = members;
    const { outcomes, plan } = r.rules.evaluate(LOGIN, event);
    expect(outcomes).toEqual([
      { rule: 'quadratic', outcome: 'error', error: `the condition took more than ${MAX_OPERATIONS} operations on this event (evaluation stopped)` },
      { rule: 'other', outcome: 'matched' },
    ]);
    expect(plan.map((p) => p.rule)).toEqual(['other']);
  });
});

describe('var reads own properties only', () => {
  it('__proto__, constructor, prototype and inherited names read as absent, even as own keys of event data', () => {
    const data = JSON.parse('{"__proto__": {"isAdmin": true}, "a": {"b": 1}, "s": "xyz", "list": [1, 2]}') as Record<string, unknown>;
    for (const path of ['__proto__', '__proto__.isAdmin', 'isAdmin', 'constructor', 'a.constructor', 'a.constructor.name', 'toString', 'a.hasOwnProperty', 'list.map', 's.constructor', 'a.prototype']) {
      expect(logic.compile({ var: path })(data), path).toBe(null);
      expect(logic.compile({ var: [path, 'dflt'] })(data), path).toBe('dflt');
    }
    expect(logic.compile({ var: 'a.b' })(data)).toBe(1);
    expect(logic.compile({ var: 's.length' })(data)).toBe(3);
    expect(logic.compile({ var: 's.1' })(data)).toBe('y');
    expect(logic.compile({ var: 'list.length' })(data)).toBe(2);
    expect(logic.compile({ var: { cat: ['__pro', 'to__'] } })(data)).toBe(null);
    expect(logic.compile({ missing: ['isAdmin', '__proto__.isAdmin'] })(data)).toEqual(['isAdmin', '__proto__.isAdmin']);
  });

  it('../ reads the enclosing iterator scope, and beyond the outermost scope reads as absent', () => {
    const f = logic.compile({ filter: [{ var: 'xs' }, { '==': [{ var: '' }, { var: '../want' }] }] });
    expect(f({ xs: [1, 2, 1], want: 1 })).toEqual([1, 1]);
    expect(logic.compile({ var: '../../x' })({ x: 1 })).toBe(null);
    expect(logic.compile({ map: [{ var: 'xs' }, { var: '../../../constructor' }] })({ xs: [1] })).toEqual([null]);
  });
});

describe('$logic values', () => {
  it('arithmetic on a non-number (NaN, Infinity) is the rule\'s error, never a parameter', async () => {
    const opts: RulesCompileOptions = { catalog: await fixtureCatalog(), registry: testRegistry(), env: {}, unsetEnv: 'error' };
    const r = compileRulesText(
      `version: 1
rules:
  - name: nan
    on: userLoggedIn
    do: [{ grant: { itemId: x, quantity: { $logic: { "*": [{ var: payload.platform }, 2] } } } }]
  - name: infinite
    on: userLoggedIn
    do: [{ grant: { itemId: x, quantity: { $logic: { "/": [{ var: payload.count }, 0] } } } }]
  - name: fine
    on: userLoggedIn
    do: [{ grant: { itemId: x, quantity: { $logic: { "*": [{ var: payload.count }, 2] } } } }]
`,
      'rules.yaml',
      opts,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const { outcomes, plan } = r.rules.evaluate(LOGIN, loginEvent());
    expect(outcomes.map((o) => [o.rule, o.outcome])).toEqual([
      ['nan', 'error'],
      ['infinite', 'error'],
      ['fine', 'matched'],
    ]);
    expect(outcomes[0]!.error).toContain('computed NaN, not a number');
    // the failed rules' actions are planned with their failure (the executor dead-letters them with the reason)
    expect(plan.map((p) => [p.rule, p.failure === undefined ? p.params.quantity : 'failed'])).toEqual([
      ['nan', 'failed'],
      ['infinite', 'failed'],
      ['fine', 6],
    ]);
    expect(plan[0]!.failure?.message).toContain('computed NaN, not a number');
  });
});

describe('a $logic value with NaN or Infinity inside a list', () => {
  it('is an error, not a list sent with null in their place (JSON writes NaN as null)', () => {
    const logic = new RulesLogic();
    const value = (expr: unknown) => {
      const v = compileLogicValue(logic.compile(expr), '$logic at do[0].x');
      if (v.constant) throw new Error('constant');
      return () => v.resolve({ tags: ['a', 2], n: 3 });
    };
    expect(value({ map: [{ var: 'tags' }, { '*': [{ var: '' }, 2] }] })).toThrow('computed NaN, not a number');
    expect(value({ merge: [1, { '/': [{ var: 'n' }, 0] }] })).toThrow('computed Infinity, not a number');
    expect(value({ merge: [[1], [[{ '-': ['x', 1] }]]] })).toThrow('computed NaN, not a number');
    expect(value({ map: [{ var: 'tags' }, { cat: [{ var: '' }, '!'] }] })()).toEqual(['a!', '2!']);
  });
});
