/**
 * Google's well-known types as plain JSON (the proto3 JSON mapping), and the
 * helpers both directions of the codec share.
 */
import type { Field, Type } from 'protobufjs';
import { protoJsonName } from './names.js';

/** The well-known types whose JSON form is not an object of their fields. */
export type WellKnownKind =
  | 'struct'
  | 'value'
  | 'listValue'
  | 'any'
  | 'timestamp'
  | 'duration'
  | 'wrapper'
  | 'empty'
  | 'fieldMask';

const KINDS: Readonly<Record<string, WellKnownKind>> = {
  '.google.protobuf.Struct': 'struct',
  '.google.protobuf.Value': 'value',
  '.google.protobuf.ListValue': 'listValue',
  '.google.protobuf.Any': 'any',
  '.google.protobuf.Timestamp': 'timestamp',
  '.google.protobuf.Duration': 'duration',
  '.google.protobuf.Empty': 'empty',
  '.google.protobuf.FieldMask': 'fieldMask',
  '.google.protobuf.DoubleValue': 'wrapper',
  '.google.protobuf.FloatValue': 'wrapper',
  '.google.protobuf.Int64Value': 'wrapper',
  '.google.protobuf.UInt64Value': 'wrapper',
  '.google.protobuf.Int32Value': 'wrapper',
  '.google.protobuf.UInt32Value': 'wrapper',
  '.google.protobuf.BoolValue': 'wrapper',
  '.google.protobuf.StringValue': 'wrapper',
  '.google.protobuf.BytesValue': 'wrapper',
};

export function wellKnownKind(type: Type): WellKnownKind | undefined {
  return KINDS[type.fullName];
}

/** The field a well-known type declares under `id` (names differ between protobufjs' bundled copies and .proto files). */
export function fieldById(type: Type, id: number): Field {
  const field = type.fieldsById[id];
  if (!field) throw new Error(`${type.fullName} has no field ${id}`);
  return field;
}

/** The JSON key of a field: its `json_name`, else protoc's default (lowerCamelCase). */
export function jsonKey(field: Field): string {
  const explicit = field.options?.['json_name'] as unknown;
  return typeof explicit === 'string' ? explicit : protoJsonName(field.name);
}

/** A real `oneof` (not the synthetic one of a proto3 `optional` field). */
export function inRealOneof(field: Field): boolean {
  const oneof = field.partOf;
  return oneof !== null && !(oneof.oneof.length === 1 && oneof.name.startsWith('_'));
}

/** protobufjs' 64-bit value (a `long` Long) or a plain number. */
export interface LongLike {
  toNumber(): number;
  toString(): string;
}

/** int64 -> number when it is a safe integer, else its decimal string. */
export function longToJson(v: unknown): number | string {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  }
  const long = v as LongLike;
  const n = long.toNumber();
  return Number.isSafeInteger(n) ? n : long.toString();
}

/**
 * Sets `obj[key]` as an own data property, also when `key` is `__proto__`
 * (a plain assignment would set the object's prototype: a Struct key
 * `__proto__` from an event must stay data, never become inherited fields).
 */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** A double as proto3 JSON: finite numbers as they are (-0 included), NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity". */
export function doubleToJson(v: unknown): unknown {
  if (typeof v !== 'number' || v - v === 0) return v;
  return v !== v ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/**
 * A float (float32) as proto3 JSON: the shortest decimal of at least 6
 * significant digits that reads back as the same float32, as protobuf's JSON
 * printers do (0.3, not 0.30000001192092896, so `== 0.3` matches); NaN and
 * ±Infinity as strings; -0 keeps its sign.
 */
export function floatToJson(v: unknown): unknown {
  if (typeof v !== 'number') return v;
  if (v - v !== 0) return doubleToJson(v);
  if (Number.isInteger(v) && Math.abs(v) <= 16777216) return v;
  for (let p = 6; p < 9; p++) {
    const shorter = Number(v.toPrecision(p));
    if (Math.fround(shorter) === v) return shorter;
  }
  return Number(v.toPrecision(9));
}

export function toNumber(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : (v as LongLike).toNumber();
}

export function bytesToBase64(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (Array.isArray(v)) return Buffer.from(v as number[]).toString('base64');
  return '';
}

function fraction(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1_000_000 === 0) return '.' + String(nanos / 1_000_000).padStart(3, '0');
  if (nanos % 1_000 === 0) return '.' + String(nanos / 1_000).padStart(6, '0');
  return '.' + String(nanos).padStart(9, '0');
}

/** seconds + nanos since the epoch -> RFC 3339 in UTC, 0, 3, 6 or 9 fractional digits. */
export function formatTimestamp(seconds: number, nanos: number): string {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) throw new Error(`timestamp out of range: ${seconds}s`);
  const iso = date.toISOString();
  return iso.slice(0, iso.length - 5) + fraction(nanos) + 'Z';
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC 3339 -> seconds + nanos, or null when it is not one. */
export function parseTimestamp(text: string): { seconds: number; nanos: number } | null {
  const m = TIMESTAMP.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m as unknown as string[];
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s), 0);
  if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    return null;
  }
  let seconds = date.getTime() / 1000;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    seconds -= sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
  }
  const nanos = frac ? Number(frac.padEnd(9, '0')) : 0;
  return { seconds, nanos };
}

/** seconds + nanos -> `1.5s`, `-0.010s`. */
export function formatDuration(seconds: number, nanos: number): string {
  const negative = seconds < 0 || nanos < 0;
  return `${negative ? '-' : ''}${Math.abs(seconds)}${fraction(Math.abs(nanos))}s`;
}

/** `1.5s` -> seconds + nanos, or null. */
export function parseDuration(text: string): { seconds: number; nanos: number } | null {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!m) return null;
  const sign = m[1] ? -1 : 1;
  const seconds = Number(m[2]);
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  return { seconds: sign * seconds, nanos: seconds === 0 && nanos === 0 ? 0 : sign * nanos };
}
