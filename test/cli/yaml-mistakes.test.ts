/**
 * Issue 27: a YAML indentation mistake, a tab and a key written twice are
 * reported with file, line, column and a fix by every door a user meets them
 * through: `validate`, `test` (in rules.yaml and in rules.test.yaml) and the
 * server's start-up. The real bin (the first call of each command; the others in process, runCommand: the
 * bin's own entry point) and the real server, in a temp directory.
 */
import { spawn } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, assertBuilt, childEnv, runBin, runCommand, workspace } from './support.js';
import type { Workspace } from './support.js';

let ws: Workspace;
beforeAll(() => assertBuilt());
afterEach(() => ws?.remove());

const TOO_DEEP = ['version: 1', 'rules:', '  - name: daily', '    on: userLoggedIn', '      limit: { count: 1, per: day }', '    do: [ { log: { message: hi } } ]', ''].join('\n');
const AT_LIMIT = /rules\.yaml:5:7: error \[yaml-syntax\] "limit" starts at column 7, 2 spaces too deep: its sibling "on" \(line 4\) starts at column 5\n {4}fix: start "limit" at column 5, like "on" on line 4\n/;
const VALID = TOO_DEEP.replace('      limit', '    limit');
const TESTS = ['version: 1', 'cases:', '  - name: first login', '    event: userLoggedIn', '    data: { userId: 0123456789abcdef0123456789abcdef, namespace: mygame }', '    expect: { matched: [daily] }', ''].join('\n');

describe('YAML mistakes through validate, test and the start-up', () => {
  it('validate: the key too deep, a tab, a key written twice, each with its fix', async () => {
    ws = workspace();
    ws.write('rules.yaml', TOO_DEEP);
    let r = await runBin(['validate', 'rules.yaml'], { cwd: ws.dir });
    expect(r.stderr).toMatch(AT_LIMIT);
    expect(r.stderr).not.toMatch(/must start at the same column|Implicit keys|compact mappings/);
    expect(r.code).toBe(1);
    ws.write('rules.yaml', VALID.replace('    limit', '\tlimit'));
    r = await runCommand(['validate', 'rules.yaml'], { cwd: ws.dir });
    expect(r.stderr).toMatch(/rules\.yaml:5:1: error \[yaml-syntax\] a tab in the indentation of "limit": YAML indents with spaces only\n {4}fix: replace the indentation with spaces: "limit" starts at column 5, like "on" on line 4\n/);
    ws.write('rules.yaml', VALID.replace('    limit', '    on: userLoggedIn\n    limit'));
    r = await runCommand(['validate', 'rules.yaml', '--format', 'github'], { cwd: ws.dir });
    expect(r.stdout + r.stderr).toMatch(/::error file=[^,]*rules\.yaml,line=5,col=5,title=rules%3A yaml-syntax::"on" is written twice in one map \(first on line 4\) \(keep one "on"/);
  });

  it('test: a mistake in rules.yaml, and one in rules.test.yaml', async () => {
    ws = workspace();
    ws.write('rules.yaml', TOO_DEEP);
    ws.write('rules.test.yaml', TESTS);
    let r = await runBin(['test'], { cwd: ws.dir });
    expect(r.stderr).toMatch(AT_LIMIT);
    expect(r.code).toBe(2);
    ws.write('rules.yaml', VALID);
    ws.write('rules.test.yaml', TESTS.replace('    expect', '      expect'));
    r = await runCommand(['test'], { cwd: ws.dir });
    expect(r.stderr).toMatch(/rules\.test\.yaml:6:7: YAML: "expect" starts at column 7, 2 spaces too deep: its sibling "data" \(line 5\) starts at column 5\n {4}fix: start "expect" at column 5, like "data" on line 5\n/);
    expect(r.code).toBe(2);
    ws.write('rules.test.yaml', TESTS);
    r = await runCommand(['test'], { cwd: ws.dir });
    expect(r.stdout).toMatch(/1 passed, 0 failed/);
  });

  it('a key without its ":" in rules.yaml (validate) and in rules.test.yaml (test): at the key, with the line to write', async () => {
    ws = workspace();
    ws.write('rules.yaml', VALID.replace('    on: userLoggedIn', '    on userLoggedIn'));
    let r = await runCommand(['validate', 'rules.yaml'], { cwd: ws.dir });
    expect(r.stderr).toMatch(/rules\.yaml:4:7: error \[yaml-syntax\] missing ":" after "on": YAML reads the line as one text, not a key and its value\n {4}fix: write on: userLoggedIn\n/);
    expect(r.stderr).not.toMatch(/Implicit keys/);
    ws.write('rules.yaml', VALID);
    ws.write('rules.test.yaml', TESTS.replace('    event: userLoggedIn', '    event userLoggedIn'));
    r = await runCommand(['test'], { cwd: ws.dir });
    expect(r.stderr).toMatch(/rules\.test\.yaml:4:10: YAML: missing ":" after "event": YAML reads the line as one text, not a key and its value\n {4}fix: write event: userLoggedIn\n/);
    expect(r.code).toBe(2);
  });

  it('the server refuses to start with the mistake, its line, column and fix', async () => {
    ws = workspace();
    ws.write('rules.yaml', TOO_DEEP);
    const child = spawn(process.execPath, [MAIN], { cwd: ws.dir, env: childEnv({ PORT: '0', PROMETHEUS_PORT: '0', RULES_WATCH: 'false' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code).not.toBe(0);
    expect(out).toMatch(AT_LIMIT);
  });
});
