/**
 * What a command's start-up loads (issue 24, item 6: every bin start of the suite and of a user's
 * `npm run check-rules` paid for the whole server). A command that serves nothing, sends nothing to
 * AGS and publishes nothing does not load the gRPC server's packages, prom-client or undici: the
 * configuration reads the server's defaults from src/contract, and the metrics, the AGS transport
 * and the Async Messaging publisher load their package on first use. Not timed: the packages
 * loaded are read from the child's module cache (every one of these packages is CommonJS).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { builtApp } from '../e2e/support.js';
import { describeWith, REPO_ROOT } from '../support/prereq.js';
import { PROTO_DIR, childEnv, workspace } from './support.js';
import { FIXTURE_RULES_FILE } from '../support/app-fixture.js';

/** The packages of node_modules a child running `argv` through the bin's runCli holds at its end, and its exit code. */
function packagesLoadedBy(argv: readonly string[]): { code: number; packages: string[]; output: string } {
  const script = `
    import { createRequire } from 'node:module';
    const { runCli } = await import(${JSON.stringify(join(REPO_ROOT, 'dist', 'cli', 'commands.js'))});
    let output = '';
    const sink = { write: (s) => { output += String(s); return true; } };
    const code = await runCli(${JSON.stringify(argv)}, { stdout: sink, stderr: sink, stdin: process.stdin });
    const packages = new Set();
    for (const file of Object.keys(createRequire(import.meta.url).cache)) {
      const m = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(file);
      if (m) packages.add(m[1].replace('\\\\', '/'));
    }
    process.stdout.write(JSON.stringify({ code, packages: [...packages].sort(), output }));
  `;
  const ws = workspace();
  let r;
  try {
    r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ws.dir, env: childEnv({ PROTO_DIR }), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } finally {
    ws.remove();
  }
  if (r.status !== 0) throw new Error(`the child exited ${String(r.status)}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { code: number; packages: string[]; output: string };
}

/** Packages only the server, an AGS call, the metrics or a publish needs. */
const SERVER_ONLY = ['@grpc/grpc-js', '@grpc/reflection', 'grpc-health-check', 'prom-client', 'undici', 'ioredis'];

describeWith(builtApp(), 'a command that serves nothing loads none of the server\'s packages', () => {
  it('validate (the rules, every action and its schema, the event catalog) loads ajv and protobufjs, not grpc-js, prom-client or undici', () => {
    const r = packagesLoadedBy(['validate', FIXTURE_RULES_FILE]);
    expect(r.output).toContain('valid');
    expect(r.code).toBe(0);
    // the reader works: the packages validate needs are listed
    expect(r.packages).toEqual(expect.arrayContaining(['ajv', 'protobufjs']));
    expect(r.packages.filter((p) => SERVER_ONLY.includes(p))).toEqual([]);
  });
});
