/**
 * Delivery's failure policy: what the executor does with an action that failed,
 * as a pure function of the facts it knows at that moment (the error, the
 * claim, the event's signal, the rule's `onFailure`). No I/O: the executor
 * applies the decision (release the claim, write the dead letter, answer the
 * sidecar).
 *
 * The order of the rules matters and is the exactly-once argument:
 * 1. the idempotency store went away while recording the failure -> `retry`
 *    (fail closed; the claim keeps any unknown outcome for the next delivery);
 * 2. this attempt's answer was lost and the action has a lookup -> `reconcile`:
 *    the event is redelivered and the lookup runs before any new request;
 * 3. the outcome is unknown and cannot be looked up -> `dead-letter` with
 *    `unknown: true` (at most once: never sent again blindly). So is an
 *    earlier attempt's unknown outcome when this attempt failed for good before
 *    sending (its params no longer resolve, the lookup itself is refused with a
 *    4xx): a redelivery would fail the same way, so `reconcile` would retry for
 *    ever; `replay` looks it up once the cause is fixed;
 * 4. a transient failure (retriable error, the event's signal aborted, the
 *    store unavailable) -> `retry`;
 * 5. a permanent failure the action's circuit breaker holds (it belongs to the
 *    deployment: `breaker.ts`) -> `pause`: like `retry`, nothing dead-lettered;
 * 6. a permanent failure with `onFailure: retry` -> `retry-on-failure`;
 * 7. a permanent failure -> `dead-letter`.
 */

/** What the error says of itself. */
export type FailureErrorKind =
  /** Transient: `retriable: true` (AGS 429/5xx, timeouts, the event deadline). */
  | 'retriable'
  /** Permanent: AGS 4xx, bad params, unknown action. */
  | 'permanent'
  /** `outcomeUnknown: true`: the request may have been applied, its answer was lost. */
  | 'outcome-unknown'
  /** An earlier attempt's outcome is unknown and the action has no lookup (`UnknownOutcomeError`). */
  | 'unreconcilable'
  /** The idempotency store refused a read or write during the attempt (`StateStoreUnavailableError`). */
  | 'store-unavailable';

/** What the claim says of earlier attempts. */
export type FailureClaimState =
  /** No earlier attempt with an unknown outcome. */
  | 'fresh'
  /** An earlier attempt was sent and its answer lost; this attempt failed before sending anything. */
  | 'unknown-not-sent'
  /** An earlier attempt's answer was lost; this attempt sent its request again (after a negative lookup). */
  | 'unknown-sent';

export interface FailureFacts {
  readonly error: FailureErrorKind;
  readonly claim: FailureClaimState;
  /** The event's signal aborted (deadline, cancelled call, shutdown). */
  readonly aborted: boolean;
  /** The rule's `onFailure` for this action. */
  readonly onFailure: 'deadLetter' | 'retry';
  /** The action can look up whether an earlier attempt was applied (`reconcile`). */
  readonly hasLookup: boolean;
  /** Recording the failure in the idempotency store failed. */
  readonly ledgerDown: boolean;
  /** The action's circuit breaker holds this (permanent) failure: it belongs to the deployment, not to the event. Default: false. */
  readonly held?: boolean;
}

export type FailureAction = 'retry' | 'reconcile' | 'pause' | 'retry-on-failure' | 'dead-letter';

export interface FailureDecision {
  readonly action: FailureAction;
  /** The action's outcome is unknown: kept on the claim (`retry`, `reconcile`) or written as an `unknown-outcome` dead letter. */
  readonly unknown: boolean;
}

/** Whether the outcome of the action is unknown, from the facts (see the module comment). */
export function outcomeIsUnknown(f: Pick<FailureFacts, 'error' | 'claim' | 'aborted'>): boolean {
  if (f.error === 'outcome-unknown' || f.error === 'unreconcilable') return true;
  // An earlier attempt's answer was lost and this one failed for good before sending: still unknown.
  return f.claim === 'unknown-not-sent' && f.error === 'permanent' && !f.aborted;
}

/** Decides what to do with a failed action. Pure; total over {@link FailureFacts}. */
export function decideFailure(f: FailureFacts): FailureDecision {
  const unknown = outcomeIsUnknown(f);
  if (f.ledgerDown) return { action: 'retry', unknown };
  // reconcile only what a redelivery can settle: a lost answer; a permanent failure stays permanent
  if (unknown) return { action: f.error === 'outcome-unknown' && f.hasLookup ? 'reconcile' : 'dead-letter', unknown };
  if (f.aborted || f.error === 'retriable' || f.error === 'store-unavailable') return { action: 'retry', unknown };
  if (f.held === true) return { action: 'pause', unknown };
  if (f.onFailure === 'retry') return { action: 'retry-on-failure', unknown };
  return { action: 'dead-letter', unknown };
}
