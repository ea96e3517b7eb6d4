/**
 * The JSON Logic dialect of `when` and `$logic`: json-logic-js's operators
 * (see operators.ts for the few deliberate differences) plus the operators
 * game rules need (time, strings), compiled once at load into closures by the
 * one evaluator (evaluator.ts). The clock is per evaluation: a compiled
 * expression reads the `nowMs` it is given, else its {@link RulesLogic}'s.
 */
import { compileTree, newState } from './evaluator.js';
import type { Operator, Tracer } from './evaluator.js';
import { rulesOperators } from './operators.js';
import { RegexCache } from './regex.js';
import type { CompiledRegex } from './regex.js';
import { stateOperators } from './state-operators.js';
import type { RuleState } from '../state/firing.js';

export { truthy } from './evaluator.js';
export { CUSTOM_OPERATORS, ITERATOR_OPERATORS, parseDuration, toInstant } from './operators.js';

/** How one evaluation runs: its clock, and a tracer when `explain` wants every node's value. */
export interface LogicRun {
  /** Epoch ms the time operators read. Default: the dialect's `nowMs`. */
  readonly nowMs?: number;
  readonly tracer?: Tracer;
}

/**
 * A compiled JSON Logic expression: data in, value out. Throws an operator's
 * error (LogicOperatorError) or EvaluationLimitError; never stalls.
 */
export type CompiledLogic = (data: unknown, run?: LogicRun) => unknown;

/** The rules dialect: its operators, their regex cache, and the default clock. */
export class RulesLogic {
  /** The instant time operators see as "now" when a run gives none, in epoch ms. Set by `RuleSet.evaluate` per event. */
  nowMs = Date.now();
  /** The player's ledger for `count`/`streak`/`fired` (src/rules/state-operators.ts), set by `RuleSet.evaluate` for events with stateful rules. */
  state: RuleState | undefined;
  readonly #regexes = new RegexCache();
  readonly #operators: Readonly<Record<string, Operator>> = { ...rulesOperators(this.#regexes), ...stateOperators(this) };

  /** Every operator name this dialect accepts. */
  operators(): string[] {
    return [...Object.keys(this.#operators), 'preserve'];
  }

  hasOperator(name: string): boolean {
    return name === 'preserve' || Object.hasOwn(this.#operators, name);
  }

  /** A compiled RE2 pattern, cached. Throws LogicOperatorError (see RegexCache.get). */
  regex(pattern: unknown, flags: unknown = ''): CompiledRegex {
    return this.#regexes.get(pattern, flags);
  }

  /** Compiles an expression once. Throws UnknownOperatorError for an operator the dialect lacks. */
  compile(logic: unknown): CompiledLogic {
    const node = compileTree(logic, this.#operators);
    return (data, run) => node(data, newState(run?.nowMs ?? this.nowMs, run?.tracer));
  }

  /** JSON Logic truthiness (an empty array is false). */
  truthy(value: unknown): boolean {
    return Array.isArray(value) ? value.length > 0 : Boolean(value);
  }
}
