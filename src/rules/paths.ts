/**
 * Checks a path (`payload.userAccount.userId`) against an event's protobuf
 * message, by json names (camelCase) as the decoded event has them. Repeated
 * fields take a numeric index segment; map fields and google.protobuf.* types
 * (Struct, Value, Any, wrappers) accept any sub-path.
 */
import type { Field, Type } from 'protobufjs';
import { closest } from '../text/index.js';

/**
 * The segments of a `${event...}` path: a backslash before a dot makes it
 * literal (`extra.a\.b` is `extra` then `a.b`), `\\` is one backslash, any
 * other backslash is kept. Templates are checked at load and resolved per
 * event with this one function, so `validate` and the run always agree.
 * (`var` paths follow json-logic-js: split on every dot.)
 */
export function splitFieldPath(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && (text[i + 1] === '.' || text[i + 1] === '\\')) {
      current += text[i + 1]!;
      i++;
    } else if (c === '.') {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

export type PathCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** Index of the first bad segment. */
      readonly at: number;
      readonly message: string;
      /** Close field names, best first. */
      readonly candidates: readonly string[];
      /** The json names of the message where the path went wrong, when a segment named no field of it. */
      readonly fields?: readonly string[];
    };

/** The json name of a field as the decoded event carries it. */
export function jsonName(field: Field): string {
  const opt: unknown = field.options?.json_name;
  if (typeof opt === 'string') return opt;
  return field.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

const cache = new WeakMap<Type, Map<string, Field>>();

/** Fields of a message type by json name (cached). */
export function fieldsByJsonName(type: Type): Map<string, Field> {
  let m = cache.get(type);
  if (!m) {
    m = new Map(type.fieldsArray.map((f) => [jsonName(f), f]));
    cache.set(type, m);
  }
  return m;
}

function isOpen(type: Type): boolean {
  return type.fullName.startsWith('.google.protobuf.');
}

// duck typing, not instanceof: the catalog may hold types from another copy of protobufjs
function asMessage(t: unknown): Type | undefined {
  return typeof t === 'object' && t !== null && Array.isArray((t as Type).fieldsArray) ? (t as Type) : undefined;
}

function typeLabel(field: Field): string {
  if (!field.resolved) field.resolve();
  if (field.resolvedType && !asMessage(field.resolvedType)) return `an enum (${field.resolvedType.name})`;
  return `a ${field.type}`;
}

/** Walks `segments` through `type`. */
export function checkPath(type: Type, segments: readonly string[]): PathCheck {
  let cur: Type = type;
  for (let i = 0; i < segments.length; i++) {
    if (isOpen(cur)) return { ok: true };
    const seg = segments[i]!;
    const fields = fieldsByJsonName(cur);
    const field = fields.get(seg);
    const prefix = segments.slice(0, i).join('.');
    if (!field) {
      // the unnamed types of AGS's generated protos (AnonymousSchema19: UserLoggedIn's payload) are named by their path
      const candidates = closest(seg, fields.keys());
      return {
        ok: false,
        at: i,
        message: prefix && /^AnonymousSchema\d*$/.test(cur.name) ? `${prefix} has no field "${seg}"` : `${cur.name} has no field "${seg}"${prefix ? ` (at ${prefix})` : ''}`,
        candidates: candidates.map((c) => [...segments.slice(0, i), c].join('.')),
        fields: [...fields.keys()],
      };
    }
    if (field.map) return { ok: true };
    if (field.repeated) {
      const next = segments[i + 1];
      if (next === undefined) return { ok: true };
      if (!/^(0|[1-9]\d*)$/.test(next)) {
        return {
          ok: false,
          at: i + 1,
          message: `${[...segments.slice(0, i + 1)].join('.')} is a list: "${next}" is not an index`,
          candidates: [[...segments.slice(0, i + 1), '0', next].join('.')],
        };
      }
      i++;
    }
    if (i === segments.length - 1) return { ok: true };
    if (!field.resolved) field.resolve();
    const next = asMessage(field.resolvedType);
    if (next) {
      cur = next;
      continue;
    }
    return {
      ok: false,
      at: i + 1,
      message: `${segments.slice(0, i + 1).join('.')} is ${typeLabel(field)}: it has no field "${segments[i + 1]}"`,
      candidates: [segments.slice(0, i + 1).join('.')],
    };
  }
  return { ok: true };
}
