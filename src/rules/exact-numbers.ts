/**
 * Numbers a rules file cannot hold exactly: YAML (and JSON) integers are read
 * as IEEE doubles, exact only up to 2^53-1, so `amount: 9007199254740993`
 * would silently become 9007199254740992. Such literals are refused at load.
 */
import type { PathSegment } from './source.js';

/** Paths of the integers in `data` beyond ±(2^53-1), in document order. */
export function inexactIntegers(data: unknown, path: PathSegment[] = [], out: PathSegment[][] = []): PathSegment[][] {
  if (typeof data === 'number') {
    if (Number.isInteger(data) && !Number.isSafeInteger(data)) out.push(path);
  } else if (Array.isArray(data)) {
    data.forEach((v, i) => inexactIntegers(v, [...path, i], out));
  } else if (typeof data === 'object' && data !== null) {
    for (const [k, v] of Object.entries(data)) inexactIntegers(v, [...path, k], out);
  }
  return out;
}
