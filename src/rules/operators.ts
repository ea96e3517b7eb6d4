/**
 * The operators of the rules dialect. The standard ones follow json-logic-js
 * (the reference implementation rule authors read, and the differential
 * oracle of the tests) operation by operation; the deliberate differences are
 * listed in {@link DIFFERENCES_FROM_JSON_LOGIC_JS} and in docs. Added
 * operators (time, strings, a few conveniences rules used before) are pure
 * functions of their arguments and the evaluation clock.
 */
import { STATE_OPERATORS } from './state-operators.js';
import { LogicOperatorError } from './errors.js';
import { charge, inScope, truthy, walkable } from './evaluator.js';
import type { EvalState, LazyOperator, LogicNode, Operator } from './evaluator.js';
import { parseInstant } from '../time/index.js';
import { durationMs } from '../time/index.js';
import type { RegexCache } from './regex.js';

/** Path segments that never read anything (they would reach the prototype chain). */
export const UNREADABLE_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** An index as JavaScript reads it on a string: `"gold"["1"]` is "o", `"gold"["01"]` is undefined (not a canonical index). */
const STRING_INDEX = /^(0|[1-9]\d*)$/;

/** A string's own property: its `length`, or the character at a canonical index; undefined otherwise. */
function stringProperty(value: string, key: string): unknown {
  if (key === 'length') return value.length;
  return STRING_INDEX.test(key) ? value[Number(key)] : undefined;
}

/** One own property of a value (string indices and `length` included); undefined otherwise. */
export function ownProperty(value: unknown, key: string): unknown {
  if (UNREADABLE_SEGMENTS.has(key)) return undefined;
  if (typeof value === 'object' && value !== null) return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  if (typeof value === 'string') return stringProperty(value, key);
  return undefined;
}

/** `var` with a literal path (and a literal default): the path split once, at compile time. */
function specializeVar(args: readonly unknown[]): LogicNode | undefined {
  const [key, fallback] = args;
  if ((typeof key !== 'string' && typeof key !== 'number') || args.length > 2) return undefined;
  if (fallback !== undefined && typeof fallback === 'object' && fallback !== null) return undefined;
  const path = String(key);
  if (path === '' || path.startsWith(CLIMB)) return undefined;
  const notFound = fallback === undefined ? null : fallback;
  const segments = path.split('.');
  if (segments.some((s) => UNREADABLE_SEGMENTS.has(s))) return () => notFound;
  if (segments.length === 1) {
    const k = segments[0]!;
    return (data) => {
      const v = data === null || data === undefined ? undefined : step(data, k);
      return v === undefined ? notFound : v;
    };
  }
  return (data) => {
    let cur = data;
    for (const k of segments) {
      if (cur === null || cur === undefined) return notFound;
      cur = step(cur, k);
    }
    return cur === undefined ? notFound : cur;
  };
}

function step(value: unknown, key: string): unknown {
  if (typeof value === 'object') return Object.hasOwn(value!, key) ? (value as Record<string, unknown>)[key] : undefined;
  if (typeof value === 'string') return stringProperty(value, key);
  return undefined;
}

/** Reads a path of own properties; undefined when a step is absent. */
export function readPath(value: unknown, segments: readonly string[]): unknown {
  let cur = value;
  for (const s of segments) {
    if (cur === null || cur === undefined) return undefined;
    cur = ownProperty(cur, s);
  }
  return cur;
}

const CLIMB = '../';

/** `var` as json-logic-js, reading own properties only; a leading `../` per level reads an enclosing iterator's scope. */
function readVar(key: unknown, fallback: unknown, data: unknown, st: EvalState): unknown {
  const notFound = fallback === undefined ? null : fallback;
  let scope = data;
  if (typeof key === 'string' && key.startsWith(CLIMB)) {
    let level = 0;
    let rest: string = key;
    while (rest.startsWith(CLIMB)) {
      rest = rest.slice(CLIMB.length);
      level++;
    }
    key = rest;
    if (level > st.above.length) return notFound;
    scope = st.above[st.above.length - level];
  }
  if (key === undefined || key === '' || key === null) return scope;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- json-logic-js reads any key as String(key)
  const v = readPath(scope, String(key).split('.'));
  return v === undefined ? notFound : v;
}

/**
 * Whether `missing` reports a value: absent, null, "" (json-logic-js), and
 * what a decoded protobuf event cannot tell from absent: 0, false, an empty
 * list or map, and a message whose fields are all unset (an absent sub-message
 * is decoded with its defaults).
 */
export function isUnset(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.values(value).every(isUnset);
  return false;
}

function missing(args: unknown[], data: unknown, st: EvalState): unknown[] {
  const keys: unknown[] = Array.isArray(args[0]) ? args[0] : args;
  charge(st, keys.length);
  const out: unknown[] = [];
  for (const key of keys) {
    // json-logic-js reads each key as {"var": key}: a key that is a list is [path, default]
    const value = Array.isArray(key) ? readVar(key[0], key[1], data, st) : readVar(key, undefined, data, st);
    if (isUnset(value)) out.push(key);
  }
  return out;
}

/** Parses an instant operand: epoch milliseconds (number or digits) or an RFC 3339 string with offset. Throws LogicOperatorError. */
export function toInstant(value: unknown, operator: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value !== '') {
    if (/^-?\d+$/.test(value)) return Number(value);
    const r = parseInstant(value);
    if (r.ok) return r.ms;
    if (r.kind !== 'format') throw new LogicOperatorError(operator, r.reason);
  }
  throw new LogicOperatorError(operator, `${JSON.stringify(value) ?? 'undefined'} is not an instant (RFC 3339 with offset, or epoch milliseconds)`);
}

/** Parses `PT24H`, `P1DT2H30M`, `P2W`, `24h`, `1d12h`, `90m`, `30s`, `500ms`, or a number of ms (src/time/duration.ts). Throws LogicOperatorError. */
export function parseDuration(value: unknown, operator = 'duration'): number {
  const ms = durationMs(value);
  if (ms !== undefined) return ms;
  throw new LogicOperatorError(operator, `${JSON.stringify(value) ?? 'undefined'} is not a duration (PT24H, 24h, 90m, 1d12h or milliseconds)`);
}

type N = number;
const eager = (fn: (args: unknown[], data: unknown, st: EvalState) => unknown): Operator => ({ fn });
const lazy = (fn: LazyOperator['fn']): LazyOperator => ({ lazy: true, fn });
/** A missing iterator body: json-logic-js evaluates it to undefined. */
const nothing: LogicNode = () => undefined;

function iterate(kind: 'all' | 'some' | 'none' | 'filter' | 'map'): LazyOperator {
  return lazy(([source, body], data, st) => {
    const value = source ? source(data, st) : undefined;
    if (!Array.isArray(value)) return kind === 'filter' || kind === 'map' ? [] : kind === 'none';
    const items = value as unknown[];
    walkable(st, items);
    const run = body ?? nothing;
    return inScope(data, st, () => {
      switch (kind) {
        case 'map':
          return items.map((item) => run(item, st));
        case 'filter':
          return items.filter((item) => truthy(run(item, st)));
        case 'all':
          return items.length > 0 && items.every((item) => truthy(run(item, st)));
        case 'some':
          return items.some((item) => truthy(run(item, st)));
        case 'none':
          return !items.some((item) => truthy(run(item, st)));
      }
    });
  });
}

/** The standard operators, as json-logic-js defines them (own-property `var`, `missing` on proto defaults). */
function standardOperators(): Record<string, Operator> {
  const ifOp = lazy((args, data, st) => {
    let i = 0;
    for (; i < args.length - 1; i += 2) if (truthy(args[i]!(data, st))) return args[i + 1]!(data, st);
    return args.length === i + 1 ? args[i]!(data, st) : null;
  });
  const all = iterate('all');
  return {
    '==': eager(([a, b]) => a == b),
    '===': eager(([a, b]) => a === b),
    '!=': eager(([a, b]) => a != b),
    '!==': eager(([a, b]) => a !== b),
    '>': eager(([a, b]) => (a as N) > (b as N)),
    '>=': eager(([a, b]) => (a as N) >= (b as N)),
    '<': eager(([a, b, c]) => (c === undefined ? (a as N) < (b as N) : (a as N) < (b as N) && (b as N) < (c as N))),
    '<=': eager(([a, b, c]) => (c === undefined ? (a as N) <= (b as N) : (a as N) <= (b as N) && (b as N) <= (c as N))),
    '!!': eager(([a]) => truthy(a)),
    '!': eager(([a]) => !truthy(a)),
    '%': eager(([a, b]) => (a as N) % (b as N)),
    in: eager(([a, b], _d, st) => {
      if (!b) return false;
      if (typeof b === 'string') return b.indexOf(String(a)) !== -1;
      if (!Array.isArray(b)) return false;
      charge(st, b.length);
      return b.indexOf(a) !== -1;
    }),
    cat: eager((args) => args.join('')),
    substr: eager(([source, start, end]) => {
      if ((end as N) < 0) {
        const temp = String(source).substr(start as N);
        return temp.substr(0, temp.length + (end as N));
      }
      return String(source).substr(start as N, end as N);
    }),
    '+': eager((args) => args.reduce<unknown>((a, b) => parseFloat(a as string) + parseFloat(b as string), 0)),
    '*': eager((args) => args.reduce((a, b) => parseFloat(a as string) * parseFloat(b as string))),
    '-': eager(([a, b]) => (b === undefined ? -(a as N) : (a as N) - (b as N))),
    '/': eager(([a, b]) => (a as N) / (b as N)),
    min: eager((args) => Math.min(...(args as N[]))),
    max: eager((args) => Math.max(...(args as N[]))),
    merge: eager((args, _d, st) => {
      const out = args.reduce<unknown[]>((a, b) => a.concat(b), []);
      charge(st, out.length);
      return out;
    }),
    var: { fn: ([key, fallback], data, st) => readVar(key, fallback, data, st), specialize: specializeVar },
    missing: eager(missing),
    missing_some: eager(([need, options], data, st) => {
      if (options === null || options === undefined) throw new LogicOperatorError('missing_some', 'the second argument must be a list of paths, not null');
      const absent = missing([options], data, st);
      return Number((options as { length?: N } | null | undefined)?.length) - absent.length >= (need as N) ? [] : absent;
    }),
    if: ifOp,
    '?:': ifOp,
    and: lazy((args, data, st) => {
      let current: unknown;
      for (const a of args) {
        current = a(data, st);
        if (!truthy(current)) return current;
      }
      return current;
    }),
    or: lazy((args, data, st) => {
      let current: unknown;
      for (const a of args) {
        current = a(data, st);
        if (truthy(current)) return current;
      }
      return current;
    }),
    map: iterate('map'),
    filter: iterate('filter'),
    all,
    some: iterate('some'),
    none: iterate('none'),
    reduce: lazy(([source, body, initial], data, st) => {
      const value = source ? source(data, st) : undefined;
      const init = initial ? initial(data, st) : null;
      if (!Array.isArray(value)) return init;
      const items = value as unknown[];
      walkable(st, items);
      const run = body ?? nothing;
      return inScope(data, st, () => items.reduce((accumulator: unknown, current: unknown) => run({ current, accumulator }, st), init));
    }),
  };
}

function segmentsOf(args: unknown[]): string[] {
  return args.flatMap((a) => (Array.isArray(a) ? (a as unknown[]) : [a])).map((s) => String(s as string));
}

/** Operators this product adds to json-logic-js, each with a one-line description (docs and schema hovers). */
export const CUSTOM_OPERATORS: Readonly<Record<string, string>> = {
  now: '{"now": []} -> the current instant as epoch milliseconds (the evaluation clock).',
  before: '{"before": [a, b]} -> true when instant a is before instant b (RFC 3339 strings with offset, or epoch ms).',
  after: '{"after": [a, b]} -> true when instant a is after instant b (RFC 3339 strings with offset, or epoch ms).',
  duration: '{"duration": "PT24H"} or {"duration": "24h"} -> milliseconds.',
  within: '{"within": [instant, duration]} -> true when the instant is at most that duration away from now (past or future).',
  startsWith: '{"startsWith": [text, prefix]} -> boolean (false when text is not a string).',
  endsWith: '{"endsWith": [text, suffix]} -> boolean (false when text is not a string).',
  matches: '{"matches": [text, pattern, flags?]} -> RE2 regular expression test (linear time; flags i, m, s; false when text is not a string).',
  lower: '{"lower": text} -> lower-cased text (non-strings returned unchanged).',
  upper: '{"upper": text} -> upper-cased text (non-strings returned unchanged).',
  every: '{"every": [list, condition]} -> the same as "all".',
  not: '{"not": x} -> the same as "!".',
  '??': '{"??": [a, b, ...]} -> the first argument that is not null.',
  length: '{"length": x} -> the length of a string or list (null otherwise).',
  exists: '{"exists": ["a", "b"]} -> true when the path a.b is present in the data (keys, not dotted).',
  val: '{"val": ["a", "b"]} -> the value at the path a.b (keys, not dotted), null when absent.',
  get: '{"get": [object, "a.b", default?]} -> the value at a dotted path of a computed object.',
  keys: '{"keys": object} -> the keys of a map (an empty list otherwise).',
  preserve: '{"preserve": value} -> the value as data, not evaluated.',
  ...STATE_OPERATORS,
};

/** The full operator table of the rules dialect: json-logic-js's operators and {@link CUSTOM_OPERATORS}. */
export function rulesOperators(regexes: RegexCache): Record<string, Operator> {
  const std = standardOperators();
  const str = (fn: (s: string, p: string) => boolean): Operator => eager(([s, p]) => typeof s === 'string' && fn(s, String(p)));
  return {
    ...std,
    every: std.all!,
    not: std['!']!,
    now: eager((_a, _d, st) => st.nowMs),
    before: eager(([a, b]) => toInstant(a, 'before') < toInstant(b, 'before')),
    after: eager(([a, b]) => toInstant(a, 'after') > toInstant(b, 'after')),
    duration: eager(([d]) => parseDuration(d)),
    within: eager(([t, d], _data, st) => Math.abs(st.nowMs - toInstant(t, 'within')) <= parseDuration(d, 'within')),
    startsWith: str((s, p) => s.startsWith(p)),
    endsWith: str((s, p) => s.endsWith(p)),
    matches: eager(([s, p, f]) => typeof s === 'string' && regexes.get(p, f).test(s)),
    lower: eager(([s]) => (typeof s === 'string' ? s.toLowerCase() : s)),
    upper: eager(([s]) => (typeof s === 'string' ? s.toUpperCase() : s)),
    '??': eager((args) => args.find((a) => a !== null && a !== undefined) ?? null),
    length: eager(([x]) => (typeof x === 'string' || Array.isArray(x) ? x.length : null)),
    exists: eager((args, data) => readPath(data, segmentsOf(args)) !== undefined),
    val: eager((args, data) => readPath(data, segmentsOf(args)) ?? null),
    get: eager(([obj, path, fallback]) => readPath(obj, String(path).split('.')) ?? (fallback === undefined ? null : fallback)),
    keys: eager(([o]) => (typeof o === 'object' && o !== null && !Array.isArray(o) ? Object.keys(o) : [])),
  };
}

/** Operators that read iterator scope: their arguments after the first are evaluated per element. */
export const ITERATOR_OPERATORS: ReadonlySet<string> = new Set(['map', 'filter', 'reduce', 'all', 'some', 'none', 'every']);

export type { LogicNode };
