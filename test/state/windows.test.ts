/**
 * Window math of stateful rules: calendar periods on the wall clock of an IANA
 * zone (DST days of America/New_York are 23 and 25 hours long), resetAt across
 * midnight, Asia/Tokyo, ISO weeks from Monday, months; rolling windows;
 * results independent of the process time zone (the test runs the same under
 * any TZ: nothing here reads the local zone).
 */
import { describe, expect, it } from 'vitest';
import { WindowSpecError, checkTimeZone, parseWindow, periodIndex, periodRange, windowRange } from '../../src/state/windows.js';
import { addToRuns, aliveRun } from '../../src/state/ledger.js';

const at = (iso: string): number => Date.parse(iso);
const day = (w: ReturnType<typeof parseWindow>) => {
  if (w.kind !== 'calendar') throw new Error('calendar expected');
  return w;
};

describe('calendar periods', () => {
  it('a day in Asia/Tokyo runs from 15:00 UTC to 15:00 UTC', () => {
    const w = day(parseWindow('day', 'Asia/Tokyo'));
    const r = periodRange(w, at('2026-03-01T14:59:59.999Z'));
    expect(new Date(r.from).toISOString()).toBe('2026-02-28T15:00:00.000Z');
    expect(new Date(r.to).toISOString()).toBe('2026-03-01T15:00:00.000Z');
    expect(periodIndex('day', 'Asia/Tokyo', 0, at('2026-03-01T15:00:00Z'))).toBe(r.index + 1);
  });

  it('the spring-forward day in America/New_York is 23 hours, the fall-back day 25', () => {
    const w = day(parseWindow('day', 'America/New_York'));
    const spring = periodRange(w, at('2026-03-08T12:00:00Z'));
    expect(new Date(spring.from).toISOString()).toBe('2026-03-08T05:00:00.000Z'); // 00:00 EST
    expect(new Date(spring.to).toISOString()).toBe('2026-03-09T04:00:00.000Z'); // 00:00 EDT
    expect((spring.to - spring.from) / 3_600_000).toBe(23);
    const fall = periodRange(w, at('2026-11-01T12:00:00Z'));
    expect(new Date(fall.from).toISOString()).toBe('2026-11-01T04:00:00.000Z');
    expect(new Date(fall.to).toISOString()).toBe('2026-11-02T05:00:00.000Z');
    expect((fall.to - fall.from) / 3_600_000).toBe(25);
    // 23:30 local on the fall-back day (04:30Z next day) is still that day; a fixed offset would say otherwise
    expect(periodIndex('day', 'America/New_York', 0, at('2026-11-02T04:30:00Z'))).toBe(fall.index);
  });

  it('resetAt 05:00: 04:59 local belongs to the previous day, across midnight', () => {
    const w = day(parseWindow('day', 'Asia/Tokyo', '05:00'));
    const before = periodIndex('day', 'Asia/Tokyo', w.resetMinutes, at('2026-03-01T19:59:00Z')); // 04:59 JST Mar 2
    const after = periodIndex('day', 'Asia/Tokyo', w.resetMinutes, at('2026-03-01T20:00:00Z')); // 05:00 JST Mar 2
    const lateEvening = periodIndex('day', 'Asia/Tokyo', w.resetMinutes, at('2026-03-01T14:30:00Z')); // 23:30 JST Mar 1
    expect(before).toBe(lateEvening);
    expect(after).toBe(before + 1);
    const r = periodRange(w, at('2026-03-01T19:00:00Z'));
    expect(new Date(r.from).toISOString()).toBe('2026-02-28T20:00:00.000Z');
    expect(new Date(r.to).toISOString()).toBe('2026-03-01T20:00:00.000Z');
  });

  it('resetAt inside the DST gap starts the day at the first instant after it', () => {
    // 2026-03-08 America/New_York: 02:00 -> 03:00; with resetAt 02:30 the day starts at 03:00 EDT (07:00Z)
    const w = day(parseWindow('day', 'America/New_York', '02:30'));
    const r = periodRange(w, at('2026-03-08T12:00:00Z'));
    expect(new Date(r.from).toISOString()).toBe('2026-03-08T07:00:00.000Z');
  });

  it('ISO weeks start on Monday in the zone; months follow the calendar', () => {
    const wk = day(parseWindow('week', 'Asia/Tokyo'));
    const r = periodRange(wk, at('2026-03-04T00:00:00Z')); // Wednesday
    expect(new Date(r.from).toISOString()).toBe('2026-03-01T15:00:00.000Z'); // Monday 00:00 JST
    expect((r.to - r.from) / 86_400_000).toBe(7);
    const m = day(parseWindow('month', 'UTC'));
    const feb = periodRange(m, at('2026-02-10T00:00:00Z'));
    expect(new Date(feb.from).toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(new Date(feb.to).toISOString()).toBe('2026-03-01T00:00:00.000Z');
  });

  it('rolling windows end now; lifetime covers everything', () => {
    const now = at('2026-03-01T12:00:00Z');
    const r = windowRange(parseWindow('24h'), now);
    expect(r.to - r.from).toBe(24 * 3_600_000);
    expect(r.from <= now && now < r.to).toBe(true);
    expect(windowRange(parseWindow('P7D'), now).from).toBe(now - 7 * 86_400_000 + 1);
    expect(windowRange(parseWindow('lifetime'), now)).toEqual({ from: -Infinity, to: Infinity });
  });
});

describe('parsing', () => {
  it('refuses non-IANA zones with the name to write', () => {
    expect(checkTimeZone('Asia/Tokyo')).toBe('Asia/Tokyo');
    expect(checkTimeZone('UTC')).toBe('UTC');
    for (const [bad, fix] of [
      ['asia/tokyo', /write Asia\/Tokyo/],
      ['+09:00', /IANA name/],
      ['Mars/Olympus', /IANA name/],
      ['EST', /alias/],
    ] as const) {
      let err: unknown;
      try {
        checkTimeZone(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(WindowSpecError);
      expect((err as WindowSpecError).fix).toMatch(fix);
    }
  });

  it('refuses windows, reset hours and zones that do not parse or do not apply', () => {
    expect(() => parseWindow('fortnight')).toThrow(/not a window/);
    expect(() => parseWindow('day', undefined, '5am')).toThrow(/HH:MM/);
    expect(() => parseWindow('day', undefined, '24:00')).toThrow(/HH:MM/);
    expect(() => parseWindow('24h', 'Asia/Tokyo')).toThrow(/time zone applies/);
    expect(() => parseWindow('0h')).toThrow(/not a window/);
  });
});

describe('streak runs', () => {
  it('merges consecutive periods, late arrivals fill gaps, the alive run ends now or the period before', () => {
    const runs: [number, number][] = [];
    for (const p of [10, 11, 13, 14, 15]) addToRuns(runs, p);
    expect(runs).toEqual([[10, 11], [13, 15]]);
    addToRuns(runs, 12); // late event fills the gap
    expect(runs).toEqual([[10, 15]]);
    addToRuns(runs, 15);
    expect(runs).toEqual([[10, 15]]);
    expect(aliveRun(runs, 15)).toBe(6);
    expect(aliveRun(runs, 16)).toBe(6); // today has none yet: not broken
    expect(aliveRun(runs, 17)).toBe(0); // a whole period without: broken
    addToRuns(runs, 17);
    expect(aliveRun(runs, 17)).toBe(1);
    addToRuns(runs, 8);
    expect(runs).toEqual([[8, 8], [10, 15], [17, 17]]);
  });
});
