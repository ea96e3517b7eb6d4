/**
 * Edges of the window math (issue 14, "other cases of the same kinds"): the
 * days around every daylight saving change of 2026 in zones with 1-hour,
 * 30-minute (Australia/Lord_Howe) and 2-hour (Antarctica/Troll) changes, at
 * midnight (America/Santiago, Africa/Cairo, Asia/Beirut), with a `resetAt` in
 * the repeated hour or in the gap; zones with 30/45-minute offsets; ISO week
 * 53; months with a reset on the 1st and February of leap years; rolling
 * durations in every spelling and the edge of a rolling window. Nothing here
 * reads the process time zone (run under TZ=Pacific/Kiritimati or
 * TZ=America/St_Johns: same results).
 */
import { describe, expect, it } from 'vitest';
import { WindowSpecError, checkTimeZone, parseWindow, periodIndex, periodRange, windowRange } from '../../src/state/windows.js';
import type { Window } from '../../src/state/windows.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString();
const HOUR = 3_600_000;
const MIN = 60_000;
const calendar = (w: Window) => {
  if (w.kind !== 'calendar') throw new Error('calendar expected');
  return w;
};
const range = (unit: string, zone: string, resetAt: string | undefined, now: string) => {
  const r = periodRange(calendar(parseWindow(unit, zone, resetAt)), at(now));
  return { from: iso(r.from), to: iso(r.to), hours: (r.to - r.from) / HOUR, index: r.index };
};

/** The instants of 2026 at which `zone`'s offset from UTC changes, to the minute. */
function changesIn2026(zone: string): number[] {
  const f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
  const offset = (t: number) => f.formatToParts(t).find((p) => p.type === 'timeZoneName')!.value;
  const out: number[] = [];
  for (let t = at('2026-01-01T00:00:00Z'); t < at('2027-01-01T00:00:00Z'); t += HOUR) {
    if (offset(t) === offset(t + HOUR)) continue;
    let lo = t;
    let hi = t + HOUR;
    while (hi - lo > MIN) {
      const mid = lo + Math.floor((hi - lo) / 2 / MIN) * MIN || lo + MIN;
      if (offset(mid) === offset(t)) lo = mid;
      else hi = mid;
    }
    out.push(hi);
  }
  return out;
}

describe('days around daylight saving changes', () => {
  const ZONES = ['America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Antarctica/Troll', 'America/Santiago', 'Africa/Cairo', 'Asia/Beirut', 'Pacific/Chatham', 'America/St_Johns'];
  const RESETS = [0, 30, 60, 90, 105, 120, 150, 180, 23 * 60 + 30];

  it.each(ZONES)('%s: the period index never goes back and never skips, whatever the reset hour (every minute, 4 h around each change)', (zone) => {
    const changes = changesIn2026(zone);
    expect(changes.length, `${zone} changes its offset in 2026`).toBeGreaterThanOrEqual(2);
    for (const change of changes) {
      for (const reset of RESETS) {
        for (const unit of ['day', 'week', 'month'] as const) {
          let prev = periodIndex(unit, zone, reset, change - 4 * HOUR);
          for (let t = change - 4 * HOUR + MIN; t <= change + 4 * HOUR; t += MIN) {
            const i = periodIndex(unit, zone, reset, t);
            if (i !== prev && i !== prev + 1) throw new Error(`${zone} ${unit} reset ${reset} min: ${prev} -> ${i} at ${iso(t)}`);
            prev = i;
          }
        }
      }
    }
  });

  it('resetAt in the repeated hour (America/New_York, 01:30 on the fall-back day): the day starts at the first 01:30 and lasts 25 h', () => {
    // 2026-11-01: 02:00 EDT -> 01:00 EST; the first 01:30 is 05:30Z (EDT), the second 06:30Z (EST)
    const r = range('day', 'America/New_York', '01:30', '2026-11-01T06:10:00Z'); // 01:10 EST, the repeated hour
    expect(r).toMatchObject({ from: '2026-11-01T05:30:00.000Z', to: '2026-11-02T06:30:00.000Z', hours: 25 });
    expect(periodIndex('day', 'America/New_York', 90, at('2026-11-01T06:10:00Z'))).toBe(periodIndex('day', 'America/New_York', 90, at('2026-11-01T05:40:00Z')));
    expect(range('day', 'America/New_York', '01:30', '2026-11-01T05:29:00Z').to).toBe('2026-11-01T05:30:00.000Z');
  });

  it('resetAt in the repeated hour in Europe/London (01:30 on 2026-10-25) and in the repeated half hour of Australia/Lord_Howe (01:45 on 2026-04-05)', () => {
    // London: 02:00 BST -> 01:00 GMT at 01:00Z; first 01:30 = 00:30Z
    expect(range('day', 'Europe/London', '01:30', '2026-10-25T01:10:00Z')).toMatchObject({ from: '2026-10-25T00:30:00.000Z', to: '2026-10-26T01:30:00.000Z', hours: 25 });
    // Lord Howe: 02:00 +11 -> 01:30 +10:30 at 15:00Z; first 01:45 (+11) = 14:45Z
    expect(range('day', 'Australia/Lord_Howe', '01:45', '2026-04-04T15:05:00Z')).toMatchObject({ from: '2026-04-04T14:45:00.000Z', to: '2026-04-05T15:15:00.000Z', hours: 24.5 });
  });

  it('resetAt in the gap: Australia/Lord_Howe springs forward by 30 minutes (02:00 -> 02:30); resetAt 02:15 starts the day at 02:30', () => {
    // 2026-10-04 02:00 +10:30 = 2026-10-03T15:30Z
    expect(range('day', 'Australia/Lord_Howe', '02:15', '2026-10-03T16:00:00Z')).toMatchObject({ from: '2026-10-03T15:30:00.000Z', hours: 23.75 });
    expect(range('day', 'Australia/Lord_Howe', undefined, '2026-10-03T16:00:00Z').hours).toBe(23.5);
  });

  it('a 2-hour change (Antarctica/Troll): 22-hour and 26-hour days', () => {
    expect(range('day', 'Antarctica/Troll', undefined, '2026-03-29T12:00:00Z').hours).toBe(22);
    expect(range('day', 'Antarctica/Troll', undefined, '2026-10-25T12:00:00Z').hours).toBe(26);
  });

  it('a change at midnight (America/Santiago): the day after the spring change starts at 01:00 and lasts 23 h; the autumn one lasts 25 h', () => {
    // 2026-09-06 00:00 -04 -> 01:00 -03 (at 04:00Z); 2026-04-05 00:00 -03 -> 23:00 -04 on the 4th (at 03:00Z)
    expect(range('day', 'America/Santiago', undefined, '2026-09-06T12:00:00Z')).toMatchObject({ from: '2026-09-06T04:00:00.000Z', hours: 23 });
    expect(range('day', 'America/Santiago', undefined, '2026-04-04T12:00:00Z')).toMatchObject({ from: '2026-04-04T03:00:00.000Z', hours: 25 });
  });
});

describe('zones with 30 and 45 minute offsets; the current tz database names', () => {
  it('a day in Asia/Kathmandu (+05:45) starts at 18:15 UTC, in Asia/Kolkata (+05:30) at 18:30 UTC, in Pacific/Chatham (+13:45 in summer) at 10:15 UTC', () => {
    expect(range('day', 'Asia/Kathmandu', undefined, '2026-03-01T00:00:00Z')).toMatchObject({ from: '2026-02-28T18:15:00.000Z', hours: 24 });
    expect(range('day', 'Asia/Kolkata', undefined, '2026-03-01T00:00:00Z')).toMatchObject({ from: '2026-02-28T18:30:00.000Z', hours: 24 });
    expect(range('day', 'Pacific/Chatham', undefined, '2026-01-10T12:00:00Z')).toMatchObject({ from: '2026-01-10T10:15:00.000Z', hours: 24 });
    expect(range('day', 'America/St_Johns', '05:00', '2026-06-10T12:00:00Z')).toMatchObject({ from: '2026-06-10T07:30:00.000Z', hours: 24 });
  });

  it('accepts the names the tz database uses today, which the platform lists under older names (Asia/Kolkata, Asia/Kathmandu, Europe/Kyiv, Asia/Ho_Chi_Minh)', () => {
    for (const zone of ['Asia/Kolkata', 'Asia/Calcutta', 'Asia/Kathmandu', 'Europe/Kyiv', 'Asia/Ho_Chi_Minh', 'Asia/Yangon', 'America/Nuuk', 'America/Argentina/Buenos_Aires', 'Pacific/Kanton', 'Atlantic/Faroe', 'America/Port-au-Prince', 'Africa/Dar_es_Salaam', 'Etc/GMT-14']) {
      expect(checkTimeZone(zone), zone).toBe(zone);
      expect(calendar(parseWindow('day', zone)).timeZone).toBe(zone);
    }
  });

  it('still refuses abbreviations, offsets, other spellings and names that do not exist, with the name to write', () => {
    const refused = (zone: string): string => {
      try {
        checkTimeZone(zone);
      } catch (err) {
        expect(err).toBeInstanceOf(WindowSpecError);
        return (err as WindowSpecError).fix;
      }
      throw new Error(`${zone} accepted`);
    };
    expect(refused('JST')).toMatch(/Asia\/Tokyo/);
    expect(refused('UTC+9')).toMatch(/IANA name/);
    expect(refused('GMT+09:00')).toMatch(/IANA name/);
    expect(refused('asia/tokyo')).toBe('write Asia/Tokyo');
    expect(refused('asia/kolkata')).toMatch(/write Asia\/Kolkata/);
    expect(refused('Asia/KOLKATA')).toMatch(/write Asia\/Kolkata/);
    expect(refused('America/new_york')).toBe('write America/New_York');
    expect(refused('Asia/Tokio')).toMatch(/did you mean "Asia\/Tokyo"/);
    expect(refused('Etc/GMT+99')).toMatch(/IANA name/);
    expect(refused('US/Eastern')).toMatch(/America\/New_York/);
  });
});

describe('weeks, months, years', () => {
  it('ISO week 53 of 2026 runs from Monday 2026-12-28 to Monday 2027-01-04, across the new year', () => {
    const w53 = range('week', 'UTC', undefined, '2027-01-02T12:00:00Z');
    expect(w53).toMatchObject({ from: '2026-12-28T00:00:00.000Z', to: '2027-01-04T00:00:00.000Z', hours: 168 });
    expect(range('week', 'UTC', undefined, '2026-12-28T00:00:00Z').index).toBe(w53.index);
    expect(range('week', 'UTC', undefined, '2027-01-04T00:00:00Z').index).toBe(w53.index + 1);
    // in Asia/Tokyo with a 05:00 reset: from Monday 05:00 JST
    expect(range('week', 'Asia/Tokyo', '05:00', '2027-01-03T12:00:00Z')).toMatchObject({ from: '2026-12-27T20:00:00.000Z', hours: 168 });
  });

  it('months with resetAt on the 1st: 04:59 on March 1st is still February; February is 28 days in 2026 and 29 in 2028', () => {
    expect(range('month', 'UTC', '05:00', '2026-03-01T04:59:00Z')).toMatchObject({ from: '2026-02-01T05:00:00.000Z', to: '2026-03-01T05:00:00.000Z', hours: 28 * 24 });
    expect(range('month', 'UTC', '05:00', '2026-03-01T05:00:00Z').from).toBe('2026-03-01T05:00:00.000Z');
    expect(range('month', 'UTC', undefined, '2028-02-29T23:59:59Z')).toMatchObject({ from: '2028-02-01T00:00:00.000Z', to: '2028-03-01T00:00:00.000Z', hours: 29 * 24 });
    // a month across the spring change in America/New_York is one hour short
    expect(range('month', 'America/New_York', undefined, '2026-03-15T00:00:00Z')).toMatchObject({ from: '2026-03-01T05:00:00.000Z', to: '2026-04-01T04:00:00.000Z', hours: 31 * 24 - 1 });
    // December to January: the month index goes on across the year
    expect(range('month', 'Asia/Tokyo', undefined, '2026-12-31T15:00:00Z').index).toBe(range('month', 'Asia/Tokyo', undefined, '2026-12-31T14:59:00Z').index + 1);
  });
});

describe('rolling windows', () => {
  it('every spelling of a duration: P7D = 7d = 168h, PT6H = 6h = 360m, 90m = PT1H30M = 1.5h, 1d = 24h = P1D, 1d12h = PT36H', () => {
    const ms = (s: string): number => {
      const w = parseWindow(s);
      if (w.kind !== 'rolling') throw new Error(s);
      return w.ms;
    };
    expect(new Set(['P7D', '7d', '168h', 'P1W', '1w'].map(ms))).toEqual(new Set([7 * 24 * HOUR]));
    expect(new Set(['PT6H', '6h', '360m'].map(ms))).toEqual(new Set([6 * HOUR]));
    expect(new Set(['90m', 'PT1H30M', '1.5h', '1h30m'].map(ms))).toEqual(new Set([90 * MIN]));
    expect(new Set(['1d', '24h', 'P1D', 'PT24H'].map(ms))).toEqual(new Set([24 * HOUR]));
    expect(new Set(['1d12h', 'PT36H', 'P1DT12H'].map(ms))).toEqual(new Set([36 * HOUR]));
    for (const bad of ['P1M', 'P1Y', 'PT', 'P', '0h', '-1h', '24', '24 hours', 'one day', 'Day', 'DAY', 'Lifetime']) expect(() => parseWindow(bad), bad).toThrow(WindowSpecError);
  });

  it('a rolling window is (now - d, now]: an instant exactly d ago is out, 1 ms later is in', () => {
    const now = at('2026-03-01T12:00:00Z');
    const r = windowRange(parseWindow('24h'), now);
    const inside = (t: number) => t >= r.from && t < r.to;
    expect(inside(now - 24 * HOUR)).toBe(false);
    expect(inside(now - 24 * HOUR + 1)).toBe(true);
    expect(inside(now)).toBe(true);
  });
});
