/** The rules engine's public surface. */
export { loadRules } from './load.js';
export type { LoadRulesOptions, RulesLoadResult, RulesCompileOptions } from './load.js';
export { compileRulesText } from './validate.js';
export { RuleSet } from './rule-set.js';
export type { CompiledRule, CompiledAction, EvaluateOptions } from './rule-set.js';
export { watchRules } from './watch.js';
export type { WatchRulesOptions, RulesWatcher } from './watch.js';
export { formatProblems } from './format.js';
export type { ProblemFormat } from './format.js';
export { buildRulesSchema } from './schema.js';
export { RulesValidationError, TemplateResolutionError, ActionParamsInvalidError, LogicOperatorError } from './errors.js';
export { RulesLogic, CUSTOM_OPERATORS } from './logic.js';
export type { EvaluationResult, PlannedAction, RuleOutcome, RuleProblem } from './types.js';
export { PROBLEM_CODES } from './problem-codes.js';
export type { ProblemCode } from './problem-codes.js';
