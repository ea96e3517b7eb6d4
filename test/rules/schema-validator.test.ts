/**
 * The build's precompiled rules-file validator and parameter validators
 * (src/rules/schema-validator.ts): the same verdict, the same errors (and the
 * same coercions) as compiling the schemas at start-up, used only for the
 * schema each was written for.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { load } from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '../../src/actions/index.js';
import {
  FILE_AJV_OPTIONS,
  PARAMS_AJV_OPTIONS,
  errorsText,
  fileSchema,
  paramsSchema,
  precompiledParamsValidator,
  precompiledValidator,
  renderSchemaValidator,
  schemaHash,
  validParamsSchemas,
  writePrecompiledParamsValidators,
  writePrecompiledValidator,
} from '../../src/rules/schema-validator.js';
import { FIXTURES, testAction, testRegistry } from './support/fixtures.js';
import { REPO_ROOT } from '../support/prereq.js';

const dir = mkdtempSync(join(tmpdir(), 'eer-schema-validator-'));
// the validator's code requires ajv's runtime helpers, found from its folder, as from dist/rules/
symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Documents the schema refuses for many reasons (every invalid fixture that parses), and valid ones. */
function documents(): [string, unknown][] {
  const docs: [string, unknown][] = [];
  for (const name of readdirSync(resolve(FIXTURES, 'invalid'))) {
    try {
      docs.push([name, load(readFileSync(resolve(FIXTURES, 'invalid', name), 'utf8'))]);
    } catch {
      // a YAML syntax fixture: the schema never sees it
    }
  }
  const rule = (extra: object) => ({ version: 1, rules: [{ name: 'r', on: 'userLoggedIn', do: [{ grant: { itemId: 'i' } }], ...extra }] });
  docs.push(
    ['valid', rule({})],
    ['valid with a condition', rule({ when: { '==': [{ var: 'payload.x' }, 1] } })],
    ['no rules', { version: 1 }],
    ['unknown top-level key', { ...rule({}), extra: true }],
    ['rules not a list', { version: 1, rules: {} }],
    ['quantity a string', { version: 1, rules: [{ name: 'r', on: 'userLoggedIn', do: [{ grant: { itemId: 'i', quantity: 'x' } }] }] }],
    ['two actions in one item', { version: 1, rules: [{ name: 'r', on: 'userLoggedIn', do: [{ grant: { itemId: 'i' }, banUser: {} }] }] }],
    ['bad cooldown', rule({ cooldown: 'soon' })],
    ['bad activeFrom', rule({ activeFrom: 'yesterday' })],
    ['a number for the name', rule({ name: 7 })],
  );
  return docs;
}

for (const [label, registry] of [['the built-in actions', createDefaultRegistry()], ['a test registry', testRegistry()]] as const) {
  describe(`precompiled validator of ${label}`, () => {
    const schema = fileSchema(registry);
    const file = join(dir, `${label.replace(/ /g, '-')}.cjs`);
    writePrecompiledValidator(registry, file);
    const compiled = new Ajv2020(FILE_AJV_OPTIONS).compile(schema);

    it('is loaded for its own schema', () => {
      expect(precompiledValidator(schema, file)).toBeTypeOf('function');
    });

    it.each(documents())('%s: same verdict and errors as ajv.compile', (_name, doc) => {
      const precompiled = precompiledValidator(schema, file)!;
      const ok = compiled(doc);
      expect(precompiled(doc)).toBe(ok);
      expect(JSON.parse(JSON.stringify(precompiled.errors ?? null))).toEqual(JSON.parse(JSON.stringify(compiled.errors ?? null)));
    });
  });
}

describe('precompiledValidator falls back to compiling (undefined)', () => {
  it('for another schema than the file was written for', () => {
    const file = join(dir, 'other.cjs');
    writePrecompiledValidator(testRegistry(), file);
    expect(precompiledValidator(fileSchema(createDefaultRegistry()), file)).toBeUndefined();
  });

  it('when the file is absent or not a validator', () => {
    const schema = fileSchema(createDefaultRegistry());
    expect(precompiledValidator(schema, join(dir, 'absent.cjs'))).toBeUndefined();
    const broken = join(dir, 'broken.cjs');
    writeFileSync(broken, 'module.exports = {');
    expect(precompiledValidator(schema, broken)).toBeUndefined();
    const object = join(dir, 'object.cjs');
    writeFileSync(object, `module.exports = { schemaHash: ${JSON.stringify(schemaHash(schema))} };`);
    expect(precompiledValidator(schema, object)).toBeUndefined();
  });

  it('writes the hash of the schema it compiled', () => {
    const schema = fileSchema(testRegistry());
    expect(renderSchemaValidator(schema)).toContain(`module.exports.schemaHash = "${schemaHash(schema)}";`);
  });
});

/** Parameters for `schema` that pass or fail it in many ways: each property given a value of every JSON type, unknown keys, nothing. */
function paramDocuments(schema: { properties?: Record<string, unknown> }): Record<string, unknown>[] {
  const values: unknown[] = ['x', '', '3', '2026-01-01T00:00:00Z', 7, 0, -1, 1.5, true, null, [], ['a'], {}, { a: 1 }];
  const names = Object.keys(schema.properties ?? {});
  const docs: Record<string, unknown>[] = [{}, { unknownKey: 1 }];
  for (const name of names) for (const v of values) docs.push({ [name]: v });
  // every property at once, each with a value of a type in turn
  for (const v of values) docs.push(Object.fromEntries(names.map((n) => [n, v])));
  return docs;
}

describe('precompiled parameter validators of the built-in actions', () => {
  const builtins = createDefaultRegistry();
  const schemas = builtins.list().map((d) => paramsSchema(d.params));
  const file = join(dir, 'params.cjs');
  writePrecompiledParamsValidators(builtins, file);
  const metaChecking = new Ajv2020(PARAMS_AJV_OPTIONS);

  it("cover every built-in action's parameter schema, each accepted by the 2020-12 meta-schema", () => {
    for (const s of schemas) expect(metaChecking.validateSchema(s), JSON.stringify(metaChecking.errors)).toBe(true);
    for (const s of schemas) expect(precompiledParamsValidator(s, file)).toBeTypeOf('function');
    expect(new Set(validParamsSchemas(builtins).keys())).toEqual(new Set(schemas.map(schemaHash)));
  });

  it.each(builtins.list().map((d) => [d.name, paramsSchema(d.params)] as const))('%s: same verdict, errors and coerced parameters as ajv.compile', (_name, schema) => {
    const precompiled = precompiledParamsValidator(schema, file)!;
    const compiled = new Ajv2020(PARAMS_AJV_OPTIONS).compile(schema);
    for (const doc of paramDocuments(schema)) {
      const [a, b] = [structuredClone(doc), structuredClone(doc)];
      const ok = compiled(a);
      expect(precompiled(b), JSON.stringify(doc)).toBe(ok);
      expect(b, JSON.stringify(doc)).toEqual(a);
      expect(JSON.parse(JSON.stringify(precompiled.errors ?? null))).toEqual(JSON.parse(JSON.stringify(compiled.errors ?? null)));
      expect(errorsText(precompiled.errors, 'params')).toBe(metaChecking.errorsText(compiled.errors, { dataVar: 'params' }));
    }
  });

  it('leave out a parameter schema the meta-schema refuses (it is checked, and refused, at load)', () => {
    const invalid = { type: 'object', properties: { a: { type: 'strin' } } } as const;
    const registry = testRegistry().register(testAction('broken', invalid));
    const withBroken = join(dir, 'params-with-broken.cjs');
    writePrecompiledParamsValidators(registry, withBroken);
    expect(precompiledParamsValidator(paramsSchema(invalid), withBroken)).toBeUndefined();
    for (const d of testRegistry().list()) expect(precompiledParamsValidator(paramsSchema(d.params), withBroken)).toBeTypeOf('function');
    expect(() => new Ajv2020(PARAMS_AJV_OPTIONS).compile(paramsSchema(invalid))).toThrow(/schema is invalid/);
  });

  it('give none for a schema the file was not written for, or when the file is absent, broken or not a table', () => {
    const custom = paramsSchema({ type: 'object', properties: { n: { type: 'integer' } } });
    expect(precompiledParamsValidator(custom, file)).toBeUndefined();
    expect(precompiledParamsValidator(schemas[0]!, join(dir, 'params-absent.cjs'))).toBeUndefined();
    const broken = join(dir, 'params-broken.cjs');
    writeFileSync(broken, 'module.exports = {');
    expect(precompiledParamsValidator(schemas[0]!, broken)).toBeUndefined();
    const notTable = join(dir, 'params-function.cjs');
    writeFileSync(notTable, `module.exports = function () { return true; }; module.exports[${JSON.stringify(schemaHash(schemas[0]!))}] = 1;`);
    expect(precompiledParamsValidator(schemas[0]!, notTable)).toBeUndefined();
  });
});

describe('errorsText (ajv\'s, without an instance)', () => {
  it('reads as ajv\'s errorsText', () => {
    const ajv = new Ajv2020(PARAMS_AJV_OPTIONS);
    const validate = ajv.compile(paramsSchema({ type: 'object', required: ['a'], properties: { a: { type: 'integer' }, b: { type: 'string', enum: ['x'] } } }));
    for (const doc of [{}, { a: 'no', b: 'y' }, { a: 1 }]) {
      validate(doc);
      expect(errorsText(validate.errors, 'params')).toBe(ajv.errorsText(validate.errors, { dataVar: 'params' }));
      expect(errorsText(validate.errors)).toBe(ajv.errorsText(validate.errors));
    }
    expect(errorsText(null)).toBe(ajv.errorsText(null));
  });
});
