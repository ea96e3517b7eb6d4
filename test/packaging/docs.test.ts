/**
 * The reference pages cannot drift from the code: every generated part of
 * docs/ (configuration table, action parameters and permissions, problem
 * codes) equals what `npm run docs` would write, the hand-written operator
 * table lists exactly the added operators, and every relative link of the
 * README and docs/ reaches an existing file and heading.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { DocsMarkerError, actionReference, describeType, envTable, regenerateDocs, replaceSection } from '../../src/authoring/reference-docs.js';
import { CASE_KEYS, EXPECT_KEYS, TOP_KEYS } from '../../src/authoring/rule-tests.js';
import { PROBLEM_CODES } from '../../src/rules/problem-codes.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { CUSTOM_OPERATORS } from '../../src/rules/logic.js';
import { loadCatalog } from '../../src/events/catalog.js';
import { AGS_SPECS_DIR, REPO_ROOT, describeWith, sharedSpecs } from '../support/prereq.js';
import { withCustomEvents } from '../../src/custom-events/index.js';

const read = (file: string): string => readFileSync(join(REPO_ROOT, file), 'utf8');
const pages = (): string[] => ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** GitHub's heading anchors of a markdown text (code blocks skipped). */
function anchors(text: string): Set<string> {
  const out = new Set<string>();
  let fence = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fence = !fence;
    const m = !fence && /^#{1,6}\s+(.*)$/.exec(line);
    if (m) out.add(m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replaceAll(' ', '-'));
  }
  return out;
}

describe('generated parts of docs/', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'docs-test-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('every generated part is up to date (run `npm run docs` when this fails)', () => {
    for (const { file, current, expected } of regenerateDocs(REPO_ROOT)) {
      expect(current, `${file} is stale: run npm run docs`).toBe(expected);
    }
  });

  it('a stale page is detected: a default changed in a copy of actions.md', () => {
    cpSync(join(REPO_ROOT, 'docs'), join(tmp, 'docs'), { recursive: true });
    const file = join(tmp, 'docs/actions.md');
    writeFileSync(file, readFileSync(file, 'utf8').replace('| `quantity` | integer | `1` |', '| `quantity` | integer | `2` |'));
    const stale = regenerateDocs(tmp).find((p) => p.file === 'docs/actions.md')!;
    expect(stale.current).not.toBe(stale.expected);
    expect(stale.expected).toBe(read('docs/actions.md'));
  });

  it('missing markers are an error naming the page and the part', () => {
    expect(() => replaceSection('no markers', 'docs/x.md', 'action:grantItem', '')).toThrow(DocsMarkerError);
    expect(() => replaceSection('no markers', 'docs/x.md', 'action:grantItem', '')).toThrow(/docs\/x\.md .*action:grantItem:start/);
  });

  it('actions.md has one generated part per built-in action and none for others', () => {
    const text = read('docs/actions.md');
    const marked = [...text.matchAll(/<!-- action:([A-Za-z0-9_]+):start -->/g)].map((m) => m[1]);
    expect(marked).toEqual(createDefaultRegistry().names());
    for (const name of createDefaultRegistry().names()) expect(text, name).toContain(`\n## ${name}\n`);
  });

  it('an action reference shows type, default or required, the description and the permission', () => {
    const ref = actionReference(createDefaultRegistry().get('creditWallet')!);
    expect(ref).toContain('| `amount` | integer | **required** | Amount to add (1 to 9007199254740991). |');
    expect(ref).toMatch(/\| `source` \| `ACHIEVEMENT`, .*`REWARD`.* \| `REWARD` \|/);
    expect(ref).toContain("| `userId` | string | the event's `userId` | The user to act on. |");
    expect(ref).toContain('Permission: `ADMIN:NAMESPACE:{namespace}:USER:{userId}:WALLET [UPDATE]`');
    expect(actionReference(createDefaultRegistry().get('log')!)).toContain('Permission: none (no AGS call).');
  });

  it('types read as words', () => {
    expect(describeType({ type: ['integer', 'string'] })).toBe('integer');
    expect(describeType({ enum: ['A', 'B'] })).toBe('`A`, `B`');
    expect(describeType({ type: 'array', items: { type: 'string' } })).toBe('list of strings');
    expect(describeType({ type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } })).toBe('map of strings or numbers or booleans');
    expect(describeType({})).toBe('any JSON');
  });

  it('the env table escapes pipes and marks unset defaults', () => {
    expect(envTable([{ name: 'A_B', default: '', description: 'x | y' }])).toContain('| `A_B` | (unset) | x \\| y |');
  });
});

describe('problem codes', () => {
  it('every listed code is emitted somewhere in src/ (the compiler checks the other way)', () => {
    const src = sourceFiles(join(REPO_ROOT, 'src'))
      .filter((f) => !f.endsWith('problem-codes.ts'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const unused = Object.keys(PROBLEM_CODES).filter((code) => !src.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });

  it('docs/rule-language.md lists every code', () => {
    const text = read('docs/rule-language.md');
    for (const code of Object.keys(PROBLEM_CODES)) expect(text).toContain(`| \`${code}\` |`);
  });
});

describe('hand-written reference tables', () => {
  it("docs/observability.md's metric table lists every metric the app registers, with its labels", async () => {
    const registry = new Metrics({ defaultMetrics: false }).registry;
    const registered = (await registry.getMetricsAsJSON()).map((m) => m.name);
    const labelsOf = (name: string): string[] => [...((registry.getSingleMetric(name) as unknown as { labelNames: readonly string[] }).labelNames)];
    const text = read('docs/observability.md');
    const rows = new Map([...text.matchAll(/^\| `([a-z_]+)` \| ([^|]*) \|/gm)].map((m) => [m[1]!, [...m[2]!.matchAll(/`([a-z_]+)`/g)].map((l) => l[1]!)]));
    const ours = registered.filter((n) => n.startsWith('event_rules_'));
    expect(ours.length).toBeGreaterThan(5);
    expect(ours.filter((n) => !rows.has(n)), 'metrics missing from the table').toEqual([]);
    expect([...rows.keys()].filter((n) => !registered.includes(n)), 'rows naming no metric').toEqual([]);
    for (const [name, labels] of rows) {
      if (name.startsWith('event_rules_')) expect(labels, name).toEqual(labelsOf(name));
      else for (const l of labels) expect(labelsOf(name), name).toContain(l);
    }
  });

  it("the operator table of docs/rule-language.md lists exactly the added operators", () => {
    const text = read('docs/rule-language.md');
    const start = text.indexOf('| operator | example | result |');
    expect(start).toBeGreaterThan(0);
    const rows = text.slice(start).split('\n\n')[0]!.split('\n').slice(2);
    const listed = rows.flatMap((r) => [...r.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
    expect([...listed].sort()).toEqual(Object.keys(CUSTOM_OPERATORS).sort());
  });
});

describe('links of README.md and docs/', () => {
  it('every relative link reaches an existing file and heading', () => {
    const broken: string[] = [];
    for (const page of pages()) {
      const text = read(page);
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1]!;
        if (/^[a-z]+:/.test(link)) continue;
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? page : normalize(join(dirname(page), path));
        let targetText: string;
        try {
          targetText = path.endsWith('/') ? '' : read(target);
        } catch {
          broken.push(`${page}: ${link} (no file ${target})`);
          continue;
        }
        if (anchor && !anchors(targetText).has(anchor)) broken.push(`${page}: ${link} (no heading #${anchor} in ${target})`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describeWith(sharedSpecs(), 'events named in README.md and docs/', () => {
  it('every event a shown command names (samples, explain, send) is an AGS event', async () => {
    // custom events (topic:NAME, schedule:TASK) are events too (docs/custom-events.md)
    const catalog = withCustomEvents(await loadCatalog({ dirs: [AGS_SPECS_DIR] }));
    const named = pages().flatMap((page) =>
      [...read(page).matchAll(/extend-event-rules (?:samples|explain|send) ([A-Za-z][\w.]*(?::[\w-]+)?)/g)].map((m) => ({ page, event: m[1]! })),
    );
    expect(named.length).toBeGreaterThan(3);
    expect(named.filter(({ event }) => !catalog.resolve(event).ok)).toEqual([]);
  });
});

describe('facts the README states', () => {
  it("the rule-test format table lists exactly the keys the loader accepts", () => {
    const readme = read('README.md');
    const start = readme.indexOf('| key | where | meaning |');
    expect(start).toBeGreaterThan(0);
    const rows = readme.slice(start).split('\n\n')[0]!.split('\n').slice(2);
    const documented = rows.map((r) => /^\| `([\w.]+)` \|/.exec(r)?.[1]);
    const accepted = [...new Set([...TOP_KEYS, ...CASE_KEYS, ...EXPECT_KEYS.map((k) => `expect.${k}`)])].filter((k) => k !== 'cases' && k !== 'expect');
    expect([...documented].sort()).toEqual(accepted.sort());
  });

  it('the Node.js version of the quick start is package.json engines', () => {
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    const min = /^>=\s*([\d.]+)$/.exec(engines)?.[1];
    expect(min, `engines.node "${engines}" is not ">=X"`).toBeDefined();
    expect(read('README.md')).toContain(`Node.js ${min} or later`);
  });
});
