/**
 * Reading the rules file as YAML with positions: every problem found later
 * (schema, events, paths) is reported at the line and column of the node it
 * concerns. Limits guard against hostile files: size, nesting depth, alias
 * expansion (YAML "billion laughs").
 */
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';
import type { RuleProblem } from './types.js';

/** Largest rules file accepted (bytes). */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Deepest nesting of maps and lists accepted. */
export const MAX_DEPTH = 32;
/** Most alias expansions accepted (each `*alias` counts its node's size). */
export const MAX_ALIAS_COUNT = 100;

export type PathSegment = string | number;

/** A parsed rules file: the plain data plus node positions. */
export class RulesSource {
  constructor(
    readonly file: string,
    readonly data: unknown,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** The deepest node along `path` (the key node of the last pair when `key`). */
  node(path: readonly PathSegment[], key = false): Node | undefined {
    let cur: unknown = this.doc.contents;
    let found: Node | undefined = cur as Node | undefined;
    for (let i = 0; i < path.length; i++) {
      if (isAlias(cur)) cur = cur.resolve(this.doc);
      const seg = path[i];
      if (isMap(cur)) {
        const pair = cur.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) === String(seg) : p.key === seg));
        if (!pair) return found;
        if (key && i === path.length - 1 && isScalar(pair.key)) return pair.key;
        cur = pair.value;
        if (cur === null) return isScalar(pair.key) ? pair.key : found;
      } else if (isSeq(cur) && typeof seg === 'number') {
        cur = cur.items[seg];
        if (cur === undefined) return found;
      } else {
        return found;
      }
      found = cur as Node;
    }
    return found;
  }

  /** 1-based line and column of a node along `path`. */
  position(path: readonly PathSegment[], key = false): { line: number; column: number } {
    const n = this.node(path, key);
    const offset = n?.range?.[0] ?? 0;
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }
}

function depthOf(value: unknown, limit: number, path: PathSegment[]): PathSegment[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (path.length >= limit) return path;
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  for (const [k, v] of entries) {
    const deep = depthOf(v, limit, [...path, k]);
    if (deep) return deep;
  }
  return undefined;
}

/** Parses the text; returns the source or the problems (syntax, limits). */
export function parseRulesSource(text: string, file: string): { source?: RulesSource; problems: RuleProblem[]; warnings: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const warnings: RuleProblem[] = [];
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_FILE_BYTES) {
    problems.push({ file, line: 1, column: 1, severity: 'error', code: 'limits', message: `the file is ${bytes} bytes: the limit is ${MAX_FILE_BYTES} (16 MiB)`, fix: 'split the rules or remove unused ones' });
    return { problems, warnings };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true, version: '1.2', keepSourceTokens: false });
  const at = (offset: number) => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  for (const e of doc.errors) {
    problems.push({ file, ...at(e.pos[0]), severity: 'error', code: 'yaml-syntax', message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') });
  }
  for (const w of doc.warnings) {
    warnings.push({ file, ...at(w.pos[0]), severity: 'warning', code: 'yaml-syntax', message: w.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') });
  }
  if (problems.length > 0) return { problems, warnings };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    problems.push({ file, line: 1, column: 1, severity: 'error', code: 'limits', message: (err as Error).message, fix: `use fewer aliases (at most ${MAX_ALIAS_COUNT} expansions)` });
    return { problems, warnings };
  }
  const source = new RulesSource(file, data, doc, lines);
  const deep = depthOf(data, MAX_DEPTH, []);
  if (deep) {
    problems.push({ file, ...source.position(deep), severity: 'error', code: 'limits', message: `nesting deeper than ${MAX_DEPTH} levels`, fix: 'flatten the condition or parameters' });
    return { problems, warnings };
  }
  return { source, problems, warnings };
}
