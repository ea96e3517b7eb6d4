/** Loading the custom actions of ACTIONS_DIR: what is registered, and each failure named with its file and fix. */
import { mkdirSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { ActionModuleLoadError, InvalidActionModuleError, createAppRegistry, listActionModules, loadCustomActions } from '../../src/actions/custom.js';
import { workspace } from '../support/workspace.js';
import type { Workspace } from '../support/workspace.js';

/** A module exporting a minimal valid action named `name` (plain JavaScript: no build needed). */
const action = (name: string, extra = '') => `export default {
  name: '${name}', description: 'd', params: { type: 'object' }, usesAgs: false${extra},
  normalize: (p) => p, plan: () => [], execute: async () => ({ summary: 'done' }),
};
`;

let ws: Workspace;
afterEach(() => ws?.remove());

describe('custom actions: loading', () => {
  it('registers the default export (one definition or an array) of every .js/.mjs module, in file order, after the built-ins; named exports are free', async () => {
    ws = workspace('eer-actions-');
    ws.write('b.mjs', action('second'));
    ws.write('a.js', `export const helper = 1;\n${action('first')}`);
    ws.write('c.mjs', `export default [${['third', 'fourth'].map((n) => `{ name: '${n}', description: 'd', params: { type: 'object' }, usesAgs: false, normalize: (p) => p, plan: () => [], execute: async () => ({}) }`).join(', ')}];\n`);
    ws.write('notes.md', 'not a module');
    ws.write('types.d.ts', 'export {};');
    ws.write('a.test.mjs', 'throw new Error("a test file is not an action");');
    ws.write('_draft.mjs', 'throw new Error("ignored");');
    const registry = await createAppRegistry(ws.dir);
    const builtins = createDefaultRegistry().names();
    expect(registry.names()).toEqual([...builtins, 'first', 'second', 'third', 'fourth']);
    expect(listActionModules(ws.dir).map((f) => f.slice(ws.dir.length + 1))).toEqual(['a.js', 'b.mjs', 'c.mjs']);
  });

  it('a missing folder holds no action (the default actions/ may not exist)', async () => {
    expect((await createAppRegistry('/nonexistent/actions')).names()).toEqual(createDefaultRegistry().names());
  });

  const failure = async (files: Record<string, string>, compiledDir?: string) => {
    ws = workspace('eer-actions-');
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(ws.dir, name)), { recursive: true });
      ws.write(name, text);
    }
    return loadCustomActions(createDefaultRegistry(), { dir: ws.dir, ...(compiledDir ? { compiledDir } : {}) }).then(
      () => {
        throw new Error('expected a failure');
      },
      (error: unknown) => error as Error,
    );
  };

  it('no default export: InvalidActionModuleError naming the file and the fix', async () => {
    const e = await failure({ 'x.mjs': 'export const myAction = {};\n' });
    expect(e).toBeInstanceOf(InvalidActionModuleError);
    expect(e.message).toBe(
      `custom action ${join(ws.dir, 'x.mjs')}: has no default export\n    fix: end it with export default defineAction({ name, description, params, usesAgs, normalize, plan, execute }) (or an array of them)`,
    );
  });

  it('an invalid definition: every missing or wrong field named', async () => {
    const e = await failure({ 'x.mjs': "export default { name: 'bad name', params: { type: 'array' }, usesAgs: 'yes', normalize: (p) => p };\n" });
    expect(e).toBeInstanceOf(InvalidActionModuleError);
    expect(e.message).toContain(
      'the default export: missing or invalid: name (letters, digits and _, starting with a letter), description (a string), params (a JSON Schema with type: object), usesAgs (a boolean), plan (a function), execute (a function)',
    );
    const inArray = await failure({ 'y.mjs': `export default [${action('ok').slice('export default '.length, -2)}, 42];\n` });
    expect(inArray.message).toContain('default export [1]: it is number, not an action definition');
  });

  it('a name already taken (a built-in or another module): renamed, not replaced', async () => {
    const builtin = await failure({ 'x.mjs': action('grantItem') });
    expect(builtin).toBeInstanceOf(InvalidActionModuleError);
    expect(builtin.message).toContain('action "grantItem" is already registered (a built-in or another module)\n    fix: give the action another name than "grantItem"');
    const twice = await failure({ 'a.mjs': action('mine'), 'b.mjs': action('mine') });
    expect(twice.message).toContain(`${join(ws.dir, 'b.mjs')}: action "mine" is already registered`);
  });

  it('a module that throws while loading (or imports a missing package): ActionModuleLoadError with its message', async () => {
    const e = await failure({ 'x.mjs': "throw new Error('ACTION_TOKEN is not set');\n" });
    expect(e).toBeInstanceOf(ActionModuleLoadError);
    expect(e.message).toBe(`custom action ${join(ws.dir, 'x.mjs')}: failed to load: ACTION_TOKEN is not set\n    fix: fix the error in the module (it runs when loaded); a missing package needs npm install`);
    const missing = await failure({ 'y.mjs': "import 'no-such-package-here';\nexport default {};\n" });
    expect(missing).toBeInstanceOf(ActionModuleLoadError);
    expect(missing.message).toContain("failed to load: Cannot find package 'no-such-package-here'");
  });

  it('a .ts module loads its compiled .js; not compiled or changed since the build: run npm run build', async () => {
    const compiled = workspace('eer-compiled-');
    try {
      const notBuilt = await failure({ 'sub/mine.ts': 'export default {};\n' }, compiled.dir);
      expect(notBuilt).toBeInstanceOf(ActionModuleLoadError);
      expect(notBuilt.message).toMatch(/sub\/mine\.ts: is not compiled \(no .*sub\/mine\.js\)\n {4}fix: run npm run build \(npm start and npm test run it first\)$/);

      ws.remove();
      ws = workspace('eer-actions-');
      const source = ws.write('mine.ts', 'export default {};\n');
      const out = compiled.write('mine.js', action('compiledOne'));
      utimesSync(source, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
      utimesSync(out, new Date('2026-01-01T00:01:00Z'), new Date('2026-01-01T00:01:00Z'));
      const registry = createDefaultRegistry();
      await loadCustomActions(registry, { dir: ws.dir, compiledDir: compiled.dir });
      expect(registry.has('compiledOne')).toBe(true);

      utimesSync(source, new Date('2026-01-01T00:02:00Z'), new Date('2026-01-01T00:02:00Z'));
      const stale = await loadCustomActions(createDefaultRegistry(), { dir: ws.dir, compiledDir: compiled.dir }).catch((error: unknown) => error as Error);
      expect(stale).toBeInstanceOf(ActionModuleLoadError);
      expect((stale as Error).message).toContain('mine.ts: changed since the last build\n    fix: run npm run build');
    } finally {
      compiled.remove();
    }
  });
});
