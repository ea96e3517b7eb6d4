/**
 * Load-time checks of action parameters by the action's own `normalize`: the
 * same function that checks them per event at run time, so load and run
 * cannot disagree.
 *
 * - Constant parameters (literals, `${env.X}` once the environment is known)
 *   are normalized as they are: every problem `normalize` would raise on
 *   every event is an error now (all of them, not only the first).
 * - A templated parameter is probed with values of the type it can hold: the
 *   proto type of the field a `${event...}` reads (a string field: `"x"`; an
 *   int32: `1`; an enum: each of its names; a message: `{}`...). When no value
 *   of that type passes, it is an error (an int32 into `duration`, a bool into
 *   `amount`, a message into `itemId`); when some do not (a string field into
 *   `amount`, a double into `quantity`), a warning: those events will be
 *   dead-lettered. `$logic` values, `google.protobuf.Value` fields and unset
 *   `${env.X}` are unknown: never reported.
 */
import type { Field, Type } from 'protobufjs';
import { ActionParamError } from '../actions/index.js';
import type { ActionContext, ActionDefinition } from '../actions/index.js';
import { wellKnownKind } from '../events/index.js';
import { silentLogger } from '../telemetry/index.js';
import { fieldsByJsonName } from './paths.js';
import type { PathSegment } from './source.js';
import { parseTemplate } from './template.js';

/** One problem of one action's parameters (path relative to the parameters). */
export interface ParamProblem {
  readonly path: readonly PathSegment[];
  readonly message: string;
  readonly fix?: string;
  readonly severity: 'error' | 'warning';
}

/** What a templated leaf can hold at run time. */
interface Kind {
  /** e.g. `a string field`. */
  readonly label: string;
  /** Values of the kind to try. */
  readonly probes: readonly unknown[];
  /** When every probe fails: error (no value of the kind can pass) or warning; `never` for unknown kinds. */
  readonly allFail: 'error' | 'warning' | 'never';
}

interface Leaf {
  readonly path: readonly PathSegment[];
  /** The reference as written (`${event.payload.level}`). */
  readonly written: string;
  readonly kind: Kind;
}

const UNKNOWN: Kind = { label: 'a value computed per event', probes: ['x', 1, true, {}, []], allFail: 'never' };
const STRING: Kind = { label: 'a string field', probes: ['x'], allFail: 'warning' };
const INTEGER: Kind = { label: 'an integer field', probes: [1], allFail: 'error' };
const FLOAT: Kind = { label: 'a floating-point field', probes: [1, 1.5], allFail: 'error' };
const BOOL: Kind = { label: 'a bool field', probes: [true, false], allFail: 'error' };
const OBJECT: Kind = { label: 'a message field', probes: [{}], allFail: 'error' };
const LIST: Kind = { label: 'a repeated field', probes: [[]], allFail: 'error' };

const INTEGER_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function asMessage(t: unknown): Type | undefined {
  return typeof t === 'object' && t !== null && Array.isArray((t as Type).fieldsArray) ? (t as Type) : undefined;
}

function kindOfMessage(type: Type): Kind {
  switch (wellKnownKind(type)) {
    case 'value':
    case 'any':
      return UNKNOWN;
    case 'struct':
    case 'empty':
      return { ...OBJECT, label: `a ${type.name} field` };
    case 'listValue':
      return { ...LIST, label: 'a ListValue field' };
    case 'timestamp':
      return { label: 'a Timestamp field', probes: ['2026-01-01T00:00:00Z'], allFail: 'error' };
    case 'duration':
      return { label: 'a Duration field', probes: ['1s'], allFail: 'warning' };
    case 'fieldMask':
      return STRING;
    case 'wrapper': {
      const value = type.fieldsArray.find((f) => f.id === 1);
      return value ? kindOfScalar(value) : UNKNOWN;
    }
    default:
      return OBJECT;
  }
}

function kindOfScalar(field: Field): Kind {
  if (!field.resolved) field.resolve();
  const message = asMessage(field.resolvedType);
  if (message) return kindOfMessage(message);
  const values = (field.resolvedType as { values?: Record<string, number> } | null)?.values;
  if (values) return { label: `an enum field (${field.resolvedType!.name})`, probes: Object.keys(values).slice(0, 32), allFail: 'error' };
  if (INTEGER_TYPES.has(field.type)) return { ...INTEGER, label: `an ${field.type} field` };
  if (field.type === 'double' || field.type === 'float') return { ...FLOAT, label: `a ${field.type} field` };
  if (field.type === 'bool') return BOOL;
  if (field.type === 'bytes') return { label: 'a bytes field', probes: ['eA=='], allFail: 'warning' };
  return STRING;
}

/** The kind of value `${event.<segments>}` reads, or UNKNOWN where the path leaves the proto (maps, Struct...). */
export function kindAt(type: Type | undefined, segments: readonly string[]): Kind {
  if (!type) return UNKNOWN;
  if (segments.length === 0) return OBJECT;
  let cur: Type = type;
  for (let i = 0; i < segments.length; i++) {
    if (cur.fullName.startsWith('.google.protobuf.')) return i === 0 ? kindOfMessage(cur) : UNKNOWN;
    const field = fieldsByJsonName(cur).get(segments[i]!);
    if (!field) return UNKNOWN;
    const last = i === segments.length - 1;
    if (field.map) return last ? { ...OBJECT, label: 'a map field' } : UNKNOWN;
    if (field.repeated) {
      if (last) return LIST;
      i++;
      if (i === segments.length - 1) return kindOfScalar(field);
    } else if (last) return kindOfScalar(field);
    if (!field.resolved) field.resolve();
    const next = asMessage(field.resolvedType);
    if (!next) return UNKNOWN;
    cur = next;
  }
  return UNKNOWN;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The parameters as written, split into a constant tree and its templated
 * leaves. `env` gives an env reference's value, or undefined when unknown
 * (unset without default while validating without the environment).
 */
export function splitParams(
  raw: Record<string, unknown>,
  type: Type | undefined,
  env: (name: string, fallback: string | undefined) => string | undefined,
): { base: Record<string, unknown>; leaves: Leaf[] } {
  const leaves: Leaf[] = [];
  const walk = (value: unknown, path: PathSegment[]): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('${')) return value;
      const { parts, problems } = parseTemplate(value);
      if (problems.length > 0) {
        leaves.push({ path, written: value, kind: UNKNOWN });
        return undefined;
      }
      let text = '';
      let unknown = false;
      const events = parts.filter((p) => typeof p !== 'string' && p.kind === 'event');
      for (const p of parts) {
        if (typeof p === 'string') text += p;
        else if (p.kind === 'env') {
          const v = env(p.name, p.default);
          if (v === undefined) unknown = true;
          else text += v;
        } else {
          const k = kindAt(type, p.path);
          const probe = k === UNKNOWN ? 'x' : k.probes[0];
          text += typeof probe === 'string' ? probe : JSON.stringify(probe);
        }
      }
      if (unknown) {
        leaves.push({ path, written: value, kind: UNKNOWN });
        return undefined;
      }
      if (events.length === 0) return text;
      const single = parts.length === 1 && events.length === 1 ? events[0]! : undefined;
      const kind = single && typeof single !== 'string' ? kindAt(type, single.path) : { ...STRING, label: 'text with event values', probes: [text] };
      leaves.push({ path, written: value, kind });
      return undefined;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (isObject(value)) {
      if (Object.keys(value).length === 1 && '$logic' in value) {
        leaves.push({ path, written: '$logic', kind: UNKNOWN });
        return undefined;
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, [...path, k]);
      return out;
    }
    return value;
  };
  return { base: walk(raw, []) as Record<string, unknown>, leaves };
}

/** A deep copy of plain data (what parsed YAML holds). */
function clonePlain<T>(v: T): T {
  if (Array.isArray(v)) return v.map(clonePlain) as T;
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k in v) out[k] = clonePlain(v[k]);
    return out as T;
  }
  return v;
}

/** `root` with the value at `path` replaced (undefined: removed); copies only along the path. */
function setAt(root: Record<string, unknown>, path: readonly PathSegment[], value: unknown): Record<string, unknown> {
  const put = (node: unknown, i: number): unknown => {
    if (i === path.length) return value;
    const seg = path[i]!;
    const copy = (Array.isArray(node) ? [...(node as unknown[])] : { ...(node as Record<string, unknown>) }) as Record<string | number, unknown>;
    const next = put(copy[seg], i + 1);
    if (next === undefined && i === path.length - 1 && !Array.isArray(copy)) delete copy[seg];
    else copy[seg] = next;
    return copy;
  };
  return put(root, 0) as Record<string, unknown>;
}

/** Does an error about `param` (`quantity`, `templateContext.level`, '') concern the parameter at `path`? */
function concerns(param: string, path: readonly PathSegment[]): boolean {
  if (param === '' || path.length === 0) return false;
  const dotted = path.join('.');
  return param === dotted || param === String(path[0]) || dotted.startsWith(`${param}.`) || param.startsWith(`${dotted}.`);
}

const REPAIRS: readonly unknown[] = [undefined, 1, 'x', '2026-01-01T00:00:00Z', 'P1D', true, {}, []];

/** A context for normalizing at load: the event's own userId when its message has one, `AB_NAMESPACE` or a placeholder. */
export function loadContext(type: Type | undefined, rule: string, namespace: string | undefined): ActionContext {
  const hasUserId = !type || fieldsByJsonName(type).has('userId');
  return {
    event: hasUserId ? { userId: 'event-user-id' } : {},
    eventName: type?.name ?? 'event',
    namespace: namespace !== undefined && namespace !== '' ? namespace : 'namespace',
    rule,
    idempotencyKey: 'load:check:0',
    // pino is loaded only if the action reads it (telemetry/logger.ts)
    get logger() {
      return silentLogger();
    },
    now: Date.now,
  };
}

/** How to give `userId` on an event whose message has no `userId` (33 of AGS's events: group, async messaging...). */
export function userIdFix(type: Type | undefined): string | undefined {
  if (!type || fieldsByJsonName(type).has('userId')) return undefined;
  const candidates = [...fieldsByJsonName(type).keys()].filter((k) => /user_?id$/i.test(k));
  return candidates.length > 0
    ? `this event has no userId: set it from one of its fields, e.g. userId: "\${event.${candidates[0]!}}" (${candidates.join(', ')})`
    : 'this event has no userId: set userId explicitly';
}

/** Every problem `def.normalize` would raise for these parameters, as far as load time can know. */
export function checkActionParams(
  def: ActionDefinition,
  base: Record<string, unknown>,
  leaves: readonly Leaf[],
  ctx: ActionContext,
  /** The per-event schema check (with its coercion, applied in place), as the run does before `normalize`. */
  schemaCheck: (params: Record<string, unknown>) => { param: string; message: string } | undefined = () => undefined,
  /** Parameters (dotted) whose problems are already reported (by the file schema): repaired silently. */
  skip: ReadonlySet<string> = new Set(),
): ParamProblem[] {
  const problems: ParamProblem[] = [];
  const attempt = (given: Record<string, unknown>): ActionParamError | undefined => {
    const params = clonePlain(given);
    const invalid = schemaCheck(params);
    if (invalid) return new ActionParamError(def.name, invalid.param, invalid.message);
    try {
      def.normalize(params, ctx);
      return undefined;
    } catch (err) {
      // anything else may come from the stand-in event (a custom action reading event fields): not a finding
      return err instanceof ActionParamError ? err : undefined;
    }
  };
  // leaves start at their first probe; each is then set to a probe that passes, if one does
  let params = base;
  for (const leaf of leaves) params = setAt(params, leaf.path, leaf.kind.probes[0]);

  // templated leaves
  for (const leaf of leaves) {
    const fails: ActionParamError[] = [];
    let passing: unknown;
    let passed = false;
    for (const probe of leaf.kind.probes) {
      const err = attempt(setAt(params, leaf.path, probe));
      if (err && concerns(err.param, leaf.path)) fails.push(err);
      else if (!passed) {
        passed = true;
        passing = probe;
      }
    }
    if (passed) params = setAt(params, leaf.path, passing);
    if (fails.length === 0 || leaf.kind.allFail === 'never') continue;
    const severity = passed ? 'warning' : leaf.kind.allFail;
    const first = fails[0]!;
    problems.push({
      path: leaf.path,
      severity,
      message: `${leaf.written} reads ${leaf.kind.label}: ${first.message}${severity === 'warning' ? ' (events with such a value will be dead-lettered)' : ' (for every event)'}`,
      fix: severity === 'error' ? `read a field of a fitting type, or compute the value with { $logic: ... }${first.fix ? `; ${first.fix}` : ''}` : (first.fix ?? 'make sure the field always holds a valid value'),
    });
  }

  // constant parameters: report, repair, and go on until normalize passes (every problem at once)
  const reported = new Set<string>(skip);
  for (let round = 0; round < 20; round++) {
    const err = attempt(params);
    if (!err) break;
    const path = err.param === '' ? [] : err.param.split('.');
    const key = err.param;
    // a leaf's problems were reported above (or it is unknown); a combination involving leaves may resolve otherwise per event
    const ofLeaf = err.param !== '' && leaves.some((l) => concerns(err.param, l.path));
    const known = [...reported].some((r) => r === key || (r !== '' && key.startsWith(`${r}.`)));
    if (!known && !ofLeaf) {
      reported.add(key);
      problems.push({ path, message: err.message, ...(err.fix !== undefined ? { fix: err.fix } : {}), severity: err.param === '' && leaves.length > 0 ? 'warning' : 'error' });
    }
    // repair: a value that passes, else one that fails on another parameter; a combination: drop one of the parameters
    const candidates = path.length > 0 ? REPAIRS.map((r) => setAt(params, path, r)) : Object.keys(params).map((k) => setAt(params, [k], undefined));
    const outcomes = candidates.map((p) => [p, attempt(p)] as const);
    const repaired =
      outcomes.find(([, e]) => e === undefined) ?? outcomes.find(([, e]) => e !== undefined && e.param !== key && e.param !== '') ?? outcomes.find(([, e]) => e !== undefined && e.param !== key);
    if (!repaired) break;
    params = repaired[0];
  }
  return problems;
}
