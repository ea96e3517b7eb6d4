/**
 * Durations as the rule language writes them: ISO 8601 (`PT24H`, `P1DT2H30M`,
 * `P2W`), short (`24h`, `1d12h`, `90m`, `30s`, `500ms`) or a number of
 * milliseconds. A leaf: no import from the rest of src.
 */

/**
 * The one duration grammar of the rule language, as the schema and the docs say it: every duration
 * a rule takes (`cooldown`, `limit.per`, `count`/`streak` windows, the `duration` operator,
 * `banUser.duration`) is read by {@link durationMs}.
 */
export const DURATION_SYNTAX = 'ISO 8601 (P7D, PT12H, P1DT2H30M, P2W) or numbers with units ms s m h d w (24h, 90m, 1d12h, 500ms)';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Milliseconds of a duration (`PT24H`, `P1DT2H30M`, `P2W`, `24h`, `1d12h`, `90m`,
 * `30s`, `500ms`, or a finite number >= 0 taken as ms), or undefined when it does
 * not parse. Zero is a duration (callers that need a positive one check). Never throws.
 */
export function durationMs(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value !== 'string') return undefined;
  const iso = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(value);
  if (iso && value.length > 1 && !/T$/i.test(value)) {
    const [, w, d, h, m, s] = iso;
    return Number(w ?? 0) * UNIT_MS.w! + Number(d ?? 0) * UNIT_MS.d! + Number(h ?? 0) * UNIT_MS.h! + Number(m ?? 0) * UNIT_MS.m! + Number(s ?? 0) * UNIT_MS.s!;
  }
  const short = value.replace(/\s+/g, '');
  if (/^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/.test(short)) {
    let total = 0;
    for (const part of short.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) total += Number(part[1]) * UNIT_MS[part[2]!]!;
    return total;
  }
  return undefined;
}

/** Unit words people write, by the unit letter the grammar takes. */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  millisecond: 'ms', milliseconds: 'ms', msec: 'ms', msecs: 'ms',
  sec: 's', secs: 's', second: 's', seconds: 's',
  min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
  day: 'd', days: 'd',
  wk: 'w', wks: 'w', week: 'w', weeks: 'w',
};

/**
 * The duration meant by a number with a unit word (`24hours`, `6 hours`,
 * `90 mins`, `2days`): the same written with the grammar's unit letters
 * (`24h`, `6h`, `90m`, `2d`). Undefined when `value` is not numbers with
 * unit words, or already a duration.
 */
export function suggestDuration(value: string): string | undefined {
  if (durationMs(value) !== undefined) return undefined;
  const text = value.trim();
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*,?\s*(?:and\s+)?/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined; // something else than numbers with words
  let out = '';
  for (const p of parts) {
    const unit = p[2]!.toLowerCase();
    const letter = Object.hasOwn(UNIT_WORDS, unit) ? UNIT_WORDS[unit] : Object.hasOwn(UNIT_MS, unit) ? unit : undefined;
    if (letter === undefined) return undefined;
    out += `${p[1]}${letter}`;
  }
  return durationMs(out) !== undefined ? out : undefined;
}
