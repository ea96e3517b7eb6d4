/**
 * The compiled, immutable rule set: rules indexed by the full name of the
 * service they listen on, conditions and parameters compiled to closures.
 * `evaluate` is the per-event hot path: it touches only the event's own rules.
 */
import type { DecodedEvent } from '../events/types.js';
import { ActionParamsInvalidError } from './errors.js';
import type { EvaluationResult, PlannedAction, RuleOutcome } from './types.js';
import type { CompiledLogic, RulesLogic } from './logic.js';
import type { CompiledValue } from './template.js';

/** One `do` entry, compiled. */
export interface CompiledAction {
  readonly action: string;
  readonly index: number;
  /** Stable key within the rule (its `id`, or `<action>#<ordinal>`): see action-key.ts. */
  readonly key: string;
  readonly params: CompiledValue;
  /** Checks resolved per-event params against the action's schema; returns an error text or undefined. Absent when params are constant (checked at load). */
  readonly check?: (params: Record<string, unknown>) => string | undefined;
}

/** One rule, compiled. */
export interface CompiledRule {
  readonly name: string;
  readonly description?: string;
  /** Full name of the service the rule listens on. */
  readonly service: string;
  /** The event name (`userLoggedIn`). */
  readonly eventName: string;
  readonly enabled: boolean;
  /** Epoch ms; absent: no lower bound. */
  readonly activeFrom?: number;
  /** Epoch ms, exclusive; absent: no upper bound. */
  readonly activeUntil?: number;
  readonly mode: 'live' | 'shadow';
  readonly onFailure: 'deadLetter' | 'retry';
  /** Compiled `when`; absent: always matches. */
  readonly when?: CompiledLogic;
  /** The `when` JSON Logic tree as compiled (after `${env.X}` substitution), for `explain`; present exactly when `when` is. */
  readonly whenLogic?: unknown;
  readonly actions: readonly CompiledAction[];
  /** 1-based line of the rule in the file. */
  readonly line: number;
}

export interface EvaluateOptions {
  /** The clock of this evaluation: activation windows and the `now`/`within` operators. Default: the current time. */
  readonly now?: Date;
}

const EMPTY: readonly CompiledRule[] = Object.freeze([]);

export class RuleSet {
  /** Full names of the services targeted by enabled rules. */
  readonly services: ReadonlySet<string>;
  /** Every rule in the file, enabled or not. */
  readonly ruleCount: number;
  /** Every rule in file order. */
  readonly rules: readonly CompiledRule[];
  /** SHA-256 of the file content this set was compiled from. */
  readonly hash: string;
  readonly #byService: ReadonlyMap<string, readonly CompiledRule[]>;
  readonly #logic: RulesLogic;

  constructor(rules: readonly CompiledRule[], logic: RulesLogic, hash: string) {
    this.rules = Object.freeze([...rules]);
    this.ruleCount = rules.length;
    this.hash = hash;
    this.#logic = logic;
    const byService = new Map<string, CompiledRule[]>();
    for (const r of rules) {
      if (!r.enabled) continue;
      let list = byService.get(r.service);
      if (!list) byService.set(r.service, (list = []));
      list.push(r);
    }
    for (const list of byService.values()) Object.freeze(list);
    this.#byService = byService;
    this.services = new Set(byService.keys());
    Object.freeze(this);
  }

  /** Enabled rules listening on a service, in file order. */
  rulesFor(serviceFullName: string): readonly CompiledRule[] {
    return this.#byService.get(serviceFullName) ?? EMPTY;
  }

  /** Evaluates the service's rules on a decoded event: outcomes per rule and the plan of actions. Never throws. */
  evaluate(serviceFullName: string, event: DecodedEvent, opts?: EvaluateOptions): EvaluationResult {
    const rules = this.#byService.get(serviceFullName);
    if (!rules) return { outcomes: [], plan: [] };
    const now = opts?.now ? opts.now.getTime() : Date.now();
    this.#logic.nowMs = now;
    const outcomes: RuleOutcome[] = [];
    const plan: PlannedAction[] = [];
    for (const rule of rules) {
      if ((rule.activeFrom !== undefined && now < rule.activeFrom) || (rule.activeUntil !== undefined && now >= rule.activeUntil)) {
        outcomes.push({ rule: rule.name, outcome: 'inactive' });
        continue;
      }
      try {
        if (rule.when && !this.#logic.truthy(rule.when(event))) {
          outcomes.push({ rule: rule.name, outcome: 'notMatched' });
          continue;
        }
        const planned: PlannedAction[] = [];
        for (const a of rule.actions) {
          let params: Record<string, unknown>;
          if (a.params.constant) params = a.params.value as Record<string, unknown>;
          else {
            try {
              params = a.params.resolve(event) as Record<string, unknown>;
            } catch (err) {
              throw new Error(`do[${a.index}] ${a.action}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
            }
            const problem = a.check?.(params);
            if (problem !== undefined) throw new ActionParamsInvalidError(a.action, `do[${a.index}]: ${problem}`);
          }
          planned.push({ rule: rule.name, index: a.index, key: a.key, action: a.action, params, mode: rule.mode, onFailure: rule.onFailure });
        }
        for (const p of planned) plan.push(p);
        outcomes.push({ rule: rule.name, outcome: 'matched' });
      } catch (err) {
        outcomes.push({ rule: rule.name, outcome: 'error', error: err instanceof Error ? err.message : String(err) });
      }
    }
    return { outcomes, plan };
  }
}
