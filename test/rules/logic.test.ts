import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import jsonLogic from 'json-logic-js';
import { RulesLogic, parseDuration } from '../../src/rules/logic.js';
import { LogicOperatorError } from '../../src/rules/errors.js';
import { SHARED_DIR, describeWith, sharedFile } from '../support/prereq.js';

describeWith(sharedFile('jsonlogic/tests.json'), 'official JSON Logic suite (differential)', () => {
  let cases: [unknown, unknown, unknown][] = [];
  beforeAll(() => {
    const raw = JSON.parse(readFileSync(resolve(SHARED_DIR, 'jsonlogic/tests.json'), 'utf8')) as unknown[];
    cases = raw.filter((c): c is [unknown, unknown, unknown] => Array.isArray(c));
  });

  it('has the 280 cases', () => {
    expect(cases).toHaveLength(280);
  });

  it('our compiled evaluator and json-logic-js both give the expected answer on every case', () => {
    const logic = new RulesLogic();
    const failures: string[] = [];
    for (const [rule, data, expected] of cases) {
      const ours = logic.compile(rule)(data);
      const reference = jsonLogic.apply(rule as never, data);
      if (JSON.stringify(ours) !== JSON.stringify(expected)) failures.push(`ours ${JSON.stringify(rule)} on ${JSON.stringify(data)} -> ${JSON.stringify(ours)}, want ${JSON.stringify(expected)}`);
      if (JSON.stringify(reference) !== JSON.stringify(expected)) failures.push(`json-logic-js ${JSON.stringify(rule)} -> ${JSON.stringify(reference)}`);
    }
    expect(failures).toEqual([]);
  });
});

describe('custom operators', () => {
  const logic = new RulesLogic();
  /** The clock of one run: passed to each call, never stored on the dialect. */
  const at = (iso: string) => ({ nowMs: Date.parse(iso) });

  it('now reads the clock of each run, and the dialect keeps none', () => {
    const now = logic.compile({ now: [] });
    expect(now({}, at('2026-12-01T10:00:00Z'))).toBe(Date.parse('2026-12-01T10:00:00Z'));
    expect(now({}, at('2026-12-02T10:00:00Z'))).toBe(Date.parse('2026-12-02T10:00:00Z'));
    // a run without a clock reads the system clock, not the previous run's
    const before = Date.now();
    const read = now({}) as number;
    expect(read).toBeGreaterThanOrEqual(before);
    expect(read).toBeLessThanOrEqual(Date.now());
  });

  it('the stateful operators read the state of their run only', () => {
    const count = logic.compile({ count: ['login', 'lifetime'] });
    expect(() => count({}, at('2026-12-01T10:00:00Z'))).toThrow(/needs the player's history/);
    const ledger = { count: () => 3 } as never;
    expect(count({}, { nowMs: 0, state: { ledger, tag: 't', now: 0 } })).toBe(3);
    expect(() => count({})).toThrow(/needs the player's history/);
  });

  it('before / after compare ISO strings and epoch ms, offsets included', () => {
    const f = logic.compile({ before: [{ var: 'a' }, { var: 'b' }] });
    expect(f({ a: '2026-12-01T10:00:00+02:00', b: '2026-12-01T09:00:00Z' })).toBe(true);
    expect(f({ a: '2026-12-01T10:00:00Z', b: '2026-12-01T09:00:00Z' })).toBe(false);
    expect(logic.compile({ after: [{ var: 'a' }, 1000] })({ a: 1001 })).toBe(true);
    expect(logic.compile({ after: [{ var: 'a' }, '1000'] })({ a: 999 })).toBe(false);
    expect(() => f({ a: 'yesterday', b: 1 })).toThrow(LogicOperatorError);
  });

  it('duration accepts ISO 8601 and short forms', () => {
    expect(parseDuration('PT24H')).toBe(86_400_000);
    expect(parseDuration('P1DT2H30M')).toBe(86_400_000 + 2 * 3_600_000 + 30 * 60_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('1d12h')).toBe(1.5 * 86_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(logic.compile({ duration: '90m' })({})).toBe(5_400_000);
    expect(() => parseDuration('P')).toThrow(LogicOperatorError);
    expect(() => parseDuration('PT')).toThrow(LogicOperatorError);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
  });

  it('within compares to the injected clock in both directions', () => {
    const ten = at('2026-12-01T10:00:00Z');
    const f = logic.compile({ within: [{ var: 't' }, '1h'] });
    expect(f({ t: '2026-12-01T09:30:00Z' }, ten)).toBe(true);
    expect(f({ t: '2026-12-01T10:59:00Z' }, ten)).toBe(true);
    expect(f({ t: '2026-12-01T08:59:59Z' }, ten)).toBe(false);
    expect(f({ t: '2026-12-01T08:59:59Z' }, at('2026-12-01T08:30:00Z'))).toBe(true);
  });

  it('string helpers', () => {
    expect(logic.compile({ startsWith: [{ var: 's' }, 'steam:'] })({ s: 'steam:123' })).toBe(true);
    expect(logic.compile({ startsWith: [{ var: 's' }, 'steam:'] })({ s: 5 })).toBe(false);
    expect(logic.compile({ endsWith: [{ var: 's' }, '.eu'] })({ s: 'x.eu' })).toBe(true);
    expect(logic.compile({ matches: [{ var: 's' }, '^v\\d+$'] })({ s: 'v12' })).toBe(true);
    expect(logic.compile({ matches: [{ var: 's' }, '^V\\d+$', 'i'] })({ s: 'v12' })).toBe(true);
    expect(logic.compile({ matches: [{ var: 's' }, '^v\\d+$'] })({ s: 'x12' })).toBe(false);
    expect(logic.compile({ lower: [{ var: 's' }] })({ s: 'AbC' })).toBe('abc');
    expect(logic.compile({ upper: { var: 's' } })({ s: 'AbC' })).toBe('ABC');
    expect(() => logic.regex('(')).toThrow(LogicOperatorError);
    expect(() => logic.regex('a', 'g')).toThrow(/stateful/);
  });

  it('blocks host-only operators and keeps the standard ones', () => {
    expect(logic.hasOperator('throw')).toBe(false);
    expect(logic.hasOperator('var')).toBe(true);
    expect(logic.hasOperator('within')).toBe(true);
  });
});

describe('added operators (docs/rule-language.md)', () => {
  const logic = new RulesLogic();
  const data = { a: { b: 0, 'c.d': 1 }, items: [1, 2], name: 'abc', nothing: null, role: 'ROLE_UNSPECIFIED' };

  it('every, not, ??, length, keys, val, exists, get, preserve', () => {
    const run = (l: unknown) => logic.compile(l)(data);
    expect(run({ every: [{ var: 'items' }, { '>': [{ var: '' }, 0] }] })).toBe(true);
    expect(run({ not: { var: 'a.b' } })).toBe(true);
    expect(run({ '??': [{ var: 'nothing' }, { var: 'absent' }, 'dflt'] })).toBe('dflt');
    expect(run({ '??': [{ var: 'a.b' }, 'dflt'] })).toBe(0);
    expect(run({ length: { var: 'items' } })).toBe(2);
    expect(run({ length: { var: 'name' } })).toBe(3);
    expect(run({ length: { var: 'a' } })).toBe(null);
    expect(run({ keys: { var: 'a' } })).toEqual(['b', 'c.d']);
    expect(run({ keys: { var: 'items' } })).toEqual([]);
    expect(run({ val: ['a', 'c.d'] })).toBe(1);
    expect(run({ val: ['a', 'absent'] })).toBe(null);
    expect(run({ exists: ['a', 'b'] })).toBe(true);
    expect(run({ exists: ['a', 'constructor'] })).toBe(false);
    expect(run({ get: [{ var: 'a' }, 'b', 9] })).toBe(0);
    expect(run({ get: [{ var: 'a' }, 'zz', 9] })).toBe(9);
    expect(run({ preserve: { a: 1, b: 2 } })).toEqual({ a: 1, b: 2 });
    expect(run({ preserve: { var: 'a' } })).toEqual({ var: 'a' });
  });

  it('a map has no inherited length; an enum at its first value is not missing', () => {
    expect(logic.compile({ var: 'a.length' })(data)).toBe(null);
    expect(logic.compile({ missing: ['role', 'a.b', 'items'] })(data)).toEqual(['a.b']);
  });
});
