/**
 * AccelByte's OpenAPI 2.0 specs (`../shared/ags-openapi/*.json`) as a test
 * oracle: find the operation of a request captured on the wire by method and
 * path template, check its query / form parameters and its JSON body against
 * the operation's declared parameters and body schema, and an answer against
 * the operation's response schema. ajv validates; Swagger 2 schemas are read
 * as JSON Schema with three adaptations: `x-nullable: true` admits null,
 * AccelByte's generator writes Go's `interface{}` as a bare `{type: object}`
 * (read as any value wherever it is a field's or an element's schema), and the
 * formats `int32`, `int64`, `double`, `date-time` are checked.
 *
 * Absent `../shared` (a user's fresh clone), {@link specsPresent} is false and
 * the tests skip with a visible reason (`need(sharedFile('ags-openapi'))`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import { SHARED_DIR } from './prereq.js';

export const OPENAPI_DIR = resolve(SHARED_DIR, 'ags-openapi');

type Json = Record<string, unknown>;

export interface SpecParameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'body' | 'formData' | 'header';
  readonly required?: boolean;
  readonly type?: string;
  readonly enum?: readonly unknown[];
  readonly schema?: Json;
}

export interface SpecOperation {
  /** The spec file (`platform`). */
  readonly service: string;
  readonly operationId: string;
  readonly method: string;
  /** Full path template with the service's basePath (`/social/v2/admin/...`). */
  readonly template: string;
  readonly pattern: RegExp;
  readonly parameters: readonly SpecParameter[];
  readonly responses: Readonly<Record<string, { schema?: Json } | undefined>>;
  /** `x-security` user permissions, as written. */
  readonly permissions: readonly string[];
  readonly deprecated: boolean;
}

/** A request as captured by the AGS stand-in. */
export interface WireRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
  readonly rawBody: string;
}

export function specsPresent(): boolean {
  return existsSync(resolve(OPENAPI_DIR, 'platform.json'));
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Swagger 2 schema -> JSON Schema (draft-07) for ajv; `$ref`s point into the service's root schema. */
function adapt(schema: unknown, service: string, nested: boolean): unknown {
  if (Array.isArray(schema)) return schema.map((s) => adapt(s, service, nested));
  if (!isObj(schema)) return schema;
  if (typeof schema.$ref === 'string') return { $ref: `${service}${schema.$ref}` };
  // Go's interface{}: a bare {type: object} as a field's or an element's schema is any value
  if (nested && schema.type === 'object' && schema.properties === undefined && schema.additionalProperties === undefined) return {};
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith('x-') || k === 'example' || k === 'description' || k === 'title') continue;
    if (k === 'properties' && isObj(v)) out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, adapt(s, service, true)]));
    else if (k === 'items' || k === 'additionalProperties') out[k] = typeof v === 'boolean' ? v : adapt(v, service, true);
    else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') out[k] = adapt(v, service, false);
    else out[k] = v;
  }
  if (schema['x-nullable'] === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  return out;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

function makeAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('double', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  ajv.addFormat('float', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)) });
  return ajv;
}

/** The operations of every spec file, and validators of their bodies and answers. */
export class AgsOpenApi {
  readonly operations: SpecOperation[] = [];
  readonly #ajv = makeAjv();
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #definitions = new Map<string, Json>();

  constructor(dir: string = OPENAPI_DIR) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const service = file.replace(/\.json$/, '');
      const doc = JSON.parse(readFileSync(resolve(dir, file), 'utf8')) as Json;
      const base = typeof doc.basePath === 'string' && doc.basePath !== '/' ? doc.basePath : '';
      const definitions = isObj(doc.definitions) ? doc.definitions : {};
      this.#definitions.set(service, definitions);
      this.#ajv.addSchema({ $id: service, definitions: Object.fromEntries(Object.entries(definitions).map(([k, v]) => [k, adapt(v, service, false)])) });
      for (const [path, item] of Object.entries(isObj(doc.paths) ? doc.paths : {})) {
        if (!isObj(item)) continue;
        const shared = Array.isArray(item.parameters) ? (item.parameters as SpecParameter[]) : [];
        for (const [method, op] of Object.entries(item)) {
          if (!isObj(op) || typeof op.operationId !== 'string') continue;
          const template = base + path;
          const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '([^/]+)');
          const security = op['x-security'];
          const permissions: string[] = [];
          for (const s of Array.isArray(security) ? security : [security]) {
            if (!isObj(s)) continue;
            const p = s.userPermissions;
            for (const x of Array.isArray(p) ? p : [p]) if (typeof x === 'string') permissions.push(x);
          }
          this.operations.push({
            service,
            operationId: op.operationId,
            method: method.toUpperCase(),
            template,
            pattern: new RegExp(`^${source}$`),
            parameters: [...shared, ...(Array.isArray(op.parameters) ? (op.parameters as SpecParameter[]) : [])],
            responses: isObj(op.responses) ? (op.responses as SpecOperation['responses']) : {},
            permissions,
            deprecated: op.deprecated === true,
          });
        }
      }
    }
  }

  /** The operation a method and raw path address; the literal template wins over one with more parameters. */
  find(method: string, path: string): SpecOperation | undefined {
    const hits = this.operations.filter((o) => o.method === method && o.pattern.test(path));
    hits.sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
    return hits[0];
  }

  byId(operationId: string): SpecOperation | undefined {
    return this.operations.find((o) => o.operationId === operationId);
  }

  #validator(key: string, schema: unknown, service: string): ValidateFunction {
    let v = this.#validators.get(key);
    if (!v) {
      v = this.#ajv.compile(adapt(schema, service, false) as Json);
      this.#validators.set(key, v);
    }
    return v;
  }

  /** Everything about a captured request that the spec would refuse ([] when it conforms). */
  checkRequest(req: WireRequest): string[] {
    const op = this.find(req.method, req.path);
    if (!op) return [`${req.method} ${req.path}: no operation of the specs has this method and path`];
    const where = `${op.operationId} (${req.method} ${op.template})`;
    const problems: string[] = [];
    const m = op.pattern.exec(req.path)!;
    const pathNames = [...op.template.matchAll(/\{(\w+)\}/g)].map((x) => x[1]!);
    pathNames.forEach((name, i) => {
      const declared = op.parameters.find((p) => p.in === 'path' && p.name === name);
      if (!declared) problems.push(`${where}: path parameter {${name}} is not declared`);
      const raw = m[i + 1]!;
      let value: string;
      try {
        value = decodeURIComponent(raw);
      } catch {
        problems.push(`${where}: path parameter {${name}} is not valid percent-encoding: ${raw}`);
        return;
      }
      if (value === '') problems.push(`${where}: path parameter {${name}} is empty`);
    });
    const form = req.headers['content-type']?.toString().startsWith('application/x-www-form-urlencoded');
    const sources: Array<readonly [string, Readonly<Record<string, unknown>>]> = [['query', req.query]];
    if (form) sources.push(['formData', isObj(req.body) ? req.body : {}]);
    for (const [inWhat, values] of sources) {
      const declared = op.parameters.filter((p) => p.in === inWhat);
      for (const [name, value] of Object.entries(values)) {
        const d = declared.find((p) => p.name === name);
        if (!d) {
          problems.push(`${where}: ${inWhat} parameter "${name}" is not declared (declared: ${declared.map((p) => p.name).join(', ') || 'none'})`);
          continue;
        }
        problems.push(...checkScalar(`${where}: ${inWhat} parameter "${name}"`, d, String(value)));
      }
      for (const d of declared) if (d.required && values[d.name] === undefined) problems.push(`${where}: required ${inWhat} parameter "${d.name}" is missing`);
    }
    const body = op.parameters.find((p) => p.in === 'body');
    if (!body) {
      if (req.rawBody !== '' && !form) problems.push(`${where}: the operation takes no body, one was sent`);
    } else if (req.rawBody === '') {
      if (body.required) problems.push(`${where}: the body is required`);
    } else {
      const v = this.#validator(`${op.operationId}:body`, body.schema ?? {}, op.service);
      if (!v(req.body)) for (const e of v.errors ?? []) problems.push(`${where}: body${e.instancePath} ${e.message ?? 'invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
    }
    return problems;
  }

  /** Everything about an answer that its operation's response schema would refuse ([] when it conforms, or for undeclared statuses). */
  checkResponse(operationId: string, status: number, body: unknown): string[] {
    const op = this.byId(operationId);
    if (!op) return [`no operation ${operationId} in the specs`];
    const declared = op.responses[String(status)];
    if (!declared) return [`${operationId}: status ${status} is not a documented answer (${Object.keys(op.responses).join(', ')})`];
    if (!declared.schema) return body === undefined || body === '' ? [] : [`${operationId}: status ${status} documents no body, one was sent`];
    const v = this.#validator(`${operationId}:${status}`, declared.schema, op.service);
    if (v(body)) return [];
    return (v.errors ?? []).map((e) => `${operationId} answer ${status}: body${e.instancePath} ${e.message ?? 'invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
  }

  /** The properties a response schema declares at a path of property names (`[]`: the root; array levels are skipped). */
  declaredProperties(operationId: string, status: number, path: readonly string[]): Set<string> | undefined {
    const op = this.byId(operationId);
    const declared = op?.responses[String(status)];
    if (!op || !declared?.schema) return undefined;
    let schema: Json | undefined = this.#resolve(op.service, declared.schema);
    for (const seg of path) {
      if (!schema) return undefined;
      const props: Json = isObj(schema.properties) ? schema.properties : {};
      const next = props[seg];
      schema = isObj(next) ? this.#resolve(op.service, next) : undefined;
    }
    return schema && isObj(schema.properties) ? new Set(Object.keys(schema.properties)) : undefined;
  }

  /** A schema with `$ref`s and array levels followed. */
  #resolve(service: string, schema: Json): Json | undefined {
    let s: Json | undefined = schema;
    for (let i = 0; s && i < 10; i++) {
      if (typeof s.$ref === 'string') {
        const def: unknown = this.#definitions.get(service)?.[s.$ref.replace('#/definitions/', '')];
        s = isObj(def) ? def : undefined;
        continue;
      }
      if (s.type === 'array' && isObj(s.items)) {
        s = s.items;
        continue;
      }
      return s;
    }
    return s;
  }
}

function checkScalar(where: string, p: SpecParameter, value: string): string[] {
  const problems: string[] = [];
  if (p.enum && !p.enum.map(String).includes(value)) problems.push(`${where}: ${JSON.stringify(value)} is not one of ${p.enum.join(', ')}`);
  if ((p.type === 'integer' && !/^-?\d+$/.test(value)) || (p.type === 'number' && !Number.isFinite(Number(value))) || (p.type === 'boolean' && value !== 'true' && value !== 'false')) {
    problems.push(`${where}: ${JSON.stringify(value)} is not a ${p.type}`);
  }
  if (value === '' && p.required) problems.push(`${where}: is empty`);
  return problems;
}
