/**
 * docs/cookbook.md is what it says: each reaction's rule (the first yaml block
 * of its section) passes `validate`, and its rule test (the second) passes
 * `test`, with AGS's event protos beside the shipped ones.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO_ROOT, describeWith, sharedSpecs } from '../support/prereq.js';
import { PROTO_DIR, assertBuilt, childEnv, runCommand, workspace } from './support.js';

const SPECS = resolve(REPO_ROOT, '../shared/ags-event-specs');
const COOKBOOK = readFileSync(resolve(REPO_ROOT, 'docs/cookbook.md'), 'utf8');

/** The sections with their yaml blocks: [title, rule, test]. */
function reactions(): { title: string; rule: string; test: string }[] {
  return COOKBOOK.split(/^## /m)
    .slice(1)
    .map((section) => {
      const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
      return { title: section.split('\n')[0]!, rule: blocks[0] ?? '', test: blocks[1] ?? '' };
    });
}

describeWith(sharedSpecs(), 'docs/cookbook.md: fifteen reactions, fifteen rules validated and rule-tested', () => {
  const ws = workspace();
  beforeAll(() => assertBuilt());
  afterAll(() => ws.remove());

  it('fifteen sections, each with a rule and its test (none needs code)', () => {
    const all = reactions();
    expect(all).toHaveLength(15);
    expect(all.filter((r) => r.rule !== '' && r.test !== '').map((r) => r.title)).toEqual(all.map((r) => r.title));
    expect(COOKBOOK).not.toMatch(/not without code|needs code/);
  });

  it('each rule validates and its case passes', async () => {
    const dir = ws.dir;
    const env = childEnv({ PROTO_DIR: `${PROTO_DIR},${SPECS}` });
    const files: string[] = [];
    reactions()
      .filter((r) => r.rule !== '')
      .forEach((r, i) => {
        writeFileSync(join(dir, `r${i}.yaml`), `version: 1\nrules:\n${r.rule}`);
        writeFileSync(join(dir, `r${i}.test.yaml`), `version: 1\nnow: 2026-03-01T12:00:00Z\ncases:\n${r.test}`);
        files.push(`r${i}`);
      });
    // one validate over the fifteen files: each is checked on its own (the AGS catalog, ~0.5 CPU s, read once)
    const v = await runCommand(['validate', ...files.map((f) => `${f}.yaml`)], { cwd: dir, env });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    for (const f of files) expect(v.stdout).toMatch(new RegExp(`${f}\\.yaml: valid: \\d+ rules? on \\d+ events?\\n`));
    const t = await runCommand(['test', ...files.map((f) => `${f}.test.yaml`)], { cwd: dir, env });
    expect(t.code, t.stdout + t.stderr).toBe(0);
    expect(t.stdout).toMatch(/16 passed, 0 failed/);
  });
});
