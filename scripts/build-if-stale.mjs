#!/usr/bin/env node
/**
 * `npm start`'s pre-step: runs `npm run build` only when dist/ is stale, so
 * restarting after a `.env` change takes the app's start-up time, not a
 * TypeScript build (issue 27). Stale: no build stamp (`dist/.build-stamp`,
 * written by `npm run build` as its last step, so only when every step
 * succeeded; the Docker build does not need this script), or a build input newer than
 * it: a file under src/, under the custom actions folder (ACTIONS_DIR,
 * default actions/), tsconfig.json, tsconfig.build.json or package.json.
 *
 *   node scripts/build-if-stale.mjs           build when stale (prints why)
 *   node scripts/build-if-stale.mjs --stamp   mark dist/ as built now
 *
 * The integration tests run it too (test/support/build-setup.ts: `npm test`
 * builds a stale dist/ while the unit tests run); the image builds with
 * `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const STAMP = 'dist/.build-stamp';

/** The newest file under `path` (a file or a folder, recursively; node_modules and dot folders skipped). */
function newest(path) {
  let best;
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (!st.isDirectory()) return { file: path, mtimeMs: st.mtimeMs };
  for (const e of readdirSync(path, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const n = newest(join(path, e.name));
    if (n && (!best || n.mtimeMs > best.mtimeMs)) best = n;
  }
  return best;
}

/**
 * Why `root`'s dist/ needs a build, or undefined when it is up to date.
 * @param {string} root the project folder
 * @param {Record<string, string | undefined>} env for ACTIONS_DIR
 * @returns {string | undefined}
 */
export function staleReason(root, env = process.env) {
  const stamp = join(root, STAMP);
  if (!existsSync(stamp)) return `${STAMP} is missing (never built, or the last build failed)`;
  const builtAt = statSync(stamp).mtimeMs;
  const inputs = ['src', env.ACTIONS_DIR || 'actions', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
  for (const input of inputs) {
    const n = newest(resolve(root, input));
    if (n && n.mtimeMs > builtAt) return `${relative(root, n.file)} changed since the last build`;
  }
  return undefined;
}

/** Marks `root`'s dist/ as built now. */
export function writeStamp(root) {
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(join(root, STAMP), `${new Date().toISOString()}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--stamp')) {
    writeStamp(ROOT);
  } else {
    const why = staleReason(ROOT);
    if (why !== undefined) {
      process.stderr.write(`build: ${why}: npm run build\n`);
      const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
      process.exit(r.status ?? 1);
    }
  }
}
