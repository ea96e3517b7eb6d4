/**
 * One event with stateful rules, exactly once: a single optimistic
 * `transact` on the player's partition that
 * 1. records the event in its history, once per event key (a redelivery finds it);
 * 2. evaluates the service's rules over that history (this event included);
 * 3. for each matched rule with a `limit`/`cooldown`, decides and records the
 *    firing keyed by (rule, event key): a redelivery or a replay finds its own
 *    firing and proceeds (its actions are deduplicated by the idempotency
 *    layer); another event is refused once the limit is reached;
 * 4. compacts the ledger to what the loaded rules need.
 * The store retries the whole step on a conflicting write, so two replicas
 * handling two events of one player are serialised: never both under a
 * `count: 1` limit. Nothing is written when nothing changed (a redelivery).
 *
 * A rule whose `limit`/`cooldown` counts under another key (`limit.key`, e.g.
 * a party id) is decided in a second `transact`, on that key's own record (a
 * named partition): its firing is recorded there keyed by (rule, event key),
 * so a redelivery finds it whichever replica handles it, and two players of
 * one party are serialised on the party's record. The two steps need no
 * common atomicity: each is idempotent per event key on its own record.
 */
import type { DecodedEvent } from '../events/index.js';
import type { Counter, EvaluateOptions, RuleSet } from '../rules/index.js';
import { truthy } from '../rules/index.js';
import type { EvaluationResult, KeyedFiring, RuleOutcome } from '../rules/index.js';
import type { Change, Partition, StateDocument, StateStore, StoreCallOptions } from '../store/index.js';
import { documentKey, partitionId, UnreadableStateError } from '../store/index.js';
import { decideFiring } from '../state/index.js';
import type { FiringState, KeyedCounter } from '../state/index.js';
import { HISTORY_DATA, Ledger, UnreadableSectionError, eventTag } from '../state/index.js';
import { customEventOwner } from '../custom-events/index.js';

/** Default retention of event keys in a ledger: 7 days (the idempotency retention). */
export const DEFAULT_STATE_RETENTION_MS = 7 * 24 * 3_600_000;

export interface StatefulEvaluation {
  readonly rules: RuleSet;
  readonly serviceFullName: string;
  readonly event: DecodedEvent;
  /** The event's identity (`eventKey` of src/delivery/event-key.ts). */
  readonly eventKey: string;
  /** Epoch ms: the evaluation clock, and the instant recorded for the event and its firings. A redelivered event (its key already in the record) is evaluated at the instant first recorded instead. */
  readonly now: number;
  /** Event keys are remembered at least this long (ms). Default {@link DEFAULT_STATE_RETENTION_MS}. */
  readonly retentionMs?: number;
  /** Record what each rule's `when` saw (`explain`). Default false. */
  readonly trace?: boolean;
  /** The facts fetched for this event (`EvaluateOptions.facts`). */
  readonly facts?: EvaluateOptions['facts'];
  /** The event's `by` counters, recorded on their keys' records before this evaluation ({@link recordKeyedCounters}). */
  readonly counters?: ReadonlyMap<string, KeyedCounter>;
}

/**
 * The partition an event's state lives in: its player's (the event's `userId`
 * when it is an AGS user id, 32 hex characters), else the game's; in the app's
 * namespace (`AB_NAMESPACE`), else the event's. For a player, the same
 * document as the event's idempotency marks; a player-less event's marks are
 * sharded apart (src/delivery/ledger-partition.ts), its state stays in the one
 * game document so a game-wide limit is decided atomically.
 */
export function partitionOf(event: DecodedEvent, appNamespace: string): Partition {
  const namespace = appNamespace !== '' ? appNamespace : typeof event.namespace === 'string' ? event.namespace : '';
  const userId = event.userId ?? customEventOwner(event);
  return typeof userId === 'string' && /^[0-9a-f]{32}$/.test(userId) ? { namespace, userId } : { namespace };
}

/** The pure read-modify-write of one event over a document (may run several times). */
export function evaluateOnDocument(doc: StateDocument | undefined, e: StatefulEvaluation): Change<EvaluationResult> {
  const ledger = new Ledger(doc);
  const tag = eventTag(e.eventKey);
  // a redelivered event is decided on the record as it was when first handled: same instant (periods,
  // cooldowns), later events and firings left out; so its decision does not change
  const seen = ledger.firstSeen(tag);
  const now = seen?.at ?? e.now;
  if (seen) ledger.asOf = seen.seq;
  recordCounters(ledger, e.rules.counters(e.serviceFullName).filter((c) => !c.by), tag, now, e.event);
  const result = e.rules.evaluate(e.serviceFullName, e.event, { now: new Date(now), state: { ledger, tag, now, ...(e.counters ? { counters: e.counters } : {}) }, ...(e.trace ? { trace: true } : {}), ...(e.facts ? { facts: e.facts } : {}) });
  ledger.compact(e.rules.stateNeeds, e.now, e.retentionMs ?? DEFAULT_STATE_RETENTION_MS);
  return ledger.changed ? { next: ledger.toDocument(), result } : { result };
}

/**
 * Records the event in each counter whose `where` holds for it (all without
 * one), once per tag. A `where` that fails on the event (an operator's error,
 * the operation budget) does not count it.
 */
function recordCounters(ledger: Ledger, counters: readonly Counter[], tag: string, now: number, event: DecodedEvent): void {
  for (const c of counters) {
    if (c.where) {
      let holds: boolean;
      try {
        holds = truthy(c.where(event, { nowMs: now }));
      } catch {
        holds = false;
      }
      if (!holds) continue;
    }
    ledger.recordEvent(c.track, tag, now, c.streaks);
  }
}

/**
 * The pure read-modify-write of one `by` key's record (may run several
 * times): records the event in the key's counters (once per tag) and answers
 * the record to read them on. A redelivered event (its tag already in the
 * record) is read at its first instant, on the record as it was then.
 */
export function recordOnKeyDocument(doc: StateDocument | undefined, counters: readonly Counter[], key: string, e: StatefulEvaluation): Change<KeyedCounter> {
  const ledger = new Ledger(doc);
  const tag = eventTag(e.eventKey);
  const seen = ledger.firstSeen(tag);
  const now = seen?.at ?? e.now;
  if (seen) ledger.asOf = seen.seq;
  recordCounters(ledger, counters, tag, now, e.event);
  ledger.compact(e.rules.stateNeeds, e.now, e.retentionMs ?? DEFAULT_STATE_RETENTION_MS);
  const result: KeyedCounter = { ledger, now, key };
  return ledger.changed ? { next: ledger.toDocument(), result } : { result };
}

/**
 * The event's `by` counters, each recorded on its key's record (one
 * transaction per key value, through `transact`), before the rules are
 * evaluated: a rule reads the count with this event in it. Like a keyed
 * firing, each step is idempotent per event key on its own record, so a
 * redelivery is never counted twice whichever step it had reached.
 */
async function recordKeyedCounters(transact: (key: string, counters: readonly Counter[]) => Promise<KeyedCounter>, e: StatefulEvaluation): Promise<ReadonlyMap<string, KeyedCounter> | undefined> {
  const { byKey, unresolved } = e.rules.keyedCounters(e.serviceFullName, e.event);
  if (byKey.size === 0 && unresolved.size === 0) return undefined;
  const out = new Map<string, KeyedCounter>();
  for (const [track, problem] of unresolved) out.set(track, { problem });
  for (const [key, counters] of byKey) {
    const recorded = await transact(key, counters);
    for (const c of counters) out.set(c.track, recorded);
  }
  return out;
}

/** {@link recordKeyedCounters} over documents given by `docOf` (rule tests, explain): nothing is written. */
function keyedCountersOnDocuments(docOf: (key: string) => StateDocument | undefined, e: StatefulEvaluation): ReadonlyMap<string, KeyedCounter> | undefined {
  const { byKey, unresolved } = e.rules.keyedCounters(e.serviceFullName, e.event);
  if (byKey.size === 0 && unresolved.size === 0) return undefined;
  const out = new Map<string, KeyedCounter>();
  for (const [track, problem] of unresolved) out.set(track, { problem });
  for (const [key, counters] of byKey) {
    const recorded = recordOnKeyDocument(docOf(key), counters, key, e).result;
    for (const c of counters) out.set(c.track, recorded);
  }
  return out;
}

/** The named partition of a state key's value (`limit.key`): `k-` and a hash of the value. */
export function keyPartition(namespace: string, key: string): Partition {
  return { namespace, key: documentKey('k', key) };
}

/**
 * The pure read-modify-write of one key's record (may run several times):
 * decides the firings of the rules counting under this key for the event.
 * A redelivered event (its tag already in the record) is decided at its first
 * instant on the record as it was then, as on a player's record.
 */
export function decideOnKeyDocument(doc: StateDocument | undefined, firings: readonly KeyedFiring[], e: StatefulEvaluation): Change<Map<string, FiringState>> {
  const ledger = new Ledger(doc);
  const tag = eventTag(e.eventKey);
  const seen = ledger.firstSeen(tag);
  if (seen) ledger.asOf = seen.seq;
  const decisions = new Map<string, FiringState>();
  for (const f of firings) decisions.set(f.rule, { ...decideFiring({ ledger, tag, now: seen?.at ?? f.at }, f.record, f.limit, f.cooldown), key: f.key });
  ledger.compact(e.rules.stateNeeds, e.now, e.retentionMs ?? DEFAULT_STATE_RETENTION_MS);
  return ledger.changed ? { next: ledger.toDocument(), result: decisions } : { result: decisions };
}

/** The keyed firings grouped by key value, in first-seen order. */
function byKey(keyed: readonly KeyedFiring[]): Map<string, KeyedFiring[]> {
  const out = new Map<string, KeyedFiring[]>();
  for (const f of keyed) {
    const list = out.get(f.key);
    if (list) list.push(f);
    else out.set(f.key, [f]);
  }
  return out;
}

/** The evaluation with the keyed decisions applied: a suppressed rule's outcome says why and its actions leave the plan. */
export function applyKeyedDecisions(result: EvaluationResult, decisions: ReadonlyMap<string, FiringState>): EvaluationResult {
  const suppressed = new Set<string>();
  const outcomes = result.outcomes.map((o): RuleOutcome => {
    const firing = decisions.get(o.rule);
    // an `error` outcome (an action's parameters failed) is refused by its limit as a `matched` one: nothing runs
    if (!firing || (o.outcome !== 'matched' && o.outcome !== 'error')) return o;
    if (firing.decision !== 'suppressed' && o.outcome === 'error') return o;
    if (firing.decision !== 'suppressed') return { ...o, firing };
    suppressed.add(o.rule);
    return { rule: o.rule, outcome: 'suppressed', firing, ...(o.condition ? { condition: o.condition } : {}) };
  });
  return { outcomes, plan: suppressed.size === 0 ? result.plan : result.plan.filter((p) => !suppressed.has(p.rule)) };
}

/**
 * The whole stateful evaluation over documents given by `docOf` (rule tests,
 * explain): the player's record (`{ userId }`, `undefined` for the game's),
 * then each key's (`{ key }`: the key's value as the rule resolved it).
 * Nothing is written anywhere.
 */
/**
 * A hand-written history (rule tests, explain) as the server would have kept
 * it: each entry of an event's plain track also recorded in that event's
 * counters whose `where` holds for the entry's `data` (`{}` without one; all
 * without a `where`). The fixture's data section is dropped.
 */
export function seedCounters(doc: StateDocument | undefined, rules: RuleSet): StateDocument | undefined {
  if (!doc) return doc;
  const data = (doc[HISTORY_DATA] ?? {}) as Record<string, unknown>;
  const ledger = new Ledger(doc);
  for (const c of rules.allCounters()) {
    if (c.track === c.event) continue;
    for (const [at, tag] of ledger.events[c.event]?.h ?? []) {
      const event = (data[tag] ?? {}) as DecodedEvent;
      recordCounters(ledger, [c], tag, at, event);
    }
  }
  const out = ledger.toDocument();
  delete out[HISTORY_DATA];
  return out;
}

export function evaluateOnDocuments(docOf: (who: { readonly userId?: string; readonly key?: string }) => StateDocument | undefined, userId: string | undefined, given: StatefulEvaluation): EvaluationResult {
  const fixture = docOf;
  docOf = (who) => seedCounters(fixture(who), given.rules);
  const counters = keyedCountersOnDocuments((key) => docOf({ key }), given);
  const e: StatefulEvaluation = counters ? { ...given, counters } : given;
  const first = evaluateOnDocument(e.rules.needsPlayerRecord(e.serviceFullName) ? docOf(userId !== undefined ? { userId } : {}) : undefined, e).result;
  if (!first.keyed) return first;
  const decisions = new Map<string, FiringState>();
  for (const [key, firings] of byKey(first.keyed)) for (const [rule, f] of decideOnKeyDocument(docOf({ key }), firings, e).result) decisions.set(rule, f);
  return applyKeyedDecisions(first, decisions);
}

/** A section of the record that cannot be read, as the store's error naming the record (fail closed: UNAVAILABLE). */
function named(store: StateStore, partition: Partition, error: unknown): unknown {
  if (!(error instanceof UnreadableSectionError)) return error;
  return new UnreadableStateError(store.kind, store.describe?.(partition) ?? `state record of ${partitionId(partition)}`, error.message);
}

/**
 * Evaluates an event with stateful rules: one transaction on its partition
 * (skipped when no rule reads or writes the player's own record), then one per
 * key value of the rules counting under another key.
 * @throws {@link StateStoreUnavailableError} (the event must be redelivered; what was recorded is recognised then);
 *   `UnreadableStateError` when a record's `events`/`rules` section cannot be read (never read as empty)
 */
export async function evaluateWithState(store: StateStore, partition: Partition, given: StatefulEvaluation, options?: StoreCallOptions): Promise<EvaluationResult> {
  const transact = <T>(p: Partition, fn: (doc: StateDocument | undefined) => Change<T>): Promise<T> =>
    store.transact(p, fn, options).catch((error: unknown) => {
      throw named(store, p, error);
    });
  const counters = await recordKeyedCounters((key, list) => transact(keyPartition(partition.namespace, key), (doc) => recordOnKeyDocument(doc, list, key, given)), given);
  const e: StatefulEvaluation = counters ? { ...given, counters } : given;
  const first = e.rules.needsPlayerRecord(e.serviceFullName) ? await transact(partition, (doc) => evaluateOnDocument(doc, e)) : evaluateOnDocument(undefined, e).result;
  if (!first.keyed) return first;
  const decisions = new Map<string, FiringState>();
  for (const [key, firings] of byKey(first.keyed)) {
    const decided = await transact(keyPartition(partition.namespace, key), (doc) => decideOnKeyDocument(doc, firings, e));
    for (const [rule, f] of decided) decisions.set(rule, f);
  }
  return applyKeyedDecisions(first, decisions);
}
