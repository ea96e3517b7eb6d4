/**
 * Rule tests: the `rules.test.yaml` format (see README.md, "Test it"), its loader
 * (every format problem at once, with line and column) and its runner (offline:
 * evaluate the rules on each case's event and plan the actions, nothing sent).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Document, LineCounter, Tags } from 'yaml';
import { yaml } from './yaml.js';
import type { ActionRegistry } from '../actions/index.js';
import type { Catalog, DecodedEvent, EventService } from '../events/index.js';
import { parseInstant } from '../time/index.js';
import { didYouMean } from '../text/index.js';
import type { RuleSet } from '../rules/index.js';
import type { EvaluationResult, RuleOutcome } from '../rules/index.js';
import { eventKey } from '../delivery/index.js';
import { evaluateOnDocuments } from '../pipeline/index.js';
import type { FactValue } from '../rules/index.js';
import { ACTION_ITEM_KEYS, explainYamlErrors } from '../rules/index.js';
import { playerHistory } from './history.js';
import type { StateDocument } from '../store/index.js';
import { diffValues } from './diff.js';
import { EventDataError, RuleTestFormatError, UnknownEventError } from './errors.js';
import type { RuleTestProblem } from './errors.js';
import { buildEvent, planSteps, resolveEvent } from './workbench.js';
import type { DataBase, PlannedStep } from './workbench.js';

/** One expected action of a case. */
export interface ExpectedAction {
  readonly rule: string;
  readonly action: string;
  /** Default `live`; write `shadow` for a shadow rule's action. */
  readonly mode: 'live' | 'shadow';
  /** Exact parameters after normalize; not checked when absent. */
  readonly params?: Record<string, unknown>;
  /**
   * The requests, in order. In each, only the keys written (method, path,
   * body, query, headers, operation) are checked, and in every object under
   * them (body, query, headers, nested objects) only the keys written; a
   * request with `exact: true` compares the objects it writes whole (no key
   * more, none less).
   */
  readonly requests?: readonly Record<string, unknown>[];
}

export interface Expectation {
  /** Names of the rules that match (exact set); not checked when absent. */
  readonly matched?: readonly string[];
  /** The planned actions, in plan order (file order, then `do` order); not checked when absent. */
  readonly actions?: readonly ExpectedAction[];
  /** Rules whose evaluation fails (exact set). Always checked: default none. */
  readonly errors: readonly string[];
  /** Rules that matched but whose limit or cooldown refused the firing (exact set); not checked when absent. */
  readonly suppressed?: readonly string[];
}

export interface RuleTestCase {
  readonly name: string;
  /** 1-based line of the case in the test file. */
  readonly line: number;
  readonly service: EventService;
  /** The full event (partial data filled). */
  readonly event: DecodedEvent;
  /** The evaluation clock. */
  readonly now: Date;
  /** The environment the rules are compiled with. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly expect: Expectation;
  /** The players' records before the event (`history:`), by user id, as ledgers in the state store. */
  readonly history: ReadonlyMap<string, StateDocument>;
  /** The fixtures of the AGS lookups the rules read (`facts:`), by fact name. */
  readonly facts?: Readonly<Record<string, unknown>>;
}

export interface RuleTestSuite {
  /** The test file. */
  readonly file: string;
  /** The rules file under test (absolute). */
  readonly rulesFile: string;
  readonly cases: readonly RuleTestCase[];
}

export interface LoadRuleTestsOptions {
  readonly catalog: Catalog;
  /** Rules file when the test file names none and is not `<name>.test.yaml` beside an existing `<name>.yaml`. */
  readonly defaultRulesFile: string;
  /** Environment under the file's and cases' `env` (the app's rules environment). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Clock when neither the file nor the case sets `now`. Default: the current time. */
  readonly now?: Date;
}

type Path = readonly (string | number)[];

/**
 * The YAML core schema's decimal integers, read exactly: beyond 2^53 a bigint
 * (the event codec takes it for an int64 field as written), else a number.
 */
function exactIntegers(tags: Tags): Tags {
  return tags.map((t) => {
    if (typeof t !== 'object' || t.tag !== 'tag:yaml.org,2002:int' || t.format || !('resolve' in t) || typeof t.resolve !== 'function') return t;
    const resolve = t.resolve.bind(t) as (...args: unknown[]) => unknown;
    return {
      ...t,
      resolve(...args: unknown[]): unknown {
        const v = resolve(...args);
        return typeof v === 'number' && !Number.isSafeInteger(v) ? BigInt(String(args[0])) : v;
      },
    };
  });
}

/** Exact integers matter only in event `data`; elsewhere (version, expect, env) they are numbers as before. */
function numbersOutsideData(doc: unknown): unknown {
  const plain = (v: unknown): unknown =>
    typeof v === 'bigint' ? Number(v) : Array.isArray(v) ? v.map(plain) : isObject(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;
  if (!isObject(doc)) return plain(doc);
  const out = plain({ ...doc, cases: undefined }) as Record<string, unknown>;
  out.cases = Array.isArray(doc.cases)
    ? doc.cases.map((c: unknown) => (isObject(c) ? { ...(plain({ ...c, data: undefined }) as Record<string, unknown>), data: c.data } : plain(c)))
    : plain(doc.cases);
  if (!('cases' in doc)) delete out.cases;
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keys the loader accepts at each level of a rule-test file (the schema of rules.test.yaml is built from them). */
export const TOP_KEYS = ['version', 'rules', 'env', 'now', 'base', 'cases'];
export const CASE_KEYS = ['name', 'event', 'data', 'base', 'now', 'env', 'history', 'facts', 'expect'];
export const EXPECT_KEYS = ['matched', 'actions', 'errors', 'nothing', 'suppressed'];
export const ACTION_KEYS = ['rule', 'action', 'mode', 'params', 'requests'];
export const REQUEST_KEYS = ['operation', 'method', 'path', 'query', 'body', 'headers', 'exact'];

/**
 * The rule names of a rules file, and whether a rule counts under a key, read
 * as YAML (not compiled: a case's env may be needed for that); undefined when
 * the file cannot be read or has no rule list (its load reports why, later).
 */
/** The action names of each rule's `do` list (the key of each item beside `id`, `forEach`, `as`, `max`). */
function actionsByRule(rules: readonly unknown[]): Map<string, ReadonlySet<string>> {
  const out = new Map<string, ReadonlySet<string>>();
  for (const r of rules) {
    if (!isObject(r) || typeof r.name !== 'string' || !Array.isArray(r.do)) continue;
    out.set(r.name, new Set(r.do.flatMap((item) => (isObject(item) ? Object.keys(item).filter((k) => !ACTION_ITEM_KEYS.has(k)) : []))));
  }
  return out;
}

function rulesOf(file: string): { readonly names: ReadonlySet<string>; readonly keyed: boolean; readonly shadow: ReadonlySet<string>; readonly actions: ReadonlyMap<string, ReadonlySet<string>> } | undefined {
  let data: unknown;
  try {
    data = yaml().parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const rules = isObject(data) ? data.rules : undefined;
  if (!Array.isArray(rules)) return undefined;
  const names = rules.map((r) => (isObject(r) ? r.name : undefined));
  if (!names.every((n): n is string => typeof n === 'string')) return undefined;
  // a rule counting under limit.key (or a cooldown's key) reads the history of the key's value, not of a player
  // and so does a count or streak `by` a key (the record of the key's value: a reported player...)
  const keyed = rules.some((r) => isObject(r) && ((isObject(r.limit) && r.limit.key !== undefined) || (isObject(r.cooldown) && r.cooldown.key !== undefined) || /"by":/.test(JSON.stringify(r.when) ?? '')));
  const shadow = new Set(rules.filter((r) => isObject(r) && r.mode === 'shadow').map((r) => (r as { name: string }).name));
  return { names: new Set(names), keyed, shadow, actions: actionsByRule(rules) };
}

class Loader {
  readonly problems: RuleTestProblem[] = [];
  /** The names of the rules the cases run against (history firings and expected rule names are checked against them). */
  ruleNames: ReadonlySet<string> | undefined;
  /** The action names of each rule (expected actions are checked against them). */
  ruleActions: ReadonlyMap<string, ReadonlySet<string>> | undefined;
  /** The rules in shadow mode (their history firings are recorded apart, as the server records them). */
  shadowRules: ReadonlySet<string> | undefined;
  /** Whether some rule counts under a key (then a history may be a key's record, not a player's). */
  keyedRules = true;
  readonly lines: LineCounter = new (yaml().LineCounter)();
  doc!: Document;

  constructor(
    readonly file: string,
    readonly opts: LoadRuleTestsOptions,
  ) {}

  report(path: Path, message: string, key = false): void {
    let node: unknown;
    let p = [...path];
    for (;;) {
      node = p.length === 0 ? this.doc.contents : this.doc.getIn(p, true);
      if (node || p.length === 0) break;
      p = p.slice(0, -1);
    }
    let offset = (node as { range?: [number, number] } | null)?.range?.[0] ?? 0;
    if (key && p.length === path.length && p.length > 0) {
      const parent = p.length === 1 ? this.doc.contents : this.doc.getIn(p.slice(0, -1), true);
      if (yaml().isMap(parent)) {
        const pair = parent.items.find((it) => (it.key as { value?: unknown } | null)?.value === p[p.length - 1]);
        offset = (pair?.key as { range?: [number, number] } | null)?.range?.[0] ?? offset;
      }
    }
    const { line, col } = this.lines.linePos(offset);
    this.problems.push({ file: this.file, line, column: col, message });
  }

  unknownKeys(value: Record<string, unknown>, allowed: readonly string[], path: Path, what: string): void {
    for (const k of Object.keys(value)) {
      if (allowed.includes(k)) continue;
      // `expect { nothing: true }` is the key "expect { nothing": the ":" after expect left out
      const word = /^([A-Za-z_$][\w$]*)[ \t]+[{[]/.exec(k)?.[1];
      const colon = word !== undefined && allowed.includes(word) ? `: missing ":" after "${word}" (write ${word}: ${k.slice(word.length).trim()}: ...)` : '';
      this.report([...path, k], `unknown key "${k}" in ${what}${colon || ` (allowed: ${allowed.join(', ')})`}`, true);
    }
  }

  env(value: unknown, path: Path): Record<string, string> {
    if (value === undefined) return {};
    if (!isObject(value)) {
      this.report(path, 'env must be a map of variable names to values');
      return {};
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
      else this.report([...path, k], `env.${k} must be a string`);
    }
    return out;
  }

  now(value: unknown, path: Path): Date | undefined {
    if (value === undefined) return undefined;
    if (value instanceof Date) return value;
    const r = typeof value === 'string' ? parseInstant(value) : undefined;
    if (!r?.ok) {
      this.report(path, r ? `now: ${r.reason}; ${r.fix}` : `now must be an RFC 3339 instant with offset (2026-12-01T00:00:00Z), not ${JSON.stringify(value)}`);
      return undefined;
    }
    return new Date(r.ms);
  }

  /**
   * `history: { <userId>: { events: [{ event, at }], firings: [{ rule, at }] } }`:
   * each player's record before the case's event, built as the server would
   * have; the record of a `limit.key` value (a party id...) under that value.
   */
  history(value: unknown, path: Path, now: Date): Map<string, StateDocument> {
    const out = new Map<string, StateDocument>();
    if (value === undefined) return out;
    if (!isObject(value)) {
      this.report(path, 'history must be a map: user id -> { events: [{ event, at }], firings: [{ rule, at }] }');
      return out;
    }
    for (const [user, raw] of Object.entries(value)) {
      const p = [...path, user];
      out.set(user, playerHistory(raw, p, this.opts.catalog, (path, message, key) => this.report(path, message, key), user, { now: now.getTime(), ...(this.ruleNames ? { rules: this.ruleNames } : {}), ...(this.shadowRules ? { shadow: this.shadowRules } : {}) }));
    }
    return out;
  }

  base(value: unknown, path: Path): DataBase | undefined {
    if (value === undefined) return undefined;
    if (value === 'sample' || value === 'defaults') return value;
    this.report(path, `base must be "sample" or "defaults", not ${JSON.stringify(value)}`);
    return undefined;
  }

  names(value: unknown, path: Path, what: string): string[] | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      this.report(path, `${what} must be a list of rule names`);
      return undefined;
    }
    const known = this.ruleNames;
    if (known) value.forEach((name, i) => known.has(name) || this.report([...path, i], `${what}: no rule is named "${name}": ${didYouMean(name, known) ?? `the rules are ${[...known].join(', ')}`}`));
    return value;
  }

  expectedAction(value: unknown, path: Path): ExpectedAction | undefined {
    if (!isObject(value)) {
      this.report(path, 'an expected action is a map: rule, action, params, optionally mode and requests');
      return undefined;
    }
    this.unknownKeys(value, ACTION_KEYS, path, 'an expected action');
    let ok = true;
    for (const k of ['rule', 'action'] as const) {
      if (typeof value[k] !== 'string') {
        this.report(value[k] === undefined ? path : [...path, k], value[k] === undefined ? `the expected action needs "${k}"` : `${k} must be a string`);
        ok = false;
      }
    }
    const mode = value.mode ?? 'live';
    if (mode !== 'live' && mode !== 'shadow') {
      this.report([...path, 'mode'], `mode must be "live" or "shadow", not ${JSON.stringify(mode)}`);
      ok = false;
    }
    if (value.params !== undefined && !isObject(value.params)) {
      this.report([...path, 'params'], 'params must be a map');
      ok = false;
    }
    let requests: Record<string, unknown>[] | undefined;
    if (value.requests !== undefined) {
      if (!Array.isArray(value.requests)) {
        this.report([...path, 'requests'], 'requests must be a list of { method, path, body... }');
        ok = false;
      } else {
        requests = [];
        value.requests.forEach((r, i) => {
          if (!isObject(r)) {
            this.report([...path, 'requests', i], 'a request is a map: method, path, body, query, headers, operation');
            ok = false;
            return;
          }
          this.unknownKeys(r, REQUEST_KEYS, [...path, 'requests', i], 'a request');
          if (r.exact !== undefined && typeof r.exact !== 'boolean') {
            this.report([...path, 'requests', i, 'exact'], 'exact must be true (compare the objects written whole) or false (only the keys written, the default)');
            ok = false;
          }
          requests!.push(r);
        });
      }
    }
    if (!ok) return undefined;
    this.knownAction(value.rule as string, value.action as string, path);
    return {
      rule: value.rule as string,
      action: value.action as string,
      mode: mode as 'live' | 'shadow',
      ...(value.params !== undefined ? { params: value.params as Record<string, unknown> } : {}),
      ...(requests ? { requests } : {}),
    };
  }

  /** Reports an expected action whose rule is not in the rules file, or whose action that rule does not have. */
  knownAction(rule: string, action: string, path: Path): void {
    const known = this.ruleNames;
    if (known && !known.has(rule)) {
      this.report([...path, 'rule'], `actions: no rule is named "${rule}": ${didYouMean(rule, known) ?? `the rules are ${[...known].join(', ')}`}`);
      return;
    }
    const actions = this.ruleActions?.get(rule);
    if (actions && !actions.has(action)) {
      this.report([...path, 'action'], `actions: rule "${rule}" has no action "${action}": ${didYouMean(action, actions) ?? `its actions are ${[...actions].join(', ')}`}`);
    }
  }

  expectation(value: unknown, path: Path): Expectation | undefined {
    if (!isObject(value)) {
      this.report(path, value === undefined ? 'the case needs "expect" (matched, actions, or nothing: true)' : 'expect must be a map: matched, actions, errors, nothing');
      return undefined;
    }
    this.unknownKeys(value, EXPECT_KEYS, path, 'expect');
    const errors = this.names(value.errors, [...path, 'errors'], 'errors') ?? [];
    const suppressed = this.names(value.suppressed, [...path, 'suppressed'], 'suppressed');
    if (value.nothing !== undefined) {
      if (value.nothing !== true) {
        this.report([...path, 'nothing'], 'nothing can only be true (no rule matches, no action)');
        return undefined;
      }
      if (value.matched !== undefined || value.actions !== undefined) {
        this.report([...path, 'nothing'], 'nothing: true means no rule matches and no action: remove matched/actions, or remove nothing', true);
        return undefined;
      }
      return { matched: [], actions: [], errors };
    }
    const matched = this.names(value.matched, [...path, 'matched'], 'matched');
    let actions: ExpectedAction[] | undefined;
    if (value.actions !== undefined) {
      if (!Array.isArray(value.actions)) this.report([...path, 'actions'], 'actions must be a list');
      else actions = value.actions.map((a, i) => this.expectedAction(a, [...path, 'actions', i])).filter((a): a is ExpectedAction => a !== undefined);
    }
    if (matched === undefined && actions === undefined && value.errors === undefined && suppressed === undefined) {
      this.report(path, 'expect checks nothing: give matched, actions, errors, suppressed, or nothing: true');
      return undefined;
    }
    return { ...(matched ? { matched } : {}), ...(actions ? { actions } : {}), errors, ...(suppressed ? { suppressed } : {}) };
  }

  testCase(raw: unknown, i: number, shared: { env: Record<string, string | undefined>; now: Date; nowGiven: boolean; base: DataBase }): RuleTestCase | undefined {
    const path: Path = ['cases', i];
    if (!isObject(raw)) {
      this.report(path, 'a case is a map: name, event, data, expect');
      return undefined;
    }
    this.unknownKeys(raw, CASE_KEYS, path, 'a case');
    const name = typeof raw.name === 'string' && raw.name !== '' ? raw.name : undefined;
    if (!name) this.report(raw.name === undefined ? path : [...path, 'name'], 'the case needs a "name" (text)');
    const label = name ?? `cases[${i}]`;
    let service: EventService | undefined;
    if (typeof raw.event !== 'string') {
      this.report(raw.event === undefined ? path : [...path, 'event'], `case "${label}" needs an "event" (an event name such as userLoggedIn)`);
    } else {
      try {
        service = resolveEvent(this.opts.catalog, raw.event);
      } catch (err) {
        if (!(err instanceof UnknownEventError)) throw err;
        this.report([...path, 'event'], err.message);
      }
    }
    const env = { ...shared.env, ...this.env(raw.env, [...path, 'env']) };
    const now = this.now(raw.now, [...path, 'now']) ?? shared.now;
    const base = this.base(raw.base, [...path, 'base']) ?? shared.base;
    const expect = this.expectation(raw.expect, [...path, 'expect']);
    const history = this.history(raw.history, [...path, 'history'], now);
    // a history read on the clock of the day the test runs would pass today and fail tomorrow
    if (raw.history !== undefined && raw.now === undefined && !shared.nowGiven) this.report([...path, 'history'], 'a case with a history needs "now:" (the instant of its event, e.g. now: 2026-03-01T12:00:00Z), in the case or at the top of the file', true);
    let event: DecodedEvent | undefined;
    if (service) {
      try {
        event = buildEvent(service, raw.data ?? {}, `case "${label}" data`, base);
      } catch (err) {
        if (!(err instanceof EventDataError)) throw err;
        const sub = err.path ? err.path.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : s)) : [];
        this.report([...path, 'data', ...sub], err.message);
      }
    }
    if (event && !this.keyedRules) {
      const player = typeof event.userId === 'string' ? event.userId : '';
      for (const user of history.keys()) {
        // a user id other than the event's player; other names may be limit.key values (checked when the case runs)
        if (user !== player && /^[0-9a-f]{32}$/.test(user)) this.report([...path, 'history', user], `history of "${user}", but the case's event is about ${player ? `userId "${player}"` : 'no userId'} (data.userId): the history is the record of the event's player`, true);
      }
    }
    if (!name || !service || !expect || !event) return undefined;
    return { name, line: this.lines.linePos((this.doc.getIn(path, true) as { range?: [number, number] } | undefined)?.range?.[0] ?? 0).line, service, event, now, env, expect, history, ...(isObject(raw.facts) ? { facts: raw.facts } : {}) };
  }

  load(text: string): RuleTestSuite {
    this.doc = yaml().parseDocument(text, { lineCounter: this.lines, prettyErrors: false, customTags: exactIntegers });
    const at = (offset: number): { line: number; column: number } => {
      const { line, col } = this.lines.linePos(offset);
      return { line, column: col };
    };
    const errors = this.doc.errors.map((e) => ({ code: e.code, offset: e.pos[0], message: e.message }));
    const reparse = (t: string) => yaml().parseDocument(t, { prettyErrors: false, customTags: exactIntegers }).errors.map((e) => ({ code: e.code, offset: e.pos[0], message: e.message }));
    for (const m of explainYamlErrors(text, errors, at, reparse)) {
      this.problems.push({ file: this.file, line: m.line, column: m.column, message: `YAML: ${m.message}`, ...(m.fix ? { fix: m.fix } : {}) });
    }
    if (this.problems.length > 0) throw new RuleTestFormatError(this.problems);
    const data: unknown = numbersOutsideData(this.doc.toJS());
    if (!isObject(data)) {
      this.report([], 'a rule-test file is a map: version: 1, cases: [...]');
      throw new RuleTestFormatError(this.problems);
    }
    this.unknownKeys(data, TOP_KEYS, [], 'the top level');
    if (data.version !== 1) this.report(data.version === undefined ? [] : ['version'], data.version === undefined ? 'write "version: 1" at the top' : `unsupported version ${JSON.stringify(data.version)}: write "version: 1"`);
    let rulesFile = this.defaultRules();
    if (data.rules !== undefined) {
      if (typeof data.rules !== 'string') this.report(['rules'], 'rules must be the path of the rules file (relative to this file)');
      else rulesFile = resolve(dirname(this.file), data.rules);
    }
    const rules = rulesOf(rulesFile);
    this.ruleNames = rules?.names;
    this.ruleActions = rules?.actions;
    this.shadowRules = rules?.shadow;
    this.keyedRules = rules?.keyed ?? true;
    const fileNow = this.now(data.now, ['now']) ?? this.opts.now;
    const shared = {
      env: { ...this.opts.env, ...this.env(data.env, ['env']) },
      now: fileNow ?? new Date(),
      nowGiven: fileNow !== undefined,
      base: this.base(data.base, ['base']) ?? 'sample',
    };
    const cases: RuleTestCase[] = [];
    if (!Array.isArray(data.cases) || data.cases.length === 0) {
      this.report(data.cases === undefined ? [] : ['cases'], 'the file needs "cases": a list of { name, event, data, expect }');
    } else {
      const seen = new Set<string>();
      data.cases.forEach((raw, i) => {
        const c = this.testCase(raw, i, shared);
        if (!c) return;
        if (seen.has(c.name)) this.report(['cases', i, 'name'], `case name "${c.name}" is used twice`);
        seen.add(c.name);
        cases.push(c);
      });
    }
    if (this.problems.length > 0) throw new RuleTestFormatError(this.problems);
    return { file: this.file, rulesFile, cases };
  }

  defaultRules(): string {
    const m = /^(.*)\.test\.ya?ml$/.exec(basename(this.file));
    const beside = m ? resolve(dirname(this.file), `${m[1]}.yaml`) : undefined;
    return beside !== undefined && existsSync(beside) ? beside : this.opts.defaultRulesFile;
  }
}

/**
 * Parses and checks a rule-test file: every case's event resolved and its data
 * filled. Throws {@link RuleTestFormatError} with every problem found.
 * Default rules file: `X.yaml` beside `X.test.yaml` when it exists, else `defaultRulesFile`.
 */
export function parseRuleTests(text: string, file: string, options: LoadRuleTestsOptions): RuleTestSuite {
  return new Loader(file, options).load(text);
}

/** The outcome of one case. */
export interface CaseResult {
  readonly name: string;
  readonly line: number;
  readonly passed: boolean;
  /** `- path: expected` / `+ path: actual` lines; empty when passed. */
  readonly diff: readonly string[];
  /** What happened, for context on failure: `rule: outcome` per rule listening on the event. */
  readonly outcomes: readonly string[];
  /** The actions planned (for a report). */
  readonly steps: readonly PlannedStep[];
}

/**
 * `actual` cut to the shape of `expected`: in every object, only the keys
 * `expected` writes (recursively, arrays by index); anything else as is.
 */
function keysWritten(expected: unknown, actual: unknown): unknown {
  if (isObject(expected) && isObject(actual)) return Object.fromEntries(Object.keys(expected).map((k) => [k, keysWritten(expected[k], actual[k])]));
  if (Array.isArray(expected) && Array.isArray(actual)) return actual.map((v: unknown, i) => (i < expected.length ? keysWritten(expected[i], v) : v));
  return actual;
}

/** The planned request as compared with `want`: its keys written; their objects cut to the keys written unless `exact: true`. */
function comparedRequest(want: Record<string, unknown>, got: Record<string, unknown>): Record<string, unknown> {
  const exact = want.exact === true;
  return Object.fromEntries(Object.keys(want).filter((k) => k !== 'exact').map((k) => [k, exact ? got[k] : keysWritten(want[k], got[k])]));
}

function actualAction(step: PlannedStep, expected: ExpectedAction | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { rule: step.rule, action: step.action, mode: step.mode };
  if (step.error !== undefined) {
    out.error = step.error;
    return out;
  }
  if (expected?.params !== undefined) out.params = step.params;
  if (expected?.requests !== undefined) {
    out.requests = (step.requests ?? []).map((r, i) => {
      const want = expected.requests![i];
      if (!want) return r;
      return comparedRequest(want, r as unknown as Record<string, unknown>);
    });
  }
  return out;
}

function expectedAction(a: ExpectedAction): Record<string, unknown> {
  const requests = a.requests?.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'exact')));
  return { rule: a.rule, action: a.action, mode: a.mode, ...(a.params !== undefined ? { params: a.params } : {}), ...(requests !== undefined ? { requests } : {}) };
}

function setDiff(what: string, expected: readonly string[], actual: readonly string[]): string[] {
  const lines: string[] = [];
  for (const e of expected) if (!actual.includes(e)) lines.push(`- ${what}: ${e}`);
  for (const a of actual) if (!expected.includes(a)) lines.push(`+ ${what}: ${a}`);
  return lines;
}

/**
 * Evaluates the case's event as the server would: with the player's record
 * (the case's `history`, else empty) when its rules are stateful.
 */
/** The case's `facts:` fixtures as the server would have fetched them: by rule, each fact the rule reads (missing: an error of the rule). */
export function factFixtures(rules: RuleSet, serviceFullName: string, fixtures: Readonly<Record<string, unknown>> | undefined): Map<string, Record<string, FactValue>> | undefined {
  const out = new Map<string, Record<string, FactValue>>();
  for (const rule of rules.rulesFor(serviceFullName)) {
    if (!rule.facts) continue;
    const mine: Record<string, FactValue> = {};
    for (const f of rule.facts) mine[f.name] = fixtures && Object.hasOwn(fixtures, f.name) ? { value: fixtures[f.name] } : { error: `no fixture: give its answer under facts: { ${f.name}: ... }` };
    out.set(rule.name, mine);
  }
  return out.size > 0 ? out : undefined;
}

function evaluateCase(c: RuleTestCase, rules: RuleSet): { evaluation: EvaluationResult; unread: string[] } {
  const read = new Set<string>();
  let evaluation: EvaluationResult;
  const facts = factFixtures(rules, c.service.fullName, c.facts);
  if (!rules.needsState(c.service.fullName)) evaluation = rules.evaluate(c.service.fullName, c.event, { now: c.now, ...(facts ? { facts } : {}) });
  else {
    const user = typeof c.event.userId === 'string' ? c.event.userId : '';
    read.add(user); // the player's record, read or not (a rule may need it on another event)
    // the player's record is history[userId]; a key's record (limit.key: a party...) is history[<the key's value>]
    evaluation = evaluateOnDocuments(
      (who) => {
        const name = who.key ?? who.userId ?? '';
        read.add(name);
        return c.history.get(name);
      },
      user,
      { rules, serviceFullName: c.service.fullName, event: c.event, eventKey: eventKey(c.event), now: c.now.getTime(), ...(facts ? { facts } : {}) },
    );
  }
  // with limit.key rules on the event, other names may be other keys' records (another party's): not an error
  const keyed = rules.rulesFor(c.service.fullName).some((r) => r.stateKey) || rules.counters(c.service.fullName).some((x) => x.by);
  return { evaluation, unread: keyed ? [] : [...c.history.keys()].filter((k) => !read.has(k)) };
}

/** One rule's outcome as text, with the state a limit or cooldown read: `daily: suppressed (limit: 1 of 1 per day Asia/Tokyo)`. */
export function outcomeText(o: RuleOutcome): string {
  const f = o.firing;
  const state = f
    ? [f.limit ? `limit: ${f.limit.fired} of ${f.limit.count} per ${f.limit.per}${f.key !== undefined ? ` under key ${JSON.stringify(f.key)}` : ''}` : '', f.cooldown ? `cooldown ${f.cooldown.duration}, last firing ${f.cooldown.lastFiring ?? 'never'}` : '', f.decision === 'again' ? 'already fired for this event' : '']
        .filter(Boolean)
        .join('; ')
    : '';
  return `${o.rule}: ${o.outcome}${o.error !== undefined ? ` (${o.error})` : ''}${state ? ` (${state})` : ''}`;
}

/** Runs one case against compiled rules. Offline: actions are planned, never executed. */
export function runCase(c: RuleTestCase, rules: RuleSet, registry: ActionRegistry): CaseResult {
  const { evaluation, unread } = evaluateCase(c, rules);
  const steps = planSteps(registry, c.service, c.event, evaluation.plan, c.env.AB_NAMESPACE ?? '', c.now);
  const matched = evaluation.outcomes.filter((o) => o.outcome === 'matched').map((o) => o.rule);
  const errored = evaluation.outcomes.filter((o) => o.outcome === 'error');
  const diff: string[] = [];
  for (const k of unread) diff.push(`- history: "${k}" is not the event's player (data.userId) and no rule on this event has a limit.key: this record is not used`);
  if (c.expect.matched) diff.push(...setDiff('matched', c.expect.matched, matched));
  diff.push(...setDiff('error', c.expect.errors, errored.map((o) => o.rule)));
  if (c.expect.suppressed) diff.push(...setDiff('suppressed', c.expect.suppressed, evaluation.outcomes.filter((o) => o.outcome === 'suppressed').map((o) => o.rule)));
  if (c.expect.actions) {
    const want = c.expect.actions;
    const got = steps.map((s, i) => actualAction(s, want[i]));
    diff.push(...diffValues(want.map(expectedAction), got, 'actions'));
  }
  const outcomes = evaluation.outcomes.map(outcomeText);
  return { name: c.name, line: c.line, passed: diff.length === 0, diff, outcomes, steps };
}

export type { RuleTestProblem } from './errors.js';
