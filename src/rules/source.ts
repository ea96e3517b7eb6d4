/**
 * Reading the rules file as YAML with positions: every problem found later
 * (schema, events, paths) is reported at the line and column of the node it
 * concerns. Limits guard against hostile files: size, nesting depth, alias
 * expansion (YAML "billion laughs").
 */
import { createRequire } from 'node:module';
import type * as YamlApi from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';
import { FastYamlUnsupported, parseFastYaml } from './fast-yaml.js';
import type { RuleProblem } from './types.js';
import { explainYamlProblems } from './hints.js';
import { explainYamlErrors } from './yaml-mistakes.js';

/** Largest rules file accepted (bytes). */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Deepest nesting of maps and lists accepted. */
export const MAX_DEPTH = 32;
/** Most alias expansions accepted (each `*alias` counts its node's size). */
export const MAX_ALIAS_COUNT = 100;

export type PathSegment = string | number;

type YamlModule = typeof YamlApi;
let yamlModule: YamlModule | undefined;
/** `yaml`, loaded on first use (~25 ms, ~8 MB): files the fast reader reads do not need it unless they have problems. */
function yaml(): YamlModule {
  yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule;
  return yamlModule;
}

/** The YAML document with positions (built by `yaml`; lazily when the fast reader read the file). */
interface Positions {
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

function parseWithPositions(text: string): Positions {
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true, version: '1.2', keepSourceTokens: false });
  return { doc, lines };
}

/** A parsed rules file: the plain data plus node positions. */
export class RulesSource {
  #positions: Positions | undefined;
  readonly #text: string;
  readonly #itemOffsets: readonly number[] | undefined;
  #newlines: number[] | undefined;

  /**
   * @param positions the `yaml` document of `text`; absent (file read by the
   *   fast reader): parsed on the first position asked for, except the start
   *   of a rule, known from `itemOffsets`.
   * @param itemOffsets offset of each item of the top-level `rules` list.
   */
  constructor(
    readonly file: string,
    readonly data: unknown,
    text: string,
    positions?: Positions,
    itemOffsets?: readonly number[],
  ) {
    this.#text = text;
    this.#positions = positions;
    this.#itemOffsets = itemOffsets;
  }

  #pos(): Positions {
    this.#positions ??= parseWithPositions(this.#text);
    return this.#positions;
  }

  /** The deepest node along `path` (the key node of the last pair when `key`). */
  node(path: readonly PathSegment[], key = false): Node | undefined {
    const { doc } = this.#pos();
    const { isAlias, isMap, isPair, isScalar, isSeq } = yaml();
    let cur: unknown = doc.contents;
    let found: Node | undefined = cur as Node | undefined;
    for (let i = 0; i < path.length; i++) {
      if (isAlias(cur)) cur = cur.resolve(doc);
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
    const fast = this.#ruleOffset(path, key);
    if (fast !== undefined) return this.#linePos(fast);
    const n = this.node(path, key);
    const offset = n?.range?.[0] ?? 0;
    const p = this.#pos().lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  /** The offset of a rule (a map item of `rules`), known without the `yaml` document. */
  #ruleOffset(path: readonly PathSegment[], key: boolean): number | undefined {
    if (key || path.length !== 2 || path[0] !== 'rules' || typeof path[1] !== 'number' || !this.#itemOffsets) return undefined;
    const rules = (this.data as { rules?: unknown } | null)?.rules;
    if (!Array.isArray(rules)) return undefined;
    const item: unknown = rules[path[1]];
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
    return this.#itemOffsets[path[1]];
  }

  #linePos(offset: number): { line: number; column: number } {
    if (!this.#newlines) {
      const nl: number[] = [];
      for (let i = this.#text.indexOf('\n'); i !== -1; i = this.#text.indexOf('\n', i + 1)) nl.push(i);
      this.#newlines = nl;
    }
    const nl = this.#newlines;
    let lo = 0; // newlines before offset
    let hi = nl.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (nl[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    const lineStart = lo === 0 ? 0 : nl[lo - 1]! + 1;
    return { line: lo + 1, column: offset - lineStart + 1 };
  }
}

function depthOf(value: unknown, limit: number, depth: number, path: PathSegment[]): PathSegment[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= limit) return path.slice(0, depth);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path[depth] = i;
      const deep = depthOf(value[i], limit, depth + 1, path);
      if (deep) return deep;
    }
  } else {
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue;
      path[depth] = k;
      const deep = depthOf((value as Record<string, unknown>)[k], limit, depth + 1, path);
      if (deep) return deep;
    }
  }
  return undefined;
}

/**
 * Parses the text; returns the source or the problems (syntax, limits). With
 * a source, `problems` may still hold keys written twice (the document is
 * read with the later value): the caller reports them with the rest.
 */
export function parseRulesSource(text: string, file: string): { source?: RulesSource; problems: RuleProblem[]; warnings: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const warnings: RuleProblem[] = [];
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_FILE_BYTES) {
    problems.push({ file, line: 1, column: 1, severity: 'error', code: 'limits', message: `the file is ${bytes} bytes: the limit is ${MAX_FILE_BYTES} (16 MiB)`, fix: 'split the rules or remove unused ones' });
    return { problems, warnings };
  }
  let source: RulesSource;
  let fast: ReturnType<typeof parseFastYaml> | undefined;
  try {
    fast = parseFastYaml(text);
  } catch (err) {
    if (!(err instanceof FastYamlUnsupported)) throw err;
  }
  if (fast) {
    source = new RulesSource(file, fast.data, text, undefined, fast.rulesItemOffsets);
  } else {
    const positions = parseWithPositions(text);
    const { doc, lines } = positions;
    const at = (offset: number) => {
      const p = lines.linePos(offset);
      return { line: p.line, column: p.col };
    };
    const errors = doc.errors.map((e) => ({ code: e.code, offset: e.pos[0], message: e.message }));
    const reparse = (t: string) => parseWithPositions(t).doc.errors.map((e) => ({ code: e.code, offset: e.pos[0], message: e.message }));
    for (const m of explainYamlErrors(text, errors, at, reparse)) {
      problems.push({ file, line: m.line, column: m.column, severity: 'error', code: 'yaml-syntax', message: m.message, ...(m.fix ? { fix: m.fix } : {}) });
    }
    for (const w of doc.warnings) {
      warnings.push({ file, ...at(w.pos[0]), severity: 'warning', code: 'yaml-syntax', message: w.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') });
    }
    // a key written twice leaves a readable document (the later value): the rest of the file is checked in the same run
    if (problems.length > 0 && !doc.errors.every((e) => e.code === 'DUPLICATE_KEY')) return { problems: explainYamlProblems(file, text, problems), warnings };
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      problems.push({ file, line: 1, column: 1, severity: 'error', code: 'limits', message: (err as Error).message, fix: `use fewer aliases (at most ${MAX_ALIAS_COUNT} expansions)` });
      return { problems, warnings };
    }
    source = new RulesSource(file, data, text, positions);
  }
  const deep = depthOf(source.data, MAX_DEPTH, 0, []);
  if (deep) {
    problems.push({ file, ...source.position(deep), severity: 'error', code: 'limits', message: `nesting deeper than ${MAX_DEPTH} levels`, fix: 'flatten the condition or parameters' });
    return { problems, warnings };
  }
  return { source, problems, warnings };
}
