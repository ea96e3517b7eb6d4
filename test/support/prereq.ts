/**
 * Prerequisites that a user's machine may lack (a Debian package, ../shared).
 * On a user's machine a missing one skips the test with a visible reason; in CI
 * (`CI=true`) it fails the run, so CI can never go green by skipping.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { describe, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED_DIR = resolve(REPO_ROOT, '..', 'shared');
export const AGS_SPECS_DIR = resolve(SHARED_DIR, 'ags-event-specs');
/** CI=true: a missing prerequisite fails instead of skipping (read at each call). */
export const inCi = (): boolean => process.env.CI === 'true';

export interface Prereq {
  /** true when the prerequisite is present. */
  readonly ok: boolean;
  /** Why it is missing and how to get it. */
  readonly reason: string;
  /** false: a skip the test expects (prereq.test.ts), left out of the run's notice. Default true. */
  readonly notice?: boolean;
}

/**
 * Where skips are noted for the run's notice: set by test/support/global-setup.ts,
 * which prints each missing prerequisite once, on one line, after the run.
 */
export const SKIP_LOG_ENV = 'EER_TEST_SKIP_LOG';

/**
 * `describe(name, body)` when every prerequisite is present. Otherwise the body is
 * NOT run (it may read the missing files at collection time; `describe.skipIf`
 * would still run it) and one skipped test named after the reason stands in its
 * place, so the report says what was skipped and why. In CI (`CI=true`) a missing
 * prerequisite throws instead: CI can never go green by skipping.
 */
export function describeWith(prereqs: Prereq | readonly Prereq[], name: string, body: () => void): void {
  const list: readonly Prereq[] = 'ok' in prereqs ? [prereqs] : prereqs;
  const missing = list.filter((p) => !need(p));
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  describe(name, () => {
    for (const p of missing) it.skip(`skipped: ${p.reason}`, () => {});
  });
}

/** `it(name, fn)` when every prerequisite is present; else a skipped test naming the reason (CI=true: throws). */
export function itWith(prereqs: Prereq | readonly Prereq[], name: string, fn: () => unknown, timeoutMs?: number): void {
  const list: readonly Prereq[] = 'ok' in prereqs ? [prereqs] : prereqs;
  const missing = list.filter((p) => !need(p));
  if (missing.length === 0) it(name, fn, timeoutMs);
  else it.skip(`${name} [skipped: ${missing.map((p) => p.reason).join('; ')}]`, () => {});
}

/**
 * Returns true when the test may run. When the prerequisite is missing, notes
 * the reason and returns false: the run's global set-up prints each reason once
 * at the end (one line per missing prerequisite, e.g. one line for a missing
 * ../shared however many suites read it); run outside it, the reason goes to
 * stderr at once. In CI it throws instead.
 * Prefer {@link describeWith}, which also keeps the suite's body from running.
 */
export function need(prereq: Prereq): boolean {
  if (prereq.ok) return true;
  if (inCi()) {
    throw new Error(`CI=true and a test prerequisite is missing: ${prereq.reason}`);
  }
  if (prereq.notice === false) return false;
  const log = process.env[SKIP_LOG_ENV];
  if (log) appendFileSync(log, `${prereq.reason}\n`);
  else process.stderr.write(`\n[skip] ${prereq.reason}\n`);
  return false;
}

export function sharedSpecs(): Prereq {
  return {
    ok: existsSync(resolve(AGS_SPECS_DIR, 'accelbyte')),
    reason: `../shared/ags-event-specs not found at ${AGS_SPECS_DIR} (it sits beside the checkout in CI)`,
  };
}

export function sharedFile(rel: string): Prereq {
  const path = resolve(SHARED_DIR, rel);
  return { ok: existsSync(path), reason: `../shared/${rel} not found at ${path}` };
}

/** An executable on PATH or at an absolute path, with the Debian package that provides it. */
export function executable(command: string, debianPackage: string, probeArgs: string[] = ['--version']): Prereq {
  let ok = true;
  try {
    execFileSync(command, probeArgs, { stdio: 'ignore', timeout: 20_000 });
  } catch {
    ok = false;
  }
  return { ok, reason: `${command} is not available: apt-get install ${debianPackage}` };
}

/** Debian's python3 with a module importable (python3-grpcio, python3-grpc-tools). */
export function debianPython(module: string, debianPackage: string): Prereq {
  const python = '/usr/bin/python3';
  let ok = true;
  try {
    execFileSync(python, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 20_000 });
  } catch {
    ok = false;
  }
  return { ok, reason: `${python} cannot import ${module}: apt-get install ${debianPackage}` };
}
