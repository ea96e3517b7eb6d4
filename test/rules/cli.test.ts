import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { validateCommand } from '../../src/cli/validate.js';
import { renderRulesSchema, schemaCommand } from '../../src/cli/schema.js';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { loadCatalog } from '../../src/events/catalog.js';
import { compileRulesText } from '../../src/rules/validate.js';
import { FIXTURES, PROTO_DIR, tempDir, testRegistry } from './support/fixtures.js';
import { FIXTURE_PROTO_DIR, FIXTURE_RULES_FILE } from '../support/app-fixture.js';

function capture() {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        append(chunk.toString());
        cb();
      },
    });
  return {
    io: { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) },
    out: () => out,
    err: () => err,
  };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

const defaults = { rulesFile: FIXTURE_RULES_FILE, protoDirs: [FIXTURE_PROTO_DIR], env: { AB_NAMESPACE: 'mygame', ITEM_ID_TO_GRANT: 'item-1' } };

describe('validate command', () => {
  it('exit 0 and a one-line summary for the shipped rules.yaml against the shipped protos and built-in actions', async () => {
    const c = capture();
    expect(await validateCommand([], c.io, defaults)).toBe(0);
    expect(c.out()).toBe(`${defaults.rulesFile}: valid: 2 rules on 2 events\n`);
    expect(c.err()).toBe('');
  });

  it('exit 1 with every problem for an invalid file (text)', async () => {
    const c = capture();
    const file = resolve(FIXTURES, 'invalid/unknown-event.yaml');
    const code = await validateCommand([file, '--proto', PROTO_DIR], c.io, { ...defaults, registry: testRegistry() });
    expect(code).toBe(1);
    expect(c.err()).toBe(`${file}:4:9: error [unknown-event] rule "misspelled": unknown event "userLogedIn"\n    fix: did you mean "userLoggedIn"?\n${file}: invalid: 1 problem\n`);
  });

  it('github format prints workflow annotations', async () => {
    const c = capture();
    const file = resolve(FIXTURES, 'invalid/unknown-path.yaml');
    const code = await validateCommand([file, `--proto=${PROTO_DIR}`, '--format', 'github'], c.io, { ...defaults, registry: testRegistry() });
    expect(code).toBe(1);
    expect(c.err()).toBe(
      `::error file=${file},line=5,col=27,title=rules%3A unknown-path::rule "bad-path": var "payload.loginLocaton.country": LoginPayload has no field "loginLocaton" (at payload) (did you mean "payload.loginLocation"?)\n`,
    );
  });

  it('json format prints the problems array on stdout', async () => {
    const c = capture();
    const file = resolve(FIXTURES, 'invalid/duplicate-name.yaml');
    expect(await validateCommand([file, '--proto', PROTO_DIR, '--format', 'json'], c.io, { ...defaults, registry: testRegistry() })).toBe(1);
    const problems = JSON.parse(c.out()) as { code: string; line: number }[];
    expect(problems.map((p) => [p.code, p.line])).toEqual([['duplicate-name', 7]]);
  });

  it('--env-file makes an unset ${env.X} an error; without it, a warning', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const envFile = tmp.write('.env', '# only one\nAB_NAMESPACE=mygame\n');
    const strict = capture();
    expect(await validateCommand(['--env-file', envFile], strict.io, defaults)).toBe(1);
    expect(strict.err()).toContain('error [unset-env] rule "grant-item-on-login": environment variable ITEM_ID_TO_GRANT is not set');

    const lax = capture();
    expect(await validateCommand([], lax.io, { ...defaults, env: { AB_NAMESPACE: 'mygame' } })).toBe(0);
    expect(lax.out()).toContain('warning [unset-env]');
    expect(lax.out()).toContain('valid: 2 rules on 2 events');
  });

  it('several files: each checked on its own and reported under its name; exit 1 when one is invalid (json: one list)', async () => {
    const invalid = resolve(FIXTURES, 'invalid/unknown-event.yaml');
    const duplicate = resolve(FIXTURES, 'invalid/duplicate-name.yaml');
    const both = capture();
    expect(await validateCommand([FIXTURE_RULES_FILE, invalid], both.io, defaults)).toBe(1);
    expect(both.out()).toBe(`${FIXTURE_RULES_FILE}: valid: 2 rules on 2 events\n`);
    expect(both.err()).toBe(`${invalid}:4:9: error [unknown-event] rule "misspelled": unknown event "userLogedIn"\n    fix: did you mean "userLoggedIn"?\n${invalid}: invalid: 1 problem\n`);
    // the invalid one first: the valid one after it is still checked and reported
    const reversed = capture();
    expect(await validateCommand([invalid, FIXTURE_RULES_FILE], reversed.io, defaults)).toBe(1);
    expect(reversed.out()).toBe(`${FIXTURE_RULES_FILE}: valid: 2 rules on 2 events\n`);
    const valid = capture();
    expect(await validateCommand([FIXTURE_RULES_FILE, FIXTURE_RULES_FILE], valid.io, defaults)).toBe(0);
    expect(valid.out()).toBe(`${FIXTURE_RULES_FILE}: valid: 2 rules on 2 events\n`.repeat(2));
    const json = capture();
    expect(await validateCommand([invalid, duplicate, '--proto', PROTO_DIR, '--format', 'json'], json.io, { ...defaults, registry: testRegistry() })).toBe(1);
    const problems = JSON.parse(json.out()) as { file: string; code: string }[];
    expect(problems.map((p) => [p.file, p.code])).toEqual([
      [invalid, 'unknown-event'],
      [duplicate, 'duplicate-name'],
    ]);
  });

  it('exit 2 on usage errors', async () => {
    for (const args of [['--format', 'xml'], ['--nope'], ['--proto'], ['--env-file', '/nonexistent/.env']]) {
      const c = capture();
      expect(await validateCommand(args, c.io, defaults), args.join(' ')).toBe(2);
      expect(c.err()).toMatch(/extend-event-rules validate: /);
    }
  });

  it('a proto dir that does not load is exit 1 with the reason', async () => {
    const c = capture();
    expect(await validateCommand(['--proto', '/nonexistent/protos'], c.io, defaults)).toBe(1);
    expect(c.err()).toContain('[catalog]');
  });
});

describe('schema', () => {
  it('--check: exit 0 when the file is what --write writes, 1 with the fix when stale or missing', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const target = resolve(tmp.dir, 'rules.schema.json');
    expect(await schemaCommand(['--write', target], capture().io)).toBe(0);
    const fresh = capture();
    expect(await schemaCommand(['--check', target], fresh.io)).toBe(0);
    expect(fresh.out()).toBe(`${target}: up to date\n`);

    const stale = capture();
    expect(await schemaCommand(['--check', target], stale.io, testRegistry())).toBe(1);
    expect(stale.err()).toBe(`${target}: out of date (the actions, their parameters or topics/*.schema.json changed): regenerate it with: npx extend-event-rules schema --write\n`);

    const missing = capture();
    expect(await schemaCommand([`--check=${resolve(tmp.dir, 'none.json')}`], missing.io)).toBe(1);
    expect(missing.err()).toContain('none.json: missing: regenerate it with');
  });

  it('schema prints the schema; --write writes it; unknown args are exit 2', async () => {
    const c = capture();
    expect(await schemaCommand([], c.io)).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ title: 'extend-event-rules rules file', $defs: { action: { properties: { grantItem: { type: 'object' } } } } });

    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const target = resolve(tmp.dir, 'out.schema.json');
    const w = capture();
    expect(await schemaCommand(['--write', target], w.io, testRegistry())).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe(renderRulesSchema(testRegistry()));

    const bad = capture();
    expect(await schemaCommand(['--nope'], bad.io)).toBe(2);
  });

  it('accepts ${...} and $logic where actions want numbers, and describes every rule field', () => {
    const schema = JSON.parse(renderRulesSchema(createDefaultRegistry())) as { $defs: { rule: { properties: Record<string, { description?: string }> } } };
    for (const [k, v] of Object.entries(schema.$defs.rule.properties)) expect(v.description, k).toBeTruthy();
  });
});

describe('the shipped rules.yaml', () => {
  it('reproduces the templates: grantItem of ITEM_ID_TO_GRANT x1 REWARD to the event user, only in our namespace', async () => {
    const catalog = await loadCatalog({ dirs: [FIXTURE_PROTO_DIR] });
    const text = readFileSync(FIXTURE_RULES_FILE, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./rules.schema.json');
    const r = compileRulesText(text, 'rules.yaml', { catalog, registry: createDefaultRegistry(), env: { AB_NAMESPACE: 'mygame', ITEM_ID_TO_GRANT: 'item-1' }, unsetEnv: 'error' });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const login = catalog.resolve('userLoggedIn');
    const third = catalog.resolve('userThirdPartyLoggedIn');
    if (!login.ok || !third.ok) throw new Error('events missing from proto/');
    expect([...r.rules.services].sort()).toEqual([login.service.fullName, third.service.fullName].sort());
    for (const svc of [login.service, third.service]) {
      const mine = r.rules.evaluate(svc.fullName, { namespace: 'mygame', userId: 'u-1', id: 'e' });
      expect(mine.plan.map((p) => [p.action, p.params])).toEqual([['grantItem', { itemId: 'item-1', quantity: 1, source: 'REWARD', userId: 'u-1' }]]);
      expect(r.rules.evaluate(svc.fullName, { namespace: 'other', userId: 'u-1' }).plan).toEqual([]);
    }
  });
});
