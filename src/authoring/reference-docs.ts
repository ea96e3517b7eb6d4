/**
 * The generated parts of the reference pages in `docs/`: the configuration
 * table (from {@link ENV_VARS}), each built-in action's parameters, defaults
 * and permission (from the action's schema), and the problem codes (from
 * {@link PROBLEM_CODES}). Each part sits between the markers
 * `<!-- NAME:start -->` and `<!-- NAME:end -->`; `npm run docs` rewrites them
 * all and test/packaging/docs.test.ts fails when a committed page is stale.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDefaultRegistry } from '../actions/index.js';
import type { ActionRegistry } from '../actions/index.js';
import type { ActionDefinition, JsonSchema } from '../actions/index.js';
import { ENV_VARS } from '../config.js';
import type { EnvVar } from '../config.js';
import { PROBLEM_CODES } from '../rules/index.js';

/** One generated part: the page (relative to the project root), the marker name, its text. */
export interface GeneratedSection {
  readonly file: string;
  readonly name: string;
  render(): string;
}

/** A page lacks the markers of a generated part. */
export class DocsMarkerError extends Error {
  constructor(readonly file: string, readonly section: string) {
    super(`${file} has no "<!-- ${section}:start -->" ... "<!-- ${section}:end -->" markers`);
    this.name = 'DocsMarkerError';
  }
}

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The configuration table of docs/configuration.md: variable, default (`(unset)` for ''), description. */
export function envTable(vars: readonly EnvVar[] = ENV_VARS): string {
  const rows = vars.map((v) => `| \`${v.name}\` | ${v.default === '' ? '(unset)' : `\`${v.default}\``} | ${cell(v.description)} |`);
  return ['| variable | default | what |', '| --- | --- | --- |', ...rows].join('\n');
}

const PLURAL: Record<string, string> = { string: 'strings', number: 'numbers', integer: 'integers', boolean: 'booleans', object: 'objects' };
const plural = (words: string): string => words.split(' or ').map((x) => PLURAL[x] ?? x).join(' or ');

/**
 * A parameter's type in words. A type paired with `string` alone (`integer`
 * or `string`) is shown without it: the string form is there for `${env.X}`
 * values, which are converted.
 */
export function describeType(schema: JsonSchema): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => `\`${String(v)}\``).join(', ');
  const raw = schema.type;
  const types = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
  if (types.length === 0) return 'any JSON';
  const shown = types.length === 2 && types.includes('string') ? types.filter((t) => t !== 'string') : types;
  const one = (t: string): string => {
    if (t === 'array') {
      const items = schema.items as JsonSchema | undefined;
      return items ? `list of ${plural(describeType(items))}` : 'list';
    }
    if (t === 'object' && typeof schema.additionalProperties === 'object' && schema.additionalProperties !== null) {
      return `map of ${plural(describeType(schema.additionalProperties as JsonSchema))}`;
    }
    return t;
  };
  return shown.map(one).join(' or ');
}

/** Splits a trailing "Default: X." off a description: the default column shows it. */
function splitDefault(description: string): { text: string; fallback?: string } {
  const m = /^(.*?)\s*Default: (.+?)\.?$/s.exec(description);
  return m ? { text: m[1]!, fallback: m[2]! } : { text: description };
}

/** One action's reference: a parameter table (type, default or "required", description) and its permission. */
export function actionReference(def: ActionDefinition): string {
  const props = (def.params.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(def.params.required) ? def.params.required.map(String) : []);
  const rows = Object.entries(props).map(([name, schema]) => {
    const { text, fallback } = splitDefault(typeof schema.description === 'string' ? schema.description : '');
    const dflt = required.has(name) ? '**required**' : 'default' in schema ? `\`${typeof schema.default === 'string' ? schema.default : JSON.stringify(schema.default)}\`` : (fallback ?? '');
    return `| \`${name}\` | ${cell(describeType(schema))} | ${cell(dflt)} | ${cell(text)} |`;
  });
  const permission = def.permission ? `Permission: \`${def.permission}\`` : def.usesAgs ? 'Permission: none.' : 'Permission: none (no AGS call).';
  return ['| parameter | type | default | what |', '| --- | --- | --- | --- |', ...rows, '', permission].join('\n');
}

/** The problem-code table of docs/rule-language.md. */
export function problemCodeTable(): string {
  const rows = Object.entries(PROBLEM_CODES).map(([code, meaning]) => `| \`${code}\` | ${cell(meaning)} |`);
  return ['| code | meaning |', '| --- | --- |', ...rows].join('\n');
}

/** Every generated part of docs/, in page order. */
export function generatedSections(registry: ActionRegistry = createDefaultRegistry()): GeneratedSection[] {
  return [
    { file: 'docs/configuration.md', name: 'env-table', render: () => envTable() },
    { file: 'docs/rule-language.md', name: 'problem-codes', render: () => problemCodeTable() },
    ...registry.list().map((def) => ({ file: 'docs/actions.md', name: `action:${def.name}`, render: () => actionReference(def) })),
  ];
}

/** `text` with the part between the markers of `name` replaced by `body`. Throws {@link DocsMarkerError}. */
export function replaceSection(text: string, file: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new DocsMarkerError(file, name);
  return `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`;
}

/** Each page that has generated parts: its current text and the text with every part regenerated. */
export function regenerateDocs(root: string, sections: readonly GeneratedSection[] = generatedSections()): { file: string; current: string; expected: string }[] {
  const files = [...new Set(sections.map((s) => s.file))];
  return files.map((file) => {
    const current = readFileSync(join(root, file), 'utf8');
    const expected = sections.filter((s) => s.file === file).reduce((text, s) => replaceSection(text, file, s.name, s.render()), current);
    return { file, current, expected };
  });
}
