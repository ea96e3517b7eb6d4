/**
 * The rules' JSON Logic against json-logic-js (the reference rule authors
 * read) on a generated corpus: every standard operator x operands that are
 * null, absent, "", 0, false, true, "0", mixed types, lists, maps, and `var`
 * with defaults. Every disagreement must be one of the documented deliberate
 * differences (DIFFERENCES below, also in docs); anything else fails.
 */
import { describe, expect, it } from 'vitest';
import jsonLogic from 'json-logic-js';
import { RulesLogic } from '../../src/rules/logic.js';
import { isUnset } from '../../src/rules/operators.js';

type Case = { rule: unknown; data: Record<string, unknown> };

const VALUES: Record<string, unknown> = {
  null: null,
  empty: '',
  zero: 0,
  one: 1,
  minus: -1,
  half: 2.5,
  false: false,
  true: true,
  s0: '0',
  s1: '1',
  sTrue: 'true',
  na: 'n/a',
  gold: 'gold',
  arr0: [],
  arrN: [1, 2],
  arrS: ['gold', 'x'],
  arrMixed: [0, '', null, 'a', [1]],
  obj0: {},
  obj: { a: 1, b: '' },
  nested: { a: { b: 0 } },
};

const DATA = { v: VALUES, list: [1, 2, 3], people: [{ age: 30 }, { age: 0 }, {}] };

/** Operand expressions: each value through var, literals of the JSON scalars, absent, and var defaults. */
function operands(): unknown[] {
  const out: unknown[] = Object.keys(VALUES).map((k) => ({ var: `v.${k}` }));
  out.push(null, '', 0, 1, false, true, '0', 'gold', 'n/a');
  out.push({ var: 'v.absent' }, { var: ['v.absent', 0] }, { var: ['v.absent', 'dflt'] }, { var: ['v.null', 'dflt'] }, { var: ['v.absent', { var: 'v.one' }] });
  out.push({ var: 'v.nested.a.b' }, { var: 'v.nested.a.b.c' }, { var: 'v.arrS.0' }, { var: 'v.gold.length' }, { var: 'v.arrN.length' });
  // string indexes: JavaScript reads "gold"["1"], not "gold"["01"] nor "gold"["1.0"]
  out.push({ var: 'v.gold.1' }, { var: 'v.gold.01' }, { var: 'v.gold.00' }, { var: 'v.gold.1.0' }, { var: 'v.s0.0' }, { var: 'v.arrN.01' });
  return out;
}

const BINARY = ['==', '===', '!=', '!==', '>', '>=', '<', '<=', '%', 'in', '-', '/', 'substr'];
const UNARY = ['!', '!!', '-', 'var', 'missing', 'cat', 'substr', 'max', 'min', '+', '*', 'merge'];
const VARIADIC = ['+', '*', 'min', 'max', 'cat', 'merge', 'and', 'or', 'if', '?:', '<', '<=', 'missing', 'missing_some'];
const ITERATORS = ['map', 'filter', 'all', 'some', 'none'];
const BODIES: unknown[] = [{ var: '' }, { '>': [{ var: '' }, 0] }, { '==': [{ var: '' }, 'gold'] }, { var: 'age' }, { '!': { var: 'age' } }, true, undefined];

function corpus(): Case[] {
  const ops = operands();
  const small = ops.filter((_, i) => i % 3 === 0);
  const cases: Case[] = [];
  const add = (rule: unknown) => cases.push({ rule, data: DATA });
  for (const op of BINARY) for (const a of ops) for (const b of ops) add({ [op]: [a, b] });
  for (const op of UNARY) for (const a of ops) add({ [op]: [a] });
  for (const op of UNARY) for (const a of ops) add({ [op]: a });
  for (const op of VARIADIC) {
    add({ [op]: [] });
    for (const a of small) for (const b of small) for (const c of small) add({ [op]: [a, b, c] });
  }
  for (const op of ITERATORS) {
    for (const source of [...ops, { var: 'list' }, { var: 'people' }]) for (const body of BODIES) add({ [op]: body === undefined ? [source] : [source, body] });
  }
  for (const source of [...ops, { var: 'list' }]) {
    for (const initial of [undefined, 0, null, '', { var: 'v.one' }]) {
      const body = { '+': [{ var: 'current' }, { var: 'accumulator' }] };
      add({ reduce: initial === undefined ? [source, body] : [source, body, initial] });
    }
  }
  for (const key of ['v', 'v.obj', 'v.nested.a', 'v.arr0', 'v.absent', 'v.empty', 'v.zero', 'v.false', 'v.obj0', 'v.gold.01', 'v.gold.1', ['v.zero', 'v.gold'], ['v.absent', 'v.one']]) {
    add({ missing: key });
    add({ missing_some: [1, Array.isArray(key) ? key : [key]] });
  }
  // a key that is itself a list reads as {"var": [path, default]} (json-logic-js applies {"var": key})
  for (const key of [['v.one', 'x'], ['v.absent', 'x'], ['v.absent'], [], ['v.absent', ''], ['v.gold.01', 1]]) {
    add({ missing: [['v.gold', key]] });
    add({ missing: ['v.gold', key] });
    for (const need of [1, 2]) add({ missing_some: [need, ['v.absent', key]] });
  }
  // inherited properties
  for (const path of ['v.obj.constructor', 'v.gold.toString', '__proto__', 'v.obj.hasOwnProperty', 'v.arrN.map', 'constructor.name']) add({ var: path });
  return cases;
}

/** Object.is on leaves (NaN equals NaN), structural on lists and maps. */
function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

type Outcome = { value: unknown } | { threw: string };
function run(f: () => unknown): Outcome {
  try {
    return { value: f() };
  } catch (err) {
    return { threw: err instanceof Error ? err.message : String(err) };
  }
}

/** The data as `missing` sees it: every proto3 default (see isUnset) replaced by null, innermost first. */
function defaultsAsNull(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? null : value.map(defaultsAsNull);
  if (typeof value === 'object' && value !== null) {
    const out = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, defaultsAsNull(v)]));
    return Object.values(out).every((v) => v === null) ? null : out;
  }
  return isUnset(value) ? null : value;
}

/** The deliberate differences, each with how to recognise it. */
const DIFFERENCES: Record<string, (rule: Record<string, unknown>, ours: Outcome, ref: Outcome) => boolean> = {
  // a decoded protobuf event cannot tell 0, false, [] or a message of defaults from absent:
  // exactly json-logic-js's answer on the data with those defaults read as null
  'missing/missing_some also report 0, false, empty lists and maps, and maps of unset values': (rule, ours) => {
    if (!('missing' in rule || 'missing_some' in rule)) return false;
    const onDefaults = run(() => jsonLogic.apply(rule, defaultsAsNull(DATA)));
    return 'value' in ours && 'value' in onDefaults ? same(ours.value, onDefaults.value) : 'threw' in ours && 'threw' in onDefaults;
  },
  // json-logic-js applies {"var": key}: a key read from the data that is a one-key map would run as an operation
  'missing never runs a key read from the data as JSON Logic': (rule, ours, ref) =>
    ('missing' in rule || 'missing_some' in rule) && 'value' in ours && 'threw' in ref && /Unrecognized operation/.test(ref.threw),
  // inherited properties (functions, the prototype) are never data
  'var reads own properties only': (rule, ours, ref) =>
    'var' in rule && /(^|\.)(constructor|__proto__|toString|hasOwnProperty|map)(\.|$)/.test(String(rule.var)) && 'value' in ours && ours.value === null && 'value' in ref && ref.value !== null,
};

describe('JSON Logic: the rules evaluator against json-logic-js on a generated corpus', () => {
  const logic = new RulesLogic();
  const cases = corpus();

  it(`agrees on every case but the documented differences (${cases.length} cases)`, () => {
    const unexplained: string[] = [];
    const explained = new Map<string, number>();
    for (const { rule, data } of cases) {
      const ours = run(() => logic.compile(rule)(data));
      const ref = run(() => jsonLogic.apply(rule as never, data));
      const agree = 'value' in ours && 'value' in ref ? same(ours.value, ref.value) : 'threw' in ours && 'threw' in ref;
      if (agree) continue;
      const why = Object.entries(DIFFERENCES).find(([, test]) => test(rule as Record<string, unknown>, ours, ref))?.[0];
      if (why) explained.set(why, (explained.get(why) ?? 0) + 1);
      else unexplained.push(`${JSON.stringify(rule)}: ours ${JSON.stringify(ours)}, json-logic-js ${JSON.stringify(ref)}`);
    }
    expect(unexplained.slice(0, 20)).toEqual([]);
    expect(cases.length).toBeGreaterThan(10_000);
    // each documented difference shows up in the corpus (the list stays honest)
    expect([...explained.keys()].sort()).toEqual(Object.keys(DIFFERENCES).sort());
  });

  it('missing differs from json-logic-js exactly on proto3 defaults', () => {
    for (const v of Object.values(VALUES)) {
      const ours = logic.compile({ missing: ['x'] })({ x: v });
      const ref = jsonLogic.apply({ missing: ['x'] }, { x: v }) as unknown[];
      expect(ours, JSON.stringify(v)).toEqual(isUnset(v) ? ['x'] : ref);
    }
  });

  it('the issue cases: absent == 0, "n/a" > 10, "true" == true, "gold" in 3 are false, not errors', () => {
    const cases: [unknown, unknown][] = [
      [{ '==': [{ var: 'payload.additionalData.score' }, 0] }, { payload: { additionalData: {} } }],
      [{ '>': [{ var: 'level' }, 10] }, { level: 'n/a' }],
      [{ '==': [{ var: 'vip' }, true] }, { vip: 'true' }],
      [{ in: ['gold', { var: 'tier' }] }, { tier: 3 }],
    ];
    for (const [rule, data] of cases) {
      expect(logic.compile(rule)(data), JSON.stringify(rule)).toBe(false);
      expect(jsonLogic.apply(rule as never, data)).toBe(false);
    }
  });
});
