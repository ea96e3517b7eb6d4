/**
 * The README's first-hour walkthrough, followed literally on a copy of the
 * project as shipped (test/fixtures/app): the rule of step 1 is added to
 * rules.yaml, the test file of step 4 written, and every `$ ` command of the
 * quick start and of steps 2 to 5 is run (`npx extend-event-rules` is the
 * built CLI); what each prints must be what the README shows (paths, the
 * clock, fresh event ids and the port normalized). Steps 5 and the quick start
 * run against the real server, which must log what the README says it logs.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, assertBuilt, childEnv, startServer, waitFor } from '../cli/support.js';
import type { RunningServer } from '../cli/support.js';
import { useAppFixture } from '../support/app-fixture.js';
import { REPO_ROOT } from '../support/prereq.js';
import { workspace } from '../support/workspace.js';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
/** Where the README's outputs pretend the project is. */
const README_DIR = '/home/me/extend-event-rules';

/** The `nth` (0-based) fenced block of `lang` after the heading line `heading`. */
function block(heading: string, lang: string, nth = 0): string {
  let at = README.indexOf(`\n${heading}\n`);
  expect(at, `README heading "${heading}"`).toBeGreaterThan(0);
  for (let i = 0; ; i++) {
    const start = README.indexOf(`\`\`\`${lang}\n`, at);
    const end = README.indexOf('\n```', start + 4);
    if (i === nth) return README.slice(start + lang.length + 4, end + 1);
    at = end + 4;
  }
}

interface Step {
  readonly command: string;
  readonly output: string[];
}

/** `$ ` commands of a console block (with `\` continuations) and the lines each prints. */
function steps(console: string): Step[] {
  const out: { command: string; output: string[] }[] = [];
  let continuing = false;
  for (const line of console.replace(/\n$/, '').split('\n')) {
    if (line.startsWith('$ ')) {
      out.push({ command: line.slice(2), output: [] });
      continuing = line.endsWith('\\');
    } else if (continuing) {
      out.at(-1)!.command += `\n${line}`;
      continuing = line.endsWith('\\');
    } else {
      out.at(-1)!.output.push(line);
    }
  }
  return out;
}

const normalize = (text: string, dir: string): string[] =>
  text
    .replaceAll(dir, README_DIR)
    .replace(/ at \d{4}-\d\d-\d\dT[\d:.]+Z$/m, ' at <now>')
    .replace(/ id [0-9a-f]{32} /g, ' id <fresh> ')
    .replace(/localhost:\d+\//g, 'localhost:<port>/')
    .replace(/\n$/, '')
    .split('\n');

describe('the README walkthrough, followed literally', () => {
  const ws = workspace('eer-readme-');
  let server: RunningServer | undefined;

  beforeAll(() => {
    assertBuilt();
    useAppFixture(ws.dir);
  });
  afterAll(async () => {
    await server?.stop();
    ws.remove();
  });

  /** Runs a README command in the project copy; `npx extend-event-rules` is the built CLI. */
  function run(command: string, env: Record<string, string> = {}) {
    const sh = command.replaceAll('npx extend-event-rules', `"${process.execPath}" "${BIN}"`);
    const result = spawnSync('sh', ['-c', sh], { cwd: ws.dir, env: childEnv({ PROTO_DIR: 'proto', ...env }), encoding: 'utf8', timeout: 60_000 });
    const printed = result.stderr === '' ? result.stdout : result.stdout === '' ? result.stderr : `${result.stderr}${result.stdout}`;
    return { status: result.status, printed };
  }

  function expectSteps(console: string, env: Record<string, string> = {}, okStatus: number[] = [0]) {
    const list = steps(console);
    expect(list.length).toBeGreaterThan(0);
    for (const step of list) {
      const { status, printed } = run(step.command, env);
      expect(okStatus, `${step.command}\n${printed}`).toContain(status);
      const actual = printed === '' ? [] : normalize(printed, ws.dir);
      const expected = step.output.map((l) => l.replace(/ at \d{4}-\d\d-\d\dT[\d:.]+Z$/, ' at <now>').replace(/ id [0-9a-f]{32} /g, ' id <fresh> ').replace(/localhost:\d+\//g, 'localhost:<port>/'));
      expect(actual, step.command).toEqual(expected);
    }
  }

  it('1. the rule is added at the end of rules.yaml; 2. validate prints that it is valid', () => {
    appendFileSync(join(ws.dir, 'rules.yaml'), `\n${block('### 1. Write a rule', 'yaml')}`);
    expectSteps(block('### 2. Validate it', 'console'));
  });

  it('3. explain prints why each rule matches or not, as shown', () => {
    expectSteps(block('### 3. Explain an event', 'console'));
  });

  it('4. the test file runs with the result shown (one case fails on purpose: exit 1)', () => {
    writeFileSync(join(ws.dir, 'rules.test.yaml'), block('### 4. Test it', 'yaml'));
    expectSteps(block('### 4. Test it', 'console'), {}, [1]);
  });

  it('5. and the quick start: send reaches the running handler, which logs what the README says', async () => {
    // RULES_WATCH as the README leaves it (default true): step 6 edits the rules of this running handler
    server = await startServer(ws.dir, { PROTO_DIR: 'proto', RULES_WATCH: 'true' });
    const env = { PORT: String(server.port) };
    expectSteps(block('### 5. Send an event to a running handler', 'console'), env);
    await waitFor('the summary line', () => server!.lines().find((l) => l.msg === 'userLoggedIn: 2 rule(s) matched, 2 action(s), ok'));
    const messages = server.lines().map((l) => l.msg ?? '');
    expect(messages.some((m) => m.startsWith('dry run: welcome-pack-fr/grantItem would send POST /platform/admin/namespaces/mygame/users/8e44'))).toBe(true);

    // the quick start's command: OK, and the line the README quotes
    const quick = block('## Quick start', 'sh', 1);
    expect(quick).toMatch(/^echo .*\n.*npx extend-event-rules send userLoggedIn --data -\n$/);
    const sent = run(quick, env);
    expect(sent.status, sent.printed).toBe(0);
    expect(sent.printed).toMatch(/\nOK\n$/);
    await waitFor('the quick start dry-run line', () =>
      server!.lines().find((l) => l.msg === 'dry run: grant-item-on-login/grantItem would send POST /platform/admin/namespaces/mygame/users/0123456789abcdef0123456789abcdef/fulfillment'),
    );
    expect(README).toContain('dry run: grant-item-on-login/grantItem would send POST\n/platform/admin/namespaces/mygame/users/0123.../fulfillment');
  });

  it('6. shadow mode: logged as shadow, counted with outcome="shadow", marked [shadow] by explain', async () => {
    const section = README.slice(README.indexOf('\n### 6. Shadow mode\n'));
    expect(section).toMatch(/`mode: shadow` on a rule/);
    const rules = join(ws.dir, 'rules.yaml');
    // the handler of step 5 keeps running and reloads the edited file (not restarted: one server start fewer)
    server ??= await startServer(ws.dir, { PROTO_DIR: 'proto', RULES_WATCH: 'true' });
    const reloads = (): number => server!.lines().filter((l) => l.msg === 'rules reloaded').length;
    const before = reloads();
    writeFileSync(rules, readFileSync(rules, 'utf8').replace('  - name: welcome-pack-fr\n', '  - name: welcome-pack-fr\n    mode: shadow\n'));
    await waitFor('the edited rules reloaded', () => reloads() > before);
    const sent = run('npx extend-event-rules send userLoggedIn --data event.json', { PORT: String(server.port) });
    expect(sent.status, sent.printed).toBe(0);
    await waitFor('the shadow line', () => server!.lines().find((l) => l.msg?.startsWith('shadow: welcome-pack-fr/grantItem would send ')));
    const metrics = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^event_rules_actions_total\{rule="welcome-pack-fr",action="grantItem",outcome="shadow"\} 1$/m);
    const explained = run('npx extend-event-rules explain userLoggedIn --data event.json');
    expect(explained.printed).toMatch(/welcome-pack-fr .*\[shadow/);
    expect(explained.printed).toMatch(/grantItem #0 \[shadow\]/);
  });
});
