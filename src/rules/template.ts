/**
 * Parameter templating, compiled once at load into closures:
 * - `${event.a.b}` reads the decoded event (own properties only) per event;
 * - `${env.NAME}` / `${env.NAME:-default}` is substituted at load;
 * - a string that is exactly one reference keeps the value's type; references
 *   inside text become text (objects as JSON);
 * - `$${` is a literal `${`;
 * - `{ $logic: <JSON Logic> }` is a value computed per event;
 * - any other map or list stays literal, its strings templated.
 */
import { TemplateResolutionError } from './errors.js';
import type { CompiledLogic, LogicRun } from './logic.js';
import { splitFieldPath } from './paths.js';
import type { ProblemCode } from './problem-codes.js';

/** Path segments that could reach the prototype chain: refused everywhere. */
export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** One `${...}` found in a string. */
export type TemplateRef =
  | { readonly kind: 'event'; readonly raw: string; readonly path: readonly string[] }
  | { readonly kind: 'env'; readonly raw: string; readonly name: string; readonly default?: string };

/** A piece of a parsed string: literal text or a reference. */
export type TemplatePart = string | TemplateRef;

/** A syntax problem in one string (unclosed `${`, unknown namespace...). */
export interface TemplateSyntaxProblem {
  readonly message: string;
  readonly fix?: string;
  readonly code: ProblemCode;
}

const ENV_RE = /^env\.([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const EVENT_RE = /^event(?:\.(.+))?$/s;

/** Splits a string into literal text and references. Returns problems instead of throwing. */
export function parseTemplate(text: string): { parts: TemplatePart[]; problems: TemplateSyntaxProblem[] } {
  const parts: TemplatePart[] = [];
  const problems: TemplateSyntaxProblem[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      literal += '${';
      i += 3;
      continue;
    }
    if (text.startsWith('${', i)) {
      const end = text.indexOf('}', i + 2);
      if (end < 0) {
        problems.push({ code: 'template', message: `unclosed "\${" in "${text}"`, fix: 'close it with "}" or write "$${" for a literal "${"' });
        literal += text.slice(i);
        break;
      }
      const body = text.slice(i + 2, end).trim();
      i = end + 1;
      const env = ENV_RE.exec(body);
      const ev = EVENT_RE.exec(body);
      if (env) {
        if (literal) parts.push(literal);
        literal = '';
        parts.push(env[2] === undefined ? { kind: 'env', raw: body, name: env[1]! } : { kind: 'env', raw: body, name: env[1]!, default: env[2] });
      } else if (ev) {
        const path = ev[1] === undefined ? [] : splitFieldPath(ev[1]);
        if (path.some((s) => s === '')) {
          problems.push({ code: 'template', message: `"\${${body}}" has an empty path segment`, fix: 'write ${event.a.b}' });
          continue;
        }
        if (literal) parts.push(literal);
        literal = '';
        parts.push({ kind: 'event', raw: body, path });
      } else {
        const ns = body.split(/[.:]/)[0] ?? body;
        problems.push({
          code: 'template',
          message: `unknown reference "\${${body}}": "${ns}" is not a namespace`,
          fix: 'use ${event.<path>} or ${env.NAME} / ${env.NAME:-default}; write "$${" for a literal "${"',
        });
      }
      continue;
    }
    literal += text[i];
    i++;
  }
  if (literal || parts.length === 0) parts.push(literal);
  return { parts, problems };
}

/** Reads an own-property path from a decoded event; arrays take numeric segments. */
export function readPath(root: unknown, path: readonly string[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (!Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** A compiled parameter value: a constant, or a function of the event. */
export type CompiledValue = { readonly constant: true; readonly value: unknown } | { readonly constant: false; readonly resolve: (event: unknown, run?: LogicRun) => unknown };

/** A value as it is written into text: strings as they are, numbers/booleans/bigints in decimal, the rest as JSON. */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function missing(ref: string, value: unknown): never {
  throw new TemplateResolutionError(ref, value === null ? 'is null' : 'is not in the event');
}

/**
 * Compiles one string whose env references are already known. `env` resolves an
 * env reference to its value (the caller reports unset variables).
 */
export function compileString(parts: readonly TemplatePart[], env: (ref: Extract<TemplateRef, { kind: 'env' }>) => string): CompiledValue {
  // env references fold into literal text at load
  const folded: (string | readonly string[])[] = [];
  const refs: string[] = [];
  for (const p of parts) {
    const piece = typeof p === 'string' ? p : p.kind === 'env' ? env(p) : null;
    if (piece !== null) {
      const last = folded[folded.length - 1];
      if (typeof last === 'string') folded[folded.length - 1] = last + piece;
      else folded.push(piece);
    } else if (typeof p !== 'string' && p.kind === 'event') {
      folded.push(p.path);
      refs.push(p.raw);
    }
  }
  if (refs.length === 0) return { constant: true, value: folded[0] ?? '' };
  if (folded.length === 1) {
    const path = folded[0] as readonly string[];
    const ref = refs[0]!;
    return {
      constant: false,
      resolve: (event) => {
        const v = readPath(event, path);
        return v === undefined || v === null ? missing(ref, v) : v;
      },
    };
  }
  return {
    constant: false,
    resolve: (event) => {
      let out = '';
      let r = 0;
      for (const piece of folded) {
        if (typeof piece === 'string') out += piece;
        else {
          const v = readPath(event, piece);
          if (v === undefined || v === null) missing(refs[r]!, v);
          out += textOf(v);
          r++;
        }
      }
      return out;
    },
  };
}

/** Builds a compiled value of a list or map from compiled children (constants fold into one frozen value). */
export function compileContainer(entries: readonly (readonly [string | number, CompiledValue])[], isArray: boolean): CompiledValue {
  if (entries.every(([, v]) => v.constant)) {
    const value: Record<string, unknown> | unknown[] = isArray ? [] : {};
    for (const [k, v] of entries) (value as Record<string, unknown>)[k] = (v as { value: unknown }).value;
    return { constant: true, value: deepFreeze(value) };
  }
  if (isArray) {
    const items = entries.map(([, v]) => v);
    return { constant: false, resolve: (event, run) => items.map((v) => (v.constant ? v.value : v.resolve(event, run))) };
  }
  return {
    constant: false,
    resolve: (event, run) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of entries) out[k] = v.constant ? v.value : v.resolve(event, run);
      return out;
    },
  };
}

/** The first NaN or ±Infinity in a computed value, its lists included (iteratively: nesting is the data's). */
function nonFinite(value: unknown): number | undefined {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'number' && !Number.isFinite(v)) return v;
    if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
  }
  return undefined;
}

/** A `$logic` value: computed per event; null or undefined is an error, and so is NaN or ±Infinity anywhere in it. */
export function compileLogicValue(fn: CompiledLogic, where: string): CompiledValue {
  return {
    constant: false,
    resolve: (event, run) => {
      const v = fn(event, run);
      if (v === undefined || v === null) throw new TemplateResolutionError(where, 'computed nothing (null)');
      // json-logic-js arithmetic on a non-number gives NaN ("n/a" * 2): never sent as a parameter (JSON would write null),
      // nor inside a list ({"map": [list, {"*": [{"var": ""}, 2]}]})
      const bad = nonFinite(v);
      if (bad !== undefined) throw new TemplateResolutionError(where, `computed ${String(bad)}, not a number`);
      return v;
    },
  };
}

/** Freezes a constant value (exported for the rule compiler). */
export { deepFreeze };
