/**
 * Decoded protobufjs messages -> plain JSON objects keyed by json names, with
 * proto3 defaults filled in. One converter per message type, built on first
 * use from the reflection and cached: the hot path runs no reflection.
 *
 * Defaults: strings '', numbers 0, bools false, bytes '', enums the name of
 * their zero value, repeated [], maps {}. An absent nested message is filled
 * with its own defaults, recursively, so `payload.userAccount.namespace` reads ''
 * rather than throwing; except where a message type contains itself (the field
 * on the cycle reads null). Well-known types follow the proto3 JSON mapping, and
 * when absent read: Struct {}, ListValue [], Empty {}, FieldMask '', and
 * null for Value, Any, Timestamp, Duration and the wrappers. Members of a real
 * `oneof` that are not set are absent (not defaulted); proto3 `optional`
 * fields are defaulted like plain fields.
 */
import protobuf from 'protobufjs';
import type { Field, MapField, Message, Type } from 'protobufjs';
import type { DecodedEvent } from './types.js';
import { checkWire } from './wire-check.js';
import {
  bytesToBase64,
  doubleToJson,
  floatToJson,
  setOwn,
  fieldById,
  formatDuration,
  formatTimestamp,
  inRealOneof,
  jsonKey,
  longToJson,
  type LongLike,
  toNumber,
  wellKnownKind,
} from './wkt.js';

type Msg = Record<string, unknown>;
type Conv = (v: unknown) => unknown;

const converters = new WeakMap<Type, (m: Msg) => unknown>();
const emptyMessages = new WeakMap<Type, Msg>();

/** The converter of a message type: decoded message -> JSON value. Cached per type. */
export function jsonOf(type: Type): (m: Msg) => unknown {
  let conv = converters.get(type);
  if (!conv) {
    conv = build(type);
    converters.set(type, conv);
  }
  return conv;
}

/** A message of `type` with nothing set, made once. */
function emptyMessageOf(type: Type): Msg {
  let empty = emptyMessages.get(type);
  if (!empty) {
    empty = type.create() as unknown as Msg;
    emptyMessages.set(type, empty);
  }
  return empty;
}

/** The JSON of a message with nothing set (the defaults of its fields). */
export function defaultJson(type: Type): unknown {
  return jsonOf(type)(emptyMessageOf(type));
}

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** Converter of one scalar/enum/message value (not repeated), or null when the value is already JSON. */
function valueConv(field: Field, typeName: string): Conv | null {
  if (LONG_TYPES.has(typeName)) return longToJson;
  if (typeName === 'bytes') return bytesToBase64;
  if (typeName === 'float') return floatToJson;
  if (typeName === 'double') return doubleToJson;
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    let inner: ((m: Msg) => unknown) | undefined;
    return (v) => (inner ??= jsonOf(resolved))(v as Msg);
  }
  if (resolved instanceof protobuf.Enum) {
    const names = (resolved).valuesById;
    return (v) => names[v as number] ?? v;
  }
  return null;
}

function mapKeyConv(keyType: string): ((k: string) => string) | null {
  if (!LONG_TYPES.has(keyType)) return null;
  const unsigned = keyType === 'uint64' || keyType === 'fixed64';
  // protobufjs keys 64-bit map entries by an 8-char hash string
  return (k) => {
    if (/^-?\d+$/.test(k)) return k;
    return (protobuf.util.LongBits.fromHash(k).toLong(unsigned) as unknown as LongLike).toString();
  };
}

/** Does `from` reach `to` through singular, defaulted message fields? */
function reaches(from: Type, to: Type, seen = new Set<Type>()): boolean {
  if (from === to) return true;
  if (seen.has(from) || wellKnownKind(from)) return false;
  seen.add(from);
  for (const field of from.fieldsArray) {
    const t = field.resolve().resolvedType;
    if (t instanceof protobuf.Type && !field.repeated && !field.map && !inRealOneof(field) && reaches(t, to, seen)) {
      return true;
    }
  }
  return false;
}

/** The default JSON of an absent singular message field. */
function messageDefault(owner: Type, fieldType: Type): () => unknown {
  switch (wellKnownKind(fieldType)) {
    case 'struct':
    case 'empty':
      return () => ({});
    case 'listValue':
      return () => [];
    case 'fieldMask':
      return () => '';
    case undefined:
      if (reaches(fieldType, owner)) return () => null;
      return () => defaultJson(fieldType);
    default:
      return () => null;
  }
}

function scalarDefault(field: Field): unknown {
  if (field.resolvedType instanceof protobuf.Enum) {
    const e = field.resolvedType;
    const first = Object.keys(e.values)[0];
    return e.valuesById[0] ?? first ?? 0;
  }
  if (LONG_TYPES.has(field.type)) return 0;
  if (field.type === 'bytes') return '';
  // not field.typeDefault: that is null for a proto3 `optional` scalar
  return (protobuf.types.defaults as Record<string, unknown>)[field.type];
}

/**
 * A map field: its own small converter (maps are rare in events). An entry sent without its message value
 * (protobufjs leaves it null) reads as the references read it, the value type's defaults, never a refusal.
 */
function mapStep(field: Field): (m: Msg) => Msg {
  const name = field.name;
  const conv = valueConv(field, field.type);
  const keyConv = mapKeyConv((field as unknown as MapField).keyType);
  const valueType = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
  return (m) => {
    const v = m[name] as Msg | undefined;
    const out: Msg = {};
    if (v) {
      for (const k of Object.keys(v)) {
        const value = v[k];
        setOwn(out, keyConv ? keyConv(k) : k, valueType && value == null ? defaultJson(valueType) : conv ? conv(value) : value);
      }
    }
    return out;
  };
}

/**
 * Generates the converter of a plain message type: one object literal, its keys
 * in field order, so every decoded event of a type shares one hidden class.
 * The generated source holds only JSON-quoted field names; helpers are passed in.
 */
function compileMessage(type: Type): (m: Msg) => unknown {
  const convs: (Conv | null)[] = [];
  const dflts: unknown[] = [];
  const maps: ((m: Msg) => Msg)[] = [];
  const props: string[] = [];
  const after: string[] = [];
  for (const field of type.fieldsArray) {
    field.resolve();
    const i = convs.length;
    const key = JSON.stringify(jsonKey(field));
    const get = `m[${JSON.stringify(field.name)}]`;
    const conv = valueConv(field, field.type);
    convs.push(conv);
    const resolved = field.resolvedType;
    if (field.map) {
      maps.push(mapStep(field));
      dflts.push(null);
      props.push(`${key}: s[${maps.length - 1}](m)`);
    } else if (field.repeated) {
      dflts.push(null);
      props.push(`${key}: (v = ${get}) && v.length > 0 ? ${conv ? `v.map(c[${i}])` : 'v'} : []`);
    } else if (inRealOneof(field)) {
      dflts.push(null);
      after.push(
        `if (Object.hasOwn(m, ${JSON.stringify(field.name)}) && (v = ${get}) != null) o[${key}] = ${conv ? `c[${i}](v)` : 'v'};`,
      );
    } else if (resolved instanceof protobuf.Type) {
      dflts.push(messageDefault(type, resolved));
      props.push(`${key}: (v = ${get}) == null ? d[${i}]() : c[${i}](v)`);
    } else {
      dflts.push(scalarDefault(field));
      props.push(conv ? `${key}: (v = ${get}) == null ? d[${i}] : c[${i}](v)` : `${key}: ${get} ?? d[${i}]`);
    }
  }
  const body = `return function convert(m) {\n  let v;\n  const o = {\n    ${props.join(',\n    ')}\n  };\n  ${after.join('\n  ')}\n  return o;\n};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from reflection; names are JSON-quoted
  const factory = new Function('c', 'd', 's', body) as (c: unknown[], d: unknown[], s: unknown[]) => (m: Msg) => unknown;
  return factory(convs, dflts, maps);
}

function build(type: Type): (m: Msg) => unknown {
  switch (wellKnownKind(type)) {
    case 'struct':
      return structToJson(type);
    case 'value':
      return valueToJson(type);
    case 'listValue':
      return listToJson(type);
    case 'any':
      return anyToJson(type);
    case 'timestamp': {
      const s = fieldById(type, 1).name;
      const n = fieldById(type, 2).name;
      return (m) => formatTimestamp(toNumber(m[s] ?? 0), toNumber(m[n] ?? 0));
    }
    case 'duration': {
      const s = fieldById(type, 1).name;
      const n = fieldById(type, 2).name;
      return (m) => formatDuration(toNumber(m[s] ?? 0), toNumber(m[n] ?? 0));
    }
    case 'wrapper': {
      const field = fieldById(type, 1).resolve();
      const conv = valueConv(field, field.type);
      const dflt = scalarDefault(field);
      const name = field.name;
      return (m) => {
        const v = m[name];
        return v === null || v === undefined ? dflt : conv ? conv(v) : v;
      };
    }
    case 'fieldMask': {
      const name = fieldById(type, 1).name;
      return (m) => ((m[name] as string[] | undefined) ?? []).join(',');
    }
    case 'empty':
      return () => ({});
    case undefined:
      break;
  }
  return compileMessage(type);
}

function structToJson(type: Type): (m: Msg) => unknown {
  const fields = fieldById(type, 1).resolve();
  const valueType = fields.resolvedType as Type;
  let conv: ((m: Msg) => unknown) | undefined;
  return (m) => {
    const map = m[fields.name] as Record<string, Msg> | undefined;
    const out: Msg = {};
    if (map) {
      conv ??= jsonOf(valueType);
      // an entry without its Value: null, as the references read it
      for (const k of Object.keys(map)) setOwn(out, k, map[k] == null ? null : conv(map[k]));
    }
    return out;
  };
}

function listToJson(type: Type): (m: Msg) => unknown {
  const values = fieldById(type, 1).resolve();
  const valueType = values.resolvedType as Type;
  let conv: ((m: Msg) => unknown) | undefined;
  return (m) => {
    conv ??= jsonOf(valueType);
    const list = (m[values.name] as Msg[] | undefined) ?? [];
    return list.map(conv);
  };
}

function valueToJson(type: Type): (m: Msg) => unknown {
  const f = (id: number): Field => fieldById(type, id).resolve();
  // field 1 (null_value) and nothing set both read null
  const [numberF, stringF, boolF, structF, listF] = [f(2), f(3), f(4), f(5), f(6)];
  let structConv: ((m: Msg) => unknown) | undefined;
  let listConv: ((m: Msg) => unknown) | undefined;
  const set = (m: Msg, field: Field): boolean => Object.hasOwn(m, field.name) && m[field.name] !== null && m[field.name] !== undefined;
  return (m) => {
    if (set(m, numberF)) return doubleToJson(m[numberF.name]);
    if (set(m, stringF)) return m[stringF.name];
    if (set(m, boolF)) return m[boolF.name];
    if (set(m, structF)) return (structConv ??= jsonOf(structF.resolvedType as Type))(m[structF.name] as Msg);
    if (set(m, listF)) return (listConv ??= jsonOf(listF.resolvedType as Type))(m[listF.name] as Msg);
    return null;
  };
}

/** A type inside an `Any`, looked up by the last segment of its URL. */
export function anyTarget(anyType: Type, url: string): Type | null {
  const name = url.slice(url.lastIndexOf('/') + 1);
  if (!name) return null;
  try {
    const found = anyType.root.lookup(name, [protobuf.Type]);
    return found instanceof protobuf.Type ? found : null;
  } catch {
    return null;
  }
}

function anyToJson(type: Type): (m: Msg) => unknown {
  const urlName = fieldById(type, 1).name;
  const valueName = fieldById(type, 2).name;
  return (m) => {
    const url = (m[urlName] as string | undefined) ?? '';
    const bytes = m[valueName] as Uint8Array | undefined;
    const target = anyTarget(type, url);
    if (target) {
      try {
        checkWire(target, bytes ?? new Uint8Array(0)); // strict like the event itself: invalid UTF-8 inside stays bytes
        const inner = jsonOf(target)(target.decode(readerOf(bytes ?? new Uint8Array(0))) as unknown as Msg);
        if (wellKnownKind(target)) return { '@type': url, value: inner };
        return { '@type': url, ...(inner as Msg) };
      } catch {
        // not decodable with the type we know: keep the bytes
      }
    }
    return { '@type': url, value: bytesToBase64(bytes) };
  };
}

/**
 * protobufjs' reader, with a `uint32` (tags, lengths, int32, uint32, sint32, bool, enum) that reads a varint of
 * 6 to 10 bytes as protobuf's references do: its low 32 bits, ending at its last byte. protobufjs' own skips 5
 * bytes blindly after a fifth byte with its continuation bit, so a varint of 6 to 9 bytes (valid, accepted by
 * the wire check) made it read the next field's bytes as part of it: other values than the sender's, or
 * "index out of range", where the wire check and the partial decode (top-level.ts) read the event right.
 */
class EventReader extends protobuf.BufferReader {
  override uint32(): number {
    const pos = this.pos;
    if (pos < this.len) {
      const b = this.buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1; // one byte: most tags and lengths
        return b;
      }
    }
    return readVarint32(this);
  }
}

/** A varint's low 32 bits, up to 10 bytes, the reader left after its last byte. */
function readVarint32(r: EventReader): number {
  const buf = r.buf;
  const len = r.len;
  let pos = r.pos;
  let value = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= len) {
      r.pos = len;
      throw new RangeError(`index out of range: ${String(pos)} + 1 > ${String(len)}`);
    }
    const b = buf[pos++]!;
    if (shift < 32) value |= (b & 0x7f) << shift; // bits past the 32nd dropped, as the references drop them
    if (b < 0x80) {
      r.pos = pos;
      return value >>> 0;
    }
  }
  r.pos = pos;
  throw new Error('invalid varint encoding');
}

/**
 * A protobufjs reader of `bytes` (a Buffer's own memory, no copy) whose `uint32` reads varints of 6 to 10
 * bytes as protobuf's references do ({@link EventReader}): pass it to `Type.decode` instead of the bytes
 * wherever bytes from outside are decoded (the AGS events here, the custom events' wire messages).
 */
export function readerOf(bytes: Uint8Array): protobuf.Reader {
  return new EventReader(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

const refusing = new WeakMap<Type, boolean>();

/**
 * Whether the conversion of a decoded message of `type` can refuse a value the wire check accepts: a
 * `google.protobuf.Timestamp` past the range JSON can write (formatTimestamp throws) in it, at any depth (an
 * `Any`'s content excepted: kept as bytes when it does not convert). Such an event is refused by the whole decode
 * only, so it is never decoded in part (top-level.ts). Cached per type.
 */
export function conversionMayRefuse(type: Type): boolean {
  let known = refusing.get(type);
  if (known === undefined) {
    known = reachesTimestamp(type, new Set());
    refusing.set(type, known);
  }
  return known;
}

function reachesTimestamp(type: Type, seen: Set<Type>): boolean {
  const kind = wellKnownKind(type);
  if (kind === 'timestamp') return true;
  if (kind !== undefined || seen.has(type)) return false; // the other well-known types hold no Timestamp; Any converts safely
  seen.add(type);
  return type.fieldsArray.some((f) => {
    const t = f.resolve().resolvedType;
    return t instanceof protobuf.Type && reachesTimestamp(t, seen);
  });
}

/** Decodes `bytes` with `type` and converts it: throws whatever protobufjs throws. */
export function decodeToJson(type: Type, bytes: Uint8Array): DecodedEvent {
  const message = type.decode(readerOf(bytes)) as Message & Msg;
  return jsonOf(type)(message) as DecodedEvent;
}
