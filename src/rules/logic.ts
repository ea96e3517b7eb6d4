/**
 * The JSON Logic dialect of `when` and `$logic`: json-logic-js's operators
 * (see operators.ts for the few deliberate differences) plus the operators
 * game rules need (time, strings), compiled once at load into closures by the
 * one evaluator (evaluator.ts). What varies per evaluation (the clock, the
 * player's ledger, the tracer) is passed to each run ({@link LogicRun}): a
 * compiled expression holds no per-event state, so one dialect serves every
 * evaluation.
 */
import { compileTree, newState } from './evaluator.js';
import type { Operator, Tracer } from './evaluator.js';
import { rulesOperators } from './operators.js';
import { RegexCache } from './regex.js';
import type { CompiledRegex } from './regex.js';
import { stateOperators } from './state-operators.js';
import type { RuleState } from '../state/index.js';

export { truthy } from './evaluator.js';
export { CUSTOM_OPERATORS, ITERATOR_OPERATORS, parseDuration, toInstant } from './operators.js';

/** How one evaluation runs: its clock, the player's state, and a tracer when `explain` wants every node's value. */
export interface LogicRun {
  /** Epoch ms the time operators read. Default: `Date.now()` at the call. */
  readonly nowMs?: number;
  /** The player's ledger the stateful operators (`count`, `streak`, `fired`) read. Default: none (they fail the rule). */
  readonly state?: RuleState;
  readonly tracer?: Tracer;
}

/**
 * A compiled JSON Logic expression: data in, value out. Throws an operator's
 * error (LogicOperatorError) or EvaluationLimitError; never stalls.
 */
export type CompiledLogic = (data: unknown, run?: LogicRun) => unknown;

/** The rules dialect: its operators and their regex cache. Holds no per-evaluation state. */
export class RulesLogic {
  readonly #regexes = new RegexCache();
  readonly #operators: Readonly<Record<string, Operator>> = { ...rulesOperators(this.#regexes), ...stateOperators() };

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
    return (data, run) => node(data, newState(run?.nowMs ?? Date.now(), run?.tracer, run?.state));
  }

  /** JSON Logic truthiness (an empty array is false). */
  truthy(value: unknown): boolean {
    return Array.isArray(value) ? value.length > 0 : Boolean(value);
  }
}
