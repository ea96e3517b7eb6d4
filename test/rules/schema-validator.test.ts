/**
 * The build's precompiled rules-file validator (src/rules/schema-validator.ts):
 * the same verdict and the same errors as compiling the schema at start-up,
 * used only for the schema it was written for.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { load } from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '../../src/actions/index.js';
import { FILE_AJV_OPTIONS, PARAMS_AJV_OPTIONS, checkedParamsSchemas, fileSchema, paramsSchema, precompiledValidator, renderSchemaValidator, schemaHash, validParamsSchemaHashes, writePrecompiledValidator } from '../../src/rules/schema-validator.js';
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

describe('the parameter schemas the build checked (checkedParamsSchemas)', () => {
  const builtins = createDefaultRegistry();
  const schemas = builtins.list().map((d) => paramsSchema(d.params));

  it('lists every built-in action\'s parameter schema, each accepted by the 2020-12 meta-schema', () => {
    const file = join(dir, 'params.cjs');
    writePrecompiledValidator(builtins, file);
    const metaChecking = new Ajv2020(PARAMS_AJV_OPTIONS);
    for (const s of schemas) expect(metaChecking.validateSchema(s), JSON.stringify(metaChecking.errors)).toBe(true);
    expect(checkedParamsSchemas(file)).toEqual(new Set(schemas.map(schemaHash)));
  });

  it('leaves out a parameter schema the meta-schema refuses (it is checked, and refused, at load)', () => {
    const invalid = { type: 'object', properties: { a: { type: 'strin' } } } as const;
    const listed = new Set(validParamsSchemaHashes(testRegistry().register(testAction('broken', invalid))));
    expect(listed.has(schemaHash(paramsSchema(invalid)))).toBe(false);
    expect(listed).toEqual(new Set(testRegistry().list().map((d) => schemaHash(paramsSchema(d.params)))));
    expect(() => new Ajv2020(PARAMS_AJV_OPTIONS).compile(paramsSchema(invalid))).toThrow(/schema is invalid/);
  });

  it('is empty when the file is absent, broken or has no list', () => {
    expect(checkedParamsSchemas(join(dir, 'absent.cjs')).size).toBe(0);
    const broken = join(dir, 'params-broken.cjs');
    writeFileSync(broken, 'module.exports = {');
    expect(checkedParamsSchemas(broken).size).toBe(0);
    const none = join(dir, 'params-none.cjs');
    writeFileSync(none, 'module.exports = function () { return true; };');
    expect(checkedParamsSchemas(none).size).toBe(0);
  });

  it('compiles a checked schema to the same code without the meta-schema check', () => {
    const checking = new Ajv2020({ ...PARAMS_AJV_OPTIONS, code: { source: true } });
    const unchecked = new Ajv2020({ ...PARAMS_AJV_OPTIONS, validateSchema: false, code: { source: true } });
    // the same code but for the numbering of its functions and constants (the checking instance compiled the meta-schema first)
    const code = (ajv: Ajv2020, s: object): string | undefined => ajv.compile(s).source?.validateCode.replace(/\b(validate|schema|func|pattern|formats)\d+\b/g, '$1');
    for (const s of schemas) expect(code(unchecked, s)).toBe(code(checking, s));
  });
});
