import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { FastYamlUnsupported, parseFastYaml } from '../../src/rules/fast-yaml.js';
import { RulesSource, parseRulesSource } from '../../src/rules/source.js';
import type { PathSegment } from '../../src/rules/source.js';
import { FIXTURES } from './support/fixtures.js';
import { FIXTURE_RULES_FILE } from '../support/app-fixture.js';

/** yaml's reading, as the loader did before the fast reader: data, or undefined when yaml reports an error or warning. */
function slow(text: string): { ok: true; data: unknown } | { ok: false } {
  const doc = parseDocument(text, { uniqueKeys: true, version: '1.2' });
  if (doc.errors.length > 0 || doc.warnings.length > 0) return { ok: false };
  return { ok: true, data: doc.toJS() };
}

function fast(text: string): { ok: true; data: unknown } | { ok: false } {
  try {
    return { ok: true, data: parseFastYaml(text).data };
  } catch (err) {
    if (err instanceof FastYamlUnsupported) return { ok: false };
    throw err;
  }
}

/** Texts the fast reader must read exactly as yaml does. */
const FAST: string[] = [
  'a: 1\nb: -2\nc: 1.5\nd: .5\ne: 1e3\nf: ~\ng: null\nh: true\ni: False\nj: yes\nk: on\nl: 0123\nm: "x\\ty\\u00e9"\nn: \'it\'\'s\'\no: a:b\np: a #c\nq: http://x/y?z=1\nr: ${env.X:-d}\n',
  'a:\n- 1\n- 2\nb: x\n',
  'a:\n  - 1\n  -\n    k: v\n  - k: v\n    k2: [1, {a: b}]\n',
  'a: {"==": [{var: x}, "y"]}\n',
  'a: [a,b , c ]\n',
  'a: {x: 1, y: [ ], z: {}}\n',
  'a: {x: y z}\n',
  'a: [1, 2] # c\n',
  'a:   # c\n  b: 1\n',
  '# c\na: 1 # x\n\n',
  'a: "a # b"\nb: \'a # b\'\nc: {x: "a,b"}\nd: [-1, -x, "-"]\n',
  'key with spaces: v\n"q k": 1\n',
  'a:\n  b:\n    c:\n      - d\n',
  "a: ''\nb: \"\"\nc: ['', \"\"]\n",
  'rules:\n  - {name: x}\n  - name: y\n',
  'rules: [{a: 1}, {b: 2}]\n',
  'a: 1.\nb: -.5\nc: 1.5e-3\nd: é ü 日本\n',
  'a:\n  - "x": 1\n    y: 2\n',
  'a: 1\n  # an indented comment\nb: 2\n',
  'a: {"x":1}\n',
];

/** Valid YAML that js-yaml also reads: it must read it exactly as yaml does (block scalars, multi-line values, tags...). */
const ALSO_FAST: string[] = [
  'a: |\n  x\n  y\n',
  'a: >-\n  x\n  y\n',
  'a: "x\n  y"\n',
  'a: x\n  y\n',
  'a: -1\nd: 0x1F\ne: 0o17\nf: .inf\ng: -.Inf\nh: 0b101\ni: +.5e-3\nj: -0x1F\n',
  'a: !!str 12\n',
  'a: 1\n...\n',
  '---\na: 1\n',
  'a: [x #c\n  ]\n',
  'a: {x:1}\n',
  'a: 1\r\nb: 2\r\n',
  'a: 2026-01-01T00:00:00Z\nb: 2026-01-01\n',
  'a: {x: 1,}\n',
];

/** Texts the fast path must decline: yaml rejects them, or they need its limits (aliases). */
const DECLINED: string[] = [
  'a: b: c\n', // invalid
  'a: &x 1\nb: *x\n', // aliases: yaml applies the alias-expansion limit
  'a: 1\na: 2\n', // duplicate key
  'a:\n  b: 1\n c: 2\n',
  'a:\n    - x\n  - y\n',
  "a: 'x'y\n",
  'a: [b, c]]\n',
  'a: [b\n',
  '--- a\n--- b\n', // several documents
  '',
];

describe('the fast YAML reader', () => {
  it('reads its subset exactly as yaml does', () => {
    for (const text of FAST) {
      const s = slow(text);
      expect(s.ok, JSON.stringify(text)).toBe(true);
      expect(fast(text), JSON.stringify(text)).toEqual(s);
    }
  });

  it('reads other valid YAML as yaml does, declines what yaml rejects, and aliases', () => {
    for (const text of ALSO_FAST) {
      const s = slow(text);
      expect(s.ok, JSON.stringify(text)).toBe(true);
      expect(fast(text), JSON.stringify(text)).toEqual(s);
    }
    for (const text of DECLINED) expect(fast(text).ok, JSON.stringify(text)).toBe(false);
    for (const text of [...FAST, ...ALSO_FAST, ...DECLINED]) {
      if (!slow(text).ok) expect(fast(text).ok, JSON.stringify(text)).toBe(false);
    }
  });

  it('leaves deep nesting to yaml and the loader\'s depth limit', () => {
    const flow = `a: ${'['.repeat(100)}${']'.repeat(100)}\n`;
    const block = Array.from({ length: 100 }, (_, i) => `${' '.repeat(i * 2)}k${i}:`).join('\n') + ' 1\n';
    for (const text of [flow, block]) {
      expect(fast(text).ok).toBe(false);
      const r = parseRulesSource(text, 'deep.yaml');
      expect(r.source).toBeUndefined();
      expect(r.problems.map((p) => p.code)).toContain('limits');
    }
    // far deeper: yaml's own problems, no crash
    const deeper = parseRulesSource(`a: ${'['.repeat(20000)}${']'.repeat(20000)}\n`, 'deeper.yaml');
    expect(deeper.source).toBeUndefined();
    expect(deeper.problems.length).toBeGreaterThan(0);
  });

  it('reads the shipped rules and the fixtures (block and flow style) on the fast path, as yaml does', () => {
    const files = [FIXTURE_RULES_FILE, ...readdirSync(resolve(FIXTURES, 'invalid')).map((f) => resolve(FIXTURES, 'invalid', f))];
    let fastCount = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const f = fast(text);
      if (!f.ok) continue;
      fastCount++;
      expect(f, file).toEqual(slow(text));
    }
    expect(fast(readFileSync(FIXTURE_RULES_FILE, 'utf8')).ok).toBe(true);
    expect(fastCount).toBeGreaterThan(files.length / 2);
  });

  it('gives each rule the line yaml gives it, block and flow items mixed', () => {
    const text = [
      '# comment',
      'version: 1',
      'rules:',
      '  - name: a',
      '    on: x',
      '    do: []',
      '',
      '  - {name: b, on: x, do: []}',
      '  -',
      '    name: c',
      '    on: x',
      '    do: []',
      '',
    ].join('\n');
    const fastSource = parseRulesSource(text, 'f.yaml').source!;
    expect(fast(text).ok).toBe(true);
    const lines = [0, 1, 2].map((i) => fastSource.position(['rules', i]));
    expect(lines).toEqual([
      { line: 4, column: 5 },
      { line: 8, column: 5 },
      { line: 10, column: 5 },
    ]);
    // the same positions as from yaml's document (built on demand for any other path)
    const yamlSource = new RulesSource('f.yaml', fastSource.data, text);
    const paths: [PathSegment[], boolean][] = [
      [['rules', 0], false],
      [['rules', 1], false],
      [['rules', 2], false],
      [['rules', 1, 'on'], false],
      [['rules', 2, 'on'], true],
      [['rules', 0, 'do'], false],
    ];
    for (const [path, key] of paths) expect(fastSource.position(path, key), path.join('.')).toEqual(yamlSource.position(path, key));
  });
});
