/**
 * Plain JSON (json names or proto field names) -> the object form protobufjs'
 * `fromObject` takes, checking every value on the way: a value of the wrong
 * type throws {@link JsonShapeError} with the field path and what was expected.
 * Not the hot path (used by samples, `send` and tests).
 */
import protobuf from 'protobufjs';
import type { Enum, Field, MapField, Type } from 'protobufjs';
import { fieldById, jsonKey, parseDuration, parseTimestamp, setOwn, wellKnownKind } from './wkt.js';
import { anyTarget } from './to-json.js';
import { closest } from '../text/index.js';

type Obj = Record<string, unknown>;

/** A value that does not fit: the codec turns it into an EventEncodeError. */
export class JsonShapeError extends Error {
  override readonly name = 'JsonShapeError';
  constructor(
    readonly path: string,
    readonly expected: string,
    readonly got: unknown,
  ) {
    super(`${path || '(root)'}: expected ${expected}, got ${describe(got)}`);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v === 'bigint' ? 'number' : typeof v} ${String(v)}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

interface FieldIndex {
  readonly byKey: Map<string, Field>;
  readonly keys: string[];
}
const indexes = new WeakMap<Type, FieldIndex>();

function fieldIndex(type: Type): FieldIndex {
  let index = indexes.get(type);
  if (!index) {
    const byKey = new Map<string, Field>();
    const keys: string[] = [];
    for (const field of type.fieldsArray) {
      field.resolve();
      const key = jsonKey(field);
      byKey.set(key, field);
      byKey.set(field.name, field);
      keys.push(key);
    }
    index = { byKey, keys };
    indexes.set(type, index);
  }
  return index;
}

/** The field of `type` a JSON key names (json name or proto name), or undefined. */
export function fieldForKey(type: Type, key: string): Field | undefined {
  return fieldIndex(type).byKey.get(key);
}

const INT32: Readonly<Record<string, [number, number]>> = {
  int32: [-2147483648, 2147483647],
  sint32: [-2147483648, 2147483647],
  sfixed32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  fixed32: [0, 4294967295],
};
const INT64_SIGNED = new Set(['int64', 'sint64', 'sfixed64']);
const INT64_UNSIGNED = new Set(['uint64', 'fixed64']);
const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

function scalar(typeName: string, v: unknown, path: string): unknown {
  const range = INT32[typeName];
  if (range) {
    const n = (typeof v === 'string' && /^-?\d+$/.test(v)) || typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < range[0] || n > range[1]) {
      throw new JsonShapeError(path, `${/^u|^fixed/.test(typeName) ? 'an unsigned' : 'an'} integer (${typeName})`, v);
    }
    return n;
  }
  if (INT64_SIGNED.has(typeName) || INT64_UNSIGNED.has(typeName)) {
    const unsigned = INT64_UNSIGNED.has(typeName);
    const expected = `${unsigned ? 'an unsigned' : 'an'} integer or decimal string (${typeName})`;
    let big: bigint;
    if (typeof v === 'number' && Number.isSafeInteger(v)) big = BigInt(v);
    else if (typeof v === 'bigint') big = v;
    else if (typeof v === 'string' && /^-?\d+$/.test(v)) big = BigInt(v);
    else if (typeof v === 'number' && Number.isInteger(v)) {
      throw new JsonShapeError(path, `${expected}; beyond 2^53 a JSON number is rounded, write it as a string`, v);
    } else throw new JsonShapeError(path, expected, v);
    const min = unsigned ? 0n : -(2n ** 63n);
    const max = unsigned ? 2n ** 64n - 1n : 2n ** 63n - 1n;
    if (big < min || big > max) throw new JsonShapeError(path, expected, v);
    return typeof v === 'number' ? v : big.toString();
  }
  switch (typeName) {
    case 'double':
    case 'float':
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'string' && (v === 'NaN' || v === 'Infinity' || v === '-Infinity' || (v.trim() !== '' && !Number.isNaN(Number(v))))) {
        return Number(v);
      }
      throw new JsonShapeError(path, `a number (${typeName})`, v);
    case 'bool':
      if (typeof v === 'boolean') return v;
      throw new JsonShapeError(path, 'a boolean', v);
    case 'string':
      if (typeof v === 'string') return v;
      throw new JsonShapeError(path, 'a string', v);
    case 'bytes':
      if (v instanceof Uint8Array) return v;
      if (typeof v === 'string' && BASE64.test(v)) return Buffer.from(v, 'base64');
      throw new JsonShapeError(path, 'a base64 string (bytes)', v);
    default:
      throw new JsonShapeError(path, `a ${typeName}`, v);
  }
}

function enumValue(e: Enum, v: unknown, path: string): number {
  if (typeof v === 'string' && Object.hasOwn(e.values, v)) return e.values[v]!;
  if (typeof v === 'bigint' && v >= -(2n ** 31n) && v < 2n ** 31n) return Number(v);
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new JsonShapeError(path, `one of ${Object.keys(e.values).join(', ')}`, v);
}

function single(field: Field, v: unknown, path: string): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return messageToProto(t, v, path);
  if (t instanceof protobuf.Enum) return enumValue(t, v, path);
  return scalar(field.type, v, path);
}

function mapKey(keyType: string, k: string, path: string): string {
  if (keyType === 'string') return k;
  if (keyType === 'bool') {
    if (k === 'true' || k === 'false') return k;
    throw new JsonShapeError(path, 'a map key "true" or "false"', k);
  }
  scalar(keyType, k, path);
  return k;
}

/** JSON of a message of `type` (a well-known type in its JSON form) -> protobufjs object form. */
export function messageToProto(type: Type, v: unknown, path: string): Obj {
  switch (wellKnownKind(type)) {
    case 'struct':
      return structToProto(type, v, path);
    case 'value':
      return valueToProto(type, v, path);
    case 'listValue':
      return listToProto(type, v, path);
    case 'any':
      return anyToProto(type, v, path);
    case 'timestamp': {
      const t = typeof v === 'string' ? parseTimestamp(v) : null;
      if (!t) throw new JsonShapeError(path, 'an RFC 3339 timestamp string', v);
      return { [fieldById(type, 1).name]: t.seconds, [fieldById(type, 2).name]: t.nanos };
    }
    case 'duration': {
      const d = typeof v === 'string' ? parseDuration(v) : null;
      if (!d) throw new JsonShapeError(path, 'a duration string like "1.5s"', v);
      return { [fieldById(type, 1).name]: d.seconds, [fieldById(type, 2).name]: d.nanos };
    }
    case 'wrapper': {
      const field = fieldById(type, 1).resolve();
      return { [field.name]: scalar(field.type, v, path) };
    }
    case 'fieldMask':
      if (typeof v !== 'string') throw new JsonShapeError(path, 'a comma-separated string of field paths', v);
      return { [fieldById(type, 1).name]: v === '' ? [] : v.split(',') };
    case 'empty':
      if (!isPlainObject(v) || Object.keys(v).length > 0) throw new JsonShapeError(path, 'an empty object', v);
      return {};
    case undefined:
      break;
  }
  // the unnamed types of AGS's generated protos (AnonymousSchema19: UserLoggedIn's payload) are named by their path
  const anonymous = /^AnonymousSchema\d*$/.test(type.name);
  if (!isPlainObject(v)) throw new JsonShapeError(path, anonymous ? 'an object' : `an object (${type.name})`, v);
  const index = fieldIndex(type);
  const out: Obj = {};
  const oneofSet = new Map<string, string>();
  for (const key of Object.keys(v)) {
    const value = v[key];
    const field = index.byKey.get(key);
    const p = join(path, key);
    if (!field) {
      const near = closest(key, index.keys, 1);
      const of = anonymous ? path || 'the event' : type.name;
      throw new JsonShapeError(p, `a field of ${of} (${index.keys.join(', ')}${near.length > 0 ? `; did you mean "${near[0]!}"?` : ''})`, value);
    }
    if (value === null || value === undefined) continue;
    if (field.partOf && field.partOf.oneof.length > 1) {
      const other = oneofSet.get(field.partOf.name);
      if (other !== undefined && other !== key) {
        throw new JsonShapeError(p, `only one of oneof ${field.partOf.name} (${other} is set too)`, value);
      }
      oneofSet.set(field.partOf.name, key);
    }
    if (field.map) {
      if (!isPlainObject(value)) throw new JsonShapeError(p, 'an object (map)', value);
      const keyType = (field as unknown as MapField).keyType;
      const m: Obj = {};
      for (const k of Object.keys(value)) {
        const kp = `${p}.${k}`;
        setOwn(m, mapKey(keyType, k, kp), single(field, value[k], kp));
      }
      out[field.name] = m;
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new JsonShapeError(p, 'an array', value);
      out[field.name] = value.map((item, i) => single(field, item, `${p}[${i}]`));
    } else {
      out[field.name] = single(field, value, p);
    }
  }
  return out;
}

function structToProto(type: Type, v: unknown, path: string): Obj {
  if (!isPlainObject(v)) throw new JsonShapeError(path, 'an object (google.protobuf.Struct)', v);
  const fields = fieldById(type, 1).resolve();
  const valueType = fields.resolvedType as Type;
  const out: Obj = {};
  for (const k of Object.keys(v)) setOwn(out, k, valueToProto(valueType, v[k], join(path, k)));
  return { [fields.name]: out };
}

function listToProto(type: Type, v: unknown, path: string): Obj {
  if (!Array.isArray(v)) throw new JsonShapeError(path, 'an array (google.protobuf.ListValue)', v);
  const values = fieldById(type, 1).resolve();
  const valueType = values.resolvedType as Type;
  return { [values.name]: v.map((item, i) => valueToProto(valueType, item, `${path}[${i}]`)) };
}

function valueToProto(type: Type, v: unknown, path: string): Obj {
  const name = (id: number): string => fieldById(type, id).name;
  if (v === null) return { [name(1)]: 0 };
  if (typeof v === 'number') return { [name(2)]: v };
  if (typeof v === 'bigint') return { [name(2)]: Number(v) };
  if (typeof v === 'string') return { [name(3)]: v };
  if (typeof v === 'boolean') return { [name(4)]: v };
  if (Array.isArray(v)) return { [name(6)]: listToProto(fieldById(type, 6).resolve().resolvedType as Type, v, path) };
  if (isPlainObject(v)) return { [name(5)]: structToProto(fieldById(type, 5).resolve().resolvedType as Type, v, path) };
  throw new JsonShapeError(path, 'a JSON value (google.protobuf.Value)', v);
}

function anyToProto(type: Type, v: unknown, path: string): Obj {
  if (!isPlainObject(v) || typeof v['@type'] !== 'string') {
    throw new JsonShapeError(path, 'an object with "@type" (google.protobuf.Any)', v);
  }
  const url = v['@type'];
  const urlName = fieldById(type, 1).name;
  const valueName = fieldById(type, 2).name;
  const target = anyTarget(type, url);
  let bytes: Uint8Array;
  if (target) {
    let json: unknown;
    if (wellKnownKind(target)) json = v['value'];
    else {
      const { '@type': _ignored, ...rest } = v;
      void _ignored;
      json = rest;
    }
    const proto = messageToProto(target, json, wellKnownKind(target) ? join(path, 'value') : path);
    bytes = target.encode(target.fromObject(proto)).finish();
  } else {
    const value = v['value'];
    if (typeof value !== 'string' || !BASE64.test(value)) {
      throw new JsonShapeError(join(path, 'value'), `base64 bytes (the type ${url} is not loaded)`, value);
    }
    bytes = Buffer.from(value, 'base64');
  }
  return { [urlName]: url, [valueName]: bytes };
}
