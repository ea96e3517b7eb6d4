/** src/rules/explain.ts: the condition trace over the rules engine's real evaluator. */
import { describe, expect, it } from 'vitest';
import { renderConditionTrace, traceCondition } from '../../src/rules/explain.js';
import { RulesLogic } from '../../src/rules/logic.js';

const logicOf = new RulesLogic();
function explainCondition(logic: unknown, data: unknown, nowIso: string) {
  return traceCondition(logicOf.compile(logic), data, Date.parse(nowIso));
}

describe('explainCondition', () => {
  it('traces every branch with operand values, including custom time operators on the given clock', () => {
    const logic = {
      or: [{ '!=': [{ var: 'namespace' }, 'mygame'] }, { and: [{ within: [{ var: 'timestamp' }, '1h'] }, { '>=': [{ var: 'version' }, 2] }] }],
    };
    const data = { namespace: 'mygame', timestamp: '2026-01-15T09:30:00Z', version: 1 };
    const trace = explainCondition(logic, data, '2026-01-15T10:00:00Z');
    expect(trace.passed).toBe(false);
    expect(renderConditionTrace(trace)).toEqual([
      '✗ or -> false',
      '  ✗ != : namespace = "mygame", expected not "mygame"',
      '  ✗ and -> false',
      '    ✓ within : timestamp = "2026-01-15T09:30:00Z", "1h"',
      '    ✗ >= : version = 1, 2',
    ]);
    // the same data an hour later: within turns false
    const later = explainCondition(logic, data, '2026-01-15T11:00:00Z');
    expect(renderConditionTrace(later)[3]).toBe('    ✗ within : timestamp = "2026-01-15T09:30:00Z", "1h"');
  });

  it('an operator error is shown on its node, not thrown; branches after it are not evaluated; iterator bodies are per element', () => {
    const trace = explainCondition(
      { and: [{ before: [{ var: 'namespace' }, '2026-01-01T00:00:00Z'] }, { some: [{ var: 'tags' }, { '==': [{ var: '' }, 'vip'] }] }] },
      { namespace: 'mygame', tags: ['a', 'vip'] },
      '2026-01-01T00:00:00Z',
    );
    const lines = renderConditionTrace(trace);
    expect(lines[0]).toMatch(/^✗ and -> error: /);
    expect(lines[1]).toMatch(/^ {2}✗ before : namespace = "mygame", "2026-01-01T00:00:00Z" -> error: .*"mygame" is not an instant/);
    expect(lines[2]).toBe('  - not evaluated: some(tags, ==((current value), "vip"))');
    const some = renderConditionTrace(explainCondition({ or: [false, { some: [{ var: 'tags' }, { '==': [{ var: '' }, 'vip'] }] }] }, { tags: ['a', 'vip'] }, '2026-01-01T00:00:00Z'));
    expect(some).toEqual(['✓ or -> true', '  ✗ false', '  ✓ some : tags = ["a","vip"], ==((current value), "vip") (per element)']);
  });

  it('a bare var as the condition', () => {
    const trace = explainCondition({ var: 'payload.userAuthentication.refresh' }, { payload: { userAuthentication: { refresh: false } } }, '2026-01-01T00:00:00Z');
    expect(renderConditionTrace(trace)).toEqual(['✗ payload.userAuthentication.refresh = false']);
  });
});
