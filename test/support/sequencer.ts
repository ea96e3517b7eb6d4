/**
 * The order test files start in (vitest.config.ts, `sequence.sequencer`): on
 * 2 workers the run ends when its longest file ends, so the files known to be
 * longest start first and the short ones fill in behind them. vitest's own
 * order (`BaseSequencer`: longest first by the durations of the previous run
 * in node_modules/.vite, else the largest files first) is kept for the rest;
 * a fresh clone has no previous run, and by size the longest e2e files (a few
 * lines looping over 2,000 events) would start last. The unit files run right
 * after the longest integration file, while dist/ is being built.
 */
import { relative } from 'node:path';
import { BaseSequencer } from 'vitest/node';
import type { TestSpecification } from 'vitest/node';

/**
 * The longest files, longest first, as measured on the 2-core machine
 * (`npx vitest run --reporter=json`, `endTime - startTime` per file). A file
 * missing from the list runs in vitest's order after them; a stale entry
 * only costs balance, never a test.
 */
export const LONGEST_FIRST: readonly string[] = [
  'test/e2e/dead-letter-capacity.test.ts',
  // the Dockerfile's stages (npm's dry run, a build, the runtime's server and CLI): about 26 s in its beforeAll
  // whatever the load; started late, it alone would run on after the rest
  'test/packaging/image-content.test.ts',
  'test/e2e/exactly-once.test.ts',
  'test/delivery/store-dead-letters.test.ts',
  'test/e2e/delivery.test.ts',
  'test/e2e/ags-boundary.test.ts',
  'test/server/reflection-conformance.test.ts',
  'test/e2e/breaker.test.ts',
  'test/actions/custom-example.test.ts',
  'test/packaging/readme-walkthrough.test.ts',
  'test/e2e/keyed-limits.test.ts',
  'test/e2e/issue22-siblings-3.test.ts',
  'test/e2e/ledger-bounds.test.ts',
  'test/ags/client.test.ts',
  'test/e2e/replay-reconcile.test.ts',
];

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification): number => {
      const i = LONGEST_FIRST.indexOf(relative(spec.project.config.root, spec.moduleId).split('\\').join('/'));
      return i === -1 ? LONGEST_FIRST.length : i;
    };
    const ordered = sorted
      .map((spec, i) => ({ spec, i, rank: rank(spec) }))
      .sort((a, b) => a.rank - b.rank || a.i - b.i)
      .map(({ spec }) => spec);
    // The integration files wait for the build of dist/ (test/support/await-build.ts): the longest of them first
    // (its worker waits while tsc runs on one core), then the unit files, which never read dist/ (the other worker
    // runs them meanwhile), then the other integration files, longest first.
    const unit = ordered.filter((spec) => spec.project.name === 'unit');
    const integration = ordered.filter((spec) => spec.project.name !== 'unit');
    return [...integration.slice(0, 1), ...unit, ...integration.slice(1)];
  }
}
