/**
 * Typed topics: an optional JSON Schema per topic, `topics/NAME.schema.json`
 * beside the rules file, types the `body` of `on: { topic: NAME }` rules for
 * `validate`: a path into `body` that the schema does not have is reported
 * with did-you-mean, and a path into a scalar is reported with its type, by
 * the same checks as AGS events' fields (src/rules/paths.ts). The schema is
 * read as a protobuf message type: `object` with `properties` -> a message
 * (each property a field, json name as written), `array` -> a repeated field
 * of its `items`, `string`/`integer`/`number`/`boolean` -> string/int64/
 * double/bool, an object without `properties` -> `google.protobuf.Struct`
 * (any key), anything else (no `type`, several types, `anyOf`...) ->
 * `google.protobuf.Value` (any value, any sub-path).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';
import type * as AjvModule from 'ajv/dist/2020.js';
import type { Ajv2020, ValidateFunction } from 'ajv/dist/2020.js';

/** The folder of topic schemas, beside the rules file. */
export const TOPICS_FOLDER = 'topics';

/** A topic's schema as read: the event type (body typed), or why the file could not be used. */
export interface TopicSchema {
  /** The topic event's type with `body` typed; undefined when there is no schema or it is unusable. */
  readonly type?: Type;
  /** The schema file. */
  readonly file: string;
  /** Why the file is unusable (not JSON, not an object schema). */
  readonly problem?: string;
  /** The schema as parsed (when it is usable). */
  readonly schema?: Readonly<Record<string, unknown>>;
}

type Schema = Record<string, unknown>;

const SCALARS: Readonly<Record<string, string>> = { string: 'string', integer: 'int64', number: 'double', boolean: 'bool' };

function pascal(name: string): string {
  const s = name.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : '')).replace(/^[a-z]/, (c) => c.toUpperCase());
  return /^[A-Za-z]/.test(s) ? s : `T${s}`;
}

/** Builds the message type of an object schema into `ns`; returns its name. */
function messageOf(schema: Schema, name: string, ns: protobuf.Namespace): string {
  const t = new protobuf.Type(name);
  ns.add(t);
  const props = schema.properties as Record<string, unknown>;
  let id = 1;
  for (const [prop, sub] of Object.entries(props)) {
    const s = (sub && typeof sub === 'object' ? sub : {}) as Schema;
    let repeated = false;
    let item = s;
    if (s.type === 'array') {
      repeated = true;
      item = (s.items && typeof s.items === 'object' ? s.items : {}) as Schema;
    }
    const fieldType = fieldTypeOf(item, `${name}${pascal(prop)}`, ns);
    t.add(new protobuf.Field(`f${id}`, id, fieldType, repeated ? 'repeated' : undefined, undefined, { json_name: prop }));
    id++;
  }
  return name;
}

function fieldTypeOf(s: Schema, name: string, ns: protobuf.Namespace): string {
  if (typeof s.type === 'string' && SCALARS[s.type]) return SCALARS[s.type]!;
  if (s.type === 'object' || (s.type === undefined && s.properties !== undefined)) {
    if (s.properties && typeof s.properties === 'object' && Object.keys(s.properties).length > 0) return messageOf(s, name, ns);
    return 'google.protobuf.Struct';
  }
  return 'google.protobuf.Value';
}

/** The topic event type with `body` typed by `schema`. Throws on a schema that is not usable. */
export function typedTopicEventType(topic: string, schema: unknown): Type {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) throw new Error('the schema is not a JSON object');
  const root = new protobuf.Root();
  root.addJSON(protobuf.common.get('google/protobuf/struct.proto')!.nested!);
  const ns = root.define('extend_event_rules.topics.v1');
  const bodyType = fieldTypeOf(schema as Schema, `${pascal(topic)}Body`, ns);
  const event = new protobuf.Type(`${pascal(topic)}Message`);
  event.add(new protobuf.Field('id', 1, 'string'));
  event.add(new protobuf.Field('topic', 2, 'string'));
  event.add(new protobuf.MapField('metadata', 3, 'string', 'string'));
  event.add(new protobuf.Field('body', 4, bodyType));
  event.add(new protobuf.Field('bodyText', 5, 'string'));
  ns.add(event);
  root.resolveAll();
  return event;
}

/** The schema of `topic` in `dir` (`<dir>/<topic>.schema.json`), read now; null when there is none. */
export function topicSchema(dir: string, topic: string): TopicSchema | null {
  const file = join(dir, `${topic}.schema.json`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const schema = JSON.parse(text) as Record<string, unknown>;
    return { file, type: typedTopicEventType(topic, schema), schema };
  } catch (err) {
    return { file, problem: err instanceof Error ? err.message : String(err) };
  }
}

/** One place where a body does not fit its topic's schema. */
export interface BodyProblem {
  /** JSON pointer into the body (`/userId`; '' for the body itself). */
  readonly pointer: string;
  /** What is wrong (ajv's words: `must be string`, `must have required property 'userId'`). */
  readonly message: string;
}

let bodyAjv: Ajv2020 | undefined;
const bodyValidators = new WeakMap<object, ValidateFunction | Error>();

/**
 * The places where `body` does not fit `schema` (JSON Schema, checked by ajv;
 * its `$schema` is ignored: drafts 7 to 2020-12 read the same for the keywords
 * topic schemas use). `unknownAt` names pointers whose value is not known yet
 * (a `${event...}` template): problems at or under them are not reported.
 * Throws when the schema does not compile.
 */
export function topicBodyProblems(schema: Readonly<Record<string, unknown>>, body: unknown, unknownAt: readonly string[] = []): BodyProblem[] {
  let v = bodyValidators.get(schema);
  if (!v) {
    // ajv's compiler, loaded on the first typed topic's body (about 0.1 CPU s a start without one never spends)
    bodyAjv ??= new (createRequire(import.meta.url)('ajv/dist/2020.js') as typeof AjvModule).Ajv2020({ allErrors: true, strict: false, validateSchema: false });
    const { $schema: _s, $id: _i, ...rest } = schema;
    try {
      v = bodyAjv.compile(rest);
    } catch (err) {
      v = err instanceof Error ? err : new Error(String(err));
    }
    bodyValidators.set(schema, v);
  }
  if (v instanceof Error) throw v;
  if (v(body)) return [];
  const unknown = (p: string): boolean => unknownAt.some((u) => p === u || p.startsWith(`${u}/`) || u === '');
  const out: BodyProblem[] = [];
  for (const e of v.errors ?? []) {
    const missing = e.keyword === 'required' ? (e.params as { missingProperty?: string }).missingProperty : undefined;
    // a required property that a template supplies is not missing; a type at a template's place is not known yet
    if (unknown(e.instancePath) || (missing !== undefined && unknown(`${e.instancePath}/${missing}`))) continue;
    const message = e.message ?? 'is invalid';
    if (!out.some((o) => o.pointer === e.instancePath && o.message === message)) out.push({ pointer: e.instancePath, message });
  }
  return out;
}

/** Every usable topic schema of `dir` (`NAME.schema.json`), by topic, sorted; none without the folder. Unusable files are left out (`validate` reports them). */
export function topicSchemas(dir: string): Record<string, Readonly<Record<string, unknown>>> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.schema.json') && f.length > '.schema.json'.length).sort();
  } catch {
    return {};
  }
  const out: Record<string, Readonly<Record<string, unknown>>> = {};
  for (const f of files) {
    const topic = f.slice(0, -'.schema.json'.length);
    const read = topicSchema(dir, topic);
    if (read?.schema) out[topic] = read.schema;
  }
  return out;
}
