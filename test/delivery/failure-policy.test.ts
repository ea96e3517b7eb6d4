import { describe, expect, it } from 'vitest';
import { decideFailure, outcomeIsUnknown } from '../../src/delivery/failure-policy.js';
import type { FailureAction, FailureClaimState, FailureErrorKind, FailureFacts } from '../../src/delivery/failure-policy.js';
import { failureErrorKind, UnknownOutcomeError, EventDeadlineError, UnknownActionError } from '../../src/delivery/executor.js';
import { StateStoreUnavailableError } from '../../src/store/state-store.js';
import { AgsError } from '../../src/ags/errors.js';

type Row = [FailureErrorKind, FailureClaimState, aborted: boolean, onFailure: 'deadLetter' | 'retry', hasLookup: boolean, ledgerDown: boolean, FailureAction, unknown: boolean];

// error x claim state x signal x onFailure (x lookup, x ledger) -> decision
const TABLE: Row[] = [
  // fresh claims: the error decides
  ['retriable', 'fresh', false, 'deadLetter', true, false, 'retry', false],
  ['permanent', 'fresh', false, 'deadLetter', true, false, 'dead-letter', false],
  ['permanent', 'fresh', false, 'retry', true, false, 'retry-on-failure', false],
  ['retriable', 'fresh', false, 'retry', false, false, 'retry', false],
  ['store-unavailable', 'fresh', false, 'deadLetter', false, false, 'retry', false],
  ['permanent', 'fresh', true, 'deadLetter', false, false, 'retry', false],
  ['permanent', 'fresh', true, 'retry', false, false, 'retry', false],
  // this attempt's answer was lost
  ['outcome-unknown', 'fresh', false, 'deadLetter', true, false, 'reconcile', true],
  ['outcome-unknown', 'fresh', false, 'retry', true, false, 'reconcile', true],
  ['outcome-unknown', 'fresh', true, 'deadLetter', true, false, 'reconcile', true],
  ['outcome-unknown', 'fresh', false, 'deadLetter', false, false, 'dead-letter', true],
  ['outcome-unknown', 'fresh', false, 'retry', false, false, 'dead-letter', true],
  ['outcome-unknown', 'fresh', true, 'retry', false, false, 'dead-letter', true],
  // an earlier attempt's answer was lost, this one failed before sending
  ['unreconcilable', 'unknown-not-sent', false, 'deadLetter', false, false, 'dead-letter', true],
  ['unreconcilable', 'unknown-not-sent', false, 'retry', false, false, 'dead-letter', true],
  // ... for good (params no longer resolve, the lookup refused): a redelivery would fail the same way -> unknown-outcome dead letter (issue 22.3)
  ['permanent', 'unknown-not-sent', false, 'deadLetter', true, false, 'dead-letter', true],
  ['permanent', 'unknown-not-sent', false, 'retry', true, false, 'dead-letter', true],
  ['permanent', 'unknown-not-sent', false, 'deadLetter', false, false, 'dead-letter', true],
  ['permanent', 'unknown-not-sent', true, 'deadLetter', true, false, 'retry', false],
  ['retriable', 'unknown-not-sent', false, 'deadLetter', true, false, 'retry', false],
  ['store-unavailable', 'unknown-not-sent', false, 'deadLetter', true, false, 'retry', false],
  // an earlier attempt's answer was lost, the lookup said not applied, this attempt sent again
  ['permanent', 'unknown-sent', false, 'deadLetter', true, false, 'dead-letter', false],
  ['permanent', 'unknown-sent', false, 'retry', true, false, 'retry-on-failure', false],
  ['retriable', 'unknown-sent', false, 'deadLetter', true, false, 'retry', false],
  ['outcome-unknown', 'unknown-sent', false, 'deadLetter', true, false, 'reconcile', true],
  // the store went away while recording the failure: retry, keeping what is unknown
  ['permanent', 'fresh', false, 'deadLetter', true, true, 'retry', false],
  ['outcome-unknown', 'fresh', false, 'deadLetter', false, true, 'retry', true],
  ['unreconcilable', 'unknown-not-sent', false, 'deadLetter', false, true, 'retry', true],
  ['permanent', 'fresh', false, 'retry', true, true, 'retry', false],
];

describe('decideFailure (delivery failure policy)', () => {
  it.each(TABLE)('%s, claim %s, aborted %s, onFailure %s, lookup %s, ledger down %s -> %s (unknown %s)', (error, claim, aborted, onFailure, hasLookup, ledgerDown, action, unknown) => {
    expect(decideFailure({ error, claim, aborted, onFailure, hasLookup, ledgerDown })).toEqual({ action, unknown });
  });

  const errors: FailureErrorKind[] = ['retriable', 'permanent', 'outcome-unknown', 'unreconcilable', 'store-unavailable'];
  const claims: FailureClaimState[] = ['fresh', 'unknown-not-sent', 'unknown-sent'];
  const all: FailureFacts[] = [];
  for (const error of errors)
    for (const claim of claims)
      for (const aborted of [false, true])
        for (const onFailure of ['deadLetter', 'retry'] as const)
          for (const hasLookup of [false, true]) for (const ledgerDown of [false, true]) all.push({ error, claim, aborted, onFailure, hasLookup, ledgerDown });

  it('never sends blindly: an unknown outcome is reconciled, dead-lettered as unknown, or kept on the claim (all 240 combinations)', () => {
    for (const f of all) {
      const d = decideFailure(f);
      expect(d.unknown).toBe(outcomeIsUnknown(f));
      if (d.unknown && !f.ledgerDown) expect(['reconcile', 'dead-letter'], JSON.stringify(f)).toContain(d.action);
      if (d.action === 'reconcile') expect(f.hasLookup && f.error === 'outcome-unknown', JSON.stringify(f)).toBe(true);
    }
  });

  it('a permanent failure is never retried unless onFailure: retry, the signal aborted or the store is down', () => {
    for (const f of all.filter((x) => x.error === 'permanent' && x.claim !== 'unknown-not-sent')) {
      const d = decideFailure(f);
      if (!f.aborted && !f.ledgerDown) expect(d.action, JSON.stringify(f)).toBe(f.onFailure === 'retry' ? 'retry-on-failure' : 'dead-letter');
    }
  });

  // the circuit breaker holds a permanent failure that belongs to the deployment (issue 22.5): redelivered, never dead-lettered
  const HELD: [FailureErrorKind, FailureClaimState, aborted: boolean, onFailure: 'deadLetter' | 'retry', hasLookup: boolean, ledgerDown: boolean, FailureAction, unknown: boolean][] = [
    ['permanent', 'fresh', false, 'deadLetter', true, false, 'pause', false],
    ['permanent', 'fresh', false, 'retry', false, false, 'pause', false],
    ['permanent', 'unknown-sent', false, 'deadLetter', true, false, 'pause', false],
    // what is unknown is settled first (a permanent failure after a lost answer: an unknown-outcome dead letter, 22.3);
    // a transient failure or a store down stays a retry
    ['permanent', 'unknown-not-sent', false, 'deadLetter', true, false, 'dead-letter', true],
    ['permanent', 'fresh', true, 'deadLetter', true, false, 'retry', false],
    ['permanent', 'fresh', false, 'deadLetter', true, true, 'retry', false],
    ['retriable', 'fresh', false, 'deadLetter', true, false, 'retry', false],
  ];
  it.each(HELD)('held by the breaker: %s, claim %s, aborted %s, onFailure %s, lookup %s, ledger down %s -> %s (unknown %s)', (error, claim, aborted, onFailure, hasLookup, ledgerDown, action, unknown) => {
    expect(decideFailure({ error, claim, aborted, onFailure, hasLookup, ledgerDown, held: true })).toEqual({ action, unknown });
  });

  it('held, nothing is ever dead-lettered but an unknown outcome (all 240 combinations)', () => {
    for (const f of all) {
      const d = decideFailure({ ...f, held: true });
      if (d.action === 'dead-letter') expect(d.unknown, JSON.stringify(f)).toBe(true);
      expect(d.unknown).toBe(outcomeIsUnknown(f));
    }
  });

  it('a permanent failure after a lost answer is never reported as retriable (it would be retried for ever): dead-lettered as unknown (issue 22.3)', () => {
    for (const f of all.filter((x) => (x.error === 'permanent' || x.error === 'unreconcilable') && x.claim !== 'fresh' && !x.aborted && !x.ledgerDown)) {
      const d = decideFailure(f);
      expect(['retry', 'reconcile'], JSON.stringify(f)).not.toContain(d.action);
      if (f.claim === 'unknown-not-sent') expect(d, JSON.stringify(f)).toEqual({ action: 'dead-letter', unknown: true });
    }
  });

  it('names errors by what they say of themselves', () => {
    expect(failureErrorKind(new UnknownOutcomeError('updateStat', 'an earlier attempt'))).toBe('unreconcilable');
    expect(failureErrorKind(new AgsError({ operation: 'x', retriable: true, attempts: 1, kind: 'network', outcomeUnknown: true }))).toBe('outcome-unknown');
    expect(failureErrorKind(new StateStoreUnavailableError('memory', 'read', 'down'))).toBe('store-unavailable');
    expect(failureErrorKind(new EventDeadlineError(10))).toBe('retriable');
    expect(failureErrorKind(new UnknownActionError('nope'))).toBe('permanent');
    expect(failureErrorKind('a string')).toBe('permanent');
  });
});
