/**
 * Load-time side of stateful rules: the `limit` and `cooldown` fields and the
 * arguments of `count`, `streak` and `fired` are checked (windows, IANA time
 * zones, reset hours, events that exist, rules that exist) with line, column
 * and a fix, and compiled into what `RuleSet` needs per rule.
 */
import type { Catalog } from '../events/index.js';
import type { CooldownSpec, LimitSpec } from '../state/index.js';
import type { StreakSpec } from '../state/index.js';
import { WindowSpecError, parseWindow, windowWordFix } from '../state/index.js';
import { suggestDuration } from '../time/index.js';
import type { Window } from '../state/index.js';
import type { PathSegment } from './source.js';
import type { Type } from 'protobufjs';
import { kindAt } from './action-params.js';
import { parseTemplate } from './template.js';
import type { CompiledValue } from './template.js';
import type { ProblemCode } from './problem-codes.js';
import { STATE_OPERATORS, streakSpecOf } from './state-operators.js';
import { didYouMean } from '../text/index.js';
import { MAX_COUNTED_LIMIT, MAX_LIMIT, counterTrack } from '../state/index.js';
import type { CompiledLogic } from './logic.js';
import { unknownEventFix } from './hints.js';

/**
 * One counter a condition reads: the events of one name, those `where` holds
 * for only (decided when the event is recorded), in the record of the player
 * or of the `by` key's value.
 */
export interface CounterUse {
  /** The counted event's name. */
  readonly event: string;
  /** The counted event's service full name. */
  readonly service: string;
  /** The track the counter is kept under in a record ({@link counterTrack}: the event's name for a plain count). */
  readonly track: string;
  /** `where`: only events it holds for are counted (evaluated on the counted event when it is recorded). */
  readonly where?: CompiledLogic;
  /** `by`: whose counter: the record of this key's value (resolved on the counted event), not the player's. */
  readonly by?: StateKeySpec;
}

/** What a rule's conditions read from the player's ledger (or a `by` key's). */
export interface StateUses {
  /** `count`: the counter and the window. */
  readonly counts: readonly (CounterUse & { readonly window: Window })[];
  /** `streak`: the counter and the bucketing. */
  readonly streaks: readonly (CounterUse & { readonly spec: StreakSpec })[];
  /** `fired`: rule name and window. */
  readonly fired: readonly { readonly rule: string; readonly window: Window }[];
}

/** What the rule compiler lends {@link StatefulChecks} for the object form's `where` and `by`. */
export interface CounterHooks {
  /** Checks a `where` condition over the counted event's message `type` (reports its problems); false when it has some. */
  checkWhere(logic: unknown, path: readonly PathSegment[], type: Type): boolean;
  /** Compiles a checked `where`. */
  compileWhere(logic: unknown): CompiledLogic;
  /** Compiles a `by` template over the counted event's message `type` (reports its problems). */
  compileKey(text: string, path: PathSegment[], type: Type): CompiledValue;
}

/** The keys of the object form of each stateful operator. */
const OBJECT_FORM_KEYS: Readonly<Record<string, readonly string[]>> = {
  count: ['of', 'within', 'timeZone', 'resetAt', 'where', 'by'],
  streak: ['of', 'per', 'timeZone', 'resetAt', 'where', 'by'],
  fired: ['of', 'within', 'timeZone', 'resetAt'],
};

/** Most characters of a key's value: a longer one is refused (at load when constant, else per event): it is surely not an id. */
export const MAX_KEY_CHARS = 512;

/** `${event.userId}` (spaces allowed as in any template): the default key, the player. */
const PLAYER_KEY = /^\$\{\s*event\.userId\s*\}$/;

/**
 * A rule's state key other than the player (`limit.key`, a cooldown's `key`),
 * compiled: its firings are counted in the record of the key's value (e.g. a
 * party), in the state store's named partition of that value.
 */
export interface StateKeySpec {
  /** As written (`${event.payload.partyId}`). */
  readonly text: string;
  /** The value per event (a constant: one game-wide counter). */
  readonly value: CompiledValue;
  /**
   * The event fields the key reads (`raw` as written inside `${}`): each must
   * be a non-empty text or number for the event to be counted, so an unset
   * field never folds into one shared counter (`party-` for `party-${...}`).
   */
  readonly fields: readonly { readonly raw: string; readonly path: readonly string[] }[];
}

type Report = (path: readonly PathSegment[], code: ProblemCode, message: string, fix?: string, severity?: 'error' | 'warning') => void;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface MutableUses {
  counts: (CounterUse & { window: Window })[];
  streaks: (CounterUse & { spec: StreakSpec })[];
  fired: { rule: string; window: Window }[];
}

/** The comparison operators {@link StatefulChecks.checkComparison} looks at. */
const COMPARISONS: ReadonlySet<string> = new Set(['>=', '>', '==', '===', '<', '<=', '!=', '!==']);

/** Whether `node` is a `count` operation over a window (not lifetime), in either form. */
function windowedCount(node: unknown): boolean {
  if (!isObject(node) || Object.keys(node).length !== 1) return false;
  const args = node.count;
  if (isObject(args)) return args.within !== 'lifetime';
  return Array.isArray(args) && args[1] !== 'lifetime';
}

/** The periods a streak counts in. */
const STREAK_UNITS: readonly string[] = ['day', 'week'];

/** Collects and checks the stateful parts of one rules file (one instance per compile). */
export class StatefulChecks {
  readonly #uses = new Map<number, MutableUses>();
  /** `fired` references, checked once every rule name is known. */
  readonly #firedRefs: { rule: string; path: readonly PathSegment[] }[] = [];

  /** The event each rule listens on (its name), for a `by` count (read under the handled event's key). */
  readonly #ruleEvents = new Map<number, string>();

  constructor(
    readonly catalog: Catalog,
    readonly report: Report,
    readonly hooks?: CounterHooks,
  ) {}

  /** Tells which event rule `ruleIndex` listens on (before its conditions are checked). */
  ruleEvent(ruleIndex: number, eventName: string): void {
    this.#ruleEvents.set(ruleIndex, eventName);
  }

  /**
   * Warns about a windowed `count` compared with a number above
   * {@link MAX_COUNTED_LIMIT} (`{">=": [{"count": [kill, day]}, 5000]}`): the
   * record keeps the latest 900 to 1000 entries of an event, so such a count
   * never reaches the number (or only now and then), and the rule silently
   * never fires. A lifetime count (the total) is exact at any size.
   */
  checkComparison(op: string, args: readonly unknown[], argPath: (i: number) => readonly PathSegment[]): void {
    if (!COMPARISONS.has(op)) return;
    if (!args.some(windowedCount)) return;
    const limit = args.findIndex((a) => typeof a === 'number' && a > MAX_COUNTED_LIMIT);
    if (limit === -1) return;
    this.report(
      argPath(limit),
      'state-window',
      `a count over a window compared with ${String(args[limit])}: the record keeps the latest 900 to 1000 entries of an event, so the count is exact only up to ${MAX_COUNTED_LIMIT} and never reaches ${String(args[limit])} (a condition waiting for it is never true)`,
      `compare with at most ${MAX_COUNTED_LIMIT}, or count over lifetime (the total is exact), or read the figure from AGS as a fact (a stat)`,
      'warning',
    );
  }

  static isStateOperator(op: string): boolean {
    return Object.hasOwn(STATE_OPERATORS, op);
  }

  #usesOf(ruleIndex: number): MutableUses {
    let u = this.#uses.get(ruleIndex);
    if (!u) this.#uses.set(ruleIndex, (u = { counts: [], streaks: [], fired: [] }));
    return u;
  }

  /** What rule `ruleIndex`'s conditions read, if anything. */
  usesOf(ruleIndex: number): StateUses | undefined {
    return this.#uses.get(ruleIndex);
  }

  #window(value: unknown, tz: unknown, reset: unknown, path: readonly PathSegment[], at: (i: number) => readonly PathSegment[], base: number): Window | undefined {
    try {
      return parseWindow(value, tz, reset);
    } catch (err) {
      if (!(err instanceof WindowSpecError)) throw err;
      const which = /time zone/.test(err.message) ? base + 1 : /resetAt/.test(err.message) ? base + 2 : base;
      this.report(at(which) ?? path, 'state-window', err.message, err.fix);
      return undefined;
    }
  }

  /**
   * Checks one `count`/`streak`/`fired` operation found in a condition of rule
   * `ruleIndex` (arguments must be literals) and rewrites an event argument to
   * the event's name, so the ledger is keyed the same whatever the spelling.
   */
  checkOperator(op: string, args: unknown, path: readonly PathSegment[], ruleIndex: number): void {
    const argPath = [...path, op];
    if (isObject(args)) {
      this.#checkObjectForm(op, args, argPath, ruleIndex);
      return;
    }
    if (!Array.isArray(args) || args.length < 2 || args.length > 4) {
      this.report(argPath, 'state-operator', `${op} takes [${op === 'fired' ? 'rule' : 'event'}, ${op === 'streak' ? '"day" or "week"' : 'window'}, timeZone?, resetAt?] or { ${OBJECT_FORM_KEYS[op]!.join(', ')} }`, `write e.g. {"${op}": [${op === 'fired' ? 'daily-login-reward, day' : op === 'streak' ? 'userLoggedIn, day, Asia/Tokyo' : 'userLoggedIn, 24h'}]}`);
      return;
    }
    const at = (i: number): readonly PathSegment[] => [...argPath, i];
    // an expression ({"var": ...}, a list) cannot be: the ledger keeps what the loaded rules name; a number is checked as written (24 is not a window)
    const literal = args.findIndex((a) => typeof a === 'object' && a !== null);
    if (literal !== -1) {
      this.report(at(literal), 'state-operator', `the arguments of ${op} must be written as literal text (the ledger keeps what the loaded rules ask for)`, 'write the event, window and time zone as plain values');
      return;
    }
    const [first, spec, tz, reset] = args as unknown[];
    const name = String(first);
    const uses = this.#usesOf(ruleIndex);
    if (op === 'fired') {
      const w = this.#window(spec, tz, reset, argPath, at, 1);
      this.#firedRefs.push({ rule: name, path: at(0) });
      if (w) uses.fired.push({ rule: name, window: w });
      return;
    }
    const r = this.catalog.resolve(name);
    if (!r.ok) {
      this.report(
        at(0),
        'unknown-event',
        r.reason === 'ambiguous' ? `"${name}" names several events: ${r.candidates.join(', ')}` : `${op}: unknown event "${name}" (it is not among the loaded protos, so it is never served nor counted)`,
        r.reason === 'ambiguous' ? 'write the full service name' : r.candidates.length > 0 ? `did you mean ${r.candidates.slice(0, 3).map((c) => `"${c}"`).join(' or ')}?` : unknownEventFix(),
      );
      return;
    }
    (args as unknown[])[0] = r.service.eventName;
    if (op === 'count') {
      const w = this.#window(spec, tz, reset, argPath, at, 1);
      this.#warnHistory(op, w, argPath, r.service.eventName);
      if (w) uses.counts.push({ event: r.service.eventName, service: r.service.fullName, track: r.service.eventName, window: w });
      return;
    }
    if (spec !== 'day' && spec !== 'week') {
      this.report(at(1), 'state-window', `streak counts consecutive days or weeks, not ${JSON.stringify(spec)}`, (typeof spec === 'string' ? windowWordFix(spec, STREAK_UNITS) : undefined) ?? 'write day or week');
      return;
    }
    if (!this.#window(spec, tz, reset, argPath, at, 1)) return;
    this.#warnHistory(op, undefined, argPath, r.service.eventName);
    uses.streaks.push({ event: r.service.eventName, service: r.service.fullName, track: r.service.eventName, spec: streakSpecOf(spec, tz, reset) });
  }

  /**
   * The object form: `{"count": { of, within, timeZone?, resetAt?, where?, by? }}`
   * (`per` for a streak: day or week; `fired` takes of, within, timeZone, resetAt).
   * `of` is rewritten to the event's name as for the list form.
   */
  #checkObjectForm(op: string, form: Record<string, unknown>, argPath: readonly PathSegment[], ruleIndex: number): void {
    const allowed = OBJECT_FORM_KEYS[op]!;
    const windowKey = op === 'streak' ? 'per' : 'within';
    const example = op === 'fired' ? '{ of: daily-login-reward, within: day }' : op === 'streak' ? '{ of: userLoggedIn, per: day, timeZone: Asia/Tokyo }' : '{ of: statItemUpdated, within: 24h, where: {...} }';
    let ok = true;
    for (const k of Object.keys(form)) {
      if (allowed.includes(k)) continue;
      ok = false;
      this.report([...argPath, k], 'state-operator', `${op}: unknown key "${k}" (allowed: ${allowed.join(', ')})`, didYouMean(k, allowed) ?? `write e.g. {"${op}": ${example}}`);
    }
    for (const k of ['of', windowKey]) {
      if (typeof form[k] === 'string' && form[k] !== '') continue;
      ok = false;
      this.report(form[k] === undefined ? argPath : [...argPath, k], 'state-operator', `${op}: "${k}" ${form[k] === undefined ? 'is missing' : 'must be a literal text'} (the ledger keeps what the loaded rules ask for)`, `write e.g. {"${op}": ${example}}`);
    }
    for (const k of ['timeZone', 'resetAt', 'by']) {
      if (form[k] === undefined || (typeof form[k] === 'string' && form[k] !== '')) continue;
      ok = false;
      this.report([...argPath, k], 'state-operator', `${op}: "${k}" must be a literal text`, `write e.g. ${k === 'by' ? 'by: "${event.payload.UserID}"' : k === 'timeZone' ? 'timeZone: Asia/Tokyo' : 'resetAt: "05:00"'}`);
    }
    if (form.where !== undefined && !isObject(form.where)) {
      ok = false;
      this.report([...argPath, 'where'], 'state-operator', `${op}: "where" is a JSON Logic condition over the counted event`, 'write e.g. where: { "==": [ { var: payload.statCode }, "wins" ] }');
    }
    if (!ok) return;
    const at = (name: string): readonly PathSegment[] => [...argPath, name];
    const windowAt = (i: number): readonly PathSegment[] => at(i === 0 ? windowKey : i === 1 ? 'timeZone' : 'resetAt');
    const uses = this.#usesOf(ruleIndex);
    const name = form.of as string;
    if (op === 'fired') {
      const w = this.#window(form.within, form.timeZone, form.resetAt, argPath, (i) => windowAt(i - 1), 1);
      this.#firedRefs.push({ rule: name, path: at('of') });
      if (w) uses.fired.push({ rule: name, window: w });
      return;
    }
    const r = this.catalog.resolve(name);
    if (!r.ok) {
      this.report(at('of'), 'unknown-event', r.reason === 'ambiguous' ? `"${name}" names several events: ${r.candidates.join(', ')}` : `${op}: unknown event "${name}" (it is not among the loaded protos, so it is never served nor counted)`, r.reason === 'ambiguous' ? 'write the full service name' : r.candidates.length > 0 ? `did you mean ${r.candidates.slice(0, 3).map((c) => `"${c}"`).join(' or ')}?` : unknownEventFix());
      return;
    }
    const event = r.service.eventName;
    form.of = event;
    const type = r.service.requestType;
    const counter = this.#counter(op, form, argPath, ruleIndex, event, r.service.fullName, type);
    if (!counter) return;
    if (op === 'streak' && form.per !== 'day' && form.per !== 'week') {
      this.report(at('per'), 'state-window', `streak counts consecutive days or weeks, not ${JSON.stringify(form.per)}`, windowWordFix(form.per as string, STREAK_UNITS) ?? 'write per: day or per: week');
      return;
    }
    const w = this.#window(form[windowKey], form.timeZone, form.resetAt, argPath, (i) => windowAt(i - 1), 1);
    if (!w) return;
    this.#warnHistory(op, w, argPath, event);
    if (op === 'count') {
      uses.counts.push({ ...counter, window: w });
      return;
    }
    uses.streaks.push({ ...counter, spec: streakSpecOf(form.per, form.timeZone, form.resetAt) });
  }

  /** The counter of an object form: its `where` checked over the counted event, its `by` compiled; undefined when either has problems. */
  #counter(op: string, form: Record<string, unknown>, argPath: readonly PathSegment[], ruleIndex: number, event: string, service: string, type: Type): CounterUse | undefined {
    const hooks = this.hooks;
    let where: CompiledLogic | undefined;
    if (form.where !== undefined) {
      const wherePath = [...argPath, 'where'];
      const inner = findStateOperator(form.where);
      if (inner !== undefined) {
        this.report(wherePath, 'state-operator', `${op}: "where" decides whether one event is counted, when it is recorded: it cannot read ${inner}`, 'compare fields of the counted event only (e.g. { "==": [ { var: payload.statCode }, "wins" ] })');
        return undefined;
      }
      if (!hooks || !hooks.checkWhere(form.where, wherePath, type)) return undefined;
      where = hooks.compileWhere(form.where);
    }
    let by: StateKeySpec | undefined;
    if (typeof form.by === 'string') {
      const byPath = [...argPath, 'by'];
      const on = this.#ruleEvents.get(ruleIndex);
      if (on !== undefined && on !== event) {
        this.report(byPath, 'state-key', `${op}: a count "by" a key is read under the key of the event being handled (${on}), so it counts events of that same event, not ${event}`, `count ${on} (of: ${on}), or write the rule on ${event}`);
        return undefined;
      }
      if (!PLAYER_KEY.test(form.by)) {
        if (!hooks) return undefined;
        by = this.#keySpec(form.by, byPath, (value, path) => hooks.compileKey(value, path, type), type);
      }
    }
    const track = counterTrack(event, form.where, by?.text);
    return { event, service, track, ...(where ? { where } : {}), ...(by ? { by } : {}) };
  }

  /**
   * Warns that a lifetime count or a streak starts at deployment: the record
   * holds only what was counted since a rule counting it was loaded.
   */
  #warnHistory(op: string, w: Window | undefined, path: readonly PathSegment[], event: string): void {
    if (op === 'count' && w?.kind !== 'lifetime') return;
    this.report(
      path,
      'state-history',
      `${op} of ${event}${op === 'count' ? ' over lifetime' : ''} starts when this rule is loaded: events before it are not in the record (a player's 100th match counts the matches since then, a streak starts at 0)`,
      'where AGS has the history, read it as a fact (docs/facts.md: a stat\'s value, an entitlement already owned), or accept that the count starts at deployment',
      'warning',
    );
  }

  /** Reports `fired` on rules the file does not have. */
  finish(ruleNames: ReadonlyMap<string, number>): void {
    for (const ref of this.#firedRefs) {
      if (ruleNames.has(ref.rule)) continue;
      this.report(ref.path, 'unknown-rule', `fired: no rule is named "${ref.rule}"`, didYouMean(ref.rule, [...ruleNames.keys()]) ?? 'name a rule of this file');
    }
  }

  /** Compiles `limit: { count, per, timeZone?, resetAt? }` (shape already checked by the schema). */
  compileLimit(raw: unknown, path: readonly PathSegment[]): LimitSpec | undefined {
    if (!isObject(raw) || typeof raw.count !== 'number' || typeof raw.per !== 'string' || raw.per === '' || raw.timeZone === '') return undefined; // the schema reports a missing, mistyped or empty key
    try {
      const window = parseWindow(raw.per, raw.timeZone, raw.resetAt);
      if (raw.count > MAX_COUNTED_LIMIT && window.kind === 'rolling') {
        this.report([...path, 'count'], 'state-window', `limit: a count of ${raw.count} per rolling ${window.text} is more than ${MAX_COUNTED_LIMIT}: a rolling window counts the record's entries (the latest 900 to 1000 are kept)`, `use a calendar period (per: day, week or month) or lifetime for up to ${MAX_LIMIT}, or a count of at most ${MAX_COUNTED_LIMIT}`);
        return undefined;
      }
      return { count: raw.count, window };
    } catch (err) {
      if (!(err instanceof WindowSpecError)) throw err;
      const key = /time zone/.test(err.message) && raw.timeZone !== undefined ? 'timeZone' : /resetAt/.test(err.message) && raw.resetAt !== undefined ? 'resetAt' : 'per';
      this.report([...path, key], 'state-window', `limit: ${err.message}`, err.fix);
      return undefined;
    }
  }

  /**
   * Compiles `limit.key` and the cooldown's `key` into the rule's one state
   * key: absent, or exactly `${event.userId}`, is the player (undefined);
   * both given must be the same text (one record decides the firing).
   * `compile` compiles a template as action parameters are (env, event paths);
   * `type` (the event's message) refuses a key reading a message or list field.
   */
  compileStateKey(limit: unknown, cooldown: unknown, base: readonly PathSegment[], compile: (value: string, path: PathSegment[]) => CompiledValue, type?: Type): StateKeySpec | undefined {
    const keyOf = (v: unknown): unknown => (isObject(v) ? v.key : undefined);
    const limitKey = keyOf(limit);
    const cooldownKey = keyOf(cooldown);
    const given = [
      ...(typeof limitKey === 'string' ? [{ text: limitKey, path: [...base, 'limit', 'key'] }] : []),
      ...(typeof cooldownKey === 'string' ? [{ text: cooldownKey, path: [...base, 'cooldown', 'key'] }] : []),
    ];
    if (given.length === 0) return undefined;
    const playerOf = (text: string): boolean => PLAYER_KEY.test(text);
    if (given.length === 2 && given[0]!.text !== given[1]!.text && !(playerOf(given[0]!.text) && playerOf(given[1]!.text))) {
      this.report(given[1]!.path, 'state-key', `the cooldown counts under "${given[1]!.text}" but the limit under "${given[0]!.text}": one rule's firings are counted under one key`, `write the same key in both (or leave both out to count per player)`);
      return undefined;
    }
    // the other one written without a key counts per player (the default): not the same key either
    const keyless = limitKey === undefined && limit !== undefined ? 'limit' : cooldownKey === undefined && cooldown !== undefined ? 'cooldown' : undefined;
    if (keyless !== undefined && !playerOf(given[0]!.text)) {
      const other = keyless === 'limit' ? 'cooldown' : 'limit';
      const fix = keyless === 'cooldown' && typeof cooldown === 'string' ? `write cooldown: { duration: ${cooldown}, key: "${given[0]!.text}" }` : `add key: "${given[0]!.text}" to the ${keyless}`;
      this.report([...base, keyless], 'state-key', `the ${other} counts under "${given[0]!.text}" but the ${keyless} has no key, so it would count per player: one rule's firings are counted under one key`, fix);
      return undefined;
    }
    const { text, path } = given[0]!;
    if (playerOf(text)) return undefined;
    return this.#keySpec(text, path, compile, type);
  }

  /** A key other than the player compiled, its fields checked (a constant too long, a message or list field are refused). */
  #keySpec(text: string, path: PathSegment[], compile: (value: string, path: PathSegment[]) => CompiledValue, type?: Type): StateKeySpec {
    const value = compile(text, path);
    if (value.constant && typeof value.value === 'string' && value.value.length > MAX_KEY_CHARS) {
      this.report(path, 'state-key', `the key is ${value.value.length} characters long (at most ${MAX_KEY_CHARS}): every event would be refused`, 'write a short name for the counter (e.g. launch-week)');
    }
    const fields: { raw: string; path: readonly string[] }[] = [];
    for (const part of parseTemplate(text).parts) {
      if (typeof part === 'string' || part.kind !== 'event') continue;
      fields.push({ raw: part.raw, path: part.path });
      // a message, list or map field is never a text: no event could be counted
      const kind = kindAt(type, part.path);
      if (kind.probes.length > 0 && kind.probes.every((p) => typeof p === 'object' && p !== null)) {
        this.report(path, 'state-key', `the key reads \${${part.raw}}, ${kind.label}: a key is a text (an id), so no event could be counted`, `read a text or number field inside it (e.g. \${${part.raw}.id})`);
      }
    }
    return { text, value, fields };
  }

  /** Reports `fired` on rules whose firings are counted under another key than the player's (their firings are not in the player's record). */
  checkFiredKeyed(keyed: ReadonlyMap<string, string>): void {
    for (const ref of this.#firedRefs) {
      const key = keyed.get(ref.rule);
      if (key === undefined) continue;
      this.report(ref.path, 'state-key', `fired: rule "${ref.rule}" counts its firings under "${key}", not per player, so the player's record does not have them`, `use a limit or cooldown on "${ref.rule}" itself, or count the player's own events with {"count": [event, window]}`);
    }
  }

  /** Compiles `cooldown: 6h` (a duration) or `cooldown: { duration: 6h, key }`. */
  compileCooldown(raw: unknown, path: readonly PathSegment[]): CooldownSpec | undefined {
    if (isObject(raw) && typeof raw.duration === 'string') return this.compileCooldown(raw.duration, [...path, 'duration']);
    if (typeof raw !== 'string' || raw === '') return undefined; // the schema reports it
    let w: Window | undefined;
    try {
      w = parseWindow(raw);
    } catch {
      w = undefined;
    }
    if (w?.kind !== 'rolling') {
      const meant = suggestDuration(raw);
      this.report(path, 'state-window', `cooldown: ${JSON.stringify(raw)} is not a duration`, `${meant !== undefined ? `did you mean "${meant}"? ` : ''}write e.g. cooldown: 6h, 90m or PT6H`);
      return undefined;
    }
    return { ms: w.ms, text: raw };
  }
}

/** The first stateful operator found in a JSON Logic tree, if any. */
function findStateOperator(node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const n of node) {
      const found = findStateOperator(n);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isObject(node)) return undefined;
  for (const [k, v] of Object.entries(node)) {
    if (Object.hasOwn(STATE_OPERATORS, k)) return k;
    const found = findStateOperator(v);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The name a rule's firings are recorded under in the player's record: its
 * name; for a rule in shadow mode, `<name>#shadow` (`#` is not allowed in rule
 * names), so the firings it plans while watched do not consume the limit it
 * will have once live.
 */
export function firingKey(rule: { readonly name: string; readonly mode: 'live' | 'shadow' }): string {
  return rule.mode === 'shadow' ? `${rule.name}#shadow` : rule.name;
}
