/**
 * Global set-up of the `integration` project (vitest.config.ts): starts the
 * build of dist/ (`scripts/build-if-stale.mjs`: `npm run build` when dist/ is
 * missing or older than src/, actions/, tsconfig*.json or package.json) in the
 * background and returns at once, so the `unit` project's files (which never
 * read dist/) run on one core while tsc runs on the other. Each integration
 * file waits for the build's end before it is imported
 * (test/support/await-build.ts), and fails with the build's output when the
 * build failed. The outcome is written to the file named by
 * {@link BUILD_RESULT_ENV} (inherited by the workers).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_RESULT_ENV } from './build-result.js';
import type { BuildResult } from './build-result.js';
import { REPO_ROOT } from './prereq.js';

export default function setup(): () => Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'eer-test-build-'));
  const resultFile = join(dir, 'build.json');
  process.env[BUILD_RESULT_ENV] = resultFile;
  const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'build-if-stale.mjs')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
  const done = new Promise<void>((resolve) => {
    const finish = (result: BuildResult): void => {
      // whole or absent for the workers polling it
      writeFileSync(`${resultFile}.tmp`, JSON.stringify(result));
      renameSync(`${resultFile}.tmp`, resultFile);
      resolve();
    };
    child.once('error', (error) => finish({ code: 1, output: `${output}\n${error.message}` }));
    child.once('close', (code, signal) => finish({ code: code ?? 1, output: signal === null ? output : `${output}\n(killed by ${signal})` }));
  });
  return async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await done;
    rmSync(dir, { recursive: true, force: true });
  };
}
