/**
 * Times the loading of one rules file in a fresh process (cold JIT, as at
 * start-up): `node bench/load-rules.mjs <distDir> <rulesFile> <protoDir>...`.
 * Prints one JSON line: {catalogMs, rulesMs, ok, ruleCount, problems}.
 * `rulesMs` is `loadRules` (read + YAML parse + validate + compile), the call
 * the server makes at start-up.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [distDir, rulesFile, ...protoDirs] = process.argv.slice(2);
const dist = (p) => pathToFileURL(resolve(distDir, p)).href;
const { loadCatalog } = await import(dist('events/catalog.js'));
const { loadRules } = await import(dist('rules/index.js'));
const { createDefaultRegistry } = await import(dist('actions/builtins/index.js'));

const t0 = performance.now();
const catalog = await loadCatalog({ dirs: protoDirs.map((d) => resolve(d)) });
const t1 = performance.now();
const registry = createDefaultRegistry();
const t2 = performance.now();
// the values the bench gives the server (the shipped rule in the (c) shapes reads them)
const env = { AB_NAMESPACE: 'bench-namespace', ITEM_ID_TO_GRANT: 'bench-item' };
const result = await loadRules({ file: resolve(rulesFile), catalog, registry, env, unsetEnv: 'error' });
const t3 = performance.now();
process.stdout.write(
  `${JSON.stringify({
    catalogMs: t1 - t0,
    rulesMs: t3 - t2,
    ok: result.ok,
    ruleCount: result.ok ? result.rules.ruleCount : 0,
    problems: result.ok ? [] : result.problems.slice(0, 5).map((p) => `${p.line}:${p.column} ${p.message}`),
  })}\n`,
);
