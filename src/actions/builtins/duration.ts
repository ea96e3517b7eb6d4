/** Durations as rules write them: ISO 8601 (`P7D`, `PT12H`, `P1DT2H30M`, `P2W`) or short (`24h`, `30m`, `90s`, `7d`, `2w`). */

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds of a duration, or undefined when it does not parse (or is zero). */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  const short = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(t);
  if (short) {
    const ms = Number(short[1]) * UNIT_MS[short[2]!.toLowerCase()]!;
    return ms > 0 ? ms : undefined;
  }
  const iso = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(t);
  if (!iso || t.toUpperCase() === 'P' || /T$/i.test(t)) return undefined;
  const [, w, d, h, m, s] = iso;
  const ms = Number(w ?? 0) * UNIT_MS.w! + Number(d ?? 0) * UNIT_MS.d! + Number(h ?? 0) * UNIT_MS.h! + Number(m ?? 0) * UNIT_MS.m! + Number(s ?? 0) * UNIT_MS.s!;
  return ms > 0 ? ms : undefined;
}
