/**
 * What a command's start-up loads (issue 24, item 6: every bin start of the suite and of a user's
 * `npm run check-rules` paid for the whole server). A command that serves nothing, sends nothing to
 * AGS and publishes nothing does not load the gRPC server's packages, prom-client or undici: the
 * configuration reads the server's defaults from src/contract, and the metrics, the AGS transport
 * and the Async Messaging publisher load their package on first use. Not timed: the packages
 * loaded are read from the child's module cache (every one of these packages is CommonJS).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { builtApp } from '../e2e/support.js';
import { describeWith, REPO_ROOT } from '../support/prereq.js';
import { PROTO_DIR, childEnv, workspace } from './support.js';
import { FIXTURE_RULES_FILE } from '../support/app-fixture.js';

/** What a child running a command loaded: see {@link packagesLoadedBy}. */
interface Loaded {
  readonly code: number;
  readonly packages: string[];
  readonly ajvFiles: string[];
  /** Node's built-in modules (`http`, `worker_threads`...), from `process.moduleLoadList`. */
  readonly builtins: string[];
  readonly output: string;
}

/**
 * The packages of node_modules a child running each of `argvs` in turn through the bin's runCli has loaded by the
 * end of each command (CommonJS ones from its module cache, ES modules from a load hook that writes each URL to a
 * file before the module loads), ajv's files among them, the built-in modules it loaded, and each exit code.
 * The lists only grow: a package missing after a command was loaded by none of the commands up to it.
 */
function packagesLoadedByEach(argvs: readonly (readonly string[])[], env: Readonly<Record<string, string>> = {}): Loaded[] {
  const ws = workspace();
  const esmList = join(ws.dir, 'esm-loaded.txt');
  const hook = `import { appendFileSync } from 'node:fs'; export async function load(url, context, next) { appendFileSync(${JSON.stringify(esmList)}, url + '\\n'); return next(url, context); }`;
  const script = `
    import { createRequire, register } from 'node:module';
    import { existsSync, readFileSync } from 'node:fs';
    import { fileURLToPath } from 'node:url';
    register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});
    const { runCli } = await import(${JSON.stringify(join(REPO_ROOT, 'dist', 'cli', 'commands.js'))});
    const loaded = [];
    for (const argv of ${JSON.stringify(argvs)}) {
    let output = '';
    const sink = { write: (s) => { output += String(s); return true; } };
    const code = await runCli(argv, { stdout: sink, stderr: sink, stdin: process.stdin });
    const esm = existsSync(${JSON.stringify(esmList)}) ? readFileSync(${JSON.stringify(esmList)}, 'utf8').split('\\n').filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u)) : [];
    const packages = new Set();
    const ajvFiles = [];
    for (const file of [...Object.keys(createRequire(import.meta.url).cache), ...esm]) {
      const m = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(file);
      if (m) packages.add(m[1].replace('\\\\', '/'));
      const a = /node_modules[\\\\/]ajv[\\\\/](.*)$/.exec(file);
      if (a) ajvFiles.push(a[1].replace(/\\\\/g, '/'));
    }
    const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
    loaded.push({ code, packages: [...packages].sort(), ajvFiles, builtins, output });
    }
    process.stdout.write(JSON.stringify(loaded));
  `;
  let r;
  try {
    r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ws.dir, env: childEnv({ PROTO_DIR, ...env }), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } finally {
    ws.remove();
  }
  if (r.status !== 0) throw new Error(`the child exited ${String(r.status)}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Loaded[];
}

/** {@link packagesLoadedByEach} of one command in a child of its own. */
function packagesLoadedBy(argv: readonly string[], env: Readonly<Record<string, string>> = {}): Loaded {
  return packagesLoadedByEach([argv], env)[0]!;
}

/**
 * One child for the commands whose tests check what they do not load, run from the lightest up: validate of the app
 * fixture's rules, explain, samples of an event, send (to a closed port), then test (which loads yaml). What each
 * test says a command does not load is therefore not loaded by the commands before it either.
 */
const COMMANDS = {
  validate: ['validate', FIXTURE_RULES_FILE],
  explain: ['explain', 'userLoggedIn', '--rules', FIXTURE_RULES_FILE],
  samples: ['samples', 'userLoggedIn'],
  send: ['send', 'userLoggedIn', '--target', '127.0.0.1:1'],
  test: ['test', FIXTURE_RULES_FILE.replace(/\.yaml$/, '.test.yaml')],
} as const;
let sequence: Record<keyof typeof COMMANDS, Loaded> | undefined;
function loadedBy(command: keyof typeof COMMANDS): Loaded {
  if (!sequence) {
    const names = Object.keys(COMMANDS) as (keyof typeof COMMANDS)[];
    const each = packagesLoadedByEach(names.map((n) => COMMANDS[n]));
    sequence = Object.fromEntries(names.map((n, i) => [n, each[i]!])) as Record<keyof typeof COMMANDS, Loaded>;
  }
  return sequence[command];
}
function fixtureValidate(): Loaded {
  return loadedBy('validate');
}

/** Packages only the server, an AGS call, the metrics or a publish needs. */
const SERVER_ONLY = ['@grpc/grpc-js', '@grpc/reflection', 'grpc-health-check', 'prom-client', 'undici', 'ioredis'];

describeWith(builtApp(), 'a command that serves nothing loads none of the server\'s packages', () => {
  it('validate (the rules, every action and its schema, the event catalog) loads ajv and protobufjs, not grpc-js, prom-client or undici', () => {
    const r = fixtureValidate();
    expect(r.output).toContain('valid');
    expect(r.code).toBe(0);
    // the reader works: the packages validate needs are listed
    expect(r.packages).toEqual(expect.arrayContaining(['ajv', 'protobufjs']));
    expect(r.packages.filter((p) => SERVER_ONLY.includes(p))).toEqual([]);
    // it makes no span: the OpenTelemetry API is not loaded either (src/telemetry/tracing.ts loads it on first use)
    expect(r.packages).not.toContain('@opentelemetry/api');
    // it logs nothing and serves no metrics: no pino (its ~30 modules), no node:http (worker_threads and net are the load hook's)
    // (src/telemetry/logger.ts and metrics-server.ts load them on first use; the load-time checks' silent logger too)
    expect(r.builtins).toEqual(expect.arrayContaining(['fs', 'path']));
    expect(r.packages).not.toContain('pino');
    expect(r.builtins.filter((m) => ['http', '_http_server', '_http_client'].includes(m))).toEqual([]);
  });

  it('explain without --history and samples of an event load neither yaml nor pino; test (a rule-test file in YAML) loads yaml', () => {
    const explained = loadedBy('explain');
    expect(explained.output).toMatch(/userLoggedIn/);
    expect(explained.code).toBe(0);
    // the reader works: explain's own packages are listed
    expect(explained.packages).toEqual(expect.arrayContaining(['js-yaml', 'protobufjs']));
    // src/authoring/yaml.ts loads yaml for a rule-test or history file only
    expect(explained.packages).not.toContain('yaml');
    expect(explained.packages).not.toContain('pino');
    // samples of an event likewise (src/cli/samples.ts requires yaml for --list's reading of the rules file only)
    const sampled = loadedBy('samples');
    expect(sampled.output).toMatch(/"userId"/);
    expect(sampled.code).toBe(0);
    expect(sampled.packages).not.toContain('yaml');
    const tested = loadedBy('test');
    expect(tested.output).toMatch(/passed, 0 failed/);
    expect(tested.code).toBe(0);
    expect(tested.packages).toContain('yaml');
  });
});

describeWith(builtApp(), "send, a client of the server, loads grpc-js but none of the server's own packages", () => {
  it('send (to a closed port) loads grpc-js, not grpc-health-check or @grpc/reflection (src/cli/send.ts reads DEFAULT_PORT from contract)', () => {
    const r = loadedBy('send');
    expect(r.output).toMatch(/sending userLoggedIn id [0-9a-f]{32} /);
    expect(r.output).toMatch(/UNAVAILABLE/);
    expect(r.code).not.toBe(0);
    // the reader works: the client's package is listed
    expect(r.packages).toContain('@grpc/grpc-js');
    expect(r.packages.filter((p) => ['grpc-health-check', '@grpc/reflection', '@grpc/proto-loader', 'prom-client', 'undici'].includes(p))).toEqual([]);
    expect(r.packages).not.toContain('pino');
  });
});

/** ajv's compiler (its core and code generator): what compiling a schema at run time loads. */
const AJV_COMPILER = /^dist\/(core|2020|compile\/)/;

describeWith(builtApp(), "rules of the built-in actions are checked by the build's precompiled validators", () => {
  it("validate with only built-in actions loads ajv's runtime helpers, not its compiler (no schema compiled at start)", () => {
    const r = fixtureValidate();
    expect(r.output).toContain('valid');
    expect(r.code).toBe(0);
    // the reader works: the precompiled validators' runtime helpers are listed
    expect(r.ajvFiles).toEqual(expect.arrayContaining(['dist/runtime/ucs2length.js']));
    expect(r.ajvFiles.filter((f) => AJV_COMPILER.test(f))).toEqual([]);
  });

  it("validate with a custom action compiles its parameter schema at run time, and refuses bad parameters in ajv's words", () => {
    const ws = workspace();
    try {
      const actions = join(ws.dir, 'actions');
      mkdirSync(actions);
      writeFileSync(
        join(actions, 'award.mjs'),
        `export default { name: 'award', description: 'award points', params: { type: 'object', additionalProperties: false, required: ['points'], properties: { points: { type: 'integer', minimum: 1 } } }, usesAgs: false, normalize: (p) => p, plan: () => [], execute: async () => ({}) };\n`,
      );
      const rules = join(ws.dir, 'rules.yaml');
      writeFileSync(rules, 'version: 1\nrules:\n  - name: r\n    on: userLoggedIn\n    do:\n      - award: { points: 0 }\n');
      const r = packagesLoadedBy(['validate', rules], { ACTIONS_DIR: actions });
      expect(r.output).toMatch(/award\.points must be >= 1/);
      expect(r.code).not.toBe(0);
      expect(r.ajvFiles.filter((f) => AJV_COMPILER.test(f)).length).toBeGreaterThan(0);
    } finally {
      ws.remove();
    }
  });
});

describeWith(builtApp(), "re2js (the `matches` operator's engine) is loaded by the first pattern", () => {
  it('validate of rules without matches does not load it', () => {
    const r = fixtureValidate();
    expect(r.code).toBe(0);
    // the reader works: the rules' packages are listed
    expect(r.packages).toEqual(expect.arrayContaining(['js-yaml']));
    expect(r.packages).not.toContain('re2js');
  });

  it('validate of a rule with matches loads it and refuses a pattern RE2 refuses, in its words', () => {
    const ws = workspace();
    try {
      const rules = join(ws.dir, 'rules.yaml');
      const rule = (pattern: string) => `  - name: r${pattern.length}\n    on: userLoggedIn\n    when: { matches: [{ var: userId }, ${JSON.stringify(pattern)}, i] }\n    do:\n      - log: { message: hi }\n`;
      writeFileSync(rules, `version: 1\nrules:\n${rule('^[0-9a-f]{32}$')}${rule('(a)\\1')}`);
      const r = packagesLoadedBy(['validate', rules]);
      expect(r.packages).toContain('re2js');
      expect(r.output).toMatch(/RE2 syntax: no backreferences/);
      expect(r.output).toMatch(/1 problem/);
      expect(r.code).not.toBe(0);
    } finally {
      ws.remove();
    }
  });
});
