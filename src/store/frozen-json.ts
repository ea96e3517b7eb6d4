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
 *
 * An object without a prototype (`Object.create(null)`) is copied into one: V8
 * keeps such objects as hash tables from the start, where an object literal
 * gets a hidden class per new key. For records keyed by ids (each key new, such
 * as the ledger's mark ids) that is the difference between a hash insert and a
 * new hidden class per write. Serialised, both are the same JSON.
 */

/** Members from which a frozen value's text is kept for reuse ({@link stringifyJson}); smaller ones are cheaper to serialise again natively. */
const TEXT_MEMBERS = 16;
/** A flag of {@link Produced}: the value has at least {@link TEXT_MEMBERS} members. */
const LARGE = 1;
/** A flag of {@link Produced}: a large value is somewhere below the value. */
const ABOVE_LARGE = 2;
/** Gives any object a class's private fields: a base class whose constructor returns the object it is given. */
class Given {
  constructor(value: object) {
    return value; // the point: `Produced` stamps its field on `value`
  }
}

/** {@link Produced}'s `#text` of a value whose members keep their text (see {@link adoptJson}'s `keepMemberTexts`); its own is not kept. */
const KEEP_MEMBER_TEXTS: unique symbol = Symbol('keep member texts');

/**
 * What every object and array {@link freezeJson} produced (frozen, JSON-only) keeps of itself, in one
 * number: `size * 4 + flags`, `size` its estimated JSON size in bytes ({@link jsonSize}), `flags`
 * {@link LARGE} and {@link ABOVE_LARGE}. A private field stamped on the value before the freeze: JSON,
 * `Object.keys`, `Reflect.ownKeys`, spreads and copies leave it out (a copy is not a produced value),
 * an object made with the value as its prototype does not inherit it, and only this module can set
 * it. A WeakMap did the same at about 1 µs per new value (its table grows and is swept with every
 * object written); a non-enumerable symbol property (`Object.defineProperty`) at about 0.2 µs, the
 * private field at about 0.04 µs.
 */

class Produced extends Given {
  readonly #meta: number;
  /**
   * Its JSON text once serialised, when kept (see {@link stringifyJson}), or {@link KEEP_MEMBER_TEXTS}:
   * one field for both (each field is a slot of every produced value). A private field stays writable on a frozen value.
   */
  #text: string | typeof KEEP_MEMBER_TEXTS | undefined;
  private constructor(value: object, meta: number) {
    super(value);
    this.#meta = meta;
  }

  /** Whether {@link stringifyJson} keeps the text of each member (see {@link adoptJson}'s `keepMemberTexts`). */
  static keepsMemberTexts(value: Produced): boolean {
    return value.#text === KEEP_MEMBER_TEXTS;
  }

  static keepMemberTexts(value: Produced): void {
    value.#text = KEEP_MEMBER_TEXTS;
  }

  /** The text kept of a produced value, if any. */
  static textOf(value: Produced): string | undefined {
    const text = value.#text;
    return typeof text === 'string' ? text : undefined;
  }

  /** Keeps the text of a produced value (what {@link stringifyJson} made of it), unless its members keep theirs. */
  static keepText(value: Produced, text: string): void {
    if (value.#text !== KEEP_MEMBER_TEXTS) value.#text = text;
  }

  /** Marks `value` (not frozen yet) as produced, knowing `meta` of it. */
  static stamp(value: object, meta: number): void {
    new Produced(value, meta); // it stamps `value`
  }

  static metaOf(value: object): number | undefined {
    return #meta in value ? value.#meta : undefined;
  }
}

/** What is known of `v` if this module produced it (see {@link Produced}). */
function metaOf(v: object): number | undefined {
  return Produced.metaOf(v);
}

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
    case 'object': {
      if (v === null) return 4;
      const meta = metaOf(v);
      return meta === undefined ? 0 : Math.floor(meta / 4);
    }
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

/** {@link ABOVE_LARGE} when `member` is, or holds, a large produced value; else 0. */
function largeFlag(member: unknown): number {
  if (typeof member !== 'object' || member === null) return 0;
  const meta = metaOf(member);
  return meta !== undefined && (meta & (LARGE | ABOVE_LARGE)) !== 0 ? ABOVE_LARGE : 0;
}

/** Whether `value` is an object or array made by {@link freezeJson} (frozen, JSON-only, safe to share). */
export function isFrozenJson(value: unknown): boolean {
  return typeof value === 'object' && value !== null && metaOf(value) !== undefined;
}

function define(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** Walks `value` (the member `key` of its parent: a name, or an index made a string only for a `toJSON`). */
function walk(value: unknown, key: string | number, path: Set<object>): unknown {
  let v = value;
  if (typeof v === 'object' && v !== null) {
    if (metaOf(v) !== undefined) return v; // already frozen JSON: shared as is
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON: (k: string) => unknown }).toJSON(String(key));
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
  if (metaOf(v) !== undefined) return v;
  if (v instanceof Number || v instanceof String || v instanceof Boolean) return walk(v.valueOf(), key, path);
  if (path.has(v)) throw new TypeError('Converting circular structure to JSON');
  path.add(v);
  let out: unknown[] | Record<string, unknown>;
  // brackets and commas, then each member (and each key with its quotes and colon)
  let size: number;
  let flags = 0;
  if (Array.isArray(v)) {
    const arr: unknown[] = new Array<unknown>(v.length);
    size = 1 + Math.max(1, v.length);
    for (let i = 0; i < v.length; i++) {
      const m: unknown = v[i];
      const known = typeof m === 'object' && m !== null ? metaOf(m) : undefined;
      if (known !== undefined) {
        // a part already frozen (most of a write): one lookup gives its size and flags
        arr[i] = m;
        size += Math.floor(known / 4);
        if ((known & (LARGE | ABOVE_LARGE)) !== 0) flags |= ABOVE_LARGE;
        continue;
      }
      const c = walk(m, i, path) ?? null;
      arr[i] = c;
      size += memberSize(c);
      flags |= largeFlag(c);
    }
    if (v.length >= TEXT_MEMBERS) flags |= LARGE;
    out = arr;
  } else {
    // an object without a prototype stays one: V8 keeps it a hash table from the start (see the module)
    const obj: Record<string, unknown> = Object.getPrototypeOf(v) === null ? (Object.create(null) as Record<string, unknown>) : {};
    let members = 0;
    size = 1;
    for (const k of Object.keys(v)) {
      const m = (v as Record<string, unknown>)[k];
      const known = typeof m === 'object' && m !== null ? metaOf(m) : undefined;
      let c: unknown;
      if (known !== undefined) {
        c = m;
        size += Math.floor(known / 4);
        if ((known & (LARGE | ABOVE_LARGE)) !== 0) flags |= ABOVE_LARGE;
      } else {
        c = walk(m, k, path);
        if (c === undefined) continue;
        size += memberSize(c);
        flags |= largeFlag(c);
      }
      define(obj, k, c);
      members++;
      size += k.length + 3;
    }
    size += Math.max(1, members);
    if (members >= TEXT_MEMBERS) flags |= LARGE;
    out = obj;
  }
  path.delete(v);
  Produced.stamp(out, size * 4 + flags);
  Object.freeze(out);
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
 * The estimated size and flags of a member (see {@link Produced}) when it is already what {@link freezeJson}
 * gives (a value it produced, `null`, a string, a boolean, a finite number other than `-0`), else -1.
 */
function producedMember(m: unknown): number {
  switch (typeof m) {
    case 'string':
      return (m.length + 2) * 4;
    case 'boolean':
      return 5 * 4;
    case 'number':
      return Number.isFinite(m) && !Object.is(m, -0) ? NUMBER_BYTES * 4 : -1;
    case 'object': {
      if (m === null) return 4 * 4;
      const meta = metaOf(m);
      if (meta === undefined) return -1;
      // its size, and ABOVE_LARGE when it is or holds a large value (the low bits: exact for any size)
      return meta - (meta & (LARGE | ABOVE_LARGE)) + ((meta & (LARGE | ABOVE_LARGE)) !== 0 ? ABOVE_LARGE : 0);
    }
    default:
      return -1;
  }
}

/** What {@link Produced} would hold for `v` as it is (its members as they are), or undefined when a member is not frozen JSON yet or `v` is not a plain data value. */
function adoptedMeta(v: object): number | undefined {
  let size: number;
  let flags = 0;
  let members = 0;
  if (Array.isArray(v)) {
    size = 1 + Math.max(1, v.length);
    for (let i = 0; i < v.length; i++) {
      const m = producedMember(v[i]);
      if (m < 0) return undefined; // a hole, undefined, a new object...: copied
      size += Math.floor(m / 4);
      flags |= m & ABOVE_LARGE;
    }
    members = v.length;
  } else {
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return undefined;
    size = 1;
    for (const k of Object.keys(v)) {
      const m = producedMember((v as Record<string, unknown>)[k]);
      if (m < 0) return undefined;
      size += Math.floor(m / 4) + k.length + 3;
      flags |= m & ABOVE_LARGE;
      members++;
    }
    size += Math.max(1, members);
  }
  if (members >= TEXT_MEMBERS) flags |= LARGE;
  return size * 4 + flags;
}

/**
 * {@link freezeJson} without its copy: `value` itself frozen and kept as frozen JSON, when it is an
 * array or a plain object (its prototype `Object.prototype` or none) with own data members only, each
 * already what {@link freezeJson} gives (a value it produced, `null`, a string, a boolean, a finite number
 * other than `-0`). For a caller that has just built `value` from frozen parts and keeps no reference it
 * would change (the ledger's next document: about five new objects per write, each copied by
 * {@link freezeJson} otherwise). Any other value is copied as {@link freezeJson} copies it: the result is
 * the same either way. "Data members only" is the caller's promise, not checked (reading descriptors
 * would cost every write): an enumerable getter would be frozen in place, and the text kept of it could
 * then differ from what it returns later.
 * @param keepMemberTexts {@link stringifyJson} keeps the text of each of its members, large or not, and
 *   reuses it (the ledger's list of buckets: a write changes one bucket, the others are shared with
 *   the previous document, their text too). Default: false.
 */
export function adoptJson(value: object, keepMemberTexts = false): unknown {
  // a produced value is frozen: only one that is not extensible may be one (a lookup that misses is the slow one)
  if (!Object.isExtensible(value)) return metaOf(value) !== undefined ? value : freezeJson(value);
  const meta = adoptedMeta(value);
  const out = meta === undefined ? freezeJson(value) : value;
  if (meta !== undefined) Produced.stamp(value, meta);
  if (keepMemberTexts && typeof out === 'object' && out !== null) Produced.keepMemberTexts(out as Produced);
  return meta === undefined ? out : Object.freeze(value);
}

/**
 * {@link adoptJson} of `next`, an array made as a copy of `previous` (an array {@link freezeJson} or
 * {@link adoptJson} produced) with the member at `at` replaced: what is known of `next` is worked out
 * from what is known of `previous` and of the two members at `at`, without reading what is known of
 * every other member (the ledger's list of 64 buckets, one changed per write). That every other member
 * is `previous`'s own (the same value at the same place) is the caller's promise, not checked: reading
 * 63 members of a frozen array again cost about 1.7 µs per write, more than the copy that made `next`.
 * Broken, only the estimated size and the {@link LARGE} flags would be wrong (the text stays
 * `JSON.stringify`'s). When `previous` is not a produced array of the same length, or when the replaced
 * member alone made `previous` hold a large value, it is {@link adoptJson}: the same result.
 */
export function adoptJsonReplacing(next: unknown[], previous: readonly unknown[], at: number, keepMemberTexts = false): unknown {
  const before = Array.isArray(previous) && previous.length === next.length && Object.isExtensible(next) ? metaOf(previous) : undefined;
  if (before === undefined) return adoptJson(next, keepMemberTexts);
  const was = producedMember(previous[at]);
  const now = producedMember(next[at]);
  // the flag ABOVE_LARGE cannot be taken back without reading every other member
  if (was < 0 || now < 0 || ((was & ABOVE_LARGE) !== 0 && (now & ABOVE_LARGE) === 0)) return adoptJson(next, keepMemberTexts);
  const size = Math.floor(before / 4) - Math.floor(was / 4) + Math.floor(now / 4);
  Produced.stamp(next, size * 4 + ((before & (LARGE | ABOVE_LARGE)) | (now & ABOVE_LARGE)));
  if (keepMemberTexts) Produced.keepMemberTexts(next as unknown as Produced);
  return Object.freeze(next);
}

/**
 * `JSON.stringify(value)`, reusing the text of parts of a value made by {@link freezeJson} serialised
 * before: the large parts (at least 16 members), and the members of a value adopted with
 * `keepMemberTexts` ({@link adoptJson}: the ledger's buckets, large or not): writing a document again
 * after a small change serialises natively only the parts that changed and joins the text of the
 * others. The text is kept on the value itself (a private field, no WeakMap). Any other value is
 * serialised natively.
 */
export function stringifyJson(value: unknown): string {
  return textOf(value, false);
}

/** {@link stringifyJson}; `keep`: `value` is a member of a large value (its text is kept, and reused once kept). */
function textOf(value: unknown, keep: boolean): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const meta = metaOf(value);
  if (meta === undefined) return JSON.stringify(value);
  const kept = keep || (meta & LARGE) !== 0;
  if (kept) {
    const known = Produced.textOf(value as Produced);
    if (known !== undefined) return known;
  }
  const members = Produced.keepsMemberTexts(value as Produced);
  let text: string;
  if ((meta & ABOVE_LARGE) === 0 && !members) text = JSON.stringify(value);
  else if (Array.isArray(value)) {
    // the ledger's 64 buckets are mostly null: no call for those
    const parts = new Array<string>(value.length);
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      parts[i] = v === null ? 'null' : textOf(v, members);
    }
    text = `[${parts.join(',')}]`;
  } else {
    const parts: string[] = [];
    for (const k of Object.keys(value)) parts.push(`${JSON.stringify(k)}:${textOf((value as Record<string, unknown>)[k], members)}`);
    text = `{${parts.join(',')}}`;
  }
  if (kept) Produced.keepText(value as Produced, text);
  return text;
}
