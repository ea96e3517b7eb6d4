/**
 * Strict wire check of an event message, run before protobufjs decodes it.
 * protobufjs is lenient where protobuf's reference implementations (C++, upb,
 * Java, Go) refuse the message; this pass refuses, like them:
 * - field number 0, wire types 6 and 7, an end-group without its start,
 *   a truncated value, a varint longer than 10 bytes, a tag over 32 bits;
 * - invalid UTF-8 in a `string` field (protobufjs replaces it with U+FFFD);
 * - a packed run that does not fill its length exactly.
 * And, stricter than the references (which keep such a field as an unknown
 * field and leave the known one at its default): a known field sent with a
 * wire type its type cannot have (a `string` sent as a varint, an `int32` as
 * 4 fixed bytes). That means the sender's proto disagrees with ours; decoding
 * it as a default would act on a value the sender never sent.
 *
 * One checker per message type, built once from the reflection; the check
 * itself walks the bytes with a module cursor and allocates nothing unless it
 * fails. Unknown fields are skipped (proto3 forward compatibility).
 */
import protobuf from 'protobufjs';
import type { Field, MapField, Type } from 'protobufjs';
import { jsonKey } from './wkt.js';

/** What a field accepts on the wire. */
const enum Kind {
  Varint,
  Fixed64,
  Fixed32,
  String,
  Bytes,
  Message,
  Group,
  Map,
}

const KIND_NAMES = ['varint', '64-bit', '32-bit', 'string', 'bytes', 'message', 'group', 'map'] as const;
const WIRE_NAMES = ['varint (0)', '64-bit (1)', 'length-delimited (2)', 'start-group (3)', 'end-group (4)', '32-bit (5)', 'wire type 6', 'wire type 7'];

interface FieldCheck {
  readonly kind: Kind;
  /** Repeated numeric: packed (wire type 2) is accepted too. */
  readonly packable: boolean;
  /** JSON key, for messages. */
  readonly key: string;
  /** The proto type name (`string`, `int64`, `demo.v1.Inner`), for messages. */
  readonly typeName: string;
  /** Message, group and map entry fields: the checker of the nested message (linked on first use: types may be recursive). */
  nested: TypeCheck | undefined;
  /** Message and group fields: their type. */
  readonly messageType: Type | undefined;
}

interface TypeCheck {
  readonly typeName: string;
  /** Indexed by field number, when the largest is small. */
  readonly dense: (FieldCheck | undefined)[] | undefined;
  readonly sparse: Map<number, FieldCheck> | undefined;
}

/** The message breaks the wire format, or a field disagrees with its declared type. */
export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
  /** JSON keys from the root to the offending field (filled by {@link checkWire}). */
  readonly path: string[] = [];
  constructor(readonly reason: string) {
    super(reason);
  }
  /** `payload.userAccount.userId: invalid UTF-8 in a string field` */
  describe(): string {
    return this.path.length ? `${this.path.join('.')}: ${this.reason}` : this.reason;
  }
}

const checks = new WeakMap<Type, TypeCheck>();
const DENSE_MAX = 4096;
/** Nesting limit, protobufjs' own (its decoder throws past it too). */
const RECURSION_LIMIT = (protobuf.Reader as unknown as { recursionLimit?: number }).recursionLimit ?? 100;

const VARINT_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool']);
const FIXED64_TYPES = new Set(['fixed64', 'sfixed64', 'double']);
const FIXED32_TYPES = new Set(['fixed32', 'sfixed32', 'float']);

function scalarKind(typeName: string, resolved: unknown): Kind {
  if (resolved instanceof protobuf.Enum) return Kind.Varint;
  if (VARINT_TYPES.has(typeName)) return Kind.Varint;
  if (FIXED64_TYPES.has(typeName)) return Kind.Fixed64;
  if (FIXED32_TYPES.has(typeName)) return Kind.Fixed32;
  if (typeName === 'string') return Kind.String;
  return Kind.Bytes;
}

function fieldCheck(field: Field): FieldCheck {
  field.resolve();
  const key = jsonKey(field);
  if (field.map) {
    const keyType = (field as unknown as MapField).keyType;
    const entry: TypeCheck = makeTypeCheck(`${field.parent?.fullName.replace(/^\./, '') ?? ''}.${field.name} entry`, [
      [1, { kind: scalarKind(keyType, undefined), packable: false, key: 'key', typeName: keyType, nested: undefined, messageType: undefined }],
      [2, valueCheck(field, 'value')],
    ]);
    return { kind: Kind.Map, packable: false, key, typeName: field.type, nested: entry, messageType: undefined };
  }
  const check = valueCheck(field, key);
  if (field.repeated && (check.kind === Kind.Varint || check.kind === Kind.Fixed32 || check.kind === Kind.Fixed64)) {
    return { ...check, packable: true };
  }
  return check;
}

/** The check of one (non-map) value of `field`; message checkers are linked lazily (types may be recursive). */
function valueCheck(field: Field, key: string): FieldCheck {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    return {
      kind: field.delimited ? Kind.Group : Kind.Message,
      packable: false,
      key,
      typeName: resolved.fullName.replace(/^\./, ''),
      nested: undefined,
      messageType: resolved,
    };
  }
  return { kind: scalarKind(field.type, resolved), packable: false, key, typeName: field.type, nested: undefined, messageType: undefined };
}

function makeTypeCheck(typeName: string, entries: [number, FieldCheck][]): TypeCheck {
  const max = entries.reduce((m, [id]) => Math.max(m, id), 0);
  if (max <= DENSE_MAX) {
    const dense: (FieldCheck | undefined)[] = new Array<FieldCheck | undefined>(max + 1).fill(undefined);
    for (const [id, c] of entries) dense[id] = c;
    return { typeName, dense, sparse: undefined };
  }
  return { typeName, dense: undefined, sparse: new Map(entries) };
}

function wireCheckOf(type: Type): TypeCheck {
  let c = checks.get(type);
  if (!c) {
    c = makeTypeCheck(
      type.fullName.replace(/^\./, ''),
      type.fieldsArray.map((f) => [f.id, fieldCheck(f)]),
    );
    checks.set(type, c);
  }
  return c;
}

// The cursor of the check in progress (the check is synchronous and not re-entrant).
let buf: Uint8Array = new Uint8Array(0);
let pos = 0;
/** The JSON key of the field being checked at each nesting depth (the error path, read only on failure). */
const fieldPath: string[] = [];
/** fieldPath[0..active] is the path of the value being checked. */
let active = -1;
/** While {@link checkWireReading}: the key to set per top-level field number (undefined: not read), where, and the bytes as a Buffer. */
let reading: readonly (string | undefined)[] | undefined;
let readInto: Record<string, unknown> = {};
let readText: Buffer = Buffer.alloc(0);

function truncated(): never {
  throw new WireFormatError('truncated message (a value runs past the end of its bytes)');
}

/** Reads a varint that must fit 32 bits (tags, lengths). */
function readVarint32(end: number): number {
  if (pos < end && buf[pos]! < 0x80) return buf[pos++]!; // one byte: most tags and lengths
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) truncated();
    const b = buf[pos++]!;
    if (shift < 32) result += (b & 0x7f) * 2 ** shift;
    else if ((b & 0x7f) !== 0) throw new WireFormatError('a tag or length over 32 bits');
    if (b < 0x80) {
      if (result > 0xffffffff) throw new WireFormatError('a tag or length over 32 bits');
      return result;
    }
    shift += 7;
  }
  throw new WireFormatError('a varint longer than 10 bytes');
}

function skipVarint(end: number): void {
  for (let i = 0; i < 10; i++) {
    if (pos >= end) truncated();
    if (buf[pos++]! < 0x80) return;
  }
  throw new WireFormatError('a varint longer than 10 bytes');
}

function skipBytes(n: number, end: number): void {
  if (n > end - pos) truncated();
  pos += n;
}

/** The end of a length-delimited value starting at the cursor. */
function lengthEnd(end: number): number {
  const len = readVarint32(end);
  if (len > end - pos) truncated();
  return pos + len;
}

/** Is buf[from, to) valid UTF-8 (no overlong forms, surrogates or code points over U+10FFFF)? */
export function isValidUtf8(b: Uint8Array, from: number, to: number): boolean {
  let i = from;
  while (i < to) {
    // ASCII runs (ids, names, most event strings) four bytes at a time
    while (i + 4 <= to && ((b[i]! | b[i + 1]! | b[i + 2]! | b[i + 3]!) & 0x80) === 0) i += 4;
    if (i >= to) break;
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c < 0xc2) return false;
    if (c < 0xe0) {
      if (i + 1 >= to || (b[i + 1]! & 0xc0) !== 0x80) return false;
      i += 2;
      continue;
    }
    if (c < 0xf0) {
      if (i + 2 >= to) return false;
      const c1 = b[i + 1]!;
      if ((c1 & 0xc0) !== 0x80 || (b[i + 2]! & 0xc0) !== 0x80) return false;
      if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f)) return false;
      i += 3;
      continue;
    }
    if (c < 0xf5) {
      if (i + 3 >= to) return false;
      const c1 = b[i + 1]!;
      if ((c1 & 0xc0) !== 0x80 || (b[i + 2]! & 0xc0) !== 0x80 || (b[i + 3]! & 0xc0) !== 0x80) return false;
      if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return false;
      i += 4;
      continue;
    }
    return false;
  }
  return true;
}

/** Skips an unknown field's value of wire type `wt`; a group up to its matching end. */
function skipField(wt: number, fieldNo: number, end: number, depth: number): void {
  switch (wt) {
    case 0:
      skipVarint(end);
      return;
    case 1:
      skipBytes(8, end);
      return;
    case 2:
      pos = lengthEnd(end);
      return;
    case 5:
      skipBytes(4, end);
      return;
    case 3:
      skipGroup(fieldNo, end, depth + 1);
      return;
    case 4:
      throw new WireFormatError(`an end-group tag (field ${fieldNo}) without its start-group`);
    default:
      throw new WireFormatError(`invalid wire type ${wt} (field ${fieldNo})`);
  }
}

function skipGroup(fieldNo: number, end: number, depth: number): void {
  if (depth > RECURSION_LIMIT) throw new WireFormatError('maximum nesting depth exceeded');
  for (;;) {
    if (pos >= end) truncated();
    const tag = readVarint32(end);
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 0) throw new WireFormatError('field number 0 (not a valid field number)');
    if (wt === 4) {
      if (no !== fieldNo) throw new WireFormatError(`an end-group tag for field ${no} inside the group of field ${fieldNo}`);
      return;
    }
    skipField(wt, no, end, depth);
  }
}

function wrongWireType(f: FieldCheck, no: number, wt: number): never {
  const expected = f.kind === Kind.Varint ? 'varint (0)' : f.kind === Kind.Fixed64 ? '64-bit (1)' : f.kind === Kind.Fixed32 ? '32-bit (5)' : f.kind === Kind.Group ? 'start-group (3)' : 'length-delimited (2)';
  throw new WireFormatError(
    `field ${no} (${f.typeName}${f.packable ? ', repeated' : ''}) sent with wire type ${WIRE_NAMES[wt]}, its type needs ${expected}${f.packable ? ' or packed length-delimited (2)' : ''}: the sender's proto differs`,
  );
}

function checkPacked(f: FieldCheck, end: number): void {
  const stop = lengthEnd(end);
  if (f.kind === Kind.Varint) {
    while (pos < stop) skipVarint(stop);
  } else {
    const width = f.kind === Kind.Fixed64 ? 8 : 4;
    if ((stop - pos) % width !== 0) throw new WireFormatError(`a packed run of ${KIND_NAMES[f.kind]} values whose length is not a multiple of ${width}`);
    pos = stop;
  }
}

/**
 * Checks the fields of one message from the cursor to `end` (or, for a group,
 * to its end-group tag `groupNo`). Leaves the cursor at `end` / after the end tag.
 */
function checkFields(t: TypeCheck, end: number, depth: number, groupNo: number): void {
  if (depth > RECURSION_LIMIT) throw new WireFormatError('maximum nesting depth exceeded');
  const dense = t.dense;
  active = depth - 1;
  while (pos < end) {
    const tag = readVarint32(end);
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 0) throw new WireFormatError('field number 0 (not a valid field number)');
    if (wt === 4 && groupNo !== 0) {
      if (no !== groupNo) throw new WireFormatError(`an end-group tag for field ${no} inside the group of field ${groupNo}`);
      return;
    }
    const f = dense ? dense[no] : t.sparse!.get(no);
    if (f === undefined) {
      skipField(wt, no, end, depth);
      continue;
    }
    fieldPath[depth] = f.key;
    active = depth;
    checkValue(f, no, wt, end, depth);
    active = depth - 1;
  }
  if (groupNo !== 0) truncated();
}

function checkValue(f: FieldCheck, no: number, wt: number, end: number, depth: number): void {
  switch (f.kind) {
    case Kind.Varint:
      if (wt === 0) skipVarint(end);
      else if (wt === 2 && f.packable) checkPacked(f, end);
      else wrongWireType(f, no, wt);
      return;
    case Kind.Fixed64:
      if (wt === 1) skipBytes(8, end);
      else if (wt === 2 && f.packable) checkPacked(f, end);
      else wrongWireType(f, no, wt);
      return;
    case Kind.Fixed32:
      if (wt === 5) skipBytes(4, end);
      else if (wt === 2 && f.packable) checkPacked(f, end);
      else wrongWireType(f, no, wt);
      return;
    case Kind.String: {
      if (wt !== 2) wrongWireType(f, no, wt);
      const stop = lengthEnd(end);
      if (!isValidUtf8(buf, pos, stop)) throw new WireFormatError(`invalid UTF-8 in a string field (field ${no})`);
      if (depth === 0 && reading !== undefined) {
        const key = no < reading.length ? reading[no] : undefined;
        if (key !== undefined) readInto[key] = readText.toString('utf8', pos, stop); // the last occurrence wins, as in the decode
      }
      pos = stop;
      return;
    }
    case Kind.Bytes:
      if (wt !== 2) wrongWireType(f, no, wt);
      pos = lengthEnd(end);
      return;
    case Kind.Message:
    case Kind.Map: {
      if (wt !== 2) wrongWireType(f, no, wt);
      const stop = lengthEnd(end);
      checkFields(f.nested ?? (f.nested = wireCheckOf(f.messageType!)), stop, depth + 1, 0);
      return;
    }
    case Kind.Group:
      if (wt !== 3) wrongWireType(f, no, wt);
      checkFields(f.nested ?? (f.nested = wireCheckOf(f.messageType!)), end, depth + 1, no);
      return;
  }
}

/**
 * Checks `bytes` as a message of `type`. Throws {@link WireFormatError}
 * (its `describe()` names the field by its JSON path) when a reference
 * protobuf implementation would refuse the bytes, or a known field has a
 * wire type its declared type cannot have.
 */
export function checkWire(type: Type, bytes: Uint8Array): void {
  const t = wireCheckOf(type);
  buf = bytes;
  pos = 0;
  active = -1;
  try {
    checkFields(t, bytes.length, 0, 0);
  } catch (err) {
    if (err instanceof WireFormatError) err.path.push(...fieldPath.slice(0, active + 1));
    throw err;
  } finally {
    buf = EMPTY;
  }
}
const EMPTY = new Uint8Array(0);

/**
 * {@link checkWire}, reading on the way the top-level string fields `keyOf` names (by field number:
 * the json key to set in `into`), as the decode reads them (valid UTF-8, the last occurrence wins).
 * `keyOf` must name string fields only.
 */
export function checkWireReading(type: Type, bytes: Uint8Array, keyOf: readonly (string | undefined)[], into: Record<string, unknown>): void {
  reading = keyOf;
  readInto = into;
  readText = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    checkWire(type, bytes);
  } finally {
    reading = undefined;
    readInto = {};
    readText = EMPTY_TEXT;
  }
}
const EMPTY_TEXT = Buffer.alloc(0);
