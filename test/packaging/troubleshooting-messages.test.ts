/**
 * The start-up messages docs/operations.md's troubleshooting tables quote ("you see") are what the server
 * prints: each quoted message, cut at its "...", is found piece by piece, in order, in what the real server
 * prints for the cause the row names. They had drifted (`AGS login failed: 401 ... check AB_CLIENT_ID and
 * AB_CLIENT_SECRET`, `DRY RUN: AB_CLIENT_ID/AB_CLIENT_SECRET are not set`, and an unset AB_NAMESPACE that
 * stops the start-up before the rules are read).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { builtApp } from '../e2e/support.js';
import { describeWith, REPO_ROOT } from '../support/prereq.js';
import { MAIN, childEnv, workspace } from '../cli/support.js';
import { FIXTURE_RULES_FILE } from '../support/app-fixture.js';

// a folder without a .env, and the fixture rules (a copy of the shipped ones): the server reads ./.env, and the
// project folder is the user's (the README walkthrough writes .env and edits rules.yaml in CI's fresh clone)
const cwd = workspace();
afterAll(() => cwd.remove());

/** The quoted messages of the troubleshooting rows (first cell), from docs/operations.md. */
function quotedMessages(): string[] {
  const doc = readFileSync(resolve(REPO_ROOT, 'docs/operations.md'), 'utf8');
  return [...doc.matchAll(/^\|[^|`]*`((?:cannot start|DRY RUN)[^`]*)`/gm)].map((m) => m[1]!);
}

/** Output of the server (stdout and stderr) until it exits or has served. */
function startUpOutput(env: Record<string, string>): Promise<string> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [MAIN], { cwd: cwd.dir, env: childEnv({ RULES_FILE: FIXTURE_RULES_FILE, RULES_WATCH: 'false', PORT: '0', PROMETHEUS_PORT: '0', AGS_MAX_ATTEMPTS: '1', ...env }), stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000, killSignal: 'SIGKILL' });
    let out = '';
    const read = (d: Buffer): void => {
      out += d.toString();
      if (/serving \d+ events/.test(out)) child.kill('SIGTERM');
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('close', () => resolvePromise(out));
  });
}

/** Whether `text` holds the pieces of `quoted` (cut at "..."; a path "..." is any path) in order. */
function holds(text: string, quoted: string): boolean {
  let at = 0;
  for (const piece of quoted.split('...').map((p) => p.trim()).filter((p) => p !== '' && p !== '/')) {
    const i = text.indexOf(piece.replace(/^\//, ''), at);
    if (i < 0) return false;
    at = i + piece.length - 1;
  }
  return true;
}

let iam: Server;
let iamUrl: string;
beforeAll(async () => {
  // an IAM that refuses the client, as AGS does a wrong secret
  iam = createServer((_req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_client', error_description: 'Client authentication failed' })));
  await new Promise<void>((r) => iam.listen(0, '127.0.0.1', r));
  iamUrl = `http://127.0.0.1:${(iam.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => iam.close(r)));

describeWith(builtApp(), "docs/operations.md's troubleshooting quotes what the server prints", () => {
  it('every quoted start-up message, for the cause its row names', async () => {
    const live = { AB_CLIENT_ID: 'client', AB_CLIENT_SECRET: 'secret', AB_NAMESPACE: 'mygame', ITEM_ID_TO_GRANT: 'item-1' };
    const causes: [RegExp, Record<string, string>][] = [
      [/^DRY RUN/, {}],
      [/^cannot start: AB_NAMESPACE: is missing/, { AB_CLIENT_ID: 'client', AB_CLIENT_SECRET: 'secret' }],
      [/is invalid/, { ...live, ITEM_ID_TO_GRANT: '' }],
      [/failed: 401/, { ...live, AB_BASE_URL: iamUrl }],
      [/ECONNREFUSED/, { ...live, AB_BASE_URL: 'http://127.0.0.1:1' }],
    ];
    const quoted = quotedMessages();
    expect(quoted.length).toBeGreaterThanOrEqual(6);
    const wrong: string[] = [];
    for (const q of quoted) {
      const cause = causes.find(([re]) => re.test(q));
      if (!cause) {
        wrong.push(`no cause known for ${q}: add one to this test`);
        continue;
      }
      const out = await startUpOutput(cause[1]);
      if (!holds(out, q)) wrong.push(`${q}\n  printed: ${out.slice(0, 600)}`);
    }
    expect(wrong).toEqual([]);
  }, 120_000);
});
