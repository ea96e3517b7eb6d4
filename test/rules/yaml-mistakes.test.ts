/**
 * Issue 27 (and 26's "new user's first hour"): a YAML mistake is reported at
 * the line and column of the mistake with a fix, not where the parser
 * noticed it ("All mapping items must start at the same column", column 1):
 * a key two spaces too deep (the issue's `limit:`), between two levels, a
 * tab, a key written twice (then the rest of the file is still checked, in
 * the same run). Other YAML errors keep the reader's message. The checker
 * never flags the project's own valid YAML files.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '../../src/actions/index.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import { findIndentationMistakes, findMissingColons } from '../../src/rules/yaml-mistakes.js';
import { REPO_ROOT } from '../support/prereq.js';
import { fixtureCatalog } from './support/fixtures.js';

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: createDefaultRegistry(), env: {}, unsetEnv: 'warn' };
});

/** The problems of a file as `line:column message | fix`. */
function problemsOf(lines: readonly string[]): string[] {
  const r = compileRulesText(`${lines.join('\n')}\n`, 'rules.yaml', opts);
  if (r.ok) return [];
  return r.problems.map((p) => `${p.line}:${p.column} [${p.code}] ${p.message} | ${p.fix ?? ''}`);
}

const HEAD = ['version: 1', 'rules:', '  - name: daily', '    on: userLoggedIn'];
const DO = '    do: [ { log: { message: hi } } ]';

describe('YAML mistakes: line, column, fix', () => {
  it('a key two spaces too deep under a scalar (the issue): at the key, the column of its sibling', () => {
    expect(problemsOf([...HEAD, '      limit: { count: 1, per: day }', DO])).toEqual([
      '5:7 [yaml-syntax] "limit" starts at column 7, 2 spaces too deep: its sibling "on" (line 4) starts at column 5 | start "limit" at column 5, like "on" on line 4',
    ]);
  });

  it('a key too deep after a flow value, and one between two levels', () => {
    expect(problemsOf([...HEAD, DO, '      limit: { count: 1, per: day }'])).toEqual([
      '6:7 [yaml-syntax] "limit" starts at column 7, 2 spaces too deep: its sibling "do" (line 5) starts at column 5 | start "limit" at column 5, like "do" on line 5',
    ]);
    expect(problemsOf([...HEAD, '    limit:', '        count: 1', '      per: day', DO])).toEqual([
      '7:7 [yaml-syntax] "per" starts at column 7, 2 spaces too shallow: its sibling "count" (line 6) starts at column 9 | start "per" at column 9, like "count" on line 6 (or at column 5 to end the map above)',
    ]);
  });

  it('a key under the "-" of the item above (- name: a, then on: under the -): the column of the item\'s keys', () => {
    expect(problemsOf(['version: 1', 'rules:', '  - name: daily', '  on: userLoggedIn', DO])).toEqual([
      '4:3 [yaml-syntax] "on" starts at column 3, 2 spaces too shallow: its sibling "name" (line 3) starts at column 5 | start "on" at column 5, like "name" on line 3',
    ]);
    // an indentless list (the "-" at its key's column) ends where a key of that column comes: valid, not flagged
    expect(findIndentationMistakes(['version: 1', 'rules:', '- name: daily', '  on: userLoggedIn', 'other: 1', ''].join('\n'))).toEqual([]);
  });

  it('a tab in the indentation: where the tab is, and the column to start at', () => {
    expect(problemsOf([...HEAD, '\tlimit: { count: 1, per: day }', DO])).toEqual([
      '5:1 [yaml-syntax] a tab in the indentation of "limit": YAML indents with spaces only | replace the indentation with spaces: "limit" starts at column 5, like "on" on line 4',
    ]);
    expect(problemsOf([...HEAD, '    limit:', '    \tcount: 1', '        per: day', DO])[0]).toMatch(/^6:5 \[yaml-syntax\] a tab in the indentation of "count".* \| replace the indentation with spaces: "count" starts at column 7$/);
  });

  it('a key written twice: where, where first, and the rest of the file checked in the same run', () => {
    const found = problemsOf([...HEAD, '    on: userLoggedIn', '    limit: { count: 1, per: days }', DO, '  - name: daily', '    on: userLogedIn', DO]);
    expect(found).toEqual([
      '5:5 [yaml-syntax] "on" is written twice in one map (first on line 4) | keep one "on": a map has each key once (merge the two, or remove one)',
      expect.stringMatching(/^6:\d+ \[state-window\] limit: "days" is not a window \| did you mean "day"\?/),
      expect.stringMatching(/^8:11 \[duplicate-name\] rule name "daily" is already used/),
      expect.stringMatching(/^9:9 \[unknown-event\] unknown event "userLogedIn" \| did you mean "userLoggedIn"\?/),
    ]);
    expect(problemsOf([...HEAD, '    do:', '      - grantItem:', '          itemId: a', '          userId: "${event.userId}"', '          itemId: b'])).toEqual([
      '9:11 [yaml-syntax] "itemId" is written twice in one map (first on line 7) | keep one "itemId": a map has each key once (merge the two, or remove one)',
    ]);
  });

  it('other YAML errors keep the reader\'s message', () => {
    expect(problemsOf([...HEAD, '    description: "unclosed', DO])).toEqual([expect.stringMatching(/^7:\d+ \[yaml-syntax\] Missing closing "quote \| end the quoted text with "/)]);
    expect(problemsOf([...HEAD, '    do: [ { log: { message: hi } ]'])).toEqual([
      expect.stringMatching(/^5:34 \[yaml-syntax\] Flow map in block collection must be sufficiently indented and end with a \} \| close each \{ with \}/),
      expect.stringMatching(/^5:35 \[yaml-syntax\] Flow sequence .* \| close each \{ with \}/),
    ]);
  });

  it('a key written without its ":": at the key, with the line to write, and no cascade of the reader\'s errors', () => {
    // the reader said "Implicit keys need to be on a single line"
    expect(problemsOf([...HEAD.slice(0, 3), '    on userLoggedIn', DO])).toEqual([
      '4:7 [yaml-syntax] missing ":" after "on": YAML reads the line as one text, not a key and its value | write on: userLoggedIn',
    ]);
    // the reader blamed the next key's indentation ("userId" 2 spaces too deep)
    expect(problemsOf([...HEAD, '    do:', '      - grantItem:', '          itemId ${env.ITEM:-x}', '          userId: "${event.userId}"'])).toEqual([
      '7:17 [yaml-syntax] missing ":" after "itemId": YAML reads the line as one text, not a key and its value | write itemId: ${env.ITEM:-x}',
    ]);
    // the reader gave 11 errors from "Unexpected flow-seq-start token" on
    const when = ['    when:', '      and:', '        - "==" [{ var: namespace }, mygame]', '        - "==": [{ var: payload.loginLocation.country }, FR]'];
    expect(problemsOf([...HEAD, ...when, DO])).toEqual([
      '7:15 [yaml-syntax] missing ":" after "==": YAML reads the line as one text, not a key and its value | write "==": [{ var: namespace }, mygame]',
    ]);
    // the other errors of the file are still reported, where they are
    expect(problemsOf([...HEAD, ...when, '    description: "unclosed', DO])).toEqual([
      '7:15 [yaml-syntax] missing ":" after "==": YAML reads the line as one text, not a key and its value | write "==": [{ var: namespace }, mygame]',
      expect.stringMatching(/^11:\d+ \[yaml-syntax\] Missing closing "quote \| end the quoted text with "/),
    ]);
    // a word then a flow collection (the key "limit { count"; 14 "Unexpected ... token" lines for a when)
    expect(problemsOf([...HEAD, '    limit { count: 1, per: day }', DO])).toEqual([
      '5:10 [yaml-syntax] missing ":" after "limit": YAML reads the line as one text, not a key and its value | write limit: { count: 1, per: day }',
    ]);
    expect(problemsOf([...HEAD, '    when { "==": [ { var: namespace }, mygame ] }', DO])).toEqual([
      '5:9 [yaml-syntax] missing ":" after "when": YAML reads the line as one text, not a key and its value | write when: { "==": [ { var: namespace }, mygame ] }',
    ]);
    // a list of texts is not a list of keys
    expect(problemsOf([...HEAD, '    tags:', '      - welcome pack', '      - daily', '    description: "unclosed', DO])).toEqual([expect.stringMatching(/^10:\d+ \[yaml-syntax\] Missing closing "quote/)]);
  });

  it('never flags the valid YAML of the project (rules, rule tests, examples, fixtures)', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'dist') continue;
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.ya?ml$/.test(e.name)) files.push(p);
      }
    };
    for (const d of ['examples', 'test/fixtures', 'docs']) walk(resolve(REPO_ROOT, d));
    files.push(resolve(REPO_ROOT, 'rules.yaml'), resolve(REPO_ROOT, 'rules.test.yaml'), resolve(REPO_ROOT, 'docker-compose.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) expect(findIndentationMistakes(readFileSync(f, 'utf8')), f).toEqual([]);
    for (const f of files) expect(findMissingColons(readFileSync(f, 'utf8')).mistakes, f).toEqual([]);
    // the yaml blocks of the docs
    for (const doc of readdirSync(resolve(REPO_ROOT, 'docs')).filter((n) => n.endsWith('.md'))) {
      const text = readFileSync(resolve(REPO_ROOT, 'docs', doc), 'utf8');
      for (const m of text.matchAll(/```yaml\n([\s\S]*?)```/g)) expect(findIndentationMistakes(m[1]!), `${doc}: ${m[1]!.slice(0, 60)}`).toEqual([]);
    }
  });
});
