// The project's layer rule (`layers/imports`), a local ESLint plugin: no
// dependency, reads only the import statements of src/.
//
// For a file under `root` (src), each relative import is checked:
// - `unknown`: the imported folder is not in `layers` (a new folder must be
//   given its place first);
// - `layer`: a module may import only from a lower layer (same layer: no);
// - `deep`: another folder is imported through its `index.ts` only;
// - `star`: an `index.ts` lists what it exports (no `export *`);
// - `cycle`: no import cycle, type-only imports included (the graph of src is
//   read once per lint run, the current file from its own AST).
// The layers are listed lowest first; an element is a folder of src, or a
// file at its root (`config`, `main`, `index`).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * The layers of src, lowest first (docs/development.md, "Layers"): a module
 * imports only from lower layers, another folder only through its index.ts,
 * and no import cycle. Used by eslint.config.js.
 */
export const LAYERS = [
  ['time', 'text'],
  ['telemetry', 'events'],
  ['contract', 'ags'],
  ['custom-events'],
  ['store', 'actions', 'server'],
  ['state'],
  ['rules'],
  ['delivery', 'config'],
  ['pipeline'],
  ['authoring'],
  ['main'],
  ['cli', 'index'],
];

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** `./x.js` as written -> the `.ts` file it names. */
function resolveTs(fromFile, spec) {
  const p = resolve(dirname(fromFile), spec);
  return p.endsWith('.js') ? `${p.slice(0, -3)}.ts` : p;
}

/** The element a file belongs to: its folder under root, or its own name at the root; undefined outside root. */
function elementOf(root, file) {
  const rel = relative(root, file);
  if (rel.startsWith('..') || rel === '') return undefined;
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0] : parts[0].replace(/\.ts$/, '');
}

const graphs = new Map();

/** Every .ts file under root -> the files it imports (relative imports only). */
function graphOf(root) {
  let g = graphs.get(root);
  if (g) return g;
  g = new Map();
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        const text = readFileSync(p, 'utf8');
        g.set(p, [...text.matchAll(IMPORT_RE)].map((m) => resolveTs(p, m[1] ?? m[2])));
      }
    }
  };
  walk(root);
  graphs.set(root, g);
  return g;
}

/** A path from `from` back to `to` in the graph, or undefined. */
function pathBack(graph, from, to) {
  const seen = new Set();
  const stack = [[from, [from]]];
  while (stack.length > 0) {
    const [node, path] = stack.pop();
    if (node === to) return path;
    if (seen.has(node)) continue;
    seen.add(node);
    for (const next of graph.get(node) ?? []) stack.push([next, [...path, next]]);
  }
  return undefined;
}

const importsRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Layers of src: imports go down only, through a folder\'s index.ts, without cycles.' },
    schema: [
      {
        type: 'object',
        properties: { root: { type: 'string' }, layers: { type: 'array', items: { type: 'array', items: { type: 'string' } } } },
        required: ['root', 'layers'],
        additionalProperties: false,
      },
    ],
    messages: {
      unknown: '{{target}} is not in the layers of eslint.config.js: give it its place before importing it.',
      layer: '{{source}} (layer {{sourceRank}}) may not import {{target}} (layer {{targetRank}}): imports go to lower layers only (docs/development.md, "Layers").',
      deep: 'import {{target}} through its surface {{index}}, not its file {{file}}.',
      star: 'an index.ts lists what it exports: no `export *`.',
      cycle: 'import cycle: {{cycle}}.',
    },
  },
  create(context) {
    const { root: rootOption, layers } = context.options[0];
    const root = resolve(context.cwd, rootOption);
    const file = context.filename;
    const source = elementOf(root, file);
    if (source === undefined) return {};
    const rank = new Map();
    layers.forEach((names, i) => names.forEach((n) => rank.set(n, i)));
    const isIndex = relative(root, file).split(sep).length === 2 && file.endsWith(`${sep}index.ts`);
    const edges = [];

    function check(node, spec) {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = resolveTs(file, spec);
      edges.push({ node, target });
      const element = elementOf(root, target);
      if (element === undefined || element === source) return;
      const rel = relative(root, target);
      if (!rank.has(element)) return context.report({ node, messageId: 'unknown', data: { target: element } });
      if (!rank.has(source)) return context.report({ node, messageId: 'unknown', data: { target: source } });
      if (rank.get(element) >= rank.get(source)) {
        context.report({ node, messageId: 'layer', data: { source, target: element, sourceRank: rank.get(source), targetRank: rank.get(element) } });
      }
      if (rel.includes(sep) && rel !== join(element, 'index.ts')) {
        context.report({ node, messageId: 'deep', data: { target: element, index: `${element}/index.ts`, file: rel.split(sep).join('/') } });
      }
    }

    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => {
        if (isIndex) context.report({ node, messageId: 'star' });
        check(node, node.source.value);
      },
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
      'Program:exit'() {
        const graph = graphOf(root);
        for (const { node, target } of edges) {
          if (target === file) continue;
          const back = pathBack(graph, target, file);
          if (back) context.report({ node, messageId: 'cycle', data: { cycle: [file, ...back].map((p) => relative(root, p).split(sep).join('/')).join(' -> ') } });
        }
      },
    };
  },
};

export default { meta: { name: 'layers' }, rules: { imports: importsRule } };
