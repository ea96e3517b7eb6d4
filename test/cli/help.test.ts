/**
 * Issue 27: every command and every option the CLI accepts is in its
 * `--help`, in the top-level `help`, and in the docs (README.md or docs/):
 * `explain --history` was documented in docs/stateful-rules.md but missing
 * from `--help`. The options are read from the command modules' source (the
 * names `parseArgs` takes, and the `--name` literals a module compares by
 * hand), so a new option fails here until it is documented. Each command's
 * `--help` runs in this process (`runCommand`: the bin's runCli, with its cwd,
 * environment and redacting output); the top-level `help` runs the real bin.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/prereq.js';
import { assertBuilt, runBin, runCommand, workspace } from './support.js';

beforeAll(() => assertBuilt());

const CLI = resolve(REPO_ROOT, 'src/cli');
/** Modules of src/cli that are not commands. */
const HELPERS = new Set(['index', 'commands', 'io', 'dead-letter-source', 'send-schedule']);
const NOT_OPTIONS = new Set(['help', 'h', 'm']);

/** The options a command module parses: `--name` for each. */
function optionsOf(file: string): string[] {
  const src = readFileSync(resolve(CLI, file), 'utf8');
  const names = new Set<string>();
  for (const m of src.matchAll(/\b(?:values|flags):\s*\[([^\]]*)\]/g)) for (const n of m[1]!.matchAll(/'([^']+)'/g)) names.add(n[1]!);
  for (const m of src.matchAll(/['`]--([a-z][a-z-]*)['`=]/g)) names.add(m[1]!);
  return [...names].filter((n) => !NOT_OPTIONS.has(n)).sort();
}

const COMMANDS = readdirSync(CLI)
  .filter((f) => f.endsWith('.ts') && !HELPERS.has(f.slice(0, -3)))
  .map((f) => ({ name: f.slice(0, -3), options: optionsOf(f) }));

const docs = (): string => [readFileSync(resolve(REPO_ROOT, 'README.md'), 'utf8'), ...readdirSync(resolve(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => readFileSync(resolve(REPO_ROOT, 'docs', f), 'utf8'))].join('\n');

describe('--help lists what the CLI accepts', () => {
  it('the commands and options read from src/cli are the expected ones (the reader works)', () => {
    const byName = Object.fromEntries(COMMANDS.map((c) => [c.name, c.options]));
    expect(Object.keys(byName).sort()).toEqual(expect.arrayContaining(['build-actions', 'dead-letters', 'explain', 'replay', 'samples', 'schema', 'send', 'test', 'validate']));
    expect(byName.explain).toEqual(expect.arrayContaining(['data', 'facts', 'history', 'json', 'now', 'rules']));
    expect(byName.send).toEqual(expect.arrayContaining(['data', 'metadata', 'run-id', 'schedule', 'target', 'timeout', 'topic']));
    expect(byName.schema).toEqual(['check', 'write']);
  });

  it('each command answers --help with exit 0 and names every option it parses', async () => {
    const ws = workspace();
    try {
      const missing: string[] = [];
      for (const { name, options } of COMMANDS) {
        const r = await runCommand([name, '--help'], { cwd: ws.dir });
        expect(r.code, `${name} --help: ${r.stderr}`).toBe(0);
        expect(r.stdout, `${name} --help`).toMatch(/usage/i);
        for (const o of options) if (!new RegExp(`--${o}\\b`).test(r.stdout)) missing.push(`${name} --${o}`);
      }
      expect(missing).toEqual([]);
    } finally {
      ws.remove();
    }
  });

  it('the top-level help names every command and, on its line, every option of it', async () => {
    const ws = workspace();
    try {
      const r = await runBin(['help'], { cwd: ws.dir });
      expect(r.code).toBe(0);
      const missing: string[] = [];
      for (const { name, options } of COMMANDS) {
        const lines = r.stdout.split('\n').filter((l) => l.trimStart().startsWith(`extend-event-rules ${name} `) || l.trim() === `extend-event-rules ${name}`);
        if (lines.length === 0) missing.push(name);
        for (const o of options) if (!lines.some((l) => new RegExp(`--${o}\\b`).test(l))) missing.push(`${name} --${o}`);
      }
      expect(missing).toEqual([]);
    } finally {
      ws.remove();
    }
  });

  it('a mistyped command says the command meant, then the usage (exit 2)', async () => {
    const ws = workspace();
    try {
      const r = await runCommand(['tset'], { cwd: ws.dir });
      expect(r.stderr).toMatch(/^extend-event-rules: unknown command "tset": did you mean "test"\?\n\nextend-event-rules: AGS Extend event handler/);
      expect(r.code).toBe(2);
    } finally {
      ws.remove();
    }
  });

  it('README.md or docs/ mention every option', () => {
    const text = docs();
    const missing = COMMANDS.flatMap(({ name, options }) => options.filter((o) => !new RegExp(`--${o}\\b`).test(text)).map((o) => `${name} --${o}`));
    expect(missing).toEqual([]);
  });
});
