/**
 * Helpers shared by the built-in actions: parameter reading, the user and
 * namespace defaults, the schema fragments they repeat.
 */
import type { AgsClient } from '../../ags/client.js';
import { pathSegmentProblem } from '../../ags/errors.js';
import type { AgsRequest } from '../../ags/types.js';
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

/** An integer >= min (strings of digits accepted: templates resolve to strings). */
export function integer(action: string, params: Record<string, unknown>, name: string, fallback: number | undefined, min = 1): number {
  const raw = params[name] ?? fallback;
  if (raw === undefined) throw new ActionParamError(action, name, 'is required');
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new ActionParamError(action, name, `must be an integer, got ${JSON.stringify(raw)}`);
  if (n < min) throw new ActionParamError(action, name, `must be >= ${min}, got ${n}`);
  return n;
}

/** A finite number (numeric strings accepted). */
export function number(action: string, params: Record<string, unknown>, name: string): number {
  const raw = params[name];
  if (raw === undefined) throw new ActionParamError(action, name, 'is required');
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new ActionParamError(action, name, `must be a number, got ${JSON.stringify(raw)}`);
  return n;
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
    throw new ActionParamError(action, name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

export function bool(action: string, params: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const v = params[name] ?? fallback;
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (typeof v !== 'boolean') throw new ActionParamError(action, name, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Drop undefined values (keeps bodies exact). */
export function compact<T extends Record<string, unknown>>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const key in o) if (o[key] !== undefined) out[key] = o[key];
  return out as T;
}

/** The client, or a permanent ActionError when there is none (dry run). */
export function clientOf(action: string, ctx: ActionContext): AgsClient {
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
