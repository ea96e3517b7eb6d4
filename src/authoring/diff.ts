/** A readable structural diff: one `- path: expected` / `+ path: actual` pair per differing field. */

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return v === undefined ? 'undefined' : (JSON.stringify(v) ?? typeof v);
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const k = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
  return path ? `${path}.${k}` : k;
}

/** Deep equality of JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * The lines describing how `actual` differs from `expected`, recursing into
 * objects and arrays (by index): `- path: value` for what was expected,
 * `+ path: value` for what was found. Empty when equal.
 */
export function diffValues(expected: unknown, actual: unknown, path = ''): string[] {
  if (jsonEqual(expected, actual)) return [];
  const label = path || '(value)';
  if (isObject(expected) && isObject(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
    return keys.flatMap((k) => diffValues(expected[k], actual[k], join(path, k)));
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
      if (i >= actual.length) out.push(`- ${join(path, i)}: ${show(expected[i])}`);
      else if (i >= expected.length) out.push(`+ ${join(path, i)}: ${show(actual[i])}`);
      else out.push(...diffValues(expected[i], actual[i], join(path, i)));
    }
    return out;
  }
  const out: string[] = [];
  if (expected !== undefined) out.push(`- ${label}: ${show(expected)}`);
  if (actual !== undefined) out.push(`+ ${label}: ${show(actual)}`);
  return out;
}
