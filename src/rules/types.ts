/**
 * Shapes that leave the rules engine: the plan handed to the action layer and
 * the explanation of a match.
 */
import type { CooldownSpec, FiringState, LimitSpec } from '../state/index.js';
import type { ProblemCode } from './problem-codes.js';

/** One operand of an operation, as written and as evaluated. */
export interface OperandTrace {
  /** The operand as written (`{"var": "namespace"}`, `"mygame"`). */
  readonly expr: unknown;
  /** Short text for the operand: `namespace` for a var, JSON for a literal, `<op>(...)` for a nested operation. */
  readonly label: string;
  /** Is the operand a constant (written value = evaluated value)? */
  readonly literal: boolean;
  /** The evaluated value (absent when evaluation failed, did not reach it, or it is evaluated per element). */
  readonly value?: unknown;
  /** Evaluation error text. */
  readonly error?: string;
}

/** The trace of one node of the condition tree. */
export interface ConditionTrace {
  /** The operator (`==`, `and`, `startsWith`), or `value` for a bare value/var used as a condition. */
  readonly operator: string;
  /** The node's value. Absent when its evaluation threw (see `error`) or was not reached (`skipped`). */
  readonly result?: unknown;
  /** JSON Logic truthiness of the result (false on error or when not reached). */
  readonly passed: boolean;
  /** The evaluation did not reach this node (an earlier branch decided). */
  readonly skipped?: true;
  /** Evaluation error text of this node. */
  readonly error?: string;
  /** For comparisons and other leaf operations: each operand with its value. */
  readonly operands?: readonly OperandTrace[];
  /** For `and`, `or`, `!`, `!!`, `if`/`?:`: the traced sub-conditions. */
  readonly children?: readonly ConditionTrace[];
}

/** One action the engine decided to run for one event. */
export interface PlannedAction {
  /** Rule name (unique in the file). */
  readonly rule: string;
  /** 0-based position of the action in the rule's `do` list (for people: logs, explain). */
  readonly index: number;
  /**
   * Stable identity within the rule, used in idempotency keys: the action's
   * `id`, or `<action>#<ordinal among same-named actions without id>`
   * (`grantItem#0`). Unchanged when other actions are inserted, removed or
   * reordered.
   */
  readonly key: string;
  /** Registered action name (`grantItem`). */
  readonly action: string;
  /** For one item of a `forEach`: the item as in the event's list (its identity is in `key`: `grantSeasonExp#0[<item>]`). */
  readonly item?: unknown;
  /** Parameters with every `${...}` and JSON Logic value resolved; defaults not yet applied. */
  readonly params: Record<string, unknown>;
  /** `shadow` rules are planned and recorded, never executed. */
  readonly mode: 'live' | 'shadow';
  /** What a permanent failure does: `deadLetter` (default) or `retry`. */
  readonly onFailure: 'deadLetter' | 'retry';
  /**
   * Set when the params could not be resolved for this event (a `${event...}`
   * reference that resolves to nothing, computed params the action's schema
   * refuses): a permanent failure. The executor handles it as the action's own
   * permanent failure (a dead letter with this reason, or a retry under
   * `onFailure: retry`) without running the action; `params` is then `{}`.
   */
  readonly failure?: Error;
}

/** How one rule listening on the event fared. */
export interface RuleOutcome {
  readonly rule: string;
  /** `suppressed`: matched, but its `limit` or `cooldown` refused the firing (no action planned). */
  readonly outcome: 'matched' | 'notMatched' | 'inactive' | 'error' | 'suppressed';
  /** For `error`: the evaluation error (one rule's error never stops the others). */
  readonly error?: string;
  /** For rules with a `limit` or `cooldown` (or named by `fired`) that matched: the decision and the state it read. */
  readonly firing?: FiringState;
  /** With `evaluate({ trace: true })`: what the rule's `when` saw, node by node (absent without `when`). */
  readonly condition?: ConditionTrace;
}

/**
 * A matched rule whose `limit`/`cooldown` counts under a key other than the
 * player (`limit.key`, a cooldown's `key`): its firing is decided on that
 * key's own record (src/pipeline/evaluate.ts), after the player's. Until then its
 * outcome is `matched` and its actions are in the plan.
 */
export interface KeyedFiring {
  readonly rule: string;
  /** The name its firings are recorded under (the rule's; a shadow rule's apart: `firingKey`). */
  readonly record: string;
  /** The key's value for this event (e.g. the party id). */
  readonly key: string;
  /** The rule's limit and cooldown (at least one). */
  readonly limit?: LimitSpec;
  readonly cooldown?: CooldownSpec;
  /** Epoch ms: the instant the evaluation used (a redelivered event's first one). */
  readonly at: number;
}

/** The engine's answer for one event. */
export interface EvaluationResult {
  readonly outcomes: readonly RuleOutcome[];
  /** Actions of matched rules, in file order, then `do` order. */
  readonly plan: readonly PlannedAction[];
  /** Firings still to decide on keyed records (absent: none). */
  readonly keyed?: readonly KeyedFiring[];
}

/** One thing wrong (or worth a warning) in a rules file, with where and how to fix it. */
export interface RuleProblem {
  /** The rules file as given to the loader. */
  readonly file: string;
  /** 1-based line (1 when the problem concerns the whole file). */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
  /** Name of the rule concerned, when there is one. */
  readonly rule?: string;
  /** What is wrong. Never contains secrets: env values are not quoted. */
  readonly message: string;
  /** How to fix it (did-you-mean, the command to run...). */
  readonly fix?: string;
  readonly severity: 'error' | 'warning';
  /** Stable machine-readable kind: `yaml-syntax`, `unknown-key`, `unknown-event`, `unknown-path`... (every code: {@link PROBLEM_CODES}, docs/rule-language.md). */
  readonly code: ProblemCode;
}
