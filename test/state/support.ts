/**
 * Helpers of the stateful-rule tests: rules compiled with the fixture catalog
 * and the test registry, and a sender that evaluates one login of a player
 * in a transaction of a real MemoryStateStore at a given instant.
 */
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import type { RuleProblem } from '../../src/rules/types.js';
import { evaluateWithState, partitionOf } from '../../src/pipeline/evaluate.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { LOGIN, fixtureCatalog, loginEvent, testRegistry } from '../rules/support/fixtures.js';

/** AGS user ids (32 hex characters): each has its own record. */
export const U1 = '0123456789abcdef0123456789abcdef';
export const U2 = 'fedcba9876543210fedcba9876543210';

export const at = (iso: string): number => Date.parse(iso);

let opts: RulesCompileOptions | undefined;
async function options(): Promise<RulesCompileOptions> {
  opts ??= { catalog: await fixtureCatalog(), registry: testRegistry(), env: {}, unsetEnv: 'error' };
  return opts;
}

/** Compiles the rules (YAML list items under `rules:`); throws with the problems. */
export async function compile(rules: string): Promise<RuleSet> {
  const r = compileRulesText(`version: 1\nrules:\n${rules}`, 'rules.yaml', await options());
  if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
  return r.rules;
}

/** The problems of rules that must not compile. */
export async function problems(rules: string): Promise<RuleProblem[]> {
  const r = compileRulesText(`version: 1\nrules:\n${rules}`, 'rules.yaml', await options());
  if (r.ok) throw new Error('expected problems');
  return [...r.problems];
}

/** What one delivery decided: the rules whose actions were planned, the suppressed ones and why, each rule's outcome. */
export interface Delivered {
  readonly fired: string[];
  readonly suppressed: Record<string, string | undefined>;
  readonly outcomes: Record<string, string>;
}

/** Delivers one login event for `user` with id `id` at `iso` (the rules of `rules()`: a hot reload swaps them). */
export function deliverer(rules: RuleSet | (() => RuleSet), store: StateStore = new MemoryStateStore(), service = LOGIN) {
  const current = typeof rules === 'function' ? rules : () => rules;
  return async (id: string, iso: string, user = U1): Promise<Delivered> => {
    const event = loginEvent({ id, userId: user });
    const r = await evaluateWithState(store, partitionOf(event, 'ns'), { rules: current(), serviceFullName: service, event, eventKey: id, now: at(iso) });
    return {
      fired: [...new Set(r.plan.map((p) => p.rule))],
      suppressed: Object.fromEntries(r.outcomes.filter((o) => o.outcome === 'suppressed').map((o) => [o.rule, o.firing?.suppressedBy])),
      outcomes: Object.fromEntries(r.outcomes.map((o) => [o.rule, o.outcome + (o.error ? `: ${o.error}` : '')])),
    };
  };
}
