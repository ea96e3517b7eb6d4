/**
 * The compiled, immutable rule set: rules indexed by the full name of the
 * service they listen on, conditions and parameters compiled to closures.
 * `evaluate` is the per-event hot path: it touches only the event's own rules.
 */
import type { DecodedEvent } from '../events/index.js';
import { ActionParamsInvalidError, FactLookupError, ForEachListError, StateKeyUnresolvedError } from './errors.js';
import { forEachItemKey } from './action-key.js';
import { Tracer, truthy } from './evaluator.js';
import { conditionOf } from './explain.js';
import type { ConditionTrace } from './explain.js';
import type { EvaluationResult, KeyedFiring, PlannedAction, RuleOutcome } from './types.js';
import type { CompiledLogic, LogicRun } from './logic.js';
import type { CompiledValue } from './template.js';
import { decideFiring } from '../state/index.js';
import type { CooldownSpec, FiringState, LimitSpec, RuleState } from '../state/index.js';
import { horizonOf } from '../state/index.js';
import type { StateNeeds, StreakSpec } from '../state/index.js';
import { streakKey } from '../state/index.js';
import { MAX_KEY_CHARS, firingKey } from './stateful.js';
import type { CounterUse, StateKeySpec, StateUses } from './stateful.js';
import { readPath, textOf } from './template.js';

/** Most items a `forEach` walks by default: past its bound (`max`), the rule ends in a dead letter with the reason. */
export const DEFAULT_FOR_EACH_MAX = 100;

/** A `do` entry's fan-out: one action per item of a list of the event. */
export interface ForEachSpec {
  /** The list's path in the event. */
  readonly path: readonly string[];
  /** As written (`${event.payload.userIds}`). */
  readonly text: string;
  /** The name an item is read under (`item`, or `as`). */
  readonly as: string;
  /** Most items (default {@link DEFAULT_FOR_EACH_MAX}). */
  readonly max: number;
}

/** A read-only AGS lookup rules may name under `facts` (its requests are built by src/ags/facts.ts). */
export interface FactDefinition {
  /** Parameters a rule may give. */
  readonly params: readonly string[];
  /** Parameters a rule must give. */
  readonly required: readonly string[];
}

/** One `facts` entry of a rule that its condition reads, compiled. */
export interface CompiledFact {
  readonly name: string;
  /** AGS operation id. */
  readonly operation: string;
  /** Its parameters (texts; templates resolved per event). */
  readonly params: CompiledValue;
  /** The parameters written as templates (`${event...}`), as written: one resolving to "" for an event is the fact's problem, never sent without it. */
  readonly templated?: Readonly<Record<string, string>>;
}

/** A fact to fetch for one event: the rule, the fact's name, the operation and its resolved parameters (or why they do not resolve). */
export interface FactRequest {
  readonly rule: string;
  readonly name: string;
  readonly operation: string;
  readonly params: Readonly<Record<string, string>>;
  readonly problem?: string;
}

/** One `do` entry, compiled. */
export interface CompiledAction {
  /** One action per item of this list (absent: one action). */
  readonly forEach?: ForEachSpec;
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
  /** At most `count` firings per window for the player. */
  readonly limit?: LimitSpec;
  /** At least this long between two firings for the player. */
  readonly cooldown?: CooldownSpec;
  /** What the rule's conditions read from the player's ledger (`count`, `streak`, `fired`). */
  readonly stateUses?: StateUses;
  /** `limit.key` / the cooldown's `key` when it is not the player: the firing is decided on that key's record. */
  readonly stateKey?: StateKeySpec;
  /** 1-based line of the rule in the file. */
  readonly line: number;
  /** The facts its condition reads (fetched before it is evaluated). */
  readonly facts?: readonly CompiledFact[];
}

export interface EvaluateOptions {
  /** The clock of this evaluation: activation windows and the `now`/`within` operators. Default: the current time. */
  readonly now?: Date;
  /**
   * The player's ledger for this event (src/state): required by rules with a
   * `limit`/`cooldown` or reading `count`/`streak`/`fired` (without it they
   * end in `error`, never in a decision made without the state). Firings
   * allowed are recorded in it.
   */
  readonly state?: RuleState;
  /** Also record what each rule's `when` saw (`RuleOutcome.condition`), for `explain`. Default false. */
  readonly trace?: boolean;
  /**
   * The facts fetched for this event, by rule then fact name (a value, or the
   * error text of a lookup that failed permanently: the rule ends in `error`).
   * A rule reading facts without them ends in `error`, never reads false.
   */
  readonly facts?: ReadonlyMap<string, Readonly<Record<string, FactValue>>>;
  /**
   * Decide the conditions only: a rule whose `when` holds ends `matched` with no action planned (its
   * parameters, which may read any field, are not resolved). For an event decoded only for the fields its
   * rules are decided on ({@link RuleSet.decidedOn}: the host's partial decode): a match is then decided
   * again on the whole event. Without it, planning on such an event would fail each parameter reading
   * another field (an error made and thrown per granted event). Default false.
   */
  readonly conditionsOnly?: boolean;
}

/** A fetched fact: AGS's answer, or why the lookup failed permanently. */
export type FactValue = { readonly value: unknown } | { readonly error: string };

/**
 * One counter recorded for a service's events: the events `where` holds for
 * (all without it), under the track `track`, in the player's record or in the
 * record of the `by` key's value.
 */
export interface Counter {
  readonly track: string;
  /** The counted event's name. */
  readonly event: string;
  readonly where?: CompiledLogic;
  readonly by?: StateKeySpec;
  /** Streak bucketings kept for this track. */
  readonly streaks: Iterable<StreakSpec>;
}

/** What the loaded rules read and record in players' ledgers, computed once per rule set. */
function computeNeeds(rules: readonly CompiledRule[]): { needs: StateNeeds; counted: Map<string, Counter[]> } {
  const events = new Map<string, { horizonMs: number; streaks: Map<string, StreakSpec> }>();
  const counted = new Map<string, Map<string, Counter>>(); // service full name -> track -> counter
  const ruleHorizons = new Map<string, number>();
  const eventNeed = (c: CounterUse, enabled: boolean) => {
    let e = events.get(c.track);
    if (!e) events.set(c.track, (e = { horizonMs: 0, streaks: new Map() }));
    if (enabled) {
      // a disabled rule keeps what it reads, but does not make its events served
      let tracks = counted.get(c.service);
      if (!tracks) counted.set(c.service, (tracks = new Map<string, Counter>()));
      if (!tracks.has(c.track)) tracks.set(c.track, { track: c.track, event: c.event, ...(c.where ? { where: c.where } : {}), ...(c.by ? { by: c.by } : {}), streaks: e.streaks.values() });
    }
    return e;
  };
  for (const r of rules) {
    const key = firingKey(r);
    if (r.limit) ruleHorizons.set(key, horizonOf(ruleHorizons.get(key) ?? 0, r.limit.window));
    if (r.cooldown) ruleHorizons.set(key, Math.max(ruleHorizons.get(key) ?? 0, r.cooldown.ms));
    const uses = r.stateUses;
    if (!uses) continue;
    for (const c of uses.counts) {
      const e = eventNeed(c, r.enabled);
      e.horizonMs = horizonOf(e.horizonMs, c.window);
    }
    for (const s of uses.streaks) eventNeed(s, r.enabled).streaks.set(streakKey(s.spec), s.spec);
    for (const f of uses.fired) ruleHorizons.set(f.rule, horizonOf(ruleHorizons.get(f.rule) ?? 0, f.window));
  }
  // the streak bucketings are read when the event is recorded (a fresh iterator each time)
  const out = new Map<string, Counter[]>();
  for (const [service, tracks] of counted) {
    out.set(
      service,
      [...tracks.values()].map((c) => {
        const need = events.get(c.track)!;
        return {
          ...c,
          get streaks() {
            return need.streaks.values();
          },
        };
      }),
    );
  }
  return { needs: { events, rules: ruleHorizons }, counted: out };
}

/** Whether a rule reads the player's own record: a count or streak without `by`, or `fired`. */
function readsPlayer(uses: StateUses | undefined): boolean {
  return uses !== undefined && (uses.fired.length > 0 || uses.counts.some((c) => !c.by) || uses.streaks.some((c) => !c.by));
}

const EMPTY: readonly CompiledRule[] = Object.freeze([]);
const EMPTY_COUNTERS: readonly Counter[] = Object.freeze([]);
const NO_FACT_REQUESTS: readonly FactRequest[] = Object.freeze([]);
const NO_PLAN: readonly PlannedAction[] = Object.freeze([]);

/** Operators whose value depends only on their arguments (no event read of their own, no state, no clock, no iteration). */
const PURE_OPERATORS = new Set(['==', '===', '!=', '!==', '!', '!!', 'and', 'or', 'if', '?:', 'in', '<', '<=', '>', '>=']);

/**
 * The top-level fields of the event a condition reads, when that is all it reads: `var` of a literal
 * name without a dot, inside the pure operators above, with literal values. Anything else (a nested
 * path, an iteration, a stateful or time operator, a computed name): undefined.
 */
function topLevelReads(logic: unknown, into: Set<string>): boolean {
  if (logic === null || typeof logic !== 'object') return true; // a literal
  if (Array.isArray(logic)) return logic.every((x) => topLevelReads(x, into));
  const keys = Object.keys(logic);
  if (keys.length !== 1) return false;
  const op = keys[0]!;
  const arg = (logic as Record<string, unknown>)[op];
  if (op === 'var') {
    const name: unknown = Array.isArray(arg) ? (arg as unknown[])[0] : arg;
    if (typeof name !== 'string' || name === '' || name.includes('.')) return false;
    if (Array.isArray(arg) && !(arg.length === 1 || (arg.length === 2 && (arg[1] === null || typeof arg[1] !== 'object')))) return false;
    into.add(name);
    return true;
  }
  return PURE_OPERATORS.has(op) && topLevelReads(arg, into);
}

/**
 * The `notMatched` outcome of each rule, made once: most events match none of their rules, and the
 * outcome of a rule whose condition is false (not traced) is the same object every time.
 */
const notMatchedOutcomes = new WeakMap<CompiledRule, RuleOutcome>();
function notMatchedOf(rule: CompiledRule): RuleOutcome {
  let o = notMatchedOutcomes.get(rule);
  if (!o) {
    o = Object.freeze({ rule: rule.name, outcome: 'notMatched' as const });
    notMatchedOutcomes.set(rule, o);
  }
  return o;
}

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
  /** What players' ledgers must keep for these rules. */
  readonly stateNeeds: StateNeeds;
  /** Services whose events read or write a ledger: a stateful rule listens on them, or their events are counted. */
  readonly #stateful: ReadonlySet<string>;
  /** Services whose events read or write the player's own record (not only keyed ones). */
  readonly #playerStateful: ReadonlySet<string>;
  /** Service full name -> its counters, for counted events. */
  readonly #counted: ReadonlyMap<string, readonly Counter[]>;
  /** Services one of whose enabled rules reads facts. */
  readonly #readingFacts: ReadonlySet<string>;
  /** Per service, the top-level fields its rules are decided on, when that is all they read (see {@link decidedOn}); computed on first ask. */
  readonly #decidedOn = new Map<string, readonly string[] | undefined>();

  constructor(rules: readonly CompiledRule[], hash: string) {
    this.rules = Object.freeze([...rules]);
    this.ruleCount = rules.length;
    this.hash = hash;
    const byService = new Map<string, CompiledRule[]>();
    for (const r of rules) {
      if (!r.enabled) continue;
      let list = byService.get(r.service);
      if (!list) byService.set(r.service, (list = []));
      list.push(r);
    }
    for (const list of byService.values()) Object.freeze(list);
    this.#byService = byService;
    const { needs, counted } = computeNeeds(rules);
    this.stateNeeds = needs;
    this.#counted = counted;
    const stateful = new Set(counted.keys());
    for (const r of rules) if (r.enabled && (r.limit || r.cooldown || r.stateUses || needs.rules.has(r.name))) stateful.add(r.service);
    this.#stateful = stateful;
    const player = new Set<string>();
    for (const [service, counters] of counted) if (counters.some((c) => !c.by)) player.add(service);
    for (const r of rules) if (r.enabled && (readsPlayer(r.stateUses) || (!r.stateKey && (r.limit || r.cooldown || needs.rules.has(r.name))))) player.add(r.service);
    this.#playerStateful = player;
    this.#readingFacts = new Set(rules.filter((r) => r.enabled && r.facts && r.facts.length > 0).map((r) => r.service));
    // counted events are served even when no rule listens on them: their history must be recorded
    this.services = new Set([...byService.keys(), ...counted.keys()]);
    Object.freeze(this);
  }

  /** Enabled rules listening on a service, in file order. */
  rulesFor(serviceFullName: string): readonly CompiledRule[] {
    return this.#byService.get(serviceFullName) ?? EMPTY;
  }

  /** Whether events of this service read or write the player's own record (else only keyed records, or none). */
  needsPlayerRecord(serviceFullName: string): boolean {
    return this.#playerStateful.has(serviceFullName);
  }

  /** Whether events of this service read or write the player's ledger (else evaluation needs no state and no store). */
  needsState(serviceFullName: string): boolean {
    return this.#stateful.has(serviceFullName);
  }

  /** Every counter of the loaded rules (enabled ones), once each. */
  allCounters(): readonly Counter[] {
    return [...this.#counted.values()].flat();
  }

  /** The counters recorded for this service's events (in the player's record, and under `by` keys), when some rule counts them. */
  counters(serviceFullName: string): readonly Counter[] {
    return this.#counted.get(serviceFullName) ?? EMPTY_COUNTERS;
  }

  /**
   * The `by` counters of this event grouped by their key's value (resolved on
   * the event), and the counters whose key does not resolve with why (a rule
   * reading one ends in `error`; the event is not counted under an empty key).
   */
  keyedCounters(serviceFullName: string, event: DecodedEvent): { readonly byKey: Map<string, Counter[]>; readonly unresolved: Map<string, string> } {
    const byKey = new Map<string, Counter[]>();
    const unresolved = new Map<string, string>();
    for (const c of this.counters(serviceFullName)) {
      if (!c.by) continue;
      const key = stateKeyOf(c.by, event, { nowMs: Date.now() });
      if (!key.ok) {
        unresolved.set(c.track, `"by" ${key.problem} (not counted)`);
        continue;
      }
      const list = byKey.get(key.value);
      if (list) list.push(c);
      else byKey.set(key.value, [c]);
    }
    return { byKey, unresolved };
  }

  /**
   * The top-level fields of the event (json names) that decide every enabled rule of this service,
   * when nothing else does: each rule has a `when` that reads only such fields (`var` of a plain name,
   * compared with `==`, `in`, `and`...), no facts, no state (limit, cooldown, count, streak, fired, a
   * counted event); none when no rule listens on it. Undefined otherwise. An event of the service whose rules all end `notMatched`
   * or `inactive` on those fields alone is handled without the rest of it (the gRPC host then
   * decodes only them; the pipeline decodes the whole event before anything else reads it).
   */
  decidedOn(serviceFullName: string): readonly string[] | undefined {
    if (this.#decidedOn.has(serviceFullName)) return this.#decidedOn.get(serviceFullName);
    const rules = this.#byService.get(serviceFullName) ?? EMPTY; // no rule (a served catalog's other events): no field
    let fields: readonly string[] | undefined;
    if (!this.#stateful.has(serviceFullName) && !this.#readingFacts.has(serviceFullName)) {
      const names = new Set<string>();
      if (rules.every((r) => r.whenLogic !== undefined && topLevelReads(r.whenLogic, names))) fields = Object.freeze([...names].sort());
    }
    this.#decidedOn.set(serviceFullName, fields);
    return fields;
  }

  /** Whether an enabled rule listening on this service reads facts (else {@link factRequests} is always empty). */
  readsFacts(serviceFullName: string): boolean {
    return this.#readingFacts.has(serviceFullName);
  }

  /** The facts the event's rules read (enabled, active now), their parameters resolved on the event. */
  factRequests(serviceFullName: string, event: DecodedEvent, now: number): readonly FactRequest[] {
    if (!this.#readingFacts.has(serviceFullName)) return NO_FACT_REQUESTS;
    const out: FactRequest[] = [];
    for (const rule of this.rulesFor(serviceFullName)) {
      if (!rule.facts || (rule.activeFrom !== undefined && now < rule.activeFrom) || (rule.activeUntil !== undefined && now >= rule.activeUntil)) continue;
      for (const f of rule.facts) {
        try {
          const params = (f.params.constant ? f.params.value : f.params.resolve(event, { nowMs: now })) as Record<string, unknown>;
          const texts = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, textOf(v)]));
          const empty = f.templated ? Object.keys(f.templated).find((k) => texts[k] === '') : undefined;
          if (empty !== undefined) {
            // an empty parameter is dropped from the request: the lookup would ask another question (statCodes "" reads every stat)
            out.push({ rule: rule.name, name: f.name, operation: f.operation, params: {}, problem: `parameter ${empty} (${f.templated![empty]!}) is empty for this event: the lookup is not sent without it` });
            continue;
          }
          out.push({ rule: rule.name, name: f.name, operation: f.operation, params: texts });
        } catch (err) {
          out.push({ rule: rule.name, name: f.name, operation: f.operation, params: {}, problem: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    return out;
  }

  /** Evaluates the service's rules on a decoded event: outcomes per rule and the plan of actions. Never throws. */
  evaluate(serviceFullName: string, event: DecodedEvent, opts?: EvaluateOptions): EvaluationResult {
    const rules = this.#byService.get(serviceFullName);
    if (!rules) return { outcomes: [], plan: NO_PLAN };
    const now = opts?.now ? opts.now.getTime() : Date.now();
    return this.#evaluate(rules, event, now, opts?.state, opts?.trace === true, opts?.facts, opts?.conditionsOnly === true);
  }

  #evaluate(rules: readonly CompiledRule[], event: DecodedEvent, now: number, state: RuleState | undefined, trace: boolean, facts: EvaluateOptions['facts'], conditionsOnly = false): EvaluationResult {
    // the per-evaluation inputs of every compiled expression (one object per event; a traced rule gets its own with its tracer)
    const run: LogicRun = state ? { nowMs: now, state } : { nowMs: now };
    // one outcome per rule: sized once (a push onto [] reserves 16 slots)
    const outcomes = new Array<RuleOutcome>(rules.length);
    let n = 0;
    const plan: PlannedAction[] = [];
    let keyed: KeyedFiring[] | undefined; // made for the first keyed firing (seldom)
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r]!;
      if ((rule.activeFrom !== undefined && now < rule.activeFrom) || (rule.activeUntil !== undefined && now >= rule.activeUntil)) {
        outcomes[n++] = { rule: rule.name, outcome: 'inactive' };
        continue;
      }
      let condition: ConditionTrace | undefined;
      const lookupFailed = rule.facts ? factFailure(rule, facts) : undefined;
      if (lookupFailed) {
        // a fact AGS refused (a 4xx, no player): never read as false; none of the rule's actions run, each carries the reason (a dead letter)
        outcomes[n++] = { rule: rule.name, outcome: 'error', error: lookupFailed.message };
        for (const a of rule.actions) plan.push({ rule: rule.name, index: a.index, key: a.key, action: a.action, mode: rule.mode, onFailure: rule.onFailure, params: {}, failure: lookupFailed });
        continue;
      }
      try {
        if (rule.when) {
          const tracer = trace ? new Tracer() : undefined;
          let value: unknown;
          try {
            value = rule.when(rule.facts ? withFacts(rule, event, facts) : event, tracer ? { ...run, tracer } : run);
          } finally {
            if (tracer?.root) condition = conditionOf(tracer.root);
          }
          if (!truthy(value)) {
            outcomes[n++] = condition ? { rule: rule.name, outcome: 'notMatched', condition } : notMatchedOf(rule);
            continue;
          }
        }
        if (conditionsOnly) {
          outcomes[n++] = { rule: rule.name, outcome: 'matched' };
          continue;
        }
        const planned: PlannedAction[] = [];
        let failed = planRuleActions(rule, event, run, planned);
        let firing: FiringState | undefined;
        if (rule.stateKey) {
          // decided on the key's own record after this evaluation (src/pipeline/evaluate.ts)
          if (!state) throw new Error("limit and cooldown need the key's record, which this evaluation does not have");
          const key = stateKeyOf(rule.stateKey, event, run);
          if (key.ok) (keyed ??= []).push({ rule: rule.name, record: firingKey(rule), key: key.value, at: now, ...(rule.limit ? { limit: rule.limit } : {}), ...(rule.cooldown ? { cooldown: rule.cooldown } : {}) });
          else {
            // uncounted, no action of the rule may run (not even those whose parameters resolved)
            failed = `${key.problem} (the rule cannot be counted)`;
            const failure = new StateKeyUnresolvedError(rule.name, rule.stateKey.text, key.problem);
            for (let k = 0; k < planned.length; k++) planned[k] = { ...planned[k]!, params: {}, failure };
          }
        } else if (rule.limit || rule.cooldown || this.stateNeeds.rules.has(rule.name)) {
          if (!state) throw new Error("limit, cooldown and fired need the player's record, which this evaluation does not have");
          firing = decideFiring(state, firingKey(rule), rule.limit, rule.cooldown);
          if (firing.decision === 'suppressed') {
            outcomes[n++] = { rule: rule.name, outcome: 'suppressed', firing };
            continue;
          }
        }
        for (const p of planned) plan.push(p);
        outcomes[n++] = failed === undefined ? { rule: rule.name, outcome: 'matched', ...(firing ? { firing } : {}), ...(condition ? { condition } : {}) } : { rule: rule.name, outcome: 'error', error: failed, ...(condition ? { condition } : {}) };
      } catch (err) {
        outcomes[n++] = { rule: rule.name, outcome: 'error', error: err instanceof Error ? err.message : String(err), ...(condition ? { condition } : {}) };
      }
    }
    if (n !== outcomes.length) outcomes.length = n; // a length set is a runtime call: only when a rule gave none (it cannot)
    return keyed ? { outcomes, plan: plan.length > 0 ? plan : NO_PLAN, keyed } : { outcomes, plan: plan.length > 0 ? plan : NO_PLAN };
  }
}

/**
 * Plans the actions of a matched rule into `planned`; returns the rule's error, if any. An action
 * whose params do not resolve is planned with its failure (the executor dead-letters it): never
 * dropped silently. A forEach list past its bound (or not a list): none of the rule's actions run.
 */
function planRuleActions(rule: CompiledRule, event: DecodedEvent, run: LogicRun, planned: PlannedAction[]): string | undefined {
  let failed: string | undefined;
  let ruleFailure: Error | undefined;
  for (const a of rule.actions) {
    if (!a.forEach) {
      // the usual action: planned as one literal, no base object spread into it
      const p = planAction(a, rule, event, run);
      if (p.failure) failed ??= `do[${a.index}] ${a.action}: ${p.failure.message}`;
      planned.push(p);
      continue;
    }
    const items = forEachItems(rule.name, a.forEach, event);
    if (items instanceof Error) {
      ruleFailure ??= items;
      continue;
    }
    const base = { rule: rule.name, index: a.index, key: a.key, action: a.action, mode: rule.mode, onFailure: rule.onFailure };
    for (const item of items) {
      const p = planItemAction(a, { ...base, key: forEachItemKey(a.key, item), item }, { ...(event as Record<string, unknown>), [a.forEach.as]: item }, run);
      if (p.failure) failed ??= `do[${a.index}] ${a.action} (${a.forEach.as} ${JSON.stringify(item)}): ${p.failure.message}`;
      planned.push(p);
    }
  }
  if (ruleFailure) {
    // a list past its bound (or not a list): none of the rule's actions run, the rule ends in a dead letter with the reason
    failed = ruleFailure.message;
    const all = rule.actions.map((a) => ({ rule: rule.name, index: a.index, key: a.key, action: a.action, mode: rule.mode, onFailure: rule.onFailure, params: {}, failure: ruleFailure }));
    planned.splice(0, planned.length, ...all);
  }
  return failed;
}

/** A permanent failure of one of the rule's facts (AGS refused the lookup), if any. */
function factFailure(rule: CompiledRule, facts: EvaluateOptions['facts']): FactLookupError | undefined {
  const mine = facts?.get(rule.name);
  for (const f of rule.facts ?? []) {
    const v = mine?.[f.name];
    if (v && 'error' in v) return new FactLookupError(rule.name, f.name, f.operation, v.error);
  }
  return undefined;
}

/** The event with the rule's facts under `facts` (read by its condition). Throws when one is missing or failed: the rule ends in `error`, never reads false. */
function withFacts(rule: CompiledRule, event: DecodedEvent, facts: EvaluateOptions['facts']): DecodedEvent {
  const mine = facts?.get(rule.name);
  const values: Record<string, unknown> = {};
  for (const f of rule.facts ?? []) {
    const v = mine?.[f.name];
    if (!v) throw new Error(`fact ${f.name} (${f.operation}) was not fetched for this event`);
    if ('error' in v) throw new Error(`fact ${f.name} (${f.operation}): ${v.error}`);
    values[f.name] = v.value;
  }
  return { ...event, facts: values };
}

/** The action's params resolved on `data` (the event, or the event and a forEach item), checked; or why not. */
function resolveParams(a: CompiledAction, data: unknown, run: LogicRun): Record<string, unknown> | Error {
  if (a.params.constant) return a.params.value as Record<string, unknown>;
  try {
    const params = a.params.resolve(data, run) as Record<string, unknown>;
    const problem = a.check?.(params);
    return problem === undefined ? params : new ActionParamsInvalidError(a.action, `do[${a.index}]: ${problem}`);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** One action (no forEach) planned on the event: the same members as {@link planItemAction}'s, in one literal. */
function planAction(a: CompiledAction, rule: CompiledRule, event: DecodedEvent, run: LogicRun): PlannedAction {
  const r = resolveParams(a, event, run);
  if (!(r instanceof Error)) return { rule: rule.name, index: a.index, key: a.key, action: a.action, mode: rule.mode, onFailure: rule.onFailure, params: r };
  return { rule: rule.name, index: a.index, key: a.key, action: a.action, mode: rule.mode, onFailure: rule.onFailure, params: {}, failure: r };
}

/** One action planned on `data` (the event and a forEach item): its resolved params, or its failure. */
function planItemAction(a: CompiledAction, base: Omit<PlannedAction, 'params'>, data: unknown, run: LogicRun): PlannedAction {
  const r = resolveParams(a, data, run);
  return r instanceof Error ? { ...base, params: {}, failure: r } : { ...base, params: r };
}

/**
 * The items a forEach walks for this event, each once (equal items share one
 * action key): an absent or empty list is none; a value that is not a list, or
 * a list longer than `max`, is a {@link ForEachListError}.
 */
function forEachItems(rule: string, spec: ForEachSpec, event: DecodedEvent): unknown[] | ForEachListError {
  const list = readPath(event, spec.path);
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) return new ForEachListError(rule, spec.text, 'is not a list for this event');
  if (list.length > spec.max) return new ForEachListError(rule, spec.text, `has ${list.length} items, more than its bound of ${spec.max} (max): none of the rule's actions ran; raise max if the list is expected this long`);
  const seen = new Set<string>();
  return (list as unknown[]).filter((item) => {
    const k = forEachItemKey('', item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The key's value for this event: a non-empty text, or why not. */
export function stateKeyOf(spec: StateKeySpec, event: DecodedEvent, run: LogicRun): { ok: true; value: string } | { ok: false; problem: string } {
  // every field read must hold a value: `party-${...}` with no party is not the key "party-"
  for (const f of spec.fields) {
    const fv = readPath(event, f.path);
    const bad = fv === undefined || fv === null ? 'is not in the event' : fv === '' ? 'is empty' : typeof fv === 'object' ? 'is not a text' : undefined;
    if (bad !== undefined) return { ok: false, problem: spec.fields.length === 1 && spec.text === `\${${f.raw}}` ? `key ${spec.text} ${bad} for this event` : `key ${spec.text}: \${${f.raw}} ${bad} for this event` };
  }
  let v: unknown;
  try {
    v = spec.value.constant ? spec.value.value : spec.value.resolve(event, run);
  } catch (err) {
    return { ok: false, problem: `key ${spec.text}: ${err instanceof Error ? err.message : String(err)}` };
  }
  const text = typeof v === 'object' && v !== null ? undefined : textOf(v);
  if (text === undefined || text === '') return { ok: false, problem: `key ${spec.text} is ${text === '' ? 'empty' : 'not a text'} for this event` };
  if (text.length > MAX_KEY_CHARS) return { ok: false, problem: `key ${spec.text} is ${text.length} characters long (at most ${MAX_KEY_CHARS})` };
  return { ok: true, value: text };
}
