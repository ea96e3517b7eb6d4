/**
 * The layer rule of `npm run lint` (eslint/layers.js) bites: a lower layer
 * importing a higher one, a deep import into another folder, an `export *`
 * in an index.ts, an unknown folder and an import cycle each fail, on a
 * fixture tree and on the real src with the real layer table.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, describe, expect, it } from 'vitest';
import layers, { LAYERS as REAL_LAYERS } from '../../eslint/layers.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LAYERS = [['low'], ['mid'], ['high'], ['main']];

function lint(cwd: string, file: string, text: string, layerTable: string[][] = LAYERS): string[] {
  const linter = new Linter({ cwd });
  const messages = linter.verify(
    text,
    [{ files: ['**/*.ts', '**/*.js'], plugins: { layers }, languageOptions: { parser: tseslint.parser, sourceType: 'module', ecmaVersion: 2022 }, rules: { 'layers/imports': ['error', { root: 'src', layers: layerTable }] } }],
    { filename: join(cwd, file) },
  );
  return messages.map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

const tree = mkdtempSync(join(tmpdir(), 'layers-'));
const write = (file: string, text: string) => {
  mkdirSync(dirname(join(tree, file)), { recursive: true });
  writeFileSync(join(tree, file), text);
};
write('src/low/index.ts', "export { a } from './a.js';\n");
write('src/low/a.ts', 'export const a = 1;\n');
write('src/mid/index.ts', "export { m } from './m.js';\n");
write('src/mid/m.ts', "import { a } from '../low/index.js';\nexport const m = a;\n");
write('src/high/index.ts', "export { h } from './h.js';\n");
write('src/high/h.ts', "import { m } from '../mid/index.js';\nexport const h = m;\n");
write('src/main.ts', "import { h } from './high/index.js';\nexport const x = h;\n");
// an intra-folder cycle: c1 -> c2 -> c1
write('src/mid/c1.ts', "import { c2 } from './c2.js';\nexport const c1 = () => c2;\n");
write('src/mid/c2.ts', "import { c1 } from './c1.js';\nexport const c2 = () => c1;\n");
afterAll(() => rmSync(tree, { recursive: true, force: true }));

describe('the layers rule (eslint/layers.js)', () => {
  it('passes imports that go down through index.ts', () => {
    expect(lint(tree, 'src/mid/m.ts', readFileSync(join(tree, 'src/mid/m.ts'), 'utf8'))).toEqual([]);
    expect(lint(tree, 'src/main.ts', readFileSync(join(tree, 'src/main.ts'), 'utf8'))).toEqual([]);
  });

  it('fails a lower layer importing a higher one, type-only imports too', () => {
    // (it closes a cycle too: high imports mid, which imports low)
    expect(lint(tree, 'src/low/a.ts', "import { h } from '../high/index.js';\nexport const a = h;\n")).toEqual([
      expect.stringMatching(/^layers\/imports: low \(layer 0\) may not import high \(layer 2\)/),
      'layers/imports: import cycle: low/a.ts -> high/index.ts -> high/h.ts -> mid/index.ts -> mid/m.ts -> low/index.ts -> low/a.ts.',
    ]);
    expect(lint(tree, 'src/low/a.ts', "import type { M } from '../mid/index.js';\nexport type A = M;\n").join()).toMatch(/low \(layer 0\) may not import mid/);
    expect(lint(tree, 'src/low/a.ts', "export const f = () => import('../mid/index.js');\n").join()).toMatch(/may not import mid/);
  });

  it('fails a deep import into another folder, and an export * in an index.ts', () => {
    expect(lint(tree, 'src/high/h.ts', "import { m } from '../mid/m.js';\nexport const h = m;\n")).toEqual(['layers/imports: import mid through its surface mid/index.ts, not its file mid/m.ts.']);
    expect(lint(tree, 'src/low/index.ts', "export * from './a.js';\n")).toEqual(['layers/imports: an index.ts lists what it exports: no `export *`.']);
  });

  it('fails an import of a folder that has no place in the layers', () => {
    write('src/stray/index.ts', 'export const s = 1;\n');
    expect(lint(tree, 'src/high/h.ts', "import { s } from '../stray/index.js';\nexport const h = s;\n")).toEqual([expect.stringMatching(/stray is not in the layers/)]);
  });

  it('fails an import cycle, within a folder too', () => {
    expect(lint(tree, 'src/mid/c1.ts', readFileSync(join(tree, 'src/mid/c1.ts'), 'utf8'))).toEqual(['layers/imports: import cycle: mid/c1.ts -> mid/c2.ts -> mid/c1.ts.']);
  });

  it('bites on the real src with the real layer table: state importing rules fails', () => {
    const real = REAL_LAYERS;
    const file = 'src/state/firing.ts';
    const text = `import { RuleSet } from '../rules/index.js';\nexport const r = RuleSet;\n`;
    expect(lint(REPO, file, text, real).join('\n')).toMatch(/state \(layer \d+\) may not import rules/);
    // the real file as it is passes (no layer, deep-import or cycle problem)
    const plain = readFileSync(join(REPO, 'src/time/duration.ts'), 'utf8');
    expect(lint(REPO, 'src/time/duration.ts', plain, real)).toEqual([]);
  });
});
