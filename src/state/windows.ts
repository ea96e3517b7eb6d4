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
import { parseDuration } from '../rules/logic.js';

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
 * Checks an IANA time zone name (`Asia/Tokyo`, `America/New_York`, `UTC`):
 * exactly as the tz database spells it. Legacy abbreviations (`EST`), offsets
 * (`+09:00`) and other spellings (`asia/tokyo`) are refused with the name to write.
 * @throws {@link WindowSpecError}
 */
export function checkTimeZone(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new WindowSpecError(`the time zone must be an IANA name, not ${JSON.stringify(name)}`, 'write e.g. Asia/Tokyo, Europe/Paris or UTC');
  zones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (zones.has(name) || name === 'UTC' || /^Etc\/(UTC|GMT([+-]\d{1,2})?)$/.test(name)) return name;
  let resolved: string | undefined;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    resolved = undefined;
  }
  const fix = resolved !== undefined && resolved.toLowerCase() === name.toLowerCase() ? `write ${resolved}` : resolved !== undefined ? `write the region's IANA name (${name} is an alias of ${resolved}; e.g. America/New_York, Asia/Tokyo)` : 'write an IANA name such as Asia/Tokyo, Europe/Paris or UTC (offsets like +09:00 do not follow daylight saving)';
  throw new WindowSpecError(`"${name}" is not an IANA time zone name`, fix);
}

/** Parses `HH:MM` (00:00 to 23:59) into minutes after midnight. @throws {@link WindowSpecError} */
export function parseResetAt(value: unknown): number {
  const m = typeof value === 'string' ? /^([01]\d|2[0-3]):([0-5]\d)$/.exec(value) : null;
  if (!m) throw new WindowSpecError(`resetAt must be a local time HH:MM (00:00 to 23:59), not ${JSON.stringify(value)}`, 'write e.g. resetAt: "05:00" (quoted)');
  return Number(m[1]) * 60 + Number(m[2]);
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
  if (timeZone !== undefined && timeZone !== null) throw new WindowSpecError(`a time zone applies to day, week or month, not to ${JSON.stringify(spec)}`, 'remove the time zone, or use per: day/week/month');
  if (resetAt !== undefined && resetAt !== null) throw new WindowSpecError(`resetAt applies to day, week or month, not to ${JSON.stringify(spec)}`, 'remove resetAt, or use per: day/week/month');
  if (spec === 'lifetime') return { kind: 'lifetime', text: 'lifetime' };
  let ms: number;
  try {
    ms = typeof spec === 'string' ? parseDuration(spec, 'window') : NaN;
  } catch {
    ms = NaN;
  }
  if (!(ms > 0)) {
    throw new WindowSpecError(`${JSON.stringify(spec)} is not a window`, 'write day, week, month, lifetime, or a duration such as 24h, 90m, P7D');
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

/** The wall clock of `timeZone` at instant `t`: the local date as days since 1970-01-01 and the minutes since local midnight. */
export function localClock(t: number, timeZone: string): { day: number; minutes: number } {
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
  return { day: Math.round(Date.UTC(y, mo - 1, d) / DAY_MS), minutes: h * 60 + mi };
}

/**
 * The index of the calendar period holding instant `t`: consecutive periods
 * have consecutive indexes (days since 1970-01-01, ISO weeks since the week of
 * 1970-01-05, months since January 1970). A period starts at `resetMinutes`
 * local time: before it, the instant belongs to the previous day.
 */
export function periodIndex(unit: CalendarUnit, timeZone: string, resetMinutes: number, t: number): number {
  const local = localClock(t, timeZone);
  const day = local.minutes < resetMinutes ? local.day - 1 : local.day;
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
