/**
 * The image holds everything the server needs, and nothing is missing: the
 * Dockerfile's stages are run without Docker (test/packaging/dockerfile-stages.ts):
 * the build context is the repository minus .dockerignore; the build stage runs
 * its own steps (`npm ci`, `npm run build`, the rules validation) in a temp copy;
 * the runtime stage gets ONLY what its COPY lines name, its node_modules from the
 * deps stage's `npm ci --omit=dev`. Then the server starts from the runtime
 * directory with the image's CMD and must answer health and a UserLoggedIn event.
 * npm runs with the local cache (`npm_config_prefer_offline=true`).
 * The two installs are taken from this checkout when its node_modules is the
 * lockfile's install ({@link lockfileInstall}): the build stage's `npm ci`
 * (every dependency, ~300 MB) links it; the deps stage's `npm ci --omit=dev`
 * asks npm what it would install (`--dry-run --json`: npm's own check of
 * package.json against the lock, and its own choice of the production
 * packages) and hard-links those packages only ({@link productionInstall}).
 * Either step runs for real when the checkout is not the lock's install.
 * What is not exercised then: npm fetching and unpacking the tarballs (the
 * checkout's packages carry the lock's integrity) and install scripts (npm
 * runs none here: protobufjs's is not in allowScripts).
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import { sampleEvent } from '../../src/events/samples.js';
import type { DecodedEvent } from '../../src/events/types.js';
import { REPO_ROOT } from '../support/prereq.js';
import { EXAMPLE_ACTION, useAppFixture } from '../support/app-fixture.js';
import { freePort } from '../support/workspace.js';
import { waitFor } from '../support/wait.js';
import { callRaw, healthCheck, healthClient, rawClient } from '../server/support.js';
import { buildContext, execForm, linkTree, listFiles, parseStages, runCommand, runStages } from './dockerfile-stages.js';
import type { StageResult } from './dockerfile-stages.js';

const DOCKERFILE = readFileSync(resolve(REPO_ROOT, 'Dockerfile'), 'utf8');
const LOGIN = 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService';


/**
 * The build stage's `npm ci` installs every dependency (~300 MB): the costliest
 * step of this file, and its result is the node_modules of this checkout when
 * that was installed from the same lockfile. npm records what it installed in
 * node_modules/.package-lock.json: when every package there has the lock's
 * version, integrity and source, and the only packages of the lock missing are
 * optional ones (other platforms' builds, which npm ci skips too), the build
 * stage links this node_modules instead of installing it again, and the deps
 * stage links its production part ({@link productionInstall}). Otherwise the
 * steps run.
 */
function lockfileInstall(lockFile: string): string | undefined {
  const installed = join(REPO_ROOT, 'node_modules');
  const hidden = join(installed, '.package-lock.json');
  if (!existsSync(hidden)) return undefined;
  type Entry = { version?: string; integrity?: string; resolved?: string; optional?: boolean };
  const lock = (JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, Entry> }).packages;
  const have = (JSON.parse(readFileSync(hidden, 'utf8')) as { packages: Record<string, Entry> }).packages;
  for (const [path, entry] of Object.entries(have)) {
    const want = lock[path];
    if (!want || want.version !== entry.version || want.integrity !== entry.integrity || want.resolved !== entry.resolved) return undefined;
  }
  for (const [path, entry] of Object.entries(lock)) if (path !== '' && !(path in have) && entry.optional !== true) return undefined;
  return installed;
}

const RUN_ENV = { npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false', npm_config_loglevel: 'error' };

/**
 * The deps stage's `npm ci --omit=dev`, from this checkout's install
 * (`installed`, what {@link lockfileInstall} found): npm is asked what the step
 * installs (`<command> --dry-run --json` in the stage's directory, on its copy
 * of package.json and package-lock.json: npm ci refuses them out of step there
 * as in the real step, and chooses the production packages by its own rules,
 * dev / optional / devOptional), then each package it names is hard-linked from
 * the checkout (its files, not its nested node_modules: those are packages of
 * their own in the list), with its `.bin` links. The stage's node_modules then
 * holds only what the step would install: a dev package imported at run time
 * is not found. Returns undefined (the step runs) when the dry run fails (the
 * real step then fails with npm's own message) or names a package the checkout
 * does not hold at that version.
 */
function productionInstall(command: string, cwd: string, installed: string): (() => void) | undefined {
  let plan: { add?: { name: string; version: string; path: string }[] };
  try {
    const out = execFileSync('sh', ['-c', `${command} --dry-run --json`], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...RUN_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      timeout: 240_000,
    });
    // npm prints its `add <name> <version>` lines, then the JSON
    const text = out.toString('utf8');
    plan = JSON.parse(text.startsWith('{') ? text : text.slice(text.indexOf('\n{') + 1)) as typeof plan;
  } catch (error) {
    console.warn(`image-content: ${command} runs (its dry run failed: ${String(error).slice(0, 2000)})`);
    return undefined;
  }
  const have = (JSON.parse(readFileSync(join(installed, '.package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> }).packages;
  const paths = (plan.add ?? []).map((a) => ({ rel: relative(cwd, a.path).split(sep).join('/'), version: a.version }));
  const absent = paths.filter((p) => !p.rel.startsWith('node_modules/') || have[p.rel]?.version !== p.version);
  if (paths.length === 0 || absent.length > 0) {
    console.warn(`image-content: ${command} runs (this checkout lacks ${absent.map((p) => `${p.rel}@${p.version}`).join(', ') || 'its plan'})`);
    return undefined;
  }
  const checkout = dirname(installed);
  return () => {
    const packages = new Set(paths.map((p) => join(checkout, p.rel)));
    for (const p of packages) {
      const into = join(cwd, relative(checkout, p));
      mkdirSync(into, { recursive: true });
      for (const name of readdirSync(p)) if (name !== 'node_modules') linkTree(join(p, name), join(into, name));
    }
    // the bin links npm makes beside them, for the packages installed only
    for (const bin of new Set([...packages].map((p) => join(dirname(p).endsWith(`${sep}node_modules`) ? dirname(p) : dirname(dirname(p)), '.bin')))) {
      if (!existsSync(bin)) continue;
      for (const name of readdirSync(bin)) {
        const link = join(bin, name);
        if (!lstatSync(link).isSymbolicLink()) continue;
        const target = resolve(bin, readlinkSync(link));
        if (![...packages].some((p) => target.startsWith(`${p}${sep}`))) continue;
        const into = join(cwd, relative(checkout, link));
        mkdirSync(dirname(into), { recursive: true });
        symlinkSync(readlinkSync(link), into);
      }
    }
  };
}

let workspace = '';
let build: StageResult;
let runtime: StageResult;
let deps: StageResult;

beforeAll(() => {
  workspace = mkdtempSync(join(tmpdir(), 'eer-image-'));
  const context = join(workspace, 'context');
  buildContext(REPO_ROOT, context);
  // the image of the project as shipped, whatever the user changed in rules.yaml, proto/...,
  // with the worked custom action copied into actions/ as the README says
  useAppFixture(context);
  cpSync(EXAMPLE_ACTION, join(context, 'actions', 'set-profile-attributes.ts'), { preserveTimestamps: true });
  const stages = runStages(DOCKERFILE, {
    context,
    workspace,
    runEnv: RUN_ENV,
    // two npm ci runs on a loaded 2-core machine: a budget, not a speed check
    runTimeoutMs: 600_000,
    replace: (stage, command, cwd) => {
      const install = stage === 'build' ? command === 'npm ci --no-audit --no-fund' : stage === 'deps' && command === 'npm ci --omit=dev --no-audit --no-fund';
      const installed = install ? lockfileInstall(join(cwd, 'package-lock.json')) : undefined;
      if (installed === undefined) return undefined;
      return stage === 'build' ? () => symlinkSync(installed, join(cwd, 'node_modules'), 'dir') : productionInstall(command, cwd, installed);
    },
  });
  build = stages.get('build')!;
  runtime = stages.get('runtime')!;
  deps = stages.get('deps')!;
}, 900_000);

// two node_modules trees of links (deps, runtime): removing them takes long on a loaded machine;
// rm -rf takes half the CPU of fs.rm's walk in JavaScript (~75,000 entries: 2.1 -> 1.0 CPU s)
afterAll(async () => {
  if (!workspace) return;
  if (process.platform === 'win32') await rm(workspace, { recursive: true, force: true });
  else await promisify(execFile)('rm', ['-rf', workspace]);
}, 300_000);

describe('Dockerfile', () => {
  it('has a build, a production-dependencies and a runtime stage on the current Node LTS', () => {
    const stages = parseStages(DOCKERFILE);
    expect(stages.map((s) => [s.name, s.image])).toEqual([
      ['build', 'node:24-bookworm-slim'],
      ['deps', 'node:24-bookworm-slim'],
      ['runtime', 'node:24-bookworm-slim'],
    ]);
    expect(build).toBeDefined();
    expect(runtime).toBeDefined();
  });

  it('runtime: non-root, production, tini as PID 1, the Extend ports', () => {
    const stage = parseStages(DOCKERFILE).find((s) => s.name === 'runtime')!;
    const one = (keyword: string) => {
      const found = stage.instructions.filter((i) => i.getKeyword() === keyword);
      expect(found, keyword).toHaveLength(1);
      return found[0]!;
    };
    expect(runtime.user).toBe('node');
    expect(runtime.env.NODE_ENV).toBe('production');
    expect(execForm(one('ENTRYPOINT'))).toEqual(['tini', '--']);
    expect(execForm(one('CMD'))).toEqual(['node', 'dist/main.js']);
    expect(one('EXPOSE').getArguments().map((a) => a.getValue())).toEqual(['6565', '8080']);
    // the only steps this test cannot run: installing tini and handing /app to the node user
    expect(runtime.skipped).toHaveLength(2);
    expect(runtime.skipped[0]).toMatch(/apt-get install -y --no-install-recommends tini\b/);
    expect(runtime.skipped[1]).toMatch(/^chown node:node \/app$/);
    expect(build.skipped).toEqual([]);
    // the build stage's full install, when this checkout's node_modules is it (lockfileInstall); every other step ran
    expect(build.ran.length + build.replaced.length).toBe(3);
    expect(build.replaced.every((c) => c === 'npm ci --no-audit --no-fund')).toBe(true);
    expect(runtime.replaced).toEqual([]);
    // the deps stage's production install: run, or (lockfileInstall) npm's dry run of it, linked from this checkout
    expect([...deps.ran, ...deps.replaced]).toEqual(['npm ci --omit=dev --no-audit --no-fund']);
    // npm runs in the build and deps stages only: its cache never reaches the runtime layers
    expect(runtime.ran, 'the runtime stage installs nothing: node_modules come from the deps stage').toEqual([]);
  });

  it('runtime holds production dependencies and compiled code only', () => {
    const app = runtime.hostWorkdir;
    expect(runtime.workdir).toBe('/app');
    for (const needed of ['dist/main.js', 'dist/cli/index.js', 'rules.yaml', 'rules.schema.json', 'package.json', 'package-lock.json', 'proto']) {
      expect(existsSync(join(app, needed)), needed).toBe(true);
    }
    for (const absent of ['src', 'test', 'bench', 'tsconfig.json', '.env', 'node_modules/typescript', 'node_modules/vitest', 'node_modules/eslint']) {
      expect(existsSync(join(app, absent)), absent).toBe(false);
    }
    expect(existsSync(join(app, 'node_modules/@grpc/grpc-js'))).toBe(true);
    // a dev package is not found from the app's code (nothing above the runtime directory holds one either)
    const fromApp = createRequire(join(app, 'dist', 'main.js'));
    for (const dev of ['typescript', 'vitest', 'eslint']) {
      expect(() => fromApp.resolve(dev), dev).toThrow(expect.objectContaining({ code: 'MODULE_NOT_FOUND' }));
    }
    expect(fromApp.resolve('@grpc/grpc-js').startsWith(join(app, 'node_modules') + sep)).toBe(true);
  });

  it("runtime's node_modules holds exactly the lock's production packages (npm ci --omit=dev: all but dev)", () => {
    type Entry = { dev?: boolean; optional?: boolean };
    const lock = (JSON.parse(readFileSync(join(runtime.hostWorkdir, 'package-lock.json'), 'utf8')) as { packages: Record<string, Entry> }).packages;
    const production = Object.entries(lock).filter(([path, e]) => path !== '' && e.dev !== true);
    const found: string[] = [];
    const walk = (dir: string, rel: string): void => {
      for (const name of readdirSync(dir)) {
        if (name.startsWith('.')) continue; // .bin, .package-lock.json
        if (name.startsWith('@')) {
          for (const scoped of readdirSync(join(dir, name))) visit(join(dir, name, scoped), `${rel}/${name}/${scoped}`);
        } else visit(join(dir, name), `${rel}/${name}`);
      }
    };
    const visit = (dir: string, rel: string): void => {
      found.push(rel);
      if (existsSync(join(dir, 'node_modules'))) walk(join(dir, 'node_modules'), `${rel}/node_modules`);
    };
    walk(join(runtime.hostWorkdir, 'node_modules'), 'node_modules');
    const wanted = new Set(production.map(([path]) => path));
    expect(found.filter((p) => !wanted.has(p)), 'packages that are not production dependencies').toEqual([]);
    // optional ones may be missing (another platform's build), as npm ci skips them
    const have = new Set(found);
    expect(production.filter(([path, e]) => e.optional !== true && !have.has(path)).map(([path]) => path), 'production packages missing').toEqual([]);
    expect(found.length).toBeGreaterThan(100);
  });

  it('compiles the custom actions of actions/ in the build stage; the runtime loads them (schema, validate)', () => {
    const app = runtime.hostWorkdir;
    expect(existsSync(join(app, 'dist/custom-actions/set-profile-attributes.js'))).toBe(true);
    expect(existsSync(join(app, 'dist/index.js'))).toBe(true);
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ['dist/cli/index.js', ...args], { cwd: app, env: { PATH: process.env.PATH ?? '', ...runtime.env }, encoding: 'utf8', timeout: 60_000 });
    const schema = cli(['schema']);
    expect(schema.status, schema.stderr).toBe(0);
    expect(Object.keys((JSON.parse(schema.stdout) as { $defs: { action: { properties: object } } }).$defs.action.properties)).toContain('setProfileAttributes');
    writeFileSync(join(app, 'custom.yaml'), 'version: 1\nrules:\n  - name: r\n    on: userLoggedIn\n    do:\n      - setProfileAttributes: { attributes: { a: "1" } }\n');
    const valid = cli(['validate', 'custom.yaml']);
    expect(valid.status, valid.stderr).toBe(0);
  });
});

describe('the server started from the runtime stage', () => {
  let child: ChildProcess | undefined;
  let stdout = '';
  let stderr = '';
  let exited = false;
  let port = 0;
  let metricsPort = 0;

  beforeAll(async () => {
    port = await freePort();
    metricsPort = await freePort();
    const [command, ...args] = execForm(parseStages(DOCKERFILE).find((s) => s.name === 'runtime')!.instructions.find((i) => i.getKeyword() === 'CMD')!);
    expect(command).toBe('node');
    child = spawn(process.execPath, args, {
      cwd: runtime.hostWorkdir,
      env: {
        PATH: process.env.PATH ?? '',
        ...runtime.env,
        PORT: String(port),
        PROMETHEUS_PORT: String(metricsPort),
        RULES_WATCH: 'false',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('exit', () => (exited = true));
    const health = healthClient(`127.0.0.1:${port}`);
    try {
      await waitFor('health SERVING', async () => {
        if (exited) throw new Error(`the server exited: files in the image:\n${listFiles(runtime.hostWorkdir, 50).join('\n')}\nstderr:\n${stderr}\nstdout:\n${stdout.slice(-3000)}`);
        try {
          return (await healthCheck(health)) === 'SERVING';
        } catch {
          return false;
        }
      }, 60_000);
    } finally {
      health.close();
    }
  }, 120_000);

  afterAll(async () => {
    if (child && !exited) {
      const gone = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
  });

  it('takes a UserLoggedIn event and logs the per-event summary', async () => {
    const catalog = await loadCatalog({ dirs: [join(runtime.hostWorkdir, 'proto')] });
    const found = catalog.resolve(LOGIN);
    if (!found.ok) throw new Error(`${LOGIN} not in the image's protos`);
    const event: DecodedEvent = { ...sampleEvent(found.service), namespace: 'mygame', userId: randomBytes(16).toString('hex') };
    const client = rawClient(`127.0.0.1:${port}`);
    try {
      const reply = await callRaw(client, found.service.path, catalog.codec(found.service).encode(event));
      expect(reply.code, reply.details).toBe(grpc.status.OK);
    } finally {
      client.close();
    }
    const summary = () =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; eventId?: string })
        .find((l) => l.msg !== undefined && /^userLoggedIn: \d+ rule\(s\) matched/.test(l.msg));
    await waitFor('the summary line', () => summary() !== undefined, 30_000);
    expect(summary()!.msg).toBe('userLoggedIn: 1 rule(s) matched, 1 action(s), ok');
    expect(summary()!.eventId).toBe(event['id']);
    expect(typeof event['id']).toBe('string');
  });

  it('serves Prometheus metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/grpc_server_handled_total\{[^}]*grpc_method="OnMessage"[^}]*\} 1/);
  });

  it('stops cleanly on SIGTERM (what tini forwards)', async () => {
    const exit = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child!.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(stdout).toMatch(/"msg":"stopped"/);
  });
});

describe('the build-time rules validation', () => {
  const validateRun = () => {
    const stage = parseStages(DOCKERFILE).find((s) => s.name === 'build')!;
    const runs = stage.instructions.filter((i) => i.getKeyword() === 'RUN').map(runCommand);
    const found = runs.filter((c) => /\bvalidate\b/.test(c));
    expect(found, 'one RUN of the build stage validates the rules').toHaveLength(1);
    // it runs after the build (it needs dist/)
    expect(runs.indexOf(found[0]!)).toBeGreaterThan(runs.indexOf('npm run build'));
    return found[0]!;
  };
  const run = (command: string) =>
    spawnSync('sh', ['-c', command], { cwd: build.hostWorkdir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, encoding: 'utf8', timeout: 60_000 });

  it('passes on the shipped rules.yaml', () => {
    // the build stage ran it (a failure would have stopped runStages with DockerRunError): what it printed
    const command = validateRun();
    expect(build.ran).toContain(command);
    expect(build.stdout.get(command)).toMatch(/rules\.yaml: valid/);
  });

  it('fails the image build on an invalid rules.yaml, saying where', () => {
    const rules = join(build.hostWorkdir, 'rules.yaml');
    const shipped = readFileSync(rules, 'utf8');
    writeFileSync(rules, shipped.replace('on: userLoggedIn', 'on: userLogedIn'));
    try {
      const result = run(validateRun());
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/rules\.yaml:\d+:\d+/);
      expect(result.stderr).toMatch(/userLogedIn/);
      expect(result.stderr).toMatch(/invalid/);
    } finally {
      writeFileSync(rules, shipped);
    }
  });

  it('checks the rules against the typed topics beside rules.yaml (topics/, copied into the build and runtime stages)', () => {
    // validate reads topics/NAME.schema.json beside the rules file: without the folder in the stage, a body path
    // the schema does not have passed the image build while `validate` on the project failed
    const topics = join(build.hostWorkdir, 'topics');
    expect(existsSync(topics), 'the build stage holds topics/').toBe(true);
    expect(existsSync(join(runtime.hostWorkdir, 'topics')), 'the runtime stage holds topics/ (the server types bodies with it)').toBe(true);
    const rules = join(build.hostWorkdir, 'rules.yaml');
    const shipped = readFileSync(rules, 'utf8');
    const schema = join(topics, 'weekly-reset.schema.json');
    writeFileSync(schema, JSON.stringify({ type: 'object', required: ['userId'], properties: { userId: { type: 'string' } } }));
    writeFileSync(
      rules,
      `${shipped}\n  - name: reset-chest\n    on: { topic: weekly-reset }\n    when: { "==": [{ var: body.userid }, "x"] }\n    do:\n      - grantItem: { itemId: chest, quantity: 1, source: REWARD, userId: "\${event.body.userId}" }\n`,
    );
    try {
      const result = run(validateRun());
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/body\.userid/);
      expect(result.stderr).toMatch(/did you mean "body\.userId"/);
    } finally {
      writeFileSync(rules, shipped);
      rmSync(schema, { force: true });
    }
  });
});
