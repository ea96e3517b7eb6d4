import { defineConfig } from 'vitest/config';
import LongestFirst from './test/support/sequencer.js';

/**
 * Two projects (docs/development.md, "Tests"):
 * - `unit`: no build, no child process (test/support/unit-setup.ts refuses to
 *   spawn one): `npm run test:unit`, seconds.
 * - `integration`: what runs the built app or the bin (dist/), spawns
 *   processes (redis-server, python3, the server) or reads the Docker build.
 * `npm test` runs both, in parallel; the integration project builds a stale
 * dist/ first (test/support/build-setup.ts), while the unit files run.
 */
export const INTEGRATION = [
  'test/e2e/**/*.test.ts',
  'test/cli/**/*.test.ts',
  'test/packaging/**/*.test.ts',
  'test/telemetry/**/*.test.ts',
  'test/actions/custom-example.test.ts',
  'test/delivery/action-ledger.test.ts',
  'test/delivery/executor.test.ts',
  'test/delivery/ledger-partition.test.ts',
  'test/delivery/replay.test.ts',
  'test/delivery/store-dead-letters.test.ts',
  'test/events/wire-fuzz.test.ts',
  'test/rules/watch.test.ts',
  'test/security/deadlines.test.ts',
  'test/security/secrets.test.ts',
  'test/server/custom-events-reflection.test.ts',
  'test/server/python-client.test.ts',
  'test/server/reflection-conformance.test.ts',
  'test/server/whole-catalog.test.ts',
  'test/store/group-commit.test.ts',
  'test/store/redis-state-store.test.ts',
];

export default defineConfig({
  test: {
    // Servers, child processes and Redis: generous limits for a loaded 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 3 workers on the 2-core machine: while one worker's file waits on its app or child processes, the others use the
    // cores (whole npm test from no dist/, quiet machine, one run each: 2 workers 195.5 s, 3 workers 182.9 s, 4 workers 203.3 s)
    maxWorkers: 3,
    globalSetup: ['test/support/global-setup.ts'],
    // the longest files start first (test/support/sequencer.ts): both workers stay busy to the end
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        // isolate: false: the unit files reuse their worker's modules instead of importing src afresh per file
        // (the 2-core machine: wall 654 s -> 386 s for the unit project, both side by side under the same load)
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: INTEGRATION, setupFiles: ['test/support/unit-setup.ts'], isolate: false },
      },
      {
        extends: true,
        // isolate: false here too: each file reuses its worker's modules (src, grpc-js, the stand-in) instead of
        // importing them afresh (test/cli on the 2-core machine: 75 -> 49 CPU seconds, 82 -> 58 s)
        test: { name: 'integration', include: INTEGRATION, isolate: false, globalSetup: ['test/support/build-setup.ts'], setupFiles: ['test/support/await-build.ts'] },
      },
    ],
  },
});
