/**
 * Time windows of stateful rules: calendar periods (`day`, `week` = ISO week
 * starting Monday, `month`) in an IANA time zone with an optional reset hour,
 * rolling durations (`24h`, `P7D`) and `lifetime`.
 *
 * Calendar periods are computed from the wall clock of the time zone (Intl),
 * never from a fixed offset, so a 23-hour or 25-hour DST day is one day; no
 * result depends on the process time zone. Every function takes the instant
 * explicitly (epoch milliseconds): the caller owns the clock.
 */
import { durationMs, suggestDuration } from '../time/index.js';
import { didYouMean } from '../text/index.js';

export type CalendarUnit = 'day' | 'week' | 'month';

/** A parsed window. */
export type Window =
  | { readonly kind: 'rolling'; readonly ms: number; readonly text: string }
  | { readonly kind: 'calendar'; readonly unit: CalendarUnit; readonly timeZone: string; /** minutes after local midnight at which the period starts */ readonly resetMinutes: number; readonly text: string }
  | { readonly kind: 'lifetime'; readonly text: string };

/** A window, a time zone or a reset hour that does not parse. */
export class WindowSpecError extends Error {
  override readonly name = 'WindowSpecError';
  constructor(
    message: string,
    /** How to fix it. */
    readonly fix: string,
  ) {
    super(message);
  }
}

const CALENDAR_UNITS: ReadonlySet<string> = new Set(['day', 'week', 'month']);
const DAY_MS = 86_400_000;

let zones: ReadonlySet<string> | undefined;
const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * The spelling of a tz database zone or link: an area, then one or two
 * locations, each starting with a capital (`Asia/Kolkata`,
 * `America/Argentina/Buenos_Aires`, `America/Port-au-Prince`); no name has
 * three capitals in a row (`Asia/KOLKATA` is a misspelling).
 */
const TZDB_NAME = /^(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)(\/[A-Z][A-Za-z0-9_'+-]*){1,2}$/;

/** `asia/kolkata` -> `Asia/Kolkata`: capitals at the start of each part and word. */
function capitalised(name: string): string {
  return name.toLowerCase().replace(/(^|[/_])([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

/**
 * Checks an IANA time zone name (`Asia/Tokyo`, `America/New_York`, `UTC`):
 * as the tz database spells it, its current names (`Asia/Kolkata`,
 * `Asia/Kathmandu`, `Europe/Kyiv`) as well as the older ones the platform
 * lists (`Asia/Calcutta`). Legacy abbreviations (`EST`, `JST`), offsets
 * (`+09:00`, `UTC+9`) and other spellings (`asia/tokyo`) are refused with the
 * name to write.
 * @throws {@link WindowSpecError}
 */
export function checkTimeZone(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new WindowSpecError(`the time zone must be an IANA name, not ${JSON.stringify(name)}`, 'write e.g. Asia/Tokyo, Europe/Paris or UTC');
  zones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (zones.has(name) || name === 'UTC') return name;
  let resolved: string | undefined;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    resolved = undefined;
  }
  // Intl knows the tz database's names but lists only one per zone (its own choice: Asia/Calcutta for Asia/Kolkata)
  if (resolved !== undefined && ((TZDB_NAME.test(name) && !/[A-Z]{3}/.test(name)) || /^Etc\/(UTC|GMT([+-]\d{1,2})?)$/.test(name))) return name;
  const lower = name.toLowerCase();
  const sameLetters = [...zones].find((z) => z.toLowerCase() === lower);
  const fix =
    sameLetters !== undefined
      ? `write ${sameLetters}`
      : resolved !== undefined && TZDB_NAME.test(capitalised(name))
        ? `write ${capitalised(name)} (names are case-sensitive)`
        : resolved !== undefined
          ? `write the region's IANA name (${name} is an alias of ${resolved}; e.g. America/New_York, Asia/Tokyo)`
          : (didYouMean(name, zones) ?? 'write an IANA name such as Asia/Tokyo, Europe/Paris or UTC (offsets like +09:00 do not follow daylight saving)');
  throw new WindowSpecError(`"${name}" is not an IANA time zone name`, fix);
}

/** Parses `HH:MM` (00:00 to 23:59) into minutes after midnight. @throws {@link WindowSpecError} */
export function parseResetAt(value: unknown): number {
  const m = typeof value === 'string' ? /^([01]\d|2[0-3]):([0-5]\d)$/.exec(value) : null;
  if (!m) throw new WindowSpecError(`resetAt must be a local time HH:MM (00:00 to 23:59), not ${JSON.stringify(value)}`, 'write e.g. resetAt: "05:00" (quoted)');
  return Number(m[1]) * 60 + Number(m[2]);
}

/** The words a window is written with (besides durations). */
export const WINDOW_WORDS: readonly string[] = ['day', 'week', 'month', 'lifetime'];
const WINDOW_FORMS = 'day, week, month, lifetime, or a duration such as 24h, 90m, P7D';

/**
 * `did you mean "day"?` for a misspelt window word (`days`, `weeks`, `mnth`)
 * among `words`, or `did you mean "24h"?` for a duration written with unit
 * words (`24hours`); undefined when nothing is close.
 */
export function windowWordFix(spec: string, words: readonly string[]): string | undefined {
  const duration = suggestDuration(spec);
  if (duration !== undefined) return `did you mean "${duration}"?`;
  return didYouMean(spec, words);
}

/**
 * Parses a window: `day`, `week`, `month` (calendar, in `timeZone`, default
 * UTC, starting at `resetAt`, default 00:00), `lifetime`, or a duration
 * (`24h`, `90m`, `P7D`, `PT6H`: rolling, ending now).
 * @throws {@link WindowSpecError}
 */
export function parseWindow(spec: unknown, timeZone?: unknown, resetAt?: unknown): Window {
  if (typeof spec === 'string' && CALENDAR_UNITS.has(spec)) {
    const tz = timeZone === undefined || timeZone === null ? 'UTC' : checkTimeZone(timeZone);
    const resetMinutes = resetAt === undefined || resetAt === null ? 0 : parseResetAt(resetAt);
    const text = `${spec} ${tz}${resetMinutes ? ` from ${String(resetAt)}` : ''}`;
    return { kind: 'calendar', unit: spec as CalendarUnit, timeZone: tz, resetMinutes, text };
  }
  // a misspelt word first: "days" is a typo of day, before any rule about what goes with it
  const misspelt = typeof spec === 'string' && spec !== 'lifetime' && durationMs(spec) === undefined ? windowWordFix(spec, WINDOW_WORDS) : undefined;
  if (misspelt !== undefined) throw new WindowSpecError(`${JSON.stringify(spec)} is not a window`, `${misspelt} (${WINDOW_FORMS})`);
  if (timeZone !== undefined && timeZone !== null) throw new WindowSpecError(`a time zone applies to day, week or month, not to ${JSON.stringify(spec)}`, 'remove the time zone, or use per: day/week/month');
  if (resetAt !== undefined && resetAt !== null) throw new WindowSpecError(`resetAt applies to day, week or month, not to ${JSON.stringify(spec)}`, 'remove resetAt, or use per: day/week/month');
  if (spec === 'lifetime') return { kind: 'lifetime', text: 'lifetime' };
  const ms = typeof spec === 'string' ? durationMs(spec) : undefined;
  if (ms === undefined || !(ms > 0)) {
    throw new WindowSpecError(`${JSON.stringify(spec)} is not a window`, `write ${WINDOW_FORMS}`);
  }
  return { kind: 'rolling', ms, text: String(spec) };
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, calendar: 'iso8601', numberingSystem: 'latn', hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    formatters.set(timeZone, f);
  }
  return f;
}

const mod = (x: number, m: number): number => ((x % m) + m) % m;

/** The zone's offset from UTC at `t` (ms), read from Intl to the minute. */
function offsetAt(t: number, timeZone: string): number {
  let y = 1970;
  let mo = 1;
  let d = 1;
  let h = 0;
  let mi = 0;
  for (const p of formatter(timeZone).formatToParts(t)) {
    if (p.type === 'year') y = Number(p.value);
    else if (p.type === 'month') mo = Number(p.value);
    else if (p.type === 'day') d = Number(p.value);
    else if (p.type === 'hour') h = Number(p.value) % 24;
    else if (p.type === 'minute') mi = Number(p.value);
  }
  return Date.UTC(y, mo - 1, d, h, mi) - (t - mod(t, 60_000));
}

/** Offsets are read per 15-minute slice of time and reused when the zone's offset is the same at both ends of the slice. */
const SLICE_MS = 15 * 60_000;
/** Per zone: slice index -> the zone's offset through the slice (null: it changes inside it). */
const offsets = new Map<string, Map<number, number | null>>();

/** The zone's offset from UTC at `t` (ms), cached per 15-minute slice of time. */
function offsetOf(t: number, timeZone: string): number {
  const slice = Math.floor(t / SLICE_MS);
  let zone = offsets.get(timeZone);
  if (!zone) offsets.set(timeZone, (zone = new Map<number, number | null>()));
  let offset = zone.get(slice);
  if (offset === undefined) {
    const first = offsetAt(slice * SLICE_MS, timeZone);
    offset = first === offsetAt(slice * SLICE_MS + SLICE_MS - 1, timeZone) ? first : null; // null: a change of offset inside the slice
    if (zone.size > 50_000) zone.clear();
    zone.set(slice, offset);
  }
  return offset ?? offsetAt(t, timeZone);
}

/** The wall clock of `timeZone` at instant `t`: the local date as days since 1970-01-01 and the minutes since local midnight. */
export function localClock(t: number, timeZone: string): { day: number; minutes: number } {
  const local = t + offsetOf(t, timeZone);
  return { day: Math.floor(local / DAY_MS), minutes: Math.floor(mod(local, DAY_MS) / 60_000) };
}

/**
 * How far a wall clock goes back at most when it is set back (Antarctica/Troll:
 * 2 hours; most zones 1 hour, Australia/Lord_Howe 30 minutes).
 */
const MAX_SET_BACK_MS = 3 * 3_600_000;

/**
 * The day (days since 1970-01-01) of instant `t` when days start at
 * `resetMinutes` local time: the latest day whose start the wall clock has
 * reached by `t`. When the clock is set back (the end of daylight saving) the
 * day it had reached goes on, so days are contiguous and never go back: a
 * `resetAt` inside the repeated hour starts the day at its first occurrence
 * (America/New_York, resetAt 01:30: 01:30 EDT), and the repeated
 * 01:00-01:29 EST belongs to the new day. A `resetAt` inside a gap (clocks set
 * forward) starts the day at the first instant after the gap.
 */
function dayOf(t: number, timeZone: string, resetMinutes: number): number {
  const reset = resetMinutes * 60_000;
  const offset = offsetOf(t, timeZone);
  const day = Math.floor((t + offset - reset) / DAY_MS);
  const earlier = offsetOf(t - MAX_SET_BACK_MS, timeZone);
  if (earlier <= offset) return day;
  // set back within the last hours: the wall clock just before the change may have reached a later day
  const change = firstTrue(t - MAX_SET_BACK_MS, t, (s) => offsetOf(s, timeZone) <= offset);
  return Math.max(day, Math.floor((change - 1 + offsetOf(change - 1, timeZone) - reset) / DAY_MS));
}

/**
 * The index of the calendar period holding instant `t`: consecutive periods
 * have consecutive indexes (days since 1970-01-01, ISO weeks since the week of
 * 1970-01-05, months since January 1970). A period starts at `resetMinutes`
 * local time: before it, the instant belongs to the previous day. Indexes
 * never decrease as `t` grows, daylight saving included (see {@link dayOf}).
 */
export function periodIndex(unit: CalendarUnit, timeZone: string, resetMinutes: number, t: number): number {
  const day = dayOf(t, timeZone, resetMinutes);
  if (unit === 'day') return day;
  if (unit === 'week') return Math.floor((day - 4) / 7); // 1970-01-05 (day 4) was a Monday
  const date = new Date(day * DAY_MS);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
}

/** Longest possible period, for searches and compaction bounds. */
const MAX_PERIOD_MS: Readonly<Record<CalendarUnit, number>> = { day: 27 * 3_600_000, week: 7 * DAY_MS + 3 * 3_600_000, month: 31 * DAY_MS + 3 * 3_600_000 };

/** First instant in (lo, hi] at which `pred` holds, `pred` being false then true over the range (1 ms precision). */
function firstTrue(lo: number, hi: number, pred: (t: number) => boolean): number {
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (pred(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

const rangeCache = new Map<string, { from: number; to: number }>();

/**
 * The calendar period holding `now`, as the instants `[from, to)`. DST-correct:
 * the bounds are searched on the zone's wall clock, so a 23-hour day is 23 hours long.
 */
export function periodRange(w: Extract<Window, { kind: 'calendar' }>, now: number): { from: number; to: number; index: number } {
  const index = periodIndex(w.unit, w.timeZone, w.resetMinutes, now);
  const key = `${w.unit}|${w.timeZone}|${w.resetMinutes}|${index}`;
  let r = rangeCache.get(key);
  if (!r) {
    const span = MAX_PERIOD_MS[w.unit];
    const from = firstTrue(now - span, now, (t) => periodIndex(w.unit, w.timeZone, w.resetMinutes, t) >= index);
    const to = firstTrue(now, now + span, (t) => periodIndex(w.unit, w.timeZone, w.resetMinutes, t) > index);
    r = { from, to };
    if (rangeCache.size > 10_000) rangeCache.clear();
    rangeCache.set(key, r);
  }
  return { ...r, index };
}

/**
 * The instants `[from, to)` the window covers at `now`: the current calendar
 * period; for a rolling window `(now - d, now]` (as `[now - d + 1, now + 1)`);
 * for lifetime, everything.
 */
export function windowRange(w: Window, now: number): { from: number; to: number } {
  if (w.kind === 'calendar') return periodRange(w, now);
  if (w.kind === 'rolling') return { from: now - w.ms + 1, to: now + 1 };
  return { from: -Infinity, to: Infinity };
}

/** How far back entries must be kept for this window to be answered (Infinity for lifetime: answered from the running total). */
export function windowHorizonMs(w: Window): number {
  if (w.kind === 'calendar') return MAX_PERIOD_MS[w.unit];
  if (w.kind === 'rolling') return w.ms;
  return Infinity;
}

/** The local date (YYYY-MM-DD) a day index stands for. */
export function dayLabel(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}
