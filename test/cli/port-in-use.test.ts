/**
 * A first-hour mistake: `npm start` while an earlier one still runs (or another app holds 6565 or 8080).
 * The start-up stops with the port, what holds it and the variable to change, not grpc-js's
 * "No address added out of total 1 resolved errors: [...]" or node's bare "listen EADDRINUSE".
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, expect, it } from 'vitest';
import { builtApp } from '../e2e/support.js';
import { describeWith } from '../support/prereq.js';
import { FIXTURE_RULES_FILE } from '../support/app-fixture.js';
import { MAIN, childEnv, workspace } from './support.js';

// a folder without a .env: the server reads ./.env, and a project folder may hold one (the README walkthrough writes it)
const cwd = workspace();
afterAll(() => cwd.remove());

const held: Server[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A port held by this process. */
async function holdPort(): Promise<number> {
  const server = createServer();
  held.push(server);
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  return (server.address() as AddressInfo).port;
}

/** Runs the server until it exits (it should, at once; spawn kills it after 20 s). */
function runServer(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], { cwd: cwd.dir, env: childEnv({ RULES_FILE: FIXTURE_RULES_FILE, RULES_WATCH: 'false', ...env }), stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000, killSignal: 'SIGKILL' });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    // killed after 20 s if it does not exit (spawn's timeout): then code is null and the test says so
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describeWith(builtApp(), 'a port already in use stops the start-up with the variable to change', () => {
  it('the gRPC port: PORT', async () => {
    const port = await holdPort();
    const r = await runServer({ PORT: String(port), PROMETHEUS_PORT: '0' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`extend-event-rules: cannot start: cannot listen on 0.0.0.0:${port}: the port is already in use (by another process: an earlier npm start still running?); stop it, or set PORT to a free port`);
    expect(r.stderr).not.toContain('No address added');
  });

  it('the metrics port: PROMETHEUS_PORT', async () => {
    const port = await holdPort();
    const r = await runServer({ PORT: '0', PROMETHEUS_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`extend-event-rules: cannot start: cannot serve metrics on 0.0.0.0:${port}: the port is already in use (by another process: an earlier npm start still running?); stop it, or set PROMETHEUS_PORT to a free port (ENABLE_PROMETHEUS=false: no metrics)`);
  });
});
