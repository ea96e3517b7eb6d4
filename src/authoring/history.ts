/**
 * A player's prior record written by hand (rule tests' `history:`, `explain
 * --history`): `{ events: [{ event, at }], firings: [{ rule, at }] }`, built
 * into the ledger document the server would have stored.
 */
import { yaml } from './yaml.js';
import { parseInstant } from '../time/index.js';
import { firingKey } from '../rules/index.js';
import { didYouMean } from '../text/index.js';
import type { Catalog } from '../events/index.js';
import { HISTORY_DATA, Ledger } from '../state/index.js';
import type { StateDocument } from '../store/index.js';
import { UnknownEventError } from './errors.js';
import { resolveEvent } from './workbench.js';

type Path = readonly (string | number)[];
/** Reports one problem at a path of the input (key: at the key rather than the value). */
export type HistoryReport = (path: Path, message: string, key?: boolean) => void;

const KEYS = ['events', 'firings'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a history is checked against. */
export interface HistoryChecks {
  /** The event's instant (epoch ms): an entry after it is refused (a history holds what happened before the event). */
  readonly now?: number;
  /** The rules' names: a firing of another rule is refused (it would count for nothing). */
  readonly rules?: ReadonlySet<string>;
  /** The rules in shadow mode: their firings are recorded apart, as the server does (`firingKey`). */
  readonly shadow?: ReadonlySet<string>;
}

/** Builds one player's ledger document; every problem goes to `report` (the entry is skipped). */
export function playerHistory(raw: unknown, path: Path, catalog: Catalog, report: HistoryReport, who = 'the player', checks: HistoryChecks = {}): StateDocument {
  const ledger = new Ledger(undefined);
  if (!isObject(raw)) {
    report(path, `the history of ${who} is a map: events: [{ event, at, data? }], firings: [{ rule, at }]`);
    return ledger.toDocument();
  }
  for (const k of Object.keys(raw)) if (!KEYS.includes(k)) report([...path, k], `unknown key "${k}" in the history of ${who} (allowed: ${KEYS.join(', ')})`, true);
  let n = 0;
  const data: Record<string, unknown> = {};
  for (const kind of ['events', 'firings'] as const) {
    const list = raw[kind];
    if (list === undefined) continue;
    const field = kind === 'events' ? 'event' : 'rule';
    if (!Array.isArray(list)) {
      report([...path, kind], `${kind} must be a list of { ${field}, at }`);
      continue;
    }
    list.forEach((item: unknown, i) => {
      const ip = [...path, kind, i];
      if (!isObject(item) || typeof item[field] !== 'string') {
        report(ip, `an entry of ${kind} is { ${field}: <name>, at: <ISO 8601 instant> }`);
        return;
      }
      const allowed = kind === 'events' ? [field, 'at', 'data'] : [field, 'at'];
      for (const k of Object.keys(item)) if (!allowed.includes(k)) report([...ip, k], `unknown key "${k}" in an entry of ${kind} (allowed: ${allowed.join(', ')})`, true);
      if (kind === 'events' && item.data !== undefined && !isObject(item.data)) report([...ip, 'data'], '"data" is the event as JSON (what a count\'s "where" reads), a map');
      const parsed = typeof item.at === 'string' ? parseInstant(item.at) : undefined;
      const at = item.at instanceof Date ? item.at.getTime() : parsed?.ok ? parsed.ms : NaN;
      if (Number.isNaN(at)) {
        report(
          item.at === undefined ? ip : [...ip, 'at'],
          parsed && !parsed.ok && parsed.kind !== 'format' ? `"at": ${parsed.reason}; ${parsed.fix}` : `"at" must be an RFC 3339 instant with offset (2026-12-01T00:00:00Z), not ${JSON.stringify(item.at) ?? 'missing'}`,
        );
        return;
      }
      if (checks.now !== undefined && at > checks.now) {
        report([...ip, 'at'], `"at" ${new Date(at).toISOString()} is after now (${new Date(checks.now).toISOString()}): a history holds what happened before the event; set "now" or move the entry`);
        return;
      }
      if (kind === 'firings' && checks.rules && !checks.rules.has(item.rule as string)) {
        report([...ip, 'rule'], `no rule is named "${String(item.rule)}": ${didYouMean(item.rule as string, checks.rules) ?? `the rules are ${[...checks.rules].join(', ')}`}`);
        return;
      }
      const tag = `history-${++n}`;
      if (kind === 'firings') {
        const rule = item.rule as string;
        ledger.recordFiring(firingKey({ name: rule, mode: checks.shadow?.has(rule) ? 'shadow' : 'live' }), tag, at);
        return;
      }
      try {
        ledger.recordEvent(resolveEvent(catalog, item.event as string).eventName, tag, at);
        if (isObject(item.data)) (data[tag] = item.data);
      } catch (err) {
        if (!(err instanceof UnknownEventError)) throw err;
        report([...ip, 'event'], err.message);
      }
    });
  }
  const doc = ledger.toDocument();
  // the events' data, for the counters whose `where` must see it (seedCounters, src/state/evaluate.ts); never stored by the server
  if (Object.keys(data).length > 0) doc[HISTORY_DATA] = data;
  return doc;
}

/**
 * A history file (`explain --history`): one player's `{ events, firings }` in
 * YAML. Answers the ledger document, or the problems as
 * `file:line:column: message` (YAML syntax included).
 */
export function historyFile(text: string, file: string, catalog: Catalog, checks: HistoryChecks = {}): { readonly doc: StateDocument; readonly problems: readonly string[] } {
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number): string => {
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const problems = doc.errors.map((e) => `${at(e.pos[0])}: YAML: ${e.message.split('\n')[0]}`);
  if (problems.length > 0) return { doc: {}, problems };
  const report: HistoryReport = (path, message) => {
    let p = [...path];
    let node: unknown = p.length === 0 ? doc.contents : doc.getIn(p, true);
    while (!node && p.length > 0) {
      p = p.slice(0, -1);
      node = p.length === 0 ? doc.contents : doc.getIn(p, true);
    }
    problems.push(`${at((node as { range?: [number, number] } | null)?.range?.[0] ?? 0)}: ${message}`);
  };
  const built = playerHistory(doc.toJS() as unknown, [], catalog, report, 'the player', checks);
  return { doc: built, problems };
}
