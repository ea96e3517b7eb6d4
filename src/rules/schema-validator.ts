/**
 * The rules-file schema's validator, compiled ahead of time. Compiling the
 * schema with ajv costs about 0.3 CPU seconds on every start (the server, each
 * CLI command, each restart of an Extend app); `npm run build` writes ajv's
 * standalone code for the schema of the built-in actions next to this module
 * (`dist/rules/rules-schema-validator.cjs`, {@link writePrecompiledValidator}),
 * and a load whose registry gives the same schema (same SHA-256 of its JSON)
 * uses it. Any other schema (a registry with custom actions) is compiled as
 * before. The code is the same either way: standalone code is what
 * `ajv.compile` generates and runs, written to a file
 * (https://ajv.js.org/standalone.html), with the same options.
 *
 * The same file lists the SHA-256 of each built-in action's parameter schema,
 * checked at build time against JSON Schema's 2020-12 meta-schema
 * ({@link checkedParamsSchemas}): the loader compiles a listed schema without
 * checking it again, which spares compiling the meta-schema (about 0.1 CPU
 * seconds) on every start; any other parameter schema (a custom action's) is
 * checked as before.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { ActionRegistry, JsonSchema } from '../actions/index.js';
import { buildRulesSchema } from './schema.js';
// a CommonJS module: its default import is module.exports, which carries the function as `.default` too
import standalone from 'ajv/dist/standalone/index.js';

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

/** The precompiled validator's file name, next to this module in dist/rules/. */
export const PRECOMPILED_VALIDATOR_FILE = 'rules-schema-validator.cjs';

/** The SHA-256 (hex) of the schema's JSON text: which schema a precompiled validator checks. */
export function schemaHash(schema: object): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('hex');
}

/**
 * ajv's standalone code (CommonJS) of the validator of `schema`, compiled with
 * {@link FILE_AJV_OPTIONS}, exporting also `schemaHash` ({@link schemaHash}).
 */
export function renderSchemaValidator(schema: object, checkedParams: readonly string[] = []): string {
  const ajv = new Ajv2020({ ...FILE_AJV_OPTIONS, code: { source: true } });
  const validate = ajv.compile(schema);
  return `${standalone.default(ajv, validate)}\nmodule.exports.schemaHash = ${JSON.stringify(schemaHash(schema))};\nmodule.exports.checkedParamsSchemas = ${JSON.stringify(checkedParams)};\n`;
}

/**
 * The SHA-256 ({@link schemaHash}) of each parameter schema of `registry`
 * ({@link paramsSchema}) that JSON Schema's 2020-12 meta-schema accepts, with
 * {@link PARAMS_AJV_OPTIONS}: what ajv checks before compiling it.
 */
export function validParamsSchemaHashes(registry: ActionRegistry): string[] {
  const ajv = new Ajv2020(PARAMS_AJV_OPTIONS);
  const valid = registry.list().map((d) => paramsSchema(d.params)).filter((s) => ajv.validateSchema(s) === true);
  return [...new Set(valid.map(schemaHash))];
}

/** The rules-file schema of `registry` as the loader compiles it: without `$id` (ajv keeps schemas by id). */
export function fileSchema(registry: ActionRegistry): object {
  const { $id: _id, ...schema } = buildRulesSchema(registry);
  return schema;
}

/**
 * `npm run build`'s step after tsc: writes the validator of `registry`'s schema
 * ({@link renderSchemaValidator}) to `file`.
 *
 * @param file Default: {@link PRECOMPILED_VALIDATOR_FILE} next to this module (dist/rules/).
 */
export function writePrecompiledValidator(registry: ActionRegistry, file: string = defaultFile()): void {
  writeFileSync(file, renderSchemaValidator(fileSchema(registry), validParamsSchemaHashes(registry)));
}

function defaultFile(): string {
  return fileURLToPath(new URL(PRECOMPILED_VALIDATOR_FILE, import.meta.url));
}

/**
 * The precompiled validator of `schema`, or undefined when `file` is absent,
 * unreadable, or checks another schema (then the caller compiles it).
 *
 * @param file an absolute path. Default: {@link PRECOMPILED_VALIDATOR_FILE} next to this module.
 */
export function precompiledValidator(schema: object, file: string = defaultFile()): ValidateFunction | undefined {
  const loaded = precompiledModule(file);
  if (typeof loaded !== 'function' || (loaded as { schemaHash?: unknown }).schemaHash !== schemaHash(schema)) return undefined;
  return loaded as ValidateFunction;
}

/**
 * The hashes of the parameter schemas the build checked against the
 * meta-schema ({@link validParamsSchemaHashes}), from the precompiled
 * validator's file; empty when it is absent, unreadable or has no such list.
 *
 * @param file an absolute path. Default: {@link PRECOMPILED_VALIDATOR_FILE} next to this module.
 */
export function checkedParamsSchemas(file: string = defaultFile()): ReadonlySet<string> {
  const list = (precompiledModule(file) as { checkedParamsSchemas?: unknown } | undefined)?.checkedParamsSchemas;
  return new Set(Array.isArray(list) ? list.filter((h): h is string => typeof h === 'string') : []);
}

/** The precompiled validator's module (`module.exports`), or undefined when it cannot be loaded. */
function precompiledModule(file: string): unknown {
  try {
    return createRequire(import.meta.url)(file) as unknown;
  } catch {
    return undefined;
  }
}
