/**
 * Hot reload on the real server (issue 15, "Hot reload never serves a wrong
 * file"): a reload never stops serving an event, and a FIFO put at RULES_FILE
 * neither hangs the reload nor keeps SIGTERM from exiting.
 */
import { execFileSync } from 'node:child_process';
import { realpathSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCommand, startServer, waitFor, workspace } from './support.js';
import type { RunningServer, Workspace } from './support.js';

const rule = (name: string, on: string): string => `  - name: ${name}\n    on: ${on}\n    do:\n      - log: { message: ${name} }\n`;

let ws: Workspace | undefined;
let server: RunningServer | undefined;
beforeAll(() => assertBuilt());
afterEach(async () => {
  await server?.stop();
  server = undefined;
  ws?.remove();
  ws = undefined;
});

describe('hot reload on the running server', () => {
  it('a reload that drops an event\'s last rule keeps serving that event: OK with no match, never UNIMPLEMENTED', async () => {
    ws = workspace();
    ws.write('rules.yaml', `version: 1\nrules:\n${rule('login', 'userLoggedIn')}${rule('third-party', 'userThirdPartyLoggedIn')}`);
    server = await startServer(ws.dir, { RULES_FILE: 'rules.yaml', RULES_WATCH: 'true' });
    const started = server.lines().find((l) => String(l.msg).startsWith('serving '));
    expect(started?.watching).toEqual([realpathSync(ws.dir)]);
    ws.write('.next.yaml', `version: 1\nrules:\n${rule('login', 'userLoggedIn')}`);
    renameSync(join(ws.dir, '.next.yaml'), join(ws.dir, 'rules.yaml'));
    await waitFor('the reload', () => server!.lines().find((l) => l.msg === 'rules reloaded'));
    const r = await runCommand(['send', 'userThirdPartyLoggedIn', '--target', `127.0.0.1:${server.port}`], { cwd: ws.dir });
    expect(r.stdout).toBe('OK\n');
    expect(r.code).toBe(0);
    const summary = await waitFor('the summary line', () => server!.lines().find((l) => l.msg?.startsWith('userThirdPartyLoggedIn: ')));
    expect(summary).toMatchObject({ outcome: 'ok' });
  });

  it('a FIFO at RULES_FILE is refused at reload (the old rules keep running) and SIGTERM still exits 0', async () => {
    ws = workspace();
    ws.write('rules.yaml', `version: 1\nrules:\n${rule('login', 'userLoggedIn')}`);
    server = await startServer(ws.dir, { RULES_FILE: 'rules.yaml', RULES_WATCH: 'true' });
    execFileSync('mkfifo', [join(ws.dir, 'pipe')]);
    renameSync(join(ws.dir, 'pipe'), join(ws.dir, 'rules.yaml'));
    const rejected = await waitFor('the rejection', () => server!.lines().find((l) => String(l.msg).startsWith('rules reload rejected')));
    expect(String(rejected.msg)).toContain('is a FIFO (named pipe): the rules file must be a regular file');
    const r = await runCommand(['send', 'userLoggedIn', '--target', `127.0.0.1:${server.port}`], { cwd: ws.dir });
    expect(r.stdout).toBe('OK\n');
    const child = server.child;
    await server.stop();
    expect([child.exitCode, child.signalCode]).toEqual([0, null]);
  });
});
