/**
 * The stateful JSON Logic operators `count`, `streak` and `fired`: they read
 * the player's ledger that `RuleSet.evaluate` passes to each run of a
 * compiled expression for one event (`LogicRun.state`, see src/state). Without it (a stateless evaluation) they fail the
 * rule rather than answer 0: a decision is never made without the state.
 */
import type { EvalState, Operator } from './evaluator.js';
import type { RuleState, StreakSpec, Window } from '../state/index.js';
import { parseWindow } from '../state/index.js';
import { LogicOperatorError } from './errors.js';

/** The stateful operators, with a one-line description each (schema hovers, docs). */
export const STATE_OPERATORS: Readonly<Record<string, string>> = {
  count: '{"count": [event, window, timeZone?, resetAt?]} -> how many of this player\'s events of that name fall in the window (this one included). window: 24h, P7D (rolling), day, week, month (calendar, in timeZone), lifetime.',
  streak: '{"streak": [event, "day" | "week", timeZone?, resetAt?]} -> consecutive days (or ISO weeks) with at least one such event, up to the current one (still alive while the current period has none yet).',
  fired: '{"fired": [rule, window, timeZone?, resetAt?]} -> how many times that rule fired for this player in the window (a firing: matched and its actions planned).',
};

const windows = new Map<string, Window>();

/** A window from operator arguments, parsed once per spelling (checked at load, so this does not throw for a loaded rule). */
export function windowOf(operator: string, spec: unknown, timeZone: unknown, resetAt: unknown): Window {
  const key = JSON.stringify([spec, timeZone, resetAt]);
  let w = windows.get(key);
  if (!w) {
    try {
      w = parseWindow(spec, timeZone, resetAt);
    } catch (err) {
      throw new LogicOperatorError(operator, (err as Error).message);
    }
    if (windows.size > 1000) windows.clear();
    windows.set(key, w);
  }
  return w;
}

/** The streak bucketing of `streak` arguments. */
export function streakSpecOf(unit: unknown, timeZone: unknown, resetAt: unknown): StreakSpec {
  if (unit !== 'day' && unit !== 'week') throw new LogicOperatorError('streak', `the period must be "day" or "week", not ${JSON.stringify(unit)}`);
  const w = windowOf('streak', unit, timeZone, resetAt);
  if (w.kind !== 'calendar') throw new LogicOperatorError('streak', 'the period must be "day" or "week"');
  return { unit, timeZone: w.timeZone, resetMinutes: w.resetMinutes };
}

function stateOf(st: EvalState, operator: string): RuleState {
  const s = st.state;
  if (!s) throw new LogicOperatorError(operator, "needs the player's history, which this evaluation does not have");
  return s;
}

/** `count`, `streak` and `fired` as operators of the rules dialect; they read the evaluation's `state` at each call. */
export function stateOperators(): Record<string, Operator> {
  return {
    count: {
      fn: ([name, spec, tz, reset], _data, st) => {
        const s = stateOf(st, 'count');
        return s.ledger.count(String(name), windowOf('count', spec, tz, reset), s.now);
      },
    },
    streak: {
      fn: ([name, unit, tz, reset], _data, st) => {
        const s = stateOf(st, 'streak');
        return s.ledger.streak(String(name), streakSpecOf(unit, tz, reset), s.now);
      },
    },
    fired: {
      fn: ([rule, spec, tz, reset], _data, st) => {
        const s = stateOf(st, 'fired');
        return s.ledger.fired(String(rule), windowOf('fired', spec, tz, reset), s.now, s.tag);
      },
    },
  };
}
