/**
 * Durations as the rule language writes them: ISO 8601 (`PT24H`, `P1DT2H30M`,
 * `P2W`), short (`24h`, `1d12h`, `90m`, `30s`, `500ms`) or a number of
 * milliseconds. A leaf: no import from the rest of src.
 */

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
