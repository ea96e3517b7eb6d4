#!/usr/bin/env node
// Regenerates the configuration table of docs/configuration.md from ENV_VARS (src/config.ts),
// between the env-table markers. Run after `npm run build`: `npm run docs:env`.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { ENV_VARS } = await import(new URL('../dist/config.js', import.meta.url).href);
const rows = ENV_VARS.map((v) => `| \`${v.name}\` | ${v.default === '' ? '(unset)' : `\`${v.default}\``} | ${v.description.replaceAll('|', '\\|')} |`);
const table = ['| variable | default | what |', '| --- | --- | --- |', ...rows].join('\n');
const readme = `${root}docs/configuration.md`;
const text = readFileSync(readme, 'utf8');
const start = '<!-- env-table:start -->';
const end = '<!-- env-table:end -->';
const a = text.indexOf(start);
const b = text.indexOf(end);
if (a < 0 || b < a) throw new Error('docs/configuration.md has no env-table markers');
writeFileSync(readme, `${text.slice(0, a + start.length)}\n${table}\n${text.slice(b)}`);
console.log(`docs/configuration.md: ${ENV_VARS.length} environment variables`);
