/**
 * A player's prior record written by hand (rule tests' `history:`, `explain
 * --history`): `{ events: [{ event, at }], firings: [{ rule, at }] }`, built
 * into the ledger document the server would have stored.
 */
import type { Catalog } from '../events/types.js';
import { Ledger } from '../state/ledger.js';
import type { StateDocument } from '../store/state-store.js';
import { UnknownEventError } from './errors.js';
import { resolveEvent } from './workbench.js';

type Path = readonly (string | number)[];
/** Reports one problem at a path of the input (key: at the key rather than the value). */
export type HistoryReport = (path: Path, message: string, key?: boolean) => void;

const KEYS = ['events', 'firings'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Builds one player's ledger document; every problem goes to `report` (the entry is skipped). */
export function playerHistory(raw: unknown, path: Path, catalog: Catalog, report: HistoryReport, who = 'the player'): StateDocument {
  const ledger = new Ledger(undefined);
  if (!isObject(raw)) {
    report(path, `the history of ${who} is a map: events: [{ event, at }], firings: [{ rule, at }]`);
    return ledger.toDocument();
  }
  for (const k of Object.keys(raw)) if (!KEYS.includes(k)) report([...path, k], `unknown key "${k}" in the history of ${who} (allowed: ${KEYS.join(', ')})`, true);
  let n = 0;
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
      for (const k of Object.keys(item)) if (k !== field && k !== 'at') report([...ip, k], `unknown key "${k}" in an entry of ${kind} (allowed: ${field}, at)`, true);
      const at = item.at instanceof Date ? item.at.getTime() : typeof item.at === 'string' ? Date.parse(item.at) : NaN;
      if (Number.isNaN(at)) {
        report(item.at === undefined ? ip : [...ip, 'at'], `"at" must be an ISO 8601 instant (2026-12-01T00:00:00Z), not ${JSON.stringify(item.at) ?? 'missing'}`);
        return;
      }
      const tag = `history-${++n}`;
      if (kind === 'firings') {
        ledger.recordFiring(item.rule as string, tag, at);
        return;
      }
      try {
        ledger.recordEvent(resolveEvent(catalog, item.event as string).eventName, tag, at);
      } catch (err) {
        if (!(err instanceof UnknownEventError)) throw err;
        report([...ip, 'event'], err.message);
      }
    });
  }
  return ledger.toDocument();
}
