/**
 * Editor comfort, as the official templates ship it: .vscode/ (the schema of
 * rules.yaml, tasks, launch configurations) and a dev container. The files
 * parse; every task and launch configuration runs something that exists (a
 * CLI subcommand, an npm script, a built file); the validate task's problem
 * matcher reads what `validate` really prints; the dev container has Node 20
 * and every Debian package a test asks for.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseStages, runCommand } from './dockerfile-stages.js';
import { BIN, assertBuilt, childEnv } from '../cli/support.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { buildRuleTestsSchema, renderRuleTestsSchema } from '../../src/authoring/rule-tests-schema.js';
import { FIXTURE_RULES_FILE, FIXTURE_RULES_TEST_FILE } from '../support/app-fixture.js';
import { REPO_ROOT } from '../support/prereq.js';

const json = <T>(rel: string): T => JSON.parse(readFileSync(join(REPO_ROOT, rel), 'utf8')) as T;

interface Matcher {
  readonly fileLocation: unknown;
  readonly pattern: { regexp: string; file: number; line: number; column?: number; severity?: number; code?: number; message: number };
}
interface Task {
  readonly label: string;
  readonly type: 'shell' | 'npm' | 'process';
  readonly command?: string;
  readonly args?: string[];
  readonly script?: string;
  readonly dependsOn?: string | string[];
  readonly problemMatcher?: string | Matcher | unknown[];
}
interface Input {
  readonly id: string;
}
const tasks = json<{ version: string; tasks: Task[]; inputs?: Input[] }>('.vscode/tasks.json');
const launch = json<{ configurations: { name: string; program: string; args?: string[]; preLaunchTask?: string }[]; inputs?: Input[] }>('.vscode/launch.json');
const scripts = json<{ scripts: Record<string, string> }>('package.json').scripts;

/** The CLI's subcommands, as its own help lists them. */
function cliCommands(): Set<string> {
  assertBuilt();
  const help = spawnSync(process.execPath, [BIN, 'help'], { encoding: 'utf8', env: childEnv({}) });
  expect(help.status).toBe(0);
  return new Set([...help.stdout.matchAll(/^ {2}extend-event-rules \[?([a-z]+)/gm)].map((m) => m[1]!));
}

/** `${input:x}` names used in strings. */
const inputsUsed = (values: readonly string[]): string[] => values.flatMap((v) => [...v.matchAll(/\$\{input:([^}]+)\}/g)].map((m) => m[1]!));
const workspacePath = (p: string): string => p.replace('${workspaceFolder}', REPO_ROOT);

describe('.vscode/settings.json', () => {
  it('associates rules.yaml with the committed rules.schema.json (and rules.test.yaml with nothing wrong)', () => {
    const settings = json<{ 'yaml.schemas': Record<string, string[] | string> }>('.vscode/settings.json');
    const entries = Object.entries(settings['yaml.schemas']);
    expect(entries.length).toBeGreaterThan(0);
    for (const [schema, globs] of entries) {
      expect(existsSync(resolve(REPO_ROOT, schema)), schema).toBe(true);
      const list = [globs].flat();
      if (schema.endsWith('rules.schema.json')) {
        expect(list).toContain('rules.yaml');
        expect(list.filter((g) => g.includes('test'))).toEqual([]);
      }
    }
    // the same schema the shipped rules file names in its first line
    expect(readFileSync(FIXTURE_RULES_FILE, 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\/rules\.schema\.json/);
  });

  it('associates rule-test files with rules.test.schema.json, which is up to date (npm run docs)', () => {
    const settings = json<{ 'yaml.schemas': Record<string, string[] | string> }>('.vscode/settings.json');
    expect([settings['yaml.schemas']['./rules.test.schema.json']].flat()).toContain('rules.test.yaml');
    expect(readFileSync(join(REPO_ROOT, 'rules.test.schema.json'), 'utf8'), 'rules.test.schema.json is stale: run npm run docs').toBe(renderRuleTestsSchema());
  });

  it('the rule-test schema accepts the shipped tests and the README\'s, and refuses unknown keys at every level', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(buildRuleTestsSchema());
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const at = readme.indexOf('\n### 4. Test it\n');
    const start = readme.indexOf('```yaml\n', at) + 8;
    const readmeTests = readme.slice(start, readme.indexOf('\n```', start));
    for (const [what, text] of [['the fixture', readFileSync(FIXTURE_RULES_TEST_FILE, 'utf8')], ['the README', readmeTests]] as const) {
      expect(validate(parse(text)), `${what}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
    const ok = { name: 'a', event: 'userLoggedIn', expect: { actions: [{ rule: 'r', action: 'log', requests: [{ method: 'POST' }] }] } };
    expect(validate({ version: 1, cases: [ok] })).toBe(true);
    const stateful = {
      ...ok,
      now: '2026-03-01T14:59:30Z',
      history: { u1: { events: [{ event: 'userLoggedIn', at: '2026-03-01T03:00:00Z' }], firings: [{ rule: 'daily', at: '2026-03-01T00:00:00Z' }] } },
      expect: { matched: [], suppressed: ['daily'] },
    };
    expect(validate({ version: 1, cases: [stateful] }), ajv.errorsText(validate.errors)).toBe(true);
    const typos = [
      { version: 1, cases: [ok], case: [] },
      { version: 1, cases: [{ ...ok, wehn: 1 }] },
      { version: 1, cases: [{ ...ok, expect: { matched: [], nothign: true } }] },
      { version: 1, cases: [{ ...ok, expect: { actions: [{ rule: 'r', action: 'log', param: {} }] } }] },
      { version: 1, cases: [{ ...ok, expect: { actions: [{ rule: 'r', action: 'log', requests: [{ methd: 'POST' }] }] } }] },
      { version: 2, cases: [ok] },
      { version: 1, cases: [] },
      { version: 1, cases: [{ ...stateful, history: { u1: { event: [] } } }] },
      { version: 1, cases: [{ ...stateful, history: { u1: { firings: [{ rule: 'daily', when: 'x' }] } } }] },
    ];
    for (const doc of typos) expect(validate(doc), JSON.stringify(doc)).toBe(false);
  });

  it('recommends the extensions the settings rely on', () => {
    const ext = json<{ recommendations: string[] }>('.vscode/extensions.json');
    expect(ext.recommendations).toContain('redhat.vscode-yaml');
  });
});

describe('.vscode/tasks.json', () => {
  it('each task runs a CLI subcommand, an npm script or depends on tasks that exist', () => {
    expect(tasks.version).toBe('2.0.0');
    const commands = cliCommands();
    const labels = new Set(tasks.tasks.map((t) => t.label));
    expect(labels.size).toBe(tasks.tasks.length);
    for (const task of tasks.tasks) {
      if (task.type === 'npm') {
        expect(scripts[task.script!], `${task.label}: npm run ${String(task.script)}`).toBeDefined();
      } else {
        expect(task.command, task.label).toBe('npx');
        expect(task.args?.[0], task.label).toBe('extend-event-rules');
        expect(commands.has(task.args![1]!), `${task.label}: extend-event-rules ${String(task.args?.[1])}`).toBe(true);
      }
      for (const dep of [task.dependsOn ?? []].flat()) expect(labels.has(dep), `${task.label} depends on ${dep}`).toBe(true);
    }
    for (const needed of ['validate', 'test', 'explain']) {
      expect(tasks.tasks.some((t) => t.args?.[1] === needed), `a task runs ${needed}`).toBe(true);
    }
    expect(tasks.tasks.some((t) => t.type === 'npm' && t.script === 'start'), 'a task runs the server').toBe(true);
  });

  it('explain runs on the file open in the editor, with an event asked for', () => {
    const explain = tasks.tasks.find((t) => t.args?.[1] === 'explain')!;
    expect(explain.args).toContain('${file}');
    const ids = new Set((tasks.inputs ?? []).map((i) => i.id));
    for (const id of inputsUsed(tasks.tasks.flatMap((t) => t.args ?? []))) expect(ids.has(id), id).toBe(true);
  });

  describe("the validate task's problem matcher", () => {
    const dir = mkdtempSync(join(tmpdir(), 'eer-editor-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads file, line, column, severity, code and message from what validate prints', () => {
      const task = tasks.tasks.find((t) => t.args?.[1] === 'validate')!;
      const matcher = task.problemMatcher as Matcher;
      const re = new RegExp(matcher.pattern.regexp);
      const file = join(dir, 'rules.yaml');
      writeFileSync(file, 'version: 1\nrules:\n  - name: a\n    on: userLogedIn\n    wehn: {}\n    do:\n      - log: { message: hi }\n');
      const run = spawnSync(process.execPath, [BIN, 'validate', file], { encoding: 'utf8', cwd: dir, env: childEnv({}) });
      expect(run.status).toBe(1);
      const found = `${run.stdout}\n${run.stderr}`
        .split('\n')
        .map((l) => re.exec(l))
        .filter((m) => m !== null)
        .map((m) => {
          const p = matcher.pattern;
          return { file: m[p.file], line: m[p.line], column: m[p.column!], severity: m[p.severity!], code: m[p.code!], message: m[p.message] };
        });
      expect(found).toEqual([
        { file, line: '4', column: '9', severity: 'error', code: 'unknown-event', message: expect.stringContaining('unknown event "userLogedIn"') as string },
        { file, line: '5', column: '5', severity: 'error', code: 'unknown-key', message: expect.stringContaining('unknown key "wehn"') as string },
      ]);
    });

    it("the test task's matcher reads the failed case, its file and line", () => {
      const task = tasks.tasks.find((t) => t.args?.[1] === 'test')!;
      const matcher = task.problemMatcher as Matcher;
      const re = new RegExp(matcher.pattern.regexp);
      writeFileSync(join(dir, 'ok.yaml'), 'version: 1\nrules:\n  - name: a\n    on: userLoggedIn\n    do:\n      - log: { message: hi }\n');
      const tests = join(dir, 'ok.test.yaml');
      writeFileSync(tests, 'version: 1\nrules: ok.yaml\ncases:\n  - name: passes\n    event: userLoggedIn\n    expect: { matched: [a] }\n  - name: fails on purpose\n    event: userLoggedIn\n    expect: { nothing: true }\n');
      const run = spawnSync(process.execPath, [BIN, 'test', tests], { encoding: 'utf8', cwd: dir, env: childEnv({}) });
      expect(run.status).toBe(1);
      const found = `${run.stdout}\n${run.stderr}`
        .split('\n')
        .map((l) => re.exec(l))
        .filter((m) => m !== null)
        .map((m) => [m[matcher.pattern.message], m[matcher.pattern.file], m[matcher.pattern.line]]);
      expect(found).toHaveLength(1);
      expect(found[0]![0]).toBe('fails on purpose');
      expect(found[0]![1]).toMatch(/ok\.test\.yaml$/);
      expect(found[0]![2]).toBe('7');
    });
  });
});

describe('.vscode/launch.json', () => {
  it('each configuration runs a file the build produces (or vitest) after a task that exists', () => {
    const labels = new Set(tasks.tasks.map((t) => t.label));
    expect(launch.configurations.some((c) => c.program.endsWith('/dist/main.js')), 'a configuration debugs the server').toBe(true);
    for (const c of launch.configurations) {
      const program = workspacePath(c.program);
      if (program.includes('/dist/')) {
        const source = program.replace('/dist/', '/src/').replace(/\.js$/, '.ts');
        expect(existsSync(source), `${c.name}: ${source} (compiled to ${c.program})`).toBe(true);
        expect(c.preLaunchTask, `${c.name} builds first`).toBeDefined();
      } else {
        expect(existsSync(program), `${c.name}: ${program}`).toBe(true);
      }
      if (c.preLaunchTask) expect(labels.has(c.preLaunchTask), c.preLaunchTask).toBe(true);
      if (c.program.endsWith('/dist/cli/index.js')) expect(cliCommands().has(c.args![0]!), c.name).toBe(true);
      const ids = new Set((launch.inputs ?? []).map((i) => i.id));
      for (const id of inputsUsed(c.args ?? [])) expect(ids.has(id), id).toBe(true);
    }
  });
});

describe('.devcontainer', () => {
  const config = json<{ build: { dockerfile: string }; postCreateCommand: string; forwardPorts: number[] }>('.devcontainer/devcontainer.json');
  const dockerfilePath = join(REPO_ROOT, '.devcontainer', config.build.dockerfile);
  const dockerfile = readFileSync(dockerfilePath, 'utf8');

  function testFiles(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? testFiles(join(dir, e.name)) : /\.(ts|mjs)$/.test(e.name) ? [join(dir, e.name)] : []));
  }

  it('runs Node 20 and installs every Debian package a test asks for', () => {
    const [stage] = parseStages(dockerfile);
    expect(stage!.image).toMatch(/node:[\d-]*20-bookworm$/);
    const installed = stage!.instructions
      .filter((i) => i.getKeyword() === 'RUN')
      .map(runCommand)
      .join(' ');
    const asked = new Set(['redis-server', 'nghttp2-client', 'python3-grpcio', 'python3-grpc-tools', 'python3-protobuf']);
    for (const file of [...testFiles(join(REPO_ROOT, 'test')), ...testFiles(join(REPO_ROOT, 'bench'))]) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:debianPython|executable)\(\s*'[^']*',\s*'([a-z0-9.+-]+)'/g)) asked.add(m[1]!);
    }
    for (const pkg of asked) expect(installed, pkg).toMatch(new RegExp(`\\s${pkg.replace(/[.+]/g, '\\$&')}(\\s|$)`));
  });

  it('installs and builds the project once created, forwards the two ports, and its Dockerfile lints clean', () => {
    expect(config.postCreateCommand).toMatch(/^npm ci\b/);
    expect(config.forwardPorts).toEqual([6565, 8080]);
    const lint = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'lint-dockerfile.mjs'), dockerfilePath], { encoding: 'utf8' });
    expect(lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });
});
