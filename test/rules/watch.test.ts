import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadRules } from '../../src/rules/load.js';
import type { RulesLoadResult } from '../../src/rules/load.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import { watchRules } from '../../src/rules/watch.js';
import type { RulesWatcher } from '../../src/rules/watch.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import { LOGIN, fixtureCatalog, tempDir, testRegistry } from './support/fixtures.js';

async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rulesText = (names: string[]) =>
  `version: 1\nrules:\n${names.map((n) => `  - name: ${n}\n    on: userLoggedIn\n    do: [{ log: { message: ${n} } }]\n`).join('')}`;

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: testRegistry(), env: {}, unsetEnv: 'error' };
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

describe('watchRules', () => {
  it('swaps in a valid file, reports an invalid one (the caller keeps the old set), ignores unchanged saves', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const file = tmp.write('rules.yaml', rulesText(['one']));
    const first = await loadRules({ ...opts, file });
    expect(first.ok).toBe(true);
    let current = (first as { rules: RuleSet }).rules;
    const results: RulesLoadResult[] = [];
    const watcher: RulesWatcher = watchRules({
      ...opts,
      file,
      debounceMs: 50,
      onReload(result) {
        results.push(result);
        if (result.ok) current = result.rules;
      },
    });
    cleanups.push(() => watcher.close());

    // a valid change: swapped in
    writeFileSync(file, rulesText(['one', 'two']));
    await waitFor(() => results.length === 1, 'the first reload');
    expect(results[0]!.ok).toBe(true);
    expect(current.rulesFor(LOGIN).map((r) => r.name)).toEqual(['one', 'two']);

    // an invalid change: problems reported, the old set stays in use
    writeFileSync(file, rulesText(['one', 'two']).replace('userLoggedIn', 'userLogedIn'));
    await waitFor(() => results.length === 2, 'the second reload');
    const bad = results[1]!;
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.problems.map((p) => [p.code, p.line])).toEqual([['unknown-event', 4]]);
    expect(current.rulesFor(LOGIN).map((r) => r.name)).toEqual(['one', 'two']);

    // an editor-style save (write a temp file, rename over) with new content
    const staged = join(tmp.dir, '.rules.yaml.tmp');
    writeFileSync(staged, rulesText(['three']));
    renameSync(staged, file);
    await waitFor(() => results.length === 3, 'the third reload');
    expect(current.rulesFor(LOGIN).map((r) => r.name)).toEqual(['three']);

    // saving the same content does not reload; the next real change is the 4th result
    writeFileSync(file, rulesText(['three']));
    writeFileSync(join(tmp.dir, 'other.txt'), 'unrelated');
    writeFileSync(file, rulesText(['three']));
    writeFileSync(file, rulesText(['four']));
    await waitFor(() => current.rulesFor(LOGIN)[0]?.name === 'four', 'the fourth rule set');
    expect(results).toHaveLength(4);
  });

  it('close() stops reporting', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const file = tmp.write('rules.yaml', rulesText(['one']));
    const results: RulesLoadResult[] = [];
    const watcher = watchRules({ ...opts, file, debounceMs: 10, onReload: (r) => results.push(r) });
    watcher.close();
    writeFileSync(file, rulesText(['two']));
    // a second watcher proves the change was observable; the closed one stays silent
    const seen: RulesLoadResult[] = [];
    const probe = watchRules({ ...opts, file, debounceMs: 10, onReload: (r) => seen.push(r) });
    cleanups.push(() => probe.close());
    writeFileSync(file, rulesText(['three']));
    await waitFor(() => seen.length >= 1, 'the probe reload');
    expect(results).toEqual([]);
  });
});
