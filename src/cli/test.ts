/**
 * `extend-event-rules test [files...]`: runs rule tests (README.md, "Test it"),
 * offline: each case's event goes through the rules and the actions are
 * planned, nothing is sent. One ✓/✗ line per case, a `-`/`+` diff for a
 * failure, a summary line. Exit 0 all passed, 1 a case failed, 2 a usage or
 * format error (unknown event, data that does not fit, invalid rules file).
 */
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { createDefaultRegistry } from '../actions/index.js';
import type { ActionRegistry } from '../actions/index.js';
import { RuleTestFormatError } from '../authoring/index.js';
import { parseRuleTests, runCase } from '../authoring/index.js';
import type { RuleTestSuite } from '../authoring/index.js';
import { RulesCache } from '../authoring/index.js';
import { formatProblems } from '../rules/index.js';
import { didYouMean } from '../text/index.js';
import type { CommandIO } from './io.js';
import { loadCommandCatalog, parseArgs } from './io.js';

export const TEST_USAGE = 'usage: extend-event-rules test [files...]   (default: rules.test.yaml beside the rules file)\n';

/** What `test` needs from the app's configuration. */
export interface AuthoringDefaults {
  /** The rules file (RULES_FILE); the default test file is `rules.test.yaml` beside it. */
  readonly rulesFile: string;
  /** Proto directories (PROTO_DIR). */
  readonly protoDirs: readonly string[];
  /** The environment `${env.X}` reads, under the test file's `env`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The actions rules may use. Default: the built-ins. */
  readonly registry?: ActionRegistry;
}

function defaultTestFile(rulesFile: string): string {
  const name = rulesFile.replace(/^.*[\\/]/, '');
  const m = /^(.*)\.ya?ml$/.exec(name);
  return resolve(dirname(rulesFile), `${m ? m[1] : name}.test.yaml`);
}

function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

export async function testCommand(args: string[], io: CommandIO, defaults: AuthoringDefaults): Promise<number> {
  const { positionals, flags } = parseArgs(args, { flags: ['help', 'h'] });
  if (flags.has('help') || flags.has('h')) {
    io.stdout.write(TEST_USAGE);
    return 0;
  }
  const files = positionals.length > 0 ? positionals.map((f) => resolve(f)) : [defaultTestFile(defaults.rulesFile)];

  const catalog = await loadCommandCatalog(defaults.protoDirs, io);
  if (!catalog) return 2;
  const registry = defaults.registry ?? createDefaultRegistry();

  // Load every file first: a format problem anywhere stops the run before any case.
  const suites: RuleTestSuite[] = [];
  let formatErrors = 0;
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      io.stderr.write(`${display(file)}: ${code === 'ENOENT' ? 'no such test file (create it: see README.md, "Test it")' : `cannot read: ${code ?? String(err)}`}\n`);
      formatErrors++;
      continue;
    }
    try {
      suites.push(parseRuleTests(text, file, { catalog, defaultRulesFile: defaults.rulesFile, env: defaults.env }));
    } catch (err) {
      if (!(err instanceof RuleTestFormatError)) throw err;
      for (const p of err.problems) io.stderr.write(`${display(p.file)}:${p.line}:${p.column}: ${p.message}\n${p.fix ? `    fix: ${p.fix}\n` : ''}`);
      formatErrors++;
    }
  }
  if (formatErrors > 0) return 2;

  const cache = new RulesCache(catalog, registry);
  let passed = 0;
  let failed = 0;
  for (const suite of suites) {
    if (suites.length > 1) io.stdout.write(`${display(suite.file)}\n`);
    for (const c of suite.cases) {
      const loaded = await cache.load(suite.rulesFile, c.env);
      if (!loaded.ok) {
        io.stderr.write(formatProblems(loaded.problems, 'text'));
        io.stderr.write(`${display(suite.rulesFile)}: invalid rules file (case "${c.name}", ${display(suite.file)}:${c.line}): fix it, or set the variables it reads in the test file's env\n`);
        return 2;
      }
      const result = runCase(c, loaded.rules, registry);
      if (result.passed) {
        passed++;
        io.stdout.write(`✓ ${c.name}\n`);
        continue;
      }
      failed++;
      io.stdout.write(`✗ ${c.name}  (${display(suite.file)}:${c.line})\n`);
      io.stdout.write('    - expected  + actual\n');
      for (const line of result.diff) io.stdout.write(`    ${line}\n`);
      io.stdout.write(`    rules: ${result.outcomes.length > 0 ? result.outcomes.join(', ') : `none listens on ${c.service.eventName}${nearListened(c.service.eventName, loaded.rules.services)}`}\n`);
    }
  }
  io.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

/** For a topic or scheduled task no rule listens on (a typo, most often): ` (did you mean "topic:..."?)` among those the rules listen on. */
function nearListened(eventName: string, services: ReadonlySet<string>): string {
  if (!/^(topic|schedule):/.test(eventName)) return '';
  const hint = didYouMean(eventName, [...services].filter((s) => /^(topic|schedule):/.test(s)));
  return hint ? ` (${hint})` : '';
}
