/**
 * The environment every child process a test starts (the server, the bin,
 * scripts) begins with: nothing of the developer's settings (AGS credentials,
 * LOG_LEVEL, ...) leaks in, but the run's time zone does: .ci/run runs the
 * rules and CLI tests again with TZ=Pacific/Kiritimati, and that pass must
 * cover the processes the tests spawn, not only the test process.
 */

/** PATH, HOME and, when the test run has one, TZ, read from this process's environment now. */
export function baseChildEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  if (process.env.TZ !== undefined && process.env.TZ !== '') env.TZ = process.env.TZ;
  return env;
}
