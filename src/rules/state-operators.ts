/**
 * The stateful JSON Logic operators `count`, `streak` and `fired`: they read
 * the player's ledger that `RuleSet.evaluate` passes to each run of a
 * compiled expression for one event (`LogicRun.state`, see src/state). Without it (a stateless evaluation) they fail the
 * rule rather than answer 0: a decision is never made without the state.
 */
import type { EvalState, Operator } from './evaluator.js';
import type { Ledger, RuleState, StreakSpec, Window } from '../state/index.js';
import { counterTrack, parseWindow } from '../state/index.js';
import { LogicOperatorError } from './errors.js';

/** The stateful operators, with a one-line description each (schema hovers, docs). */
export const STATE_OPERATORS: Readonly<Record<string, string>> = {
  count: '{"count": [event, window, timeZone?, resetAt?]} or {"count": {of, within, timeZone?, resetAt?, where?, by?}} -> how many of this player\'s events of that name fall in the window (this one included). window: 24h, P7D (rolling), day, week, month (calendar, in timeZone), lifetime. where: only events it holds for are counted (decided when each is recorded); by: whose counter (a template over the counted event, e.g. ${event.payload.UserID}).',
  streak: '{"streak": [event, "day" | "week", timeZone?, resetAt?]} or {"streak": {of, per, timeZone?, resetAt?, where?, by?}} -> consecutive days (or ISO weeks) with at least one such event, up to the current one (still alive while the current period has none yet).',
  fired: '{"fired": [rule, window, timeZone?, resetAt?]} or {"fired": {of, within, timeZone?, resetAt?}} -> how many times that rule fired for this player in the window (a firing: matched and its actions planned).',
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

/** An object form as compiled for reading: the counter's track, whether it is kept under a `by` key, the window or bucketing. */
interface ObjectForm {
  readonly name: string;
  readonly keyed: boolean;
  readonly window?: Window;
  readonly streak?: StreakSpec;
}

/** Object forms by identity: the evaluator hands the literal map as written (checked and rewritten at load) on each call. */
const forms = new WeakMap<object, ObjectForm>();

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{ of, within | per, timeZone?, resetAt?, where?, by? }` read once per map. */
function formOf(operator: string, form: Record<string, unknown>): ObjectForm {
  let f = forms.get(form);
  if (f) return f;
  const by = typeof form.by === 'string' && !/^\$\{\s*event\.userId\s*\}$/.test(form.by) ? form.by : undefined;
  const name = operator === 'fired' ? String(form.of) : counterTrack(String(form.of), form.where, by);
  f =
    operator === 'streak'
      ? { name, keyed: by !== undefined, streak: streakSpecOf(form.per, form.timeZone, form.resetAt) }
      : { name, keyed: by !== undefined, window: windowOf(operator, form.within, form.timeZone, form.resetAt) };
  forms.set(form, f);
  return f;
}

/** The ledger and clock a counter is read on: the player's, or its `by` key's record for this event. */
function counterOf(s: RuleState, operator: string, f: ObjectForm): { ledger: Ledger; now: number } {
  if (!f.keyed) return s;
  const c = s.counters?.get(f.name);
  if (!c) throw new LogicOperatorError(operator, 'needs the record of its "by" key, which this evaluation does not have');
  if ('problem' in c) throw new LogicOperatorError(operator, c.problem);
  return c;
}

/** `count`, `streak` and `fired` as operators of the rules dialect; they read the evaluation's `state` at each call. */
export function stateOperators(): Record<string, Operator> {
  return {
    count: {
      fn: ([name, spec, tz, reset], _data, st) => {
        const s = stateOf(st, 'count');
        if (isObject(name)) {
          const f = formOf('count', name);
          const c = counterOf(s, 'count', f);
          return c.ledger.count(f.name, f.window!, c.now);
        }
        return s.ledger.count(String(name), windowOf('count', spec, tz, reset), s.now);
      },
    },
    streak: {
      fn: ([name, unit, tz, reset], _data, st) => {
        const s = stateOf(st, 'streak');
        if (isObject(name)) {
          const f = formOf('streak', name);
          const c = counterOf(s, 'streak', f);
          return c.ledger.streak(f.name, f.streak!, c.now);
        }
        return s.ledger.streak(String(name), streakSpecOf(unit, tz, reset), s.now);
      },
    },
    fired: {
      fn: ([rule, spec, tz, reset], _data, st) => {
        const s = stateOf(st, 'fired');
        if (isObject(rule)) {
          const f = formOf('fired', rule);
          return s.ledger.fired(f.name, f.window!, s.now, s.tag);
        }
        return s.ledger.fired(String(rule), windowOf('fired', spec, tz, reset), s.now, s.tag);
      },
    },
  };
}
