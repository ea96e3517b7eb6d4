/**
 * Helpers shared by the built-in actions: parameter reading, the user and
 * namespace defaults, the schema fragments they repeat.
 */
import type { AgsApi } from '../../ags/index.js';
import { pathSegmentProblem } from '../../ags/index.js';
import type { SpecField } from '../../ags/index.js';
import type { AgsRequest } from '../../ags/index.js';
import { ActionError, ActionParamError } from '../errors.js';
import type { ActionContext, JsonSchema, PlannedRequest } from '../types.js';

export const userIdSchema: JsonSchema = {
  type: 'string',
  description: 'The user to act on. Default: the event\'s `userId`.',
};
export const namespaceSchema: JsonSchema = {
  type: 'string',
  description: 'Game namespace. Default: `AB_NAMESPACE`.',
};

/** `params.userId`, else the event's `userId`; an empty result or a dot segment is an {@link ActionParamError}. */
export function userIdOf(action: string, params: Record<string, unknown>, ctx: ActionContext): string {
  const value = params.userId ?? ctx.event.userId;
  if (typeof value !== 'string' || value.trim() === '') {
    const why = params.userId === undefined ? 'is empty (the event has no userId; set userId explicitly)' : 'is empty';
    throw new ActionParamError(action, 'userId', why);
  }
  return segment(action, 'userId', value.trim());
}

/** `params.namespace`, else `ctx.namespace` (a URL path segment). */
export function namespaceOf(action: string, params: Record<string, unknown>, ctx: ActionContext): string {
  const value = params.namespace ?? ctx.namespace;
  if (typeof value !== 'string' || value.trim() === '') throw new ActionParamError(action, 'namespace', 'is empty (set AB_NAMESPACE or namespace)');
  return segment(action, 'namespace', value.trim());
}

/** A required string that goes into a URL path segment (`currencyCode`, `statCode`, record `key`...): see {@link pathSegmentProblem}. */
export function pathParam(action: string, params: Record<string, unknown>, name: string): string {
  return segment(action, name, requireString(action, params, name));
}

function segment(action: string, name: string, value: string): string {
  const problem = pathSegmentProblem(value);
  if (problem !== undefined) throw new ActionParamError(action, name, problem);
  return value;
}

export function requireString(action: string, params: Record<string, unknown>, name: string): string {
  const v = params[name];
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v.trim() === '') throw new ActionParamError(action, name, v === undefined ? 'is required' : 'is empty');
  return v.trim();
}

export function optionalString(action: string, params: Record<string, unknown>, name: string): string | undefined {
  const v = params[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') throw new ActionParamError(action, name, `must be a string, got ${typeof v}`);
  return v;
}

/** Bounds of an integer parameter (inclusive). */
export interface IntegerRange {
  readonly minimum: number;
  readonly maximum: number;
}

/**
 * An integer within `range` (a number: the minimum, no maximum beyond exact
 * JSON integers). Strings of decimal digits are accepted (templates resolve to
 * strings); integers beyond 2^53-1 are refused, never rounded.
 */
export function integer(action: string, params: Record<string, unknown>, name: string, fallback: number | undefined, range: number | IntegerRange = 1): number {
  const { minimum, maximum } = typeof range === 'number' ? { minimum: range, maximum: Number.MAX_SAFE_INTEGER } : range;
  const example = `e.g. ${name}: ${Math.max(minimum, Math.min(1, maximum))}`;
  const raw = params[name] ?? fallback;
  if (raw === undefined) throw new ActionParamError(action, name, 'is required', `write a whole number, ${example}`);
  const n = typeof raw === 'string' && /^\s*[-+]?\d+\s*$/.test(raw) ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new ActionParamError(action, name, `must be a whole number, got ${JSON.stringify(raw)}`, `write a whole number from ${minimum} to ${maximum}, ${example}`);
  if (!Number.isSafeInteger(n)) {
    throw new ActionParamError(action, name, `${typeof raw === 'string' ? raw.trim() : String(n)} is beyond 2^53-1 and cannot be sent exactly`, `use a whole number from ${minimum} to ${maximum}`);
  }
  if (n < minimum || n > maximum) throw new ActionParamError(action, name, `must be from ${minimum} to ${maximum}, got ${n}`, `write a whole number from ${minimum} to ${maximum}, ${example}`);
  return n;
}

const DECIMAL = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/**
 * A finite double, for a field the spec types `number` with format `double` (decimal strings accepted:
 * templates resolve to strings). Any finite double is a value of such a field, however large (a stat of
 * 1e20): it is sent as the double it is, and a decimal string is read as the nearest double, as AGS
 * reads the field. Whole numbers that must stay exact (int32/int64 fields) are read by {@link integer}.
 */
export function number(action: string, params: Record<string, unknown>, name: string): number {
  const raw = params[name];
  if (raw === undefined) throw new ActionParamError(action, name, 'is required', `write a number, e.g. ${name}: 1`);
  const n = typeof raw === 'string' && DECIMAL.test(raw) ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new ActionParamError(action, name, `must be a number, got ${JSON.stringify(raw)}`, `write a number, e.g. ${name}: 1`);
  return n;
}

const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

/** An instant that exists, written RFC 3339 with an offset (`2026-12-01T00:00:00Z`); undefined when absent. */
export function optionalDateTime(action: string, params: Record<string, unknown>, name: string): string | undefined {
  const v = optionalString(action, params, name);
  if (v === undefined) return undefined;
  const m = RFC3339.exec(v.trim());
  const fix = `write an RFC 3339 instant with offset, e.g. ${name}: 2026-12-01T00:00:00Z`;
  if (!m) throw new ActionParamError(action, name, `"${v}" is not an RFC 3339 date-time`, fix);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) throw new ActionParamError(action, name, `"${v}" is not a date that exists`, fix);
  return v.trim();
}

/** A string parameter checked against the spec field it is sent as: enum, pattern, maxLength. Undefined when absent. */
export function specString(action: string, params: Record<string, unknown>, name: string, field: SpecField): string | undefined {
  const v = optionalString(action, params, name);
  if (v === undefined) return undefined;
  if (field.enum && !field.enum.includes(v)) {
    throw new ActionParamError(action, name, `must be one of ${field.enum.join(', ')}, got ${JSON.stringify(v)}`, closestOf(v, field.enum, name));
  }
  if (field.pattern !== undefined && !new RegExp(field.pattern).test(v)) throw new ActionParamError(action, name, `"${v}" does not match ${field.pattern}`);
  if (field.maxLength !== undefined && v.length > field.maxLength) throw new ActionParamError(action, name, `is ${v.length} characters; AGS allows ${field.maxLength}`);
  return v;
}

function closestOf(v: string, allowed: readonly string[], name: string): string {
  const upper = v.toUpperCase();
  const hit = allowed.find((a) => a.toUpperCase() === upper) ?? allowed.find((a) => a.toUpperCase().startsWith(upper.slice(0, 3)));
  return hit !== undefined ? `did you mean ${name}: ${hit}?` : `write one of ${allowed.join(', ')}`;
}

/**
 * The JSON Schema of an action parameter sent as a spec body field: strings
 * carry the field's enum, pattern and maxLength; integers its range (as
 * `integer` or a string of digits: templates resolve to strings).
 */
export function specParam(field: SpecField, schema: JsonSchema & { description: string }, range?: IntegerRange): JsonSchema {
  if (field.type === 'integer') return { type: ['integer', 'string'], ...(range ?? {}), ...schema };
  if (field.type === 'number') return { type: ['number', 'string'], ...schema };
  if (field.type === 'string') {
    return {
      ...(field.enum ? { enum: field.enum } : { type: 'string' }),
      ...(field.pattern !== undefined ? { pattern: field.pattern } : {}),
      ...(field.maxLength !== undefined ? { maxLength: field.maxLength } : {}),
      ...schema,
    };
  }
  return { ...(field.type ? { type: field.type } : {}), ...schema };
}

export function optionalObject(action: string, params: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ActionParamError(action, name, 'must be an object');
  return v as Record<string, unknown>;
}

export function oneOf<T extends string>(action: string, params: Record<string, unknown>, name: string, allowed: readonly T[], fallback: T): T {
  const v = params[name] ?? fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ActionParamError(action, name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`, closestOf(typeof v === 'string' ? v : '', allowed, name));
  }
  return v as T;
}

export function bool(action: string, params: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const v = params[name] ?? fallback;
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (typeof v !== 'boolean') throw new ActionParamError(action, name, `must be true or false, got ${JSON.stringify(v)}`, `write ${name}: true or ${name}: false`);
  return v;
}

/** Drop undefined values (keeps bodies exact). */
export function compact<T extends Record<string, unknown>>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const key in o) if (o[key] !== undefined) out[key] = o[key];
  return out as T;
}

/** The client, or a permanent ActionError when there is none (dry run). */
export function clientOf(action: string, ctx: ActionContext): AgsApi {
  if (!ctx.ags) throw new ActionError(action, 'no AGS client (dry run, or AB_CLIENT_ID/AB_CLIENT_SECRET unset)', false);
  return ctx.ags;
}

/** An AGS request as a plan entry. */
export function planned(op: AgsRequest): PlannedRequest {
  return {
    operation: op.operation,
    method: op.method,
    path: op.path,
    ...(op.query ? { query: op.query } : {}),
    ...(op.body !== undefined ? { body: op.body } : {}),
  };
}

/** Send an AGS request with the event's abort signal. */
export function sendOp<T = unknown>(action: string, ctx: ActionContext, op: AgsRequest): Promise<T> {
  return clientOf(action, ctx).request<T>({
    ...op,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.inFlightSignal ? { inFlightSignal: ctx.inFlightSignal } : {}),
    logTo: () => ctx.logger,
  });
}

/** Short form of an id for summaries. */
export function short(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}...` : id;
}
