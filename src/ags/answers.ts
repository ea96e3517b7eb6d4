/**
 * Reading an AGS success answer. Each operation declares its 2xx answers in
 * AccelByte's OpenAPI specs ({@link SPEC_ANSWERS}, generated): no body, or a
 * JSON object or array with the fields the spec requires (and, in an object's
 * required arrays such as a page's `data`, the fields their items require). An answer of another
 * shape (a body cut short, not JSON, another content type, a declared field of another JSON type or
 * missing, an AGS error body `{errorCode, errorMessage}` under a 2xx status; another body where none
 * is declared is fine) cannot be read: the request
 * reached AGS, so its effect is unknown. The caller (`http-caller.ts`) treats
 * it as a lost answer: retried when the operation is idempotent, otherwise an
 * outcome-unknown error that the action reconciles through its lookup or that
 * ends as an `unknown-outcome` dead letter; never "AGS did nothing".
 */
import type { IncomingHttpHeaders } from 'node:http';
import { SPEC_ANSWERS } from './generated/spec-constraints.js';
import { redactAndCut } from '../telemetry/index.js';

/** One declared success answer (see {@link SPEC_ANSWERS}). */
interface DeclaredAnswer {
  readonly body: string;
  readonly required?: readonly string[];
  /** The JSON type of the required fields whose type the spec states (`number` for integers too). */
  readonly types?: Readonly<Record<string, string>>;
  readonly itemsRequired?: readonly string[];
  /** As {@link DeclaredAnswer.types}, for an array's items. */
  readonly itemsTypes?: Readonly<Record<string, string>>;
  /** Of an object body: its required array fields (a page's `data`) and the fields their items require. */
  readonly fieldItemsRequired?: Readonly<Record<string, readonly string[]>>;
}

const DECLARED: Readonly<Record<string, Readonly<Record<string, DeclaredAnswer>> | undefined>> = SPEC_ANSWERS;

/** A readable answer (`body`: the parsed JSON, undefined when empty) or why it cannot be read. */
export type AnswerReading = { readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly problem: string };

/** Does the operation declare its success answers (is it checked by {@link readAnswer})? */
export function declaresAnswer(operation: string): boolean {
  return DECLARED[operation] !== undefined;
}

function isJsonContentType(value: string | string[] | undefined): boolean {
  const v = (Array.isArray(value) ? value[0] : value)?.split(';')[0]?.trim().toLowerCase();
  return v === undefined || v === '' || v === 'application/json' || v.endsWith('+json');
}

const NONE_MISSING: readonly string[] = [];

/** The `required` fields `value` lacks (the usual none: nothing allocated). */
function missing(value: unknown, required: readonly string[] | undefined): readonly string[] {
  if (!required) return NONE_MISSING;
  const o = value as Record<string, unknown>;
  for (const k of required) if (o[k] === undefined) return required.filter((r) => o[r] === undefined);
  return NONE_MISSING;
}

/** JSON type names, as the spec writes them (`integer` read as `number`). */
function jsonType(v: unknown): string {
  return Array.isArray(v) ? 'array' : typeof v;
}

/**
 * The first field of `value` (`types`: declared field -> JSON type) whose value is of another JSON type
 * (`owned: "false"`, `currentValue: "12"`), as a problem; undefined when none. Null is accepted: Go
 * writes a nil slice, map or pointer so, and the reader of the field decides.
 */
function mistyped(value: unknown, types: Readonly<Record<string, string>> | undefined, what: string): string | undefined {
  if (!types) return undefined;
  const o = value as Record<string, unknown>;
  for (const k in types) {
    const v = o[k];
    if (v === undefined || v === null) continue;
    const t = jsonType(v);
    if (t !== types[k]) return `${what}${k} is ${describeJson(v)} instead of ${types[k] === 'array' || types[k] === 'object' ? 'an' : 'a'} ${types[k]}`;
  }
  return undefined;
}

/**
 * Reads a 2xx answer of `operation` against its declared shape. Operations
 * without a declaration (custom ones) are parsed leniently: JSON when it
 * parses, else the text. `status` not declared: the shape of the operation's
 * declared answer with a body, if any (a body must then be readable).
 */
export function readAnswer(operation: string, status: number, headers: IncomingHttpHeaders, text: string): AnswerReading {
  const declared = DECLARED[operation];
  if (declared === undefined) return { ok: true, body: lenient(text) };
  const shape = declared[String(status)] ?? Object.values(declared).find((d) => d.body !== 'none');
  if (shape === undefined || shape.body === 'none') {
    const body = lenient(text);
    return isErrorBody(body) ? { ok: false, problem: errorBodyProblem(body) } : { ok: true, body };
  }
  if (!isJsonContentType(headers['content-type'])) return { ok: false, problem: `content type ${JSON.stringify(String(headers['content-type']))} instead of JSON` };
  if (text === '') return { ok: false, problem: 'an empty body instead of JSON' };
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    return { ok: false, problem: `a body that is not JSON (${text.length} characters, cut short or not JSON)` };
  }
  if (shape.body === 'array') {
    if (!Array.isArray(body)) return { ok: false, problem: `${describeJson(body)} instead of an array` };
    const problem = itemsProblem(body, shape.itemsRequired, 'item', shape.itemsTypes);
    return problem === undefined ? { ok: true, body } : { ok: false, problem };
  }
  if (shape.body === 'object') {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, problem: `${describeJson(body)} instead of an object` };
    if (isErrorBody(body)) return { ok: false, problem: errorBodyProblem(body) };
    const gone = missing(body, shape.required);
    if (gone.length > 0) return { ok: false, problem: `the declared field(s) ${gone.join(', ')} missing` };
    const wrong = mistyped(body, shape.types, 'the declared field ');
    if (wrong !== undefined) return { ok: false, problem: wrong };
    if (shape.fieldItemsRequired) for (const [field, required] of Object.entries(shape.fieldItemsRequired)) {
      const list = (body as Record<string, unknown>)[field];
      if (!Array.isArray(list)) return { ok: false, problem: `${field} is ${describeJson(list)} instead of an array` };
      const problem = itemsProblem(list, required, `${field} item`);
      if (problem !== undefined) return { ok: false, problem };
    }
  }
  return { ok: true, body };
}

/**
 * AGS's error body (`{errorCode, errorMessage}`, ../shared/docs/ags-rest.md) under a 2xx status: no
 * success schema of the operations read here has these fields, so a proxy or gateway rewrote the status
 * (or AGS failed after its headers) and the answer is no success.
 */
function isErrorBody(body: unknown): body is { errorCode: unknown; errorMessage: string } {
  if (body === null || typeof body !== 'object') return false;
  const b = body as Record<string, unknown>;
  return (typeof b.errorCode === 'number' || typeof b.errorCode === 'string') && typeof b.errorMessage === 'string';
}

function errorBodyProblem(body: { errorCode: unknown; errorMessage: string }): string {
  return `an AGS error body (errorCode ${String(body.errorCode)}: ${JSON.stringify(redactAndCut(body.errorMessage, 200, '...'))})`;
}

/** Why an item of `list` cannot be read (not an object, a declared field missing or of another type), or undefined. */
function itemsProblem(list: readonly unknown[], required: readonly string[] | undefined, what: string, types?: Readonly<Record<string, string>>): string | undefined {
  for (const [i, item] of list.entries()) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return `${what} ${i} is ${describeJson(item)} instead of an object`;
    const gone = missing(item, required);
    if (gone.length > 0) return `${what} ${i} lacks the declared field(s) ${gone.join(', ')}`;
    const wrong = mistyped(item, types, `${what} ${i}'s `);
    if (wrong !== undefined) return wrong;
  }
  return undefined;
}

function describeJson(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** JSON when it parses, else the text (cut to 2000 characters); undefined when empty. */
function lenient(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return redactAndCut(text, 2000, '...'); // redacted first: a secret across the cut is not kept in part
  }
}
