#!/usr/bin/env node
// Regenerates every generated part of docs/ (the configuration table, each
// action's parameters and permission, the problem codes) between their
// markers, and rules.test.schema.json (the editor schema of rule-test files).
// Run through `npm run docs` (it builds first).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { regenerateDocs } = await import(new URL('../dist/authoring/reference-docs.js', import.meta.url).href);
for (const { file, current, expected } of regenerateDocs(root)) {
  if (expected === current) {
    console.log(`${file}: up to date`);
  } else {
    writeFileSync(join(root, file), expected);
    console.log(`${file}: regenerated`);
  }
}
const { renderRuleTestsSchema } = await import(new URL('../dist/authoring/rule-tests-schema.js', import.meta.url).href);
const schemaFile = join(root, 'rules.test.schema.json');
const schema = renderRuleTestsSchema();
if (existsSync(schemaFile) && readFileSync(schemaFile, 'utf8') === schema) {
  console.log('rules.test.schema.json: up to date');
} else {
  writeFileSync(schemaFile, schema);
  console.log('rules.test.schema.json: regenerated');
}
