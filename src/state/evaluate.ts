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
 */
import type { DecodedEvent } from '../events/types.js';
import type { RuleSet } from '../rules/rule-set.js';
import type { EvaluationResult } from '../rules/types.js';
import type { Change, Partition, StateDocument, StateStore, StoreCallOptions } from '../store/state-store.js';
import { Ledger, eventTag } from './ledger.js';

/** Default retention of event keys in a ledger: 7 days (the idempotency retention). */
export const DEFAULT_STATE_RETENTION_MS = 7 * 24 * 3_600_000;

export interface StatefulEvaluation {
  readonly rules: RuleSet;
  readonly serviceFullName: string;
  readonly event: DecodedEvent;
  /** The event's identity (`eventKey` of src/delivery/event-key.ts). */
  readonly eventKey: string;
  /** Epoch ms: the evaluation clock, and the instant recorded for the event and its firings. */
  readonly now: number;
  /** Event keys are remembered at least this long (ms). Default {@link DEFAULT_STATE_RETENTION_MS}. */
  readonly retentionMs?: number;
  /** Record what each rule's `when` saw (`explain`). Default false. */
  readonly trace?: boolean;
}

/** The partition an event's state lives in: its player's, or the namespace's game partition for events without a player. */
export function partitionOf(event: DecodedEvent, defaultNamespace: string): Partition {
  const namespace = typeof event.namespace === 'string' && event.namespace !== '' ? event.namespace : defaultNamespace;
  const userId = typeof event.userId === 'string' && event.userId !== '' ? event.userId : undefined;
  return userId === undefined ? { namespace } : { namespace, userId };
}

/** The pure read-modify-write of one event over a document (may run several times). */
export function evaluateOnDocument(doc: StateDocument | undefined, e: StatefulEvaluation): Change<EvaluationResult> {
  const ledger = new Ledger(doc);
  const tag = eventTag(e.eventKey);
  const counted = e.rules.countedEvent(e.serviceFullName);
  if (counted) ledger.recordEvent(counted.name, tag, e.now, counted.streaks);
  const result = e.rules.evaluate(e.serviceFullName, e.event, { now: new Date(e.now), state: { ledger, tag, now: e.now }, ...(e.trace ? { trace: true } : {}) });
  ledger.compact(e.rules.stateNeeds, e.now, e.retentionMs ?? DEFAULT_STATE_RETENTION_MS);
  return ledger.changed ? { next: ledger.toDocument(), result } : { result };
}

/**
 * Evaluates an event with stateful rules in one transaction on its partition.
 * @throws {@link StateStoreUnavailableError} (the event must be redelivered; nothing was decided)
 */
export function evaluateWithState(store: StateStore, partition: Partition, e: StatefulEvaluation, options?: StoreCallOptions): Promise<EvaluationResult> {
  return store.transact(partition, (doc) => evaluateOnDocument(doc, e), options);
}
