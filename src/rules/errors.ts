/**
 * The rules engine's failure kinds. Load-time problems are collected as
 * {@link RuleProblem}s (all at once); these errors carry them or name the one
 * thing that failed while evaluating an event.
 */
import type { RuleProblem } from './types.js';

/** The rules file is invalid: thrown by callers that want an exception instead of a result. */
export class RulesValidationError extends Error {
  override readonly name = 'RulesValidationError';
  constructor(
    readonly file: string,
    readonly problems: readonly RuleProblem[],
  ) {
    const errors = problems.filter((p) => p.severity === 'error');
    const first = errors[0];
    super(
      `${file} is invalid: ${errors.length} problem${errors.length === 1 ? '' : 's'}` +
        (first ? ` (first: line ${first.line}: ${first.message})` : ''),
    );
  }
}

/** A `${event...}` reference or `$logic` value resolved to nothing while planning one rule's actions. */
export class TemplateResolutionError extends Error {
  override readonly name = 'TemplateResolutionError';
  constructor(
    /** The reference as written, e.g. `event.payload.count`. */
    readonly reference: string,
    readonly reason: string,
  ) {
    super(`\${${reference}} ${reason}`);
  }
}

/** Resolved parameters that do not fit the action's schema (only possible for values computed per event). */
export class ActionParamsInvalidError extends Error {
  override readonly name = 'ActionParamsInvalidError';
  constructor(
    readonly action: string,
    readonly reason: string,
  ) {
    super(`parameters of ${action} are invalid: ${reason}`);
  }
}

/**
 * A rule's `limit.key` / cooldown `key` has no usable value for this event
 * (the field is missing, empty or not a text): its firing cannot be counted,
 * so its actions are not run; a permanent failure (dead letter with this reason).
 */
export class StateKeyUnresolvedError extends Error {
  override readonly name = 'StateKeyUnresolvedError';
  constructor(
    readonly rule: string,
    /** The key as written. */
    readonly key: string,
    readonly reason: string,
  ) {
    super(`rule ${rule}: ${reason}`);
  }
}

/** A `forEach` list that cannot be walked for this event: not a list, or longer than its bound (`max`, default 100). A permanent failure: the rule's actions are dead-lettered with this reason. */
export class ForEachListError extends Error {
  override readonly name = 'ForEachListError';
  constructor(
    readonly rule: string,
    /** The list as written (`${event.payload.userIds}`). */
    readonly list: string,
    readonly reason: string,
  ) {
    super(`rule ${rule}: forEach ${list} ${reason}`);
  }
}

/** A fact a rule reads that AGS refused (a 4xx such as a missing permission) or that has no player to look up: a permanent failure, the rule's actions are dead-lettered with it. */
export class FactLookupError extends Error {
  override readonly name = 'FactLookupError';
  constructor(
    readonly rule: string,
    readonly fact: string,
    readonly operation: string,
    readonly reason: string,
  ) {
    super(`rule ${rule}: fact ${fact} (${operation}): ${reason}`);
  }
}

/** A custom JSON Logic operator got an argument it cannot use (an unparsable instant or duration, a bad regex). */
export class LogicOperatorError extends Error {
  override readonly name = 'LogicOperatorError';
  constructor(
    readonly operator: string,
    readonly reason: string,
  ) {
    super(`${operator}: ${reason}`);
  }
}

/** A condition (or `$logic` value) went over an evaluation limit on one event: too many operations, or an array too long to walk. */
export class EvaluationLimitError extends Error {
  override readonly name = 'EvaluationLimitError';
  constructor(
    /** `operations`: the per-evaluation operation budget; `array`: the length of one array walked. */
    readonly limit: 'operations' | 'array',
    /** The limit's value. */
    readonly max: number,
  ) {
    super(
      limit === 'operations'
        ? `the condition took more than ${max} operations on this event (evaluation stopped)`
        : `an array longer than ${max} items is not walked (evaluation stopped)`,
    );
  }
}
