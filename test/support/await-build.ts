/**
 * Set-up file of the `integration` project (vitest.config.ts): before a file
 * is imported (so before `builtApp()` looks at dist/), waits until the build
 * started by test/support/build-setup.ts has ended; throws its output when it
 * failed, so every integration file reports the build error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { BUILD_RESULT_ENV } from './build-result.js';
import type { BuildResult } from './build-result.js';
import { waitFor } from './wait.js';

const resultFile = process.env[BUILD_RESULT_ENV];
if (resultFile !== undefined && resultFile !== '') {
  // a TypeScript build on a loaded 2-core machine: a budget, not a speed check
  await waitFor('the build of dist/ (test/support/build-setup.ts)', () => existsSync(resultFile), 600_000);
  const result = JSON.parse(readFileSync(resultFile, 'utf8')) as BuildResult;
  if (result.code !== 0) throw new Error(`the build of dist/ failed (exit ${result.code}):\n${result.output.slice(-4000)}`);
}
