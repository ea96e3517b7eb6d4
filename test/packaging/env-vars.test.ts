/**
 * One list of environment variables everywhere: the names the code (and the
 * shipped rules.yaml, through `${env.X}`) reads, the
 * documented `ENV_VARS` (src/config.ts), `.env.template` and docs/configuration.md's
 * table must be the same set. The table is written by `npm run docs:env`:
 * without it the docs test fails, on purpose.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from '../../src/config.js';
import { REPO_ROOT } from '../support/prereq.js';
import { FIXTURE_RULES_FILE } from '../support/app-fixture.js';

const documented = ENV_VARS.map((v) => v.name);
const TEMPLATE_FIVE = ['AB_BASE_URL', 'AB_CLIENT_ID', 'AB_CLIENT_SECRET', 'AB_NAMESPACE', 'ITEM_ID_TO_GRANT'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/**
 * Names of environment variables read in the code: `process.env.X`, `env.X`,
 * `env['X']`, and config's typed reads `vars.X` (src/config.ts). `${env.X}` is the rules
 * template syntax (a string in docs and messages), not a read: it is left out.
 */
function envReads(text: string): Set<string> {
  const names = new Set<string>();
  const patterns = [
    /(?<!\$\{)\b(?:process\.)?env\.([A-Z][A-Z0-9_]*)\b/g,
    /\benv\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g,
    /\bvars\.([A-Z][A-Z0-9_]*)\b/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) names.add(m[1]!);
  return names;
}

function codeReads(): Map<string, string> {
  const where = new Map<string, string>();
  for (const file of sourceFiles(resolve(REPO_ROOT, 'src'))) {
    for (const name of envReads(readFileSync(file, 'utf8'))) if (!where.has(name)) where.set(name, relative(REPO_ROOT, file));
  }
  // the shipped rules read the environment too (`${env.ITEM_ID_TO_GRANT}`)
  for (const m of readFileSync(FIXTURE_RULES_FILE, 'utf8').matchAll(/\$\{env\.([A-Z][A-Z0-9_]*)/g)) {
    if (!where.has(m[1]!)) where.set(m[1]!, 'rules.yaml');
  }
  return where;
}

interface TemplateLine {
  readonly name: string;
  readonly value: string;
  readonly commented: boolean;
}

function templateLines(): TemplateLine[] {
  const text = readFileSync(resolve(REPO_ROOT, '.env.template'), 'utf8');
  const out: TemplateLine[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out.push({ name: m[2]!, value: m[3]!.trim(), commented: m[1] !== undefined });
  }
  return out;
}

/** Names of the rows `| \`NAME\` | ...` of docs/configuration.md's section whose heading contains "Configuration". */
function docsTableNames(): string[] {
  const text = readFileSync(resolve(REPO_ROOT, 'docs/configuration.md'), 'utf8');
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => /^#{1,6}\s.*Configuration/i.test(l));
  if (start < 0) return [];
  const level = /^#+/.exec(lines[start]!)![0].length;
  const names: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const heading = /^(#{1,6})\s/.exec(line);
    if (heading && heading[1]!.length <= level) break;
    const m = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/.exec(line);
    if (m) names.push(m[1]!);
  }
  return names;
}

describe('environment variables', () => {
  it('the scanner finds reads and ignores ${env.X} template text', () => {
    const found = envReads("const a = process.env.FOO; b(env.BAR); env['BAZ']; f(vars.QUX); const doc = '${env.NOT_A_READ}';");
    expect([...found].sort()).toEqual(['BAR', 'BAZ', 'FOO', 'QUX']);
  });

  it('every variable the code and rules.yaml read is in ENV_VARS', () => {
    const reads = codeReads();
    expect(reads.size).toBeGreaterThan(20);
    const undocumented = [...reads].filter(([name]) => !documented.includes(name)).map(([name, file]) => `${name} (${file})`);
    expect(undocumented).toEqual([]);
  });

  it('every variable of ENV_VARS is read by the code or rules.yaml', () => {
    const reads = codeReads();
    expect(documented.filter((name) => !reads.has(name))).toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('.env.template lists ENV_VARS, the templates\' five first, defaults commented out', () => {
    const lines = templateLines();
    expect(lines.map((l) => l.name)).toEqual(documented);
    expect(lines.slice(0, 5).map((l) => l.name)).toEqual(TEMPLATE_FIVE);
    for (const l of lines.slice(0, 5)) expect(l.commented, l.name).toBe(false);
    for (const l of lines.slice(5)) {
      const v = ENV_VARS.find((e) => e.name === l.name)!;
      expect(l.commented, `${l.name} (its default is shown commented out)`).toBe(true);
      expect(l.value, `${l.name} default`).toBe(v.default);
    }
    // no secret value shipped
    expect(lines.find((l) => l.name === 'AB_CLIENT_SECRET')!.value).toBe('');
  });

  it("docs/configuration.md's table lists exactly ENV_VARS", () => {
    const names = docsTableNames();
    expect(names.length, 'docs/configuration.md needs a "Configuration" section with rows "| `NAME` | default | what |"').toBeGreaterThan(0);
    expect([...names].sort()).toEqual([...documented].sort());
  });
});
