/**
 * The rules-file schema's validator and the built-in actions' parameter
 * validators, compiled ahead of time. Compiling the rules-file schema with ajv
 * costs about 0.3 CPU seconds on every start (the server, each CLI command,
 * each restart of an Extend app), loading ajv's compiler about 0.1 more, and
 * each action's parameter schema a few ms more; `npm run build` writes ajv's
 * standalone code for the schema of the built-in actions next to this module
 * (`dist/rules/rules-schema-validator.cjs`, {@link writePrecompiledValidator}),
 * and a load whose registry gives the same schema (same SHA-256 of its JSON)
 * uses it. Any other schema (a registry with custom actions) is compiled as
 * before. The code is the same either way: standalone code is what
 * `ajv.compile` generates and runs, written to a file
 * (https://ajv.js.org/standalone.html), with the same options.
 *
 * The build writes, the same way, the validator of each built-in action's
 * parameter schema that JSON Schema's 2020-12 meta-schema accepts
 * (`dist/rules/params-validators.cjs`, {@link precompiledParamsValidator}),
 * keyed by the SHA-256 of the schema: a start with the built-in actions
 * neither compiles them nor loads ajv's compiler. Any other parameter schema
 * (a custom action's, or a built-in one when the file is absent or older than
 * the action) is checked against the meta-schema and compiled at load.
 *
 * ajv's compiler (`ajv/dist/2020.js`) is loaded on first use ({@link ajv2020}),
 * never at import: the precompiled validators need only ajv's small runtime
 * helpers.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as AjvModule from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type * as StandaloneModule from 'ajv/dist/standalone/index.js';
import type { ActionRegistry, JsonSchema } from '../actions/index.js';
import { buildRulesSchema } from './schema.js';

const requireHere = createRequire(import.meta.url);

/**
 * ajv's compiler for JSON Schema 2020-12 (the `Ajv2020` class), loaded on the
 * first call: about 0.1 CPU s and 3 MiB of heap that a start with only
 * precompiled validators never spends.
 */
export function ajv2020(): typeof AjvModule.Ajv2020 {
  return (requireHere('ajv/dist/2020.js') as typeof AjvModule).Ajv2020;
}

/** ajv's standalone code generator (build time only). */
function standaloneCode(): typeof StandaloneModule.default.default {
  // a CommonJS module: module.exports is the function, which carries itself as `.default` too
  return (requireHere('ajv/dist/standalone/index.js') as typeof StandaloneModule.default).default;
}

/**
 * ajv's `errorsText` (ajv/lib/core.ts, `Ajv.prototype.errorsText`, ajv 8), without
 * an ajv instance: each error as `${dataVar}${instancePath} ${message}`, joined by ", ";
 * "No errors" for none.
 *
 * @param dataVar the name the paths start with. Default: `data` (ajv's).
 */
export function errorsText(errors: readonly ErrorObject[] | null | undefined, dataVar = 'data'): string {
  if (!errors || errors.length === 0) return 'No errors';
  return errors.map((e) => `${dataVar}${e.instancePath} ${e.message}`).join(', ');
}

/** ajv's options for the rules-file schema: every error, with the failing schema and data (`verbose`). */
export const FILE_AJV_OPTIONS = { allErrors: true, strict: false, verbose: true } as const;

/**
 * ajv's options for an action's parameter schema: every error, and types
 * coerced (a `${...}` substitution gives a string where the schema may want a
 * number). ajv's default `validateSchema: true` checks each schema against the
 * meta-schema before compiling it.
 */
export const PARAMS_AJV_OPTIONS = { allErrors: true, strict: false, coerceTypes: true } as const;

/** An action's parameter schema as the loader compiles it: the parameters are an object. */
export function paramsSchema(params: JsonSchema): object {
  return { type: 'object', ...params };
}

/** The precompiled rules-file validator's file name, next to this module in dist/rules/. */
export const PRECOMPILED_VALIDATOR_FILE = 'rules-schema-validator.cjs';

/** The precompiled parameter validators' file name, next to this module in dist/rules/. */
export const PRECOMPILED_PARAMS_FILE = 'params-validators.cjs';

/** The SHA-256 (hex) of the schema's JSON text: which schema a precompiled validator checks. */
export function schemaHash(schema: object): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('hex');
}

/**
 * ajv's standalone code (CommonJS) of the validator of `schema`, compiled with
 * {@link FILE_AJV_OPTIONS}, exporting also `schemaHash` ({@link schemaHash}).
 */
export function renderSchemaValidator(schema: object): string {
  const Ajv2020 = ajv2020();
  const ajv = new Ajv2020({ ...FILE_AJV_OPTIONS, code: { source: true } });
  const validate = ajv.compile(schema);
  return `${standaloneCode()(ajv, validate)}\nmodule.exports.schemaHash = ${JSON.stringify(schemaHash(schema))};\n`;
}

/**
 * The parameter schemas of `registry` ({@link paramsSchema}) that JSON Schema's
 * 2020-12 meta-schema accepts with {@link PARAMS_AJV_OPTIONS} (what ajv checks
 * before compiling one), by their SHA-256 ({@link schemaHash}).
 */
export function validParamsSchemas(registry: ActionRegistry): Map<string, object> {
  const Ajv2020 = ajv2020();
  const ajv = new Ajv2020(PARAMS_AJV_OPTIONS);
  const valid = registry.list().map((d) => paramsSchema(d.params)).filter((s) => ajv.validateSchema(s) === true);
  return new Map(valid.map((s) => [schemaHash(s), s]));
}

/**
 * ajv's standalone code (CommonJS) of the validators of `registry`'s valid
 * parameter schemas ({@link validParamsSchemas}), compiled with
 * {@link PARAMS_AJV_OPTIONS}: `exports["<sha-256>"]` is the validator of the
 * schema of that hash.
 */
export function renderParamsValidators(registry: ActionRegistry): string {
  const Ajv2020 = ajv2020();
  // the schemas were checked against the meta-schema above: compiled as a checking instance compiles them
  const ajv = new Ajv2020({ ...PARAMS_AJV_OPTIONS, validateSchema: false, code: { source: true } });
  const exports: Record<string, string> = {};
  for (const [hash, schema] of validParamsSchemas(registry)) {
    ajv.addSchema(schema, hash);
    exports[hash] = hash;
  }
  return `${standaloneCode()(ajv, exports)}\n`;
}

/** The rules-file schema of `registry` as the loader compiles it: without `$id` (ajv keeps schemas by id). */
export function fileSchema(registry: ActionRegistry): object {
  const { $id: _id, ...schema } = buildRulesSchema(registry);
  return schema;
}

/**
 * Writes the validator of `registry`'s rules-file schema ({@link renderSchemaValidator}) to `file`.
 *
 * @param file Default: {@link PRECOMPILED_VALIDATOR_FILE} next to this module (dist/rules/).
 */
export function writePrecompiledValidator(registry: ActionRegistry, file: string = defaultFile(PRECOMPILED_VALIDATOR_FILE)): void {
  writeFileSync(file, renderSchemaValidator(fileSchema(registry)));
}

/**
 * Writes the validators of `registry`'s parameter schemas ({@link renderParamsValidators}) to `file`.
 *
 * @param file Default: {@link PRECOMPILED_PARAMS_FILE} next to this module (dist/rules/).
 */
export function writePrecompiledParamsValidators(registry: ActionRegistry, file: string = defaultFile(PRECOMPILED_PARAMS_FILE)): void {
  writeFileSync(file, renderParamsValidators(registry));
}

/**
 * `npm run build`'s step after tsc: writes the rules-file validator and the
 * parameter validators of `registry` (the built-in actions) next to this module.
 */
export function writePrecompiledValidators(registry: ActionRegistry): void {
  writePrecompiledValidator(registry);
  writePrecompiledParamsValidators(registry);
}

function defaultFile(name: string): string {
  return fileURLToPath(new URL(name, import.meta.url));
}

/**
 * The precompiled validator of `schema`, or undefined when `file` is absent,
 * unreadable, or checks another schema (then the caller compiles it).
 *
 * @param file an absolute path. Default: {@link PRECOMPILED_VALIDATOR_FILE} next to this module.
 */
export function precompiledValidator(schema: object, file: string = defaultFile(PRECOMPILED_VALIDATOR_FILE)): ValidateFunction | undefined {
  const loaded = precompiledModule(file);
  if (typeof loaded !== 'function' || (loaded as { schemaHash?: unknown }).schemaHash !== schemaHash(schema)) return undefined;
  return loaded as ValidateFunction;
}

/**
 * The precompiled validator of the parameter schema `schema` (as
 * {@link paramsSchema} gives it), or undefined when `file` is absent,
 * unreadable, or has no validator of this schema (a custom action's, one the
 * meta-schema refuses, or a file older than the action): then the caller
 * checks and compiles it.
 *
 * @param file an absolute path. Default: {@link PRECOMPILED_PARAMS_FILE} next to this module.
 */
export function precompiledParamsValidator(schema: object, file: string = defaultFile(PRECOMPILED_PARAMS_FILE)): ValidateFunction | undefined {
  const loaded = precompiledModule(file);
  if (typeof loaded !== 'object' || loaded === null) return undefined;
  const hash = schemaHash(schema);
  const validate = Object.hasOwn(loaded, hash) ? (loaded as Record<string, unknown>)[hash] : undefined;
  return typeof validate === 'function' ? (validate as ValidateFunction) : undefined;
}

/** A precompiled validator's module (`module.exports`), or undefined when it cannot be loaded. */
function precompiledModule(file: string): unknown {
  try {
    return requireHere(file) as unknown;
  } catch {
    return undefined;
  }
}
