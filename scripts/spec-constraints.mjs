#!/usr/bin/env node
/**
 * Extracts, from AccelByte's OpenAPI specs (../shared/ags-openapi/*.json), what
 * the actions' parameters must respect for each AGS operation they call:
 * method, path, documented permissions, query parameters, and the body's
 * fields with their types, formats, enums, ranges, patterns and required
 * lists (`$ref`s resolved), plus the item types grantUserEntitlement supports
 * (from its description). Writes src/ags/generated/spec-constraints.ts, which the action
 * schemas and checks read, so the two cannot drift; a test regenerates it and
 * compares whenever ../shared is present.
 *
 *   node scripts/spec-constraints.mjs            # write src/ags/generated/spec-constraints.ts
 *   node scripts/spec-constraints.mjs --check    # exit 1 when the committed file differs
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_SPEC_DIR = resolve(ROOT, '..', 'shared', 'ags-openapi');
export const OUTPUT = resolve(ROOT, 'src', 'ags', 'generated', 'spec-constraints.ts');

/** The operations the actions call, by spec file. */
export const OPERATIONS = {
  platform: ['fulfillItem', 'fulfillItemsV3', 'grantUserEntitlement', 'creditUserWallet'],
  social: ['updateUserStatItemValue'],
  achievement: ['AdminUnlockAchievement'],
  lobby: ['sendSpecificUserFreeformNotificationV1Admin', 'sendSpecificUserTemplatedNotificationV1Admin'],
  iam: ['AdminBanUserV3'],
  seasonpass: ['grantUserExp'],
  cloudsave: ['adminPutPlayerRecordHandlerV1', 'adminPostPlayerRecordHandlerV1'],
};

/**
 * The operations whose success answers the client checks (see `answerOf`): the actions' operations
 * plus the reconciliation lookups, the rules' fact lookups (src/ags/facts.ts; the Group service's,
 * not among these specs, reads its answer itself) and the state store's Cloud Save admin records.
 */
export const ANSWER_OPERATIONS = {
  ...OPERATIONS,
  platform: [
    ...OPERATIONS.platform,
    'queryFulfillmentHistories',
    'listUserCurrencyTransactions',
    'getUserEntitlementOwnershipByItemId',
    'queryUserCurrencyWallets',
  ],
  social: [...OPERATIONS.social, 'getUserStatItems'],
  basic: ['getUserProfileInfo'],
  iam: [...OPERATIONS.iam, 'AdminGetUserByUserIdV3'],
  cloudsave: [
    ...OPERATIONS.cloudsave,
    'adminGetAdminPlayerRecordV1',
    'bulkGetAdminPlayerRecordByUserIdsV1',
    'adminPutAdminPlayerRecordConcurrentHandlerV1',
    'adminDeleteAdminPlayerRecordV1',
    'adminGetAdminGameRecordV1',
    'adminPutAdminGameRecordConcurrentHandlerV1',
    'adminDeleteAdminGameRecordV1',
  ],
};

const KEEP = ['type', 'format', 'enum', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems'];
const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

function summarize(schema, definitions, depth) {
  let s = schema;
  const seen = new Set();
  while (isObj(s) && typeof s.$ref === 'string' && !seen.has(s.$ref)) {
    seen.add(s.$ref);
    s = definitions[s.$ref.replace('#/definitions/', '')];
  }
  if (!isObj(s)) return {};
  const out = {};
  for (const k of KEEP) if (s[k] !== undefined) out[k] = k === 'enum' ? [...s[k]].sort() : s[k];
  if (s['x-nullable'] === true) out.nullable = true;
  if (Array.isArray(s.required) && s.required.length) out.required = [...s.required].sort();
  if (depth < 4 && isObj(s.properties)) {
    out.properties = {};
    for (const k of Object.keys(s.properties).sort()) out.properties[k] = summarize(s.properties[k], definitions, depth + 1);
    if (!out.type) out.type = 'object';
  }
  if (depth < 4 && isObj(s.items)) out.items = summarize(s.items, definitions, depth + 1);
  if (depth < 4 && isObj(s.additionalProperties)) out.additionalProperties = summarize(s.additionalProperties, definitions, depth + 1);
  return out;
}

function permissionsOf(op) {
  const out = [];
  const sec = op['x-security'];
  for (const s of Array.isArray(sec) ? sec : [sec]) {
    if (!isObj(s)) continue;
    for (const p of Array.isArray(s.userPermissions) ? s.userPermissions : [s.userPermissions]) if (typeof p === 'string') out.push(p);
  }
  return out;
}

/** Item types named in an operation description's "Support Item Types" list. */
function supportedItemTypes(description) {
  const text = String(description ?? '').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  const m = /Support Item Types:(.*?)<\/ul>/s.exec(text);
  return m ? [...m[1].matchAll(/<i>([A-Z_]+)<\/i>/g)].map((x) => x[1]) : undefined;
}

function resolveRef(schema, definitions) {
  let s = schema;
  const seen = new Set();
  while (isObj(s) && typeof s.$ref === 'string' && !seen.has(s.$ref)) {
    seen.add(s.$ref);
    s = definitions[s.$ref.replace('#/definitions/', '')];
  }
  return isObj(s) ? s : undefined;
}

/**
 * For each required top-level field of an object schema that is an array of objects (a page's
 * `data`), the fields its items require: an entry without them cannot be read (a lookup would take
 * it for another effect's and answer "not applied").
 */
function nestedItemsRequired(schema, definitions) {
  const out = {};
  const required = Array.isArray(schema.required) ? schema.required : [];
  for (const name of [...required].sort()) {
    const prop = resolveRef(schema.properties?.[name], definitions);
    if (prop?.type !== 'array') continue;
    const items = resolveRef(prop.items, definitions);
    if (items && Array.isArray(items.required) && items.required.length) out[name] = [...items.required].sort();
  }
  return out;
}

/**
 * The JSON type of each required field of an object schema whose type the spec states (`boolean`,
 * `string`, `number` for integer and number, `array`, `object`): a value of another type cannot be
 * read as that field (`"false"` is not `owned: false`). Null is left to the reader (Go's nil slice).
 */
function requiredTypes(schema, definitions) {
  const out = {};
  const required = Array.isArray(schema.required) ? schema.required : [];
  for (const name of [...required].sort()) {
    const prop = resolveRef(schema.properties?.[name], definitions);
    const t = prop?.type ?? (isObj(prop?.properties) ? 'object' : undefined);
    if (t === 'boolean' || t === 'string' || t === 'array' || t === 'object') out[name] = t;
    else if (t === 'integer' || t === 'number') out[name] = 'number';
  }
  return out;
}

/**
 * The declared success answers of an operation, by 2xx status: `none` (no body declared), or the
 * body's JSON type with the top-level fields the spec requires (and, for an array, its items').
 */
function answerOf(op, definitions) {
  const out = {};
  for (const [code, response] of Object.entries(op.responses ?? {})) {
    const status = Number(code);
    if (!(status >= 200 && status < 300)) continue;
    const schema = resolveRef(response?.schema, definitions);
    if (!schema) {
      out[code] = { body: 'none' };
      continue;
    }
    const type = schema.type ?? (isObj(schema.properties) ? 'object' : undefined);
    const items = type === 'array' ? resolveRef(schema.items, definitions) : undefined;
    const nested = type === 'object' ? nestedItemsRequired(schema, definitions) : {};
    const types = type === 'object' ? requiredTypes(schema, definitions) : {};
    const itemsTypes = items ? requiredTypes(items, definitions) : {};
    out[code] = {
      body: type ?? 'any',
      ...(Array.isArray(schema.required) && schema.required.length ? { required: [...schema.required].sort() } : {}),
      ...(Object.keys(types).length ? { types } : {}),
      ...(items && Array.isArray(items.required) && items.required.length ? { itemsRequired: [...items.required].sort() } : {}),
      ...(Object.keys(itemsTypes).length ? { itemsTypes } : {}),
      ...(Object.keys(nested).length ? { fieldItemsRequired: nested } : {}),
    };
  }
  return out;
}

/** The declared success answers of every operation in {@link ANSWER_OPERATIONS}, read from `dir`. */
export function extractAnswers(dir = DEFAULT_SPEC_DIR) {
  const result = {};
  for (const [service, ids] of Object.entries(ANSWER_OPERATIONS)) {
    const doc = JSON.parse(readFileSync(resolve(dir, `${service}.json`), 'utf8'));
    const definitions = doc.definitions ?? {};
    for (const id of ids) {
      let found;
      for (const item of Object.values(doc.paths)) for (const op of Object.values(item)) if (isObj(op) && op.operationId === id) found = op;
      if (!found) throw new Error(`operation ${id} not found in ${service}.json`);
      result[id] = answerOf(found, definitions);
    }
  }
  return result;
}

/** The constraints of every operation in {@link OPERATIONS}, read from `dir`. Throws when one is missing. */
export function extract(dir = DEFAULT_SPEC_DIR) {
  const result = {};
  for (const [service, ids] of Object.entries(OPERATIONS)) {
    const doc = JSON.parse(readFileSync(resolve(dir, `${service}.json`), 'utf8'));
    const base = typeof doc.basePath === 'string' && doc.basePath !== '/' ? doc.basePath : '';
    const definitions = doc.definitions ?? {};
    for (const id of ids) {
      let found;
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) if (isObj(op) && op.operationId === id) found = { path: base + path, method: method.toUpperCase(), op };
      }
      if (!found) throw new Error(`operation ${id} not found in ${service}.json`);
      const params = found.op.parameters ?? [];
      const query = {};
      for (const p of params.filter((x) => x.in === 'query')) query[p.name] = { type: p.type, required: p.required === true, ...(p.enum ? { enum: [...p.enum].sort() } : {}) };
      const body = params.find((x) => x.in === 'body');
      const items = supportedItemTypes(found.op.description);
      result[id] = {
        service,
        method: found.method,
        path: found.path,
        permissions: permissionsOf(found.op),
        query,
        ...(body ? { bodyRequired: body.required === true, body: summarize(body.schema, definitions, 0) } : {}),
        ...(items ? { supportedItemTypes: items } : {}),
      };
    }
  }
  return result;
}

/** The TypeScript module text for `constraints`. */
export function render(constraints, answers = extractAnswers()) {
  return `/**
 * GENERATED by scripts/spec-constraints.mjs from AccelByte's OpenAPI specs
 * (../shared/ags-openapi): do not edit. Regenerate with
 * \`node scripts/spec-constraints.mjs\`; test/ags/spec-constraints.test.ts fails
 * when this file and the specs disagree.
 *
 * For each AGS operation the actions call: method, path template, documented
 * permissions, query parameters, and the body schema's fields (types, formats,
 * enums, ranges, patterns, required lists; \`$ref\`s resolved).
 */
export const SPEC_OPERATIONS = ${JSON.stringify(constraints, null, 2)} as const;

/**
 * The declared success answers (2xx) of every operation the client calls (the actions', the
 * reconciliation lookups', the state store's): by status, \`none\` (no body) or the body's JSON type
 * with the fields the spec requires at its top level (and in an array's items). An answer of
 * another shape cannot be read (see src/ags/answers.ts).
 */
export const SPEC_ANSWERS = ${JSON.stringify(answers, null, 2)} as const;
`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.env.AGS_OPENAPI_DIR ?? DEFAULT_SPEC_DIR;
  const text = render(extract(dir), extractAnswers(dir));
  if (process.argv.includes('--check')) {
    const current = readFileSync(OUTPUT, 'utf8');
    if (current !== text) {
      process.stderr.write(`${OUTPUT} is out of date: run node scripts/spec-constraints.mjs\n`);
      process.exit(1);
    }
  } else {
    writeFileSync(OUTPUT, text);
    process.stdout.write(`wrote ${OUTPUT}\n`);
  }
}
