/**
 * The YAML reader's errors said as a person fixes them (issue 27): for a key
 * indented too deep or between two levels, or a tab in the indentation, the
 * line and column of that key and the column it should start at, like its
 * sibling; for a key written twice in one map, where the first one is. The
 * reader's own messages ("All mapping items must start at the same column",
 * column 1) name where the parser noticed, often the line after the mistake.
 *
 * The indentation is read from the text (block mappings and sequences; flow
 * collections, block scalars, comments and plain-scalar continuation lines
 * are stepped over), and only when the reader refused the file: a valid
 * file is never judged by it.
 */

/** One error of the YAML reader (the `yaml` package's `YAMLError`: code, and the offset where it was noticed). */
export interface YamlReaderError {
  readonly code: string;
  readonly offset: number;
  readonly message: string;
}

/** A mistake, 1-based line and column, with its fix (one line). */
export interface YamlMistake {
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly fix: string;
}

/** The reader's codes that a misplaced key or a tab produces (they are replaced by the mistakes found in the text). */
const INDENTATION_CODES: ReadonlySet<string> = new Set(['BAD_INDENT', 'TAB_AS_INDENT', 'MULTILINE_IMPLICIT_KEY', 'BLOCK_AS_IMPLICIT_KEY', 'UNEXPECTED_TOKEN', 'BAD_SCALAR_START']);

/** Fixes of the reader's other errors: code, message, fix. */
const READER_FIXES: readonly (readonly [string, RegExp, string])[] = [
  ['BAD_INDENT', /^Flow (map|sequence)/, 'close each { with } and each [ with ] (a flow collection spanning lines indents its lines deeper than its key)'],
  ['BAD_INDENT', /./, 'indent with spaces only, the keys of one map at the same column'],
  ['TAB_AS_INDENT', /./, 'indent with spaces only, the keys of one map at the same column'],
  ['MISSING_CHAR', /closing "quote/, 'end the quoted text with " (a quoted text may span lines: the reader looked for its end down to here)'],
  ['MISSING_CHAR', /closing 'quote/, "end the quoted text with ' (write '' for a quote inside it)"],
];

/** An open block level: the column its keys (or `-` items) start at, and the last key met there. */
interface Level {
  readonly column: number;
  key: string;
  line: number;
  /** Only `-` items start at this column (a sequence indented under its key): a key there belongs to the item above. */
  seq: boolean;
}

interface LineInfo {
  readonly n: number;
  readonly indent: string;
  /** Column (1-based) of the first character after the `- ` markers: where a key starts. */
  readonly keyColumn: number;
  /** Columns of the `-` markers. */
  readonly dashes: readonly number[];
  /** The key, when the content is `key:` (undefined: a scalar, a flow collection). */
  readonly key: string | undefined;
  /** The value after `key:` (comment removed), or the content when not a key. */
  readonly value: string;
}

const KEY = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{[\]},&*!|>%@`-][^#]*?|-[^\s#][^#]*?)\s*:(?:\s+|$)/;

function lineInfo(text: string, n: number): LineInfo {
  const indent = /^[ \t]*/.exec(text)![0];
  let rest = text.slice(indent.length);
  const dashes: number[] = [];
  let col = indent.length + 1;
  for (let m = /^-(?:[ ]+|$)/.exec(rest); m; m = /^-(?:[ ]+|$)/.exec(rest)) {
    dashes.push(col);
    col += m[0].length;
    rest = rest.slice(m[0].length);
  }
  const k = KEY.exec(rest);
  const uncomment = (s: string): string => s.replace(/(^|\s)#.*$/, '').trim();
  if (!k) return { n, indent, keyColumn: col, dashes, key: undefined, value: uncomment(rest) };
  return { n, indent, keyColumn: col, dashes, key: k[1]!.replace(/^["']|["']$/g, ''), value: uncomment(rest.slice(k[0].length)) };
}

/** Net `{[` minus `}]` outside quotes. */
function flowBalance(value: string): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return depth;
}

const name = (l: Level): string => (l.key === '-' ? 'the "-" item' : `"${l.key}"`);

/**
 * Reads the indentation of `text` and answers each key that starts where no
 * open map or list of its context can have it, and each tab in an
 * indentation. After a mistake the key is taken as written where it should
 * be, so one mistake is reported once.
 */
export function findIndentationMistakes(text: string): YamlMistake[] {
  const mistakes: YamlMistake[] = [];
  const levels: Level[] = [];
  let opens = false; // the previous content line ends its key with nothing after it: the next line may go deeper
  let blockScalarAbove: number | undefined; // a `|` or `>` value: lines deeper than this column are its text
  let flow = 0;
  let continuation = false; // the previous line's value is a plain scalar: a deeper non-key line continues it
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed === '---' || trimmed === '...' || trimmed.startsWith('%')) continue;
    const info = lineInfo(raw, i + 1);
    const column = info.indent.length + 1;
    if (blockScalarAbove !== undefined) {
      if (column > blockScalarAbove && !info.indent.includes('\t')) continue;
      blockScalarAbove = undefined;
    }
    if (flow > 0) {
      flow += flowBalance(trimmed);
      continue;
    }
    let at = info.dashes[0] ?? info.keyColumn; // where the line's first node starts
    const tab = info.indent.indexOf('\t');
    const deeper = levels.length === 0 || at > levels[levels.length - 1]!.column;
    if (deeper && continuation && info.key === undefined && info.dashes.length === 0 && tab < 0) continue;
    const expected = tab >= 0 || !(deeper ? opens || levels.length === 0 : levels.some((l) => l.column === at)) ? expectedColumn(levels, at, opens, tab >= 0) : besideItem(levels, at, info);
    if (expected) {
      const what = info.key !== undefined ? `"${info.key}"` : info.dashes.length > 0 ? 'the "-" item' : `"${trimmed.slice(0, 20)}"`;
      if (tab >= 0) {
        mistakes.push({
          line: info.n,
          column: tab + 1,
          message: `a tab in the indentation of ${what}: YAML indents with spaces only`,
          fix: `replace the indentation with spaces: ${what} starts at column ${expected.column}${expected.like ? `, like ${name(expected.like)} on line ${expected.like.line}` : ''}`,
        });
      } else {
        const how = expected.column < at ? `${at - expected.column} space${at - expected.column === 1 ? '' : 's'} too deep` : `${expected.column - at} space${expected.column - at === 1 ? '' : 's'} too shallow`;
        mistakes.push({
          line: info.n,
          column: at,
          message: `${what} starts at column ${at}, ${how}: ${expected.like ? `its sibling ${name(expected.like)} (line ${expected.like.line}) starts at column ${expected.column}` : `nothing of the map above starts there`}`,
          fix: `start ${what} at column ${expected.column}${expected.like ? `, like ${name(expected.like)} on line ${expected.like.line}` : ''}${expected.or !== undefined ? ` (or at column ${expected.or} to end the map above)` : ''}`,
        });
      }
      const shift = expected.column - at;
      at = expected.column;
      info.dashes.forEach((_d, j, a) => ((a as number[])[j] = a[j]! + shift));
      (info as { keyColumn: number }).keyColumn += shift;
    }
    while (levels.length > 0 && levels[levels.length - 1]!.column > at) levels.pop();
    for (const d of info.dashes) enter(levels, d, '-', info.n);
    if (info.key !== undefined) enter(levels, info.keyColumn, info.key, info.n);
    const value = info.key !== undefined ? info.value : info.dashes.length > 0 ? info.value : '';
    opens = info.key !== undefined ? value === '' || /^[&!][^\s]*$/.test(value) : info.dashes.length > 0 && value === '';
    if (/^[|>][-+0-9]*$/.test(value)) blockScalarAbove = info.key !== undefined ? info.keyColumn : at;
    flow = /^[{[]/.test(value) ? Math.max(0, flowBalance(value)) : 0;
    continuation = value !== '' && !/^[{["'|>&*!]/.test(value);
  }
  return mistakes;
}

function enter(levels: Level[], column: number, key: string, line: number): void {
  const top = levels[levels.length - 1];
  if (top?.column === column) {
    top.key = key;
    top.line = line;
    top.seq &&= key === '-';
  } else levels.push({ column, key, line, seq: key === '-' });
}

/**
 * A key written at the column of the `-` of the item above (`- name: a` then `on: ...` under the `-`): it
 * belongs to that item, whose keys start after the `- `. Its first key's level, where it should start.
 */
function besideItem(levels: readonly Level[], at: number, info: LineInfo): { column: number; like?: Level; or?: number } | undefined {
  if (info.key === undefined || info.dashes.length > 0) return undefined;
  const i = levels.findIndex((l) => l.column === at);
  const item = levels[i + 1];
  return i >= 0 && levels[i]!.seq && item && item.key !== '-' ? { column: item.column, like: item } : undefined;
}

/** Where a misplaced node should start: like the innermost level it is not deeper than (too deep: its previous sibling). */
function expectedColumn(levels: readonly Level[], at: number, opens: boolean, tab: boolean): { column: number; like?: Level; or?: number } {
  const top = levels[levels.length - 1];
  if (!top) return { column: 1 };
  if (tab) return opens ? { column: top.column + 2 } : { column: top.column, like: top };
  if (at >= top.column) return { column: top.column, like: top };
  // between two levels: the deeper one (its siblings), or the shallower one (the map above goes on)
  const deeperIndex = levels.findIndex((l) => l.column > at);
  const deeper = levels[deeperIndex]!;
  const shallower = levels[deeperIndex - 1];
  return { column: deeper.column, like: deeper, ...(shallower ? { or: shallower.column } : {}) };
}

/** The key written at `offset` (a duplicate key error's position), and where it is first written in the same map. */
function duplicateKey(text: string, offset: number, linePos: (offset: number) => { line: number; column: number }): YamlMistake | undefined {
  const { line, column } = linePos(offset);
  const lines = text.split('\n');
  const info = lineInfo(lines[line - 1] ?? '', line);
  const key = info.key;
  if (key === undefined) return undefined;
  for (let n = line - 1; n >= 1; n--) {
    const other = lineInfo(lines[n - 1]!, n);
    if (other.key === undefined && other.dashes.length === 0 && other.value === '') continue; // blank or comment
    if (other.keyColumn === column && other.key === key) return found(n);
    if ((other.dashes[0] ?? other.keyColumn) < column) break; // the map started at this line or above
  }
  return { line, column, message: `"${key}" is written twice in one map`, fix: `keep one "${key}": a map has each key once (merge the two, or remove one)` };

  function found(first: number): YamlMistake {
    return { line, column, message: `"${key}" is written twice in one map (first on line ${first})`, fix: `keep one "${key}": a map has each key once (merge the two, or remove one)` };
  }
}

/**
 * The reader's errors as mistakes with fixes: indentation errors replaced by
 * the misplaced keys and tabs found in the text (when any is found), a
 * duplicate key with its first line; others as the reader says them. With
 * `reparse` (the reader's errors of another text), keys written without their
 * `:` are found first ({@link findMissingColons}): when writing the colons
 * leaves fewer errors, those keys are reported, then the errors left.
 */
export function explainYamlErrors(
  text: string,
  errors: readonly YamlReaderError[],
  linePos: (offset: number) => { line: number; column: number },
  reparse?: (text: string) => readonly YamlReaderError[],
): YamlMistake[] {
  const colons = errors.length > 0 && reparse ? findMissingColons(text) : undefined;
  if (colons && colons.inserts.length > 0 && reparse) {
    // the reader's errors of the text with the colons written: the others, without the cascade the missing ones caused
    let repaired = text;
    for (const o of [...colons.inserts].reverse()) repaired = `${repaired.slice(0, o)}:${repaired.slice(o)}`;
    const after = reparse(repaired);
    if (after.length < errors.length) {
      const original = (o: number): number => o - colons.inserts.filter((ins, i) => ins + i < o).length;
      // positions from the text itself: the reader's line counter of a text it misread can miss lines
      const rest = explainYamlErrors(repaired, after, (o) => linePosIn(text, original(o)));
      return [...colons.mistakes, ...rest].sort((a, b) => a.line - b.line || a.column - b.column);
    }
  }
  const indentation = errors.some((e) => INDENTATION_CODES.has(e.code)) ? findIndentationMistakes(text) : [];
  const out: YamlMistake[] = [...indentation];
  for (const e of errors) {
    if (indentation.length > 0 && INDENTATION_CODES.has(e.code)) continue;
    if (e.code === 'DUPLICATE_KEY') {
      const d = duplicateKey(text, e.offset, linePos);
      if (d) {
        out.push(d);
        continue;
      }
    }
    const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    out.push({ ...linePos(e.offset), message, fix: READER_FIXES.find(([code, re]) => code === e.code && re.test(message))?.[2] ?? '' });
  }
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** 1-based line and column of `offset` in `text`. */
function linePosIn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const nl = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: offset - nl };
}

/** `key value` where `key: value` was meant: a plain or quoted key, blanks, then the value. */
const KEY_WITHOUT_COLON = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[A-Za-z_$][\w$.-]*)([ \t]+)(\S.*)$/;

/** The content lines of `text` that are block nodes (not lines of a block scalar or inside a flow collection), with their offsets. */
function blockLines(text: string): { info: LineInfo; offset: number }[] {
  const out: { info: LineInfo; offset: number }[] = [];
  let offset = 0;
  let blockScalarAbove: number | undefined;
  let flow = 0;
  for (const [i, line] of text.split('\n').entries()) {
    const start = offset;
    offset += line.length + 1;
    const raw = line.replace(/\r$/, '');
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed === '---' || trimmed === '...' || trimmed.startsWith('%')) continue;
    const info = lineInfo(raw, i + 1);
    if (blockScalarAbove !== undefined && info.indent.length + 1 > blockScalarAbove) continue;
    blockScalarAbove = undefined;
    if (flow > 0) {
      flow = Math.max(0, flow + flowBalance(trimmed));
      continue;
    }
    out.push({ info, offset: start });
    if (/^[|>][-+0-9]*$/.test(info.value)) blockScalarAbove = info.key !== undefined ? info.keyColumn : (info.dashes[0] ?? info.keyColumn);
    flow = /^[{[]/.test(info.value) ? Math.max(0, flowBalance(info.value)) : 0;
  }
  return out;
}

/** The text of a line from its key column (after the `- ` markers), without its comment. */
function lineContent(text: string, offset: number, info: LineInfo): string {
  const end = text.indexOf('\n', offset);
  const line = text.slice(offset, end < 0 ? text.length : end).replace(/\r$/, '');
  return line.slice(info.keyColumn - 1).replace(/(^|\s)#.*$/, '').trim();
}

/** Whether a line of the same block as `lines[at]` (up or down, before a line that starts left of it) is a key at its key column. */
function hasKeySibling(lines: readonly { info: LineInfo }[], at: number): boolean {
  const me = lines[at]!.info;
  const start = me.dashes[0] ?? me.keyColumn;
  for (const step of [-1, 1]) {
    for (let j = at + step; j >= 0 && j < lines.length; j += step) {
      const other = lines[j]!.info;
      if (other.key !== undefined && other.keyColumn === me.keyColumn) return true;
      if ((other.dashes[0] ?? other.keyColumn) < start) break;
    }
  }
  return false;
}

/**
 * Keys written without their `:` (`on userLoggedIn`, `itemId ${env.ITEM}`, `- "==" [ ... ]`): a line
 * `key value` where a key belongs (another key of its map starts at its column, or a quoted key is
 * followed by a flow collection, which YAML never reads as one text). The reader's own errors for
 * them are misleading ("Implicit keys need to be on a single line", an indentation error on the
 * next key, a cascade of "Unexpected ... token"). `inserts`: the offsets where the `:` goes.
 */
export function findMissingColons(text: string): { mistakes: YamlMistake[]; inserts: number[] } {
  const lines = blockLines(text);
  const mistakes: YamlMistake[] = [];
  const inserts: number[] = [];
  for (const [at, { info, offset }] of lines.entries()) {
    // `limit { count: 1, per: day }` reads as the key "limit { count": a word, blanks, then a flow collection
    const content = info.key === undefined ? info.value : /^[A-Za-z_$][\w$.-]*[ \t]+[{[]/.test(info.key) ? lineContent(text, offset, info) : undefined;
    const m = content === undefined ? null : KEY_WITHOUT_COLON.exec(content);
    if (!m) continue;
    const [, key, , value] = m as unknown as [string, string, string, string];
    const quoted = /^["']/.test(key);
    if (!(/^[[{]/.test(value) && (quoted || info.key !== undefined)) && !hasKeySibling(lines, at)) continue;
    const column = info.keyColumn + key.length;
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    mistakes.push({
      line: info.n,
      column,
      message: `missing ":" after ${quoted ? key : `"${key}"`}: YAML reads the line as one text, not a key and its value`,
      fix: `write ${key}: ${shown}`,
    });
    inserts.push(offset + column - 1);
  }
  return { mistakes, inserts };
}
