/**
 * The ledger works on the document it was given without changing it (it is
 * shared with the store: the memory store hands it out frozen): recording an
 * event into existing streak runs, a firing, and compaction past the bound and
 * of old runs all copy what they change.
 */
import { describe, expect, it } from 'vitest';
import { Ledger, MAX_ENTRIES, streakKey } from '../../src/state/ledger.js';
import type { StateNeeds, StreakSpec } from '../../src/state/ledger.js';
import { freezeJson } from '../../src/store/frozen-json.js';
import type { StateDocument } from '../../src/store/state-store.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');
const spec: StreakSpec = { unit: 'day', timeZone: 'UTC', resetMinutes: 0 };

function document(): StateDocument {
  const h = Array.from({ length: MAX_ENTRIES }, (_, i): [number, string, number] => [T0 + i * 60_000, `t${i}`, i + 1]);
  const doc: StateDocument = {
    events: { login: { n: MAX_ENTRIES, h, s: { [streakKey(spec)]: [[0, 1], [19_000, 20_512]] } } },
    rules: { daily: { n: 3, h: [[T0, 't0', 1]] } },
    actions: { n: 0, b: [] },
  };
  return freezeJson(doc) as StateDocument;
}

describe('Ledger on a shared (frozen) document', () => {
  it('records, fires and compacts on copies; the document read is unchanged', () => {
    const base = document();
    const snapshot = JSON.stringify(base);
    const ledger = new Ledger(base);
    const now = T0 + MAX_ENTRIES * 60_000;
    expect(ledger.recordEvent('login', 'new-tag', now, [spec])).toBe(true);
    expect(ledger.recordEvent('login', 't5', now, [spec])).toBe(false); // already recorded
    ledger.recordFiring('daily', 'new-tag', now);
    const needs: StateNeeds = { events: new Map([['login', { horizonMs: 30 * DAY, streaks: new Map([[streakKey(spec), spec]]) }]]), rules: new Map([['daily', DAY]]) };
    ledger.compact(needs, now, DAY);
    const next = ledger.toDocument();
    expect(JSON.stringify(base)).toBe(snapshot);
    const login = (next.events as Record<string, { n: number; h: unknown[]; s: Record<string, [number, number][]> }>).login!;
    expect(login.n).toBe(MAX_ENTRIES + 1);
    expect(login.h.length).toBeLessThanOrEqual(MAX_ENTRIES); // past the bound: down to 90%
    expect(login.s[streakKey(spec)]).not.toContainEqual([0, 1]); // ended long before the retention
    expect((next.rules as Record<string, { n: number }>).daily!.n).toBe(4);
    expect(next.actions).toBe(base.actions); // other sections as read
    expect(() => freezeJson(next)).not.toThrow();
  });
});
