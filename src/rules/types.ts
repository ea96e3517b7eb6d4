/**
 * Shapes that leave the rules engine: the plan handed to the action layer and
 * the explanation of a match.
 */

/** One action the engine decided to run for one event. */
export interface PlannedAction {
  /** Rule name (unique in the file). */
  readonly rule: string;
  /** 0-based position of the action in the rule's `do` list. */
  readonly index: number;
  /** Registered action name (`grantItem`). */
  readonly action: string;
  /** Parameters with every `${...}` and JSON Logic value resolved; defaults not yet applied. */
  readonly params: Record<string, unknown>;
  /** `shadow` rules are planned and recorded, never executed. */
  readonly mode: 'live' | 'shadow';
  /** What a permanent failure does: `deadLetter` (default) or `retry`. */
  readonly onFailure: 'deadLetter' | 'retry';
}

/** How one rule listening on the event fared. */
export interface RuleOutcome {
  readonly rule: string;
  readonly outcome: 'matched' | 'notMatched' | 'inactive' | 'error';
  /** For `error`: the evaluation error (one rule's error never stops the others). */
  readonly error?: string;
}

/** The engine's answer for one event. */
export interface EvaluationResult {
  readonly outcomes: readonly RuleOutcome[];
  /** Actions of matched rules, in file order, then `do` order. */
  readonly plan: readonly PlannedAction[];
}
