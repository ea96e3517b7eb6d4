#!/usr/bin/env node
// Load + compile time of 10,000 generated rules (a script, not a test: timings
// are not asserted). Run after `npm run build`:
//   node test/rules/perf/load-10k.mjs [count]
// RULES_DIST=<dir> points at another build output (default: dist).
import { resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dist = resolve(root, process.env.RULES_DIST ?? 'dist');
const { compileRulesText } = await import(pathToFileURL(resolve(dist, 'rules/validate.js')).href);
const { loadCatalog } = await import(pathToFileURL(resolve(dist, 'events/catalog.js')).href);
const { ActionRegistry } = await import(pathToFileURL(resolve(dist, 'actions/registry.js')).href);

const count = Number(process.argv[2] ?? 10_000);
const catalog = await loadCatalog({ dirs: [resolve(root, 'test/rules/fixtures/proto')] });
const registry = new ActionRegistry().register({
  name: 'grant',
  description: 'bench',
  params: { type: 'object', additionalProperties: false, required: ['itemId'], properties: { itemId: { type: 'string' }, quantity: { type: 'integer' }, userId: { type: 'string' } } },
  usesAgs: false,
  normalize: (p) => p,
  plan: () => [],
  execute: async () => ({}),
});

let yaml = 'version: 1\nrules:\n';
for (let i = 0; i < count; i++) {
  yaml += `  - name: rule-${i}
    on: ${i % 2 ? 'userLoggedIn' : 'matchEnded'}
    when:
      and:
        - { "==": [{ var: namespace }, "\${env.NS}"] }
        - { ">=": [{ var: ${i % 2 ? 'version' : 'score'} }, ${i}] }
    do:
      - grant:
          itemId: item-${i}
          quantity: 1
          userId: \${event.userId}
`;
}
const env = { NS: 'mygame' };
// warm-up (ajv schema compile, JIT), then measure
compileRulesText('version: 1\nrules: []\n', 'warm.yaml', { catalog, registry, env, unsetEnv: 'error' });
const t0 = performance.now();
const r = compileRulesText(yaml, 'bench.yaml', { catalog, registry, env, unsetEnv: 'error' });
const t1 = performance.now();
if (!r.ok) {
  console.error(r.problems.slice(0, 5));
  process.exit(1);
}
const event = { id: 'e', namespace: 'mygame', userId: 'u', version: 5000, payload: {} };
const n = 100_000;
const s0 = performance.now();
let planned = 0;
for (let i = 0; i < n; i++) planned += r.rules.evaluate('test.events.v1.MatchEndedService', { ...event, score: i % 10 }).plan.length;
const s1 = performance.now();
console.log(
  JSON.stringify({
    rules: count,
    bytes: Buffer.byteLength(yaml),
    loadAndCompileMs: Math.round(t1 - t0),
    heapMB: Math.round(process.memoryUsage().heapUsed / 1e6),
    evaluate5000RulesPerEventUs: Number((((s1 - s0) / n) * 1000).toFixed(1)),
    planned,
  }),
);
