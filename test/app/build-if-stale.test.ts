/**
 * Issue 27: `npm start` rebuilds only when a build input is newer than the
 * last successful build (`dist/.build-stamp`, written at the end of `npm run
 * build`), so restarting after a `.env` change does not wait for TypeScript.
 * The decision (scripts/build-if-stale.mjs) over a folder with set mtimes; the
 * package's scripts wired to it.
 */
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/prereq.js';
import { workspace } from '../support/workspace.js';
import type { Workspace } from '../support/workspace.js';
// @ts-expect-error: a plain .mjs script, without types
import { STAMP, staleReason, writeStamp } from '../../scripts/build-if-stale.mjs';

const stale = staleReason as (root: string, env?: Record<string, string | undefined>) => string | undefined;
const stamp = writeStamp as (root: string) => void;

let ws: Workspace | undefined;
afterEach(() => ws?.remove());

/** A project folder: src/, actions/, the configuration files, all written at `t` (seconds). */
function project(t: number): string {
  ws = workspace('eer-stale-');
  const dir = ws.dir;
  for (const d of ['src/cli', 'actions', 'my-actions']) mkdirSync(join(dir, d), { recursive: true });
  for (const f of ['src/main.ts', 'src/cli/index.ts', 'actions/.gitkeep', 'tsconfig.json', 'tsconfig.build.json', 'package.json', '.env', 'rules.yaml', 'my-actions/a.ts']) {
    writeFileSync(join(dir, f), '');
    utimesSync(join(dir, f), t, t);
  }
  return dir;
}

function at(dir: string, file: string, t: number): void {
  writeFileSync(join(dir, file), 'changed');
  utimesSync(join(dir, file), t, t);
}

describe('npm start: build only when stale', () => {
  it('never built: stale; built after the sources: fresh; .env and rules.yaml do not count', () => {
    const dir = project(1_000);
    expect(stale(dir, {})).toMatch(/dist\/\.build-stamp is missing/);
    stamp(dir);
    utimesSync(join(dir, STAMP as string), 2_000, 2_000);
    expect(stale(dir, {})).toBeUndefined();
    at(dir, '.env', 3_000);
    at(dir, 'rules.yaml', 3_000);
    expect(stale(dir, {})).toBeUndefined();
  });

  it('a source, a custom action (ACTIONS_DIR too), a tsconfig or package.json newer than the build: stale, naming it', () => {
    for (const [file, env] of [['src/cli/index.ts', {}], ['tsconfig.json', {}], ['package.json', {}], ['actions/grant.ts', {}], ['my-actions/a.ts', { ACTIONS_DIR: 'my-actions' }]] as const) {
      const dir = project(1_000);
      stamp(dir);
      utimesSync(join(dir, STAMP as string), 2_000, 2_000);
      at(dir, file, 3_000);
      expect(stale(dir, env), file).toBe(`${file} changed since the last build`);
      ws!.remove();
    }
  });

  it('package.json: npm start checks first, npm run build writes the stamp last', () => {
    const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prestart).toBe('node scripts/build-if-stale.mjs');
    expect(pkg.scripts.build).toMatch(/&& node -e "require\('node:fs'\)\.writeFileSync\('dist\/\.build-stamp', new Date\(\)\.toISOString\(\)\)"$/);
    expect(STAMP).toBe('dist/.build-stamp');
  });
});
