/**
 * vitest's global set-up (vitest.config.ts): collects the prerequisites that
 * test files found missing (test/support/prereq.ts's `need`) and prints each
 * once after the run, on one line: a fresh clone with nothing beside it gets
 * one line about ../shared, not one per suite.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED_DIR, SKIP_LOG_ENV } from './prereq.js';

/** The notice lines for the reasons noted (one per line of `noted`): ../shared's reasons become one line. */
export function skipNotice(noted: string): string[] {
  const reasons = [...new Set(noted.split('\n').filter((l) => l !== ''))];
  const shared = reasons.filter((r) => r.startsWith('../shared'));
  const lines = reasons.filter((r) => !r.startsWith('../shared')).map((r) => `[skip] ${r}`);
  if (shared.length > 0) lines.unshift(`[skip] ../shared not found at ${SHARED_DIR}: the tests that read it (AGS specs, OpenAPI, event protos) were skipped; it sits beside the checkout in CI`);
  return lines;
}

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'eer-test-skips-'));
  const log = join(dir, 'skips.txt');
  process.env[SKIP_LOG_ENV] = log;
  return () => {
    let noted = '';
    try {
      noted = readFileSync(log, 'utf8');
    } catch {
      // nothing skipped
    }
    rmSync(dir, { recursive: true, force: true });
    const lines = skipNotice(noted);
    if (lines.length > 0) process.stderr.write(`\n${lines.join('\n')}\n`);
  };
}
