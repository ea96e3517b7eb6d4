/**
 * The JSON Logic dialect of `when` and `$logic`: json-logic-engine's standard
 * operators, compiled once at load with `build`, plus the operators game rules
 * need (time and strings). The clock is injectable: each {@link RulesLogic}
 * reads "now" from its own state, which `RuleSet.evaluate` sets per event.
 */
import { LogicEngine } from 'json-logic-engine';
import { LogicOperatorError } from './errors.js';
import { STATE_OPERATORS, addStateOperators } from './state-operators.js';
import type { RuleState } from '../state/firing.js';

/** A compiled JSON Logic expression: data in, value out. */
export type CompiledLogic = (data: unknown) => unknown;

/** Operators we add, with a one-line description each (README and schema hovers). */
export const CUSTOM_OPERATORS: Readonly<Record<string, string>> = {
  now: '{"now": []} -> the current instant as epoch milliseconds (the evaluation clock).',
  before: '{"before": [a, b]} -> true when instant a is before instant b (ISO 8601 strings or epoch ms).',
  after: '{"after": [a, b]} -> true when instant a is after instant b (ISO 8601 strings or epoch ms).',
  duration: '{"duration": "PT24H"} or {"duration": "24h"} -> milliseconds.',
  within: '{"within": [instant, duration]} -> true when the instant is at most that duration away from now (past or future).',
  startsWith: '{"startsWith": [text, prefix]} -> boolean (false when text is not a string).',
  endsWith: '{"endsWith": [text, suffix]} -> boolean (false when text is not a string).',
  matches: '{"matches": [text, pattern, flags?]} -> regular expression test (false when text is not a string).',
  lower: '{"lower": text} -> lower-cased text (non-strings returned unchanged).',
  upper: '{"upper": text} -> upper-cased text (non-strings returned unchanged).',
  ...STATE_OPERATORS,
};

/** Operators that read iterator scope: their arguments after the first are evaluated per element. */
export const ITERATOR_OPERATORS: ReadonlySet<string> = new Set(['map', 'filter', 'reduce', 'all', 'some', 'none', 'every']);

/** Operators that make no sense in a rule (they exist in json-logic-engine for other hosts). */
const BLOCKED = new Set(['eachKey', 'pipe', 'throw', 'try']);

/** Parses an instant: epoch milliseconds or an ISO 8601 / RFC 3339 string. Throws on anything else. */
export function toInstant(value: unknown, operator: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value !== '') {
    if (/^-?\d+$/.test(value)) return Number(value);
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new LogicOperatorError(operator, `${JSON.stringify(value) ?? 'undefined'} is not an instant (ISO 8601 string or epoch milliseconds)`);
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `PT24H`, `P1DT2H30M`, `P2W`, `24h`, `1d12h`, `90m`, `30s`, `500ms`, or a number of ms. Throws otherwise. */
export function parseDuration(value: unknown, operator = 'duration'): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const iso = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(value);
    if (iso && value.length > 1 && !/T$/i.test(value)) {
      const [, w, d, h, m, s] = iso;
      return (
        Number(w ?? 0) * UNIT_MS.w! +
        Number(d ?? 0) * UNIT_MS.d! +
        Number(h ?? 0) * UNIT_MS.h! +
        Number(m ?? 0) * UNIT_MS.m! +
        Number(s ?? 0) * UNIT_MS.s!
      );
    }
    const short = value.replace(/\s+/g, '');
    if (/^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/.test(short)) {
      let total = 0;
      for (const part of short.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) total += Number(part[1]) * UNIT_MS[part[2]!]!;
      return total;
    }
  }
  throw new LogicOperatorError(operator, `${JSON.stringify(value) ?? 'undefined'} is not a duration (PT24H, 24h, 90m, 1d12h or milliseconds)`);
}

function args(a: unknown): unknown[] {
  return Array.isArray(a) ? a : [a];
}

/** The rules dialect: an engine plus the clock its time operators read. */
export class RulesLogic {
  /** The instant time operators see as "now", in epoch ms. Set by `RuleSet.evaluate` before each event. */
  nowMs = Date.now();
  /** The player's ledger for `count`/`streak`/`fired` (src/rules/state-operators.ts), set by `RuleSet.evaluate` for events with stateful rules. */
  state: RuleState | undefined;
  readonly engine: LogicEngine;
  readonly #regexCache = new Map<string, RegExp>();

  constructor() {
    const engine = new LogicEngine();
    for (const name of BLOCKED) delete (engine.methods as Record<string, unknown>)[name];
    engine.addMethod('now', { method: () => this.nowMs, deterministic: false });
    engine.addMethod('before', (a: unknown) => {
      const [x, y] = args(a);
      return toInstant(x, 'before') < toInstant(y, 'before');
    });
    engine.addMethod('after', (a: unknown) => {
      const [x, y] = args(a);
      return toInstant(x, 'after') > toInstant(y, 'after');
    });
    engine.addMethod('duration', (a: unknown) => parseDuration(args(a)[0]), { deterministic: true });
    engine.addMethod('within', {
      method: (a: unknown) => {
        const [t, d] = args(a);
        return Math.abs(this.nowMs - toInstant(t, 'within')) <= parseDuration(d, 'within');
      },
      deterministic: false,
    });
    engine.addMethod('startsWith', (a: unknown) => {
      const [s, p] = args(a);
      return typeof s === 'string' && s.startsWith(String(p));
    });
    engine.addMethod('endsWith', (a: unknown) => {
      const [s, p] = args(a);
      return typeof s === 'string' && s.endsWith(String(p));
    });
    engine.addMethod('matches', (a: unknown) => {
      const [s, p, f] = args(a);
      if (typeof s !== 'string') return false;
      return this.regex(p, f).test(s);
    });
    engine.addMethod('lower', (a: unknown) => {
      const s = args(a)[0];
      return typeof s === 'string' ? s.toLowerCase() : s;
    });
    engine.addMethod('upper', (a: unknown) => {
      const s = args(a)[0];
      return typeof s === 'string' ? s.toUpperCase() : s;
    });
    addStateOperators(engine, this);
    this.engine = engine;
  }

  /** Every operator name this dialect accepts. */
  operators(): string[] {
    return Object.keys(this.engine.methods as Record<string, unknown>);
  }

  hasOperator(name: string): boolean {
    return Object.hasOwn(this.engine.methods as Record<string, unknown>, name);
  }

  /** A compiled regular expression, cached by pattern and flags (a literal pattern compiles once). Throws LogicOperatorError. */
  regex(pattern: unknown, flags: unknown = ''): RegExp {
    const p = typeof pattern === 'string' ? pattern : JSON.stringify(pattern) ?? '';
    const f = typeof flags === 'string' ? flags : '';
    const key = `${f}/${p}`;
    let re = this.#regexCache.get(key);
    if (!re) {
      try {
        re = new RegExp(p, f);
      } catch (err) {
        throw new LogicOperatorError('matches', (err as Error).message);
      }
      if (/[gy]/.test(f)) throw new LogicOperatorError('matches', 'flags g and y are not allowed (they make matching stateful)');
      if (this.#regexCache.size > 1000) this.#regexCache.clear();
      this.#regexCache.set(key, re);
    }
    return re;
  }

  /** Compiles an expression once (`LogicEngine.build`). */
  compile(logic: unknown): CompiledLogic {
    return this.engine.build(logic) as CompiledLogic;
  }

  /** JSON Logic truthiness (an empty array is false). */
  truthy(value: unknown): boolean {
    return Boolean(this.engine.truthy(value));
  }
}
