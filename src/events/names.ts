/** Name helpers of the event catalog: event names and "did you mean" candidates. */

/** `UserLoggedIn` -> `userLoggedIn` (the event name users write). `HTTPThing` -> `hTTPThing`. */
export function lowerCamel(name: string): string {
  return name.length === 0 ? name : name.charAt(0).toLowerCase() + name.slice(1);
}

/** `user_account` -> `userAccount`: protoc's default json_name. */
export function protoJsonName(fieldName: string): string {
  return fieldName.replace(/_+([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Levenshtein distance, bounded: returns `max + 1` as soon as the distance exceeds `max`. */
export function editDistance(a: string, b: string, max = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/**
 * The names closest to `wanted`, best first, at most `limit`: exact case-insensitive
 * matches, then names containing it (or contained in it), then small edit distances
 * (case-insensitive, at most a third of the length, at least 2).
 */
export function closestNames(wanted: string, names: Iterable<string>, limit = 5): string[] {
  const w = wanted.toLowerCase();
  const maxDistance = Math.max(2, Math.floor(w.length / 3));
  const scored: { name: string; score: number }[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    const n = name.toLowerCase();
    let score: number;
    if (n === w) score = 0;
    else if (w.length >= 3 && (n.includes(w) || w.includes(n))) score = 1 + Math.abs(n.length - w.length) / 1000;
    else {
      const d = editDistance(w, n, maxDistance);
      if (d > maxDistance) continue;
      score = 2 + d;
    }
    scored.push({ name, score });
  }
  scored.sort((a, b) => a.score - b.score || a.name.localeCompare(b.name));
  return scored.slice(0, limit).map((s) => s.name);
}
