/**
 * Limit and cooldown decisions: may this rule fire for this event, given the
 * player's ledger? Pure (the instant is passed in); records the firing in the
 * working copy when it may.
 */
import { MAX_COUNTED_LIMIT } from './ledger.js';
import type { Ledger } from './ledger.js';
import type { Window } from './windows.js';

/** A rule's `limit`, compiled: at most `count` firings per `window`. */
export interface LimitSpec {
  readonly count: number;
  readonly window: Window;
}

/** A rule's `cooldown`, compiled: at least `ms` between two firings. */
export interface CooldownSpec {
  readonly ms: number;
  /** As written (`6h`). */
  readonly text: string;
}

/** Why a matched rule did not fire. */
export type Suppression = 'limit' | 'cooldown';

/** The state a firing decision read (explain, rule tests, logs). */
export interface FiringState {
  /** `fired`: recorded now; `again`: this event had already fired it (a redelivery or a replay: it proceeds); `suppressed`: refused. */
  readonly decision: 'fired' | 'again' | 'suppressed';
  readonly suppressedBy?: Suppression;
  /** With a limit: firings in the window before this event, the maximum and the window. */
  readonly limit?: { readonly fired: number; readonly count: number; readonly per: string };
  /** With a cooldown: the cooldown and the last firing (ISO 8601), if any. */
  readonly cooldown?: { readonly duration: string; readonly lastFiring?: string };
  /** Counted under this key's value (`limit.key`), not the player's. */
  readonly key?: string;
}

/**
 * A `by` counter's record for this event (the key's value resolved on it):
 * its ledger with the event recorded and the instant it was first recorded
 * there, or why the key did not resolve (a rule reading it ends in `error`).
 */
export type KeyedCounter = { readonly ledger: Ledger; readonly now: number; readonly key: string } | { readonly problem: string };

/** What one evaluation with state needs: the working ledger, the event's tag and the clock. */
export interface RuleState {
  readonly ledger: Ledger;
  /** The `by` counters of this event, by track name (src/state/evaluate.ts records them first, on each key's record). */
  readonly counters?: ReadonlyMap<string, KeyedCounter>;
  /** {@link eventTag} of the event's key. */
  readonly tag: string;
  /** Epoch ms. */
  readonly now: number;
}

/**
 * Decides whether `rule` fires for the event: its own earlier firing for the
 * same event (a redelivery, or `replay` after a dead letter) always proceeds;
 * otherwise the limit (firings in the window < count) and the cooldown (time
 * since the last firing >= cooldown) must both allow it, and the firing is
 * recorded in the ledger.
 */
export function decideFiring(state: RuleState, rule: string, limit: LimitSpec | undefined, cooldown: CooldownSpec | undefined): FiringState {
  const { ledger, tag, now } = state;
  // above the entries' bound, a calendar limit reads its counter per period (a lifetime one the total)
  const period = limit && limit.count > MAX_COUNTED_LIMIT && limit.window.kind === 'calendar' ? limit.window : undefined;
  const limitState = limit ? { fired: period ? ledger.firedInPeriod(rule, period, now, limit.count) : ledger.fired(rule, limit.window, now), count: limit.count, per: limit.window.text } : undefined;
  const last = cooldown ? ledger.lastFiring(rule) : undefined;
  const cooldownState = cooldown ? { duration: cooldown.text, ...(last !== undefined ? { lastFiring: new Date(last).toISOString() } : {}) } : undefined;
  const base = { ...(limitState ? { limit: limitState } : {}), ...(cooldownState ? { cooldown: cooldownState } : {}) };
  if (ledger.firingOf(rule, tag) !== undefined) return { decision: 'again', ...base };
  if (limitState && limitState.fired >= limitState.count) return { decision: 'suppressed', suppressedBy: 'limit', ...base };
  if (cooldown && last !== undefined && now - last < cooldown.ms) return { decision: 'suppressed', suppressedBy: 'cooldown', ...base };
  ledger.recordFiring(rule, tag, now, period ? [period] : []);
  return { decision: 'fired', ...base };
}
