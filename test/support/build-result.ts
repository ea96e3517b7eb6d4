/** What test/support/build-setup.ts writes when the background build of dist/ ends. */
export interface BuildResult {
  /** The build's exit code (0: dist/ is up to date). */
  readonly code: number;
  /** What it printed (stdout and stderr). */
  readonly output: string;
}

/** The environment variable naming the file the build's {@link BuildResult} is written to. */
export const BUILD_RESULT_ENV = 'EER_TEST_BUILD_RESULT';
