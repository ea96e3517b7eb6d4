/**
 * Instants as rules read them: RFC 3339 date-times that exist on the
 * calendar and carry their offset, so no answer depends on the machine's time
 * zone. Used for `activeFrom`/`activeUntil`, the time operators' literals and
 * event values, rule-test and `explain` clocks.
 */

/** Why a text is not an instant, and how to write it. */
export interface InstantProblem {
  readonly ok: false;
  /** `format`: not an RFC 3339 date-time; `offset`: no `Z`/`±hh:mm`; `impossible`: no such date or time (February 30, 24:00...). */
  readonly kind: 'format' | 'offset' | 'impossible';
  readonly reason: string;
  readonly fix: string;
}

export type InstantResult = { readonly ok: true; readonly ms: number } | InstantProblem;

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?([Zz]|[+-]\d{2}:\d{2})?$/;

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function problem(kind: InstantProblem['kind'], text: string, reason: string): InstantProblem {
  const fix =
    kind === 'offset'
      ? `give the offset: ${/[Tt ]/.test(text) ? `${text}Z (UTC) or ${text}+02:00` : `${text}T00:00:00Z`}`
      : 'write an existing date and time with its offset, e.g. 2026-12-01T00:00:00Z or 2026-12-01T09:00:00+09:00';
  return { ok: false, kind, reason: `${JSON.stringify(text)} ${reason}`, fix };
}

/**
 * Parses an RFC 3339 instant (`2026-12-01T00:00:00Z`, `2026-12-01T09:00:00.5+09:00`).
 * Refuses a date or time that does not exist (`2026-02-30`, `24:00`, `:60` seconds,
 * an offset beyond ±23:59) and a text without offset (which JavaScript would
 * read in the process's time zone). Never throws.
 * @returns epoch milliseconds (fractions below the millisecond are dropped), or the problem.
 */
export function parseInstant(text: string): InstantResult {
  const m = DATE_TIME.exec(text);
  if (!m) return problem('format', text, 'is not an RFC 3339 instant');
  const [, y, mo, d, h, mi, s, frac, offset] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return problem('impossible', text, `is not a date: ${y}-${mo} has no day ${d}`);
  if (h === undefined || offset === undefined) return problem('offset', text, 'has no UTC offset (it would be read in the machine\'s time zone)');
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s ?? 0);
  if (hour > 23 || minute > 59 || second > 59) return problem('impossible', text, `is not a time of day: ${h}:${mi}${s !== undefined ? `:${s}` : ''}`);
  let offsetMin = 0;
  if (offset !== 'Z' && offset !== 'z') {
    const oh = Number(offset.slice(1, 3));
    const om = Number(offset.slice(4, 6));
    if (oh > 23 || om > 59) return problem('impossible', text, `has an impossible offset ${offset}`);
    offsetMin = (offset.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, frac ? Math.floor(Number(`0${frac}`) * 1000) : 0);
  return { ok: true, ms: date.getTime() - offsetMin * 60_000 };
}
