/**
 * Immutable JSON values with structural sharing: what the memory store keeps
 * instead of JSON text, so a write costs what changed, not the whole document.
 *
 * {@link freezeJson} turns a value into what `JSON.parse(JSON.stringify(value))`
 * would give (same rules: `toJSON` is called, `undefined`, functions and
 * symbols are left out of objects and become `null` in arrays, non-finite
 * numbers become `null`, `-0` becomes `0`, a BigInt or a cycle throws a
 * `TypeError`, `__proto__` stays an own key), deep-frozen. A sub-value it
 * already produced is reused as is, without being walked again: an update that
 * copies the one section and the one bucket it changes and keeps the rest of
 * the document it was given costs only those copies.
 */

/** Every object and array {@link freezeJson} produced: frozen, JSON-only. */
const produced = new WeakSet<object>();
/** Members from which a frozen value's text is kept for reuse ({@link stringifyJson}); smaller ones are cheaper to serialise again natively. */
const TEXT_MEMBERS = 16;
/** Produced values with at least {@link TEXT_MEMBERS} members. */
const large = new WeakSet<object>();
/** Produced values with a large value somewhere below them. */
const aboveLarge = new WeakSet<object>();
/** Text of large produced values, once serialised. */
const texts = new WeakMap<object, string>();
/** Estimated JSON size of each produced value, bytes ({@link jsonSize}). */
const sizes = new WeakMap<object, number>();

/** Bytes a number is counted for by {@link jsonSize} (its text is not made: most are instants of 13 digits). */
const NUMBER_BYTES = 13;

/** The estimated JSON size of a member of a produced value (see {@link jsonSize}). */
function memberSize(v: unknown): number {
  switch (typeof v) {
    case 'string':
      return v.length + 2;
    case 'number':
      return NUMBER_BYTES;
    case 'boolean':
      return 5;
    case 'object':
      return v === null ? 4 : (sizes.get(v) ?? 0);
    default:
      return 0;
  }
}

/**
 * The size of the JSON text of a value made by {@link freezeJson}, estimated without serialising
 * it: strings by their length plus quotes (escapes and multi-byte characters not counted), every
 * number 13 bytes, punctuation exact. Kept per produced value, so a document that shares most of
 * its parts with an earlier one costs only its new parts. Other values: as {@link memberSize}.
 */
export function jsonSize(value: unknown): number {
  return memberSize(value);
}

function hasLargeBelow(member: unknown): boolean {
  return typeof member === 'object' && member !== null && (large.has(member) || aboveLarge.has(member));
}

/** Whether `value` is an object or array made by {@link freezeJson} (frozen, JSON-only, safe to share). */
export function isFrozenJson(value: unknown): boolean {
  return typeof value === 'object' && value !== null && produced.has(value);
}

function define(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

function walk(value: unknown, key: string, path: Set<object>): unknown {
  let v = value;
  if (typeof v === 'object' && v !== null && !produced.has(v) && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    v = (v as { toJSON: (k: string) => unknown }).toJSON(key);
  }
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? (v === 0 ? 0 : v) : null;
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    case 'object':
      break;
    default:
      return undefined; // undefined, function, symbol
  }
  if (v === null) return null;
  if (produced.has(v)) return v;
  if (v instanceof Number || v instanceof String || v instanceof Boolean) return walk(v.valueOf(), key, path);
  if (path.has(v)) throw new TypeError('Converting circular structure to JSON');
  path.add(v);
  let out: unknown[] | Record<string, unknown>;
  if (Array.isArray(v)) {
    const arr: unknown[] = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) arr[i] = walk(v[i], String(i), path) ?? null;
    out = arr;
  } else {
    const obj: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      const c = walk((v as Record<string, unknown>)[k], k, path);
      if (c !== undefined) define(obj, k, c);
    }
    out = obj;
  }
  path.delete(v);
  Object.freeze(out);
  produced.add(out);
  const members = Array.isArray(out) ? out : Object.values(out);
  if (members.length >= TEXT_MEMBERS) large.add(out);
  if (members.some(hasLargeBelow)) aboveLarge.add(out);
  // brackets and commas, then each member (and each key with its quotes and colon)
  let size = 1 + Math.max(1, members.length);
  for (const m of members) size += memberSize(m);
  if (!Array.isArray(out)) for (const k in out) size += k.length + 3;
  sizes.set(out, size);
  return out;
}

/**
 * The JSON value of `value`, deep-frozen, reusing every part that is already
 * one (see the module). `undefined` when JSON has no value for it (`undefined`,
 * a function, a symbol).
 * @throws TypeError on a BigInt or a cycle, as `JSON.stringify` does.
 */
export function freezeJson(value: unknown): unknown {
  return walk(value, '', new Set());
}

/**
 * `JSON.stringify(value)`, reusing the text of the large parts (at least 16
 * members) of a value made by {@link freezeJson} serialised before: writing a
 * document again after a small change serialises natively only the parts that
 * changed and joins the text of the others. Any other value is serialised
 * natively.
 */
export function stringifyJson(value: unknown): string {
  if (typeof value !== 'object' || value === null || !produced.has(value)) return JSON.stringify(value);
  const known = texts.get(value);
  if (known !== undefined) return known;
  let text: string;
  if (!aboveLarge.has(value)) text = JSON.stringify(value);
  else if (Array.isArray(value)) text = `[${value.map((v: unknown) => stringifyJson(v)).join(',')}]`;
  else text = `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${stringifyJson(v)}`).join(',')}}`;
  if (large.has(value)) texts.set(value, text);
  return text;
}
