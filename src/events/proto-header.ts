/**
 * The header of a `.proto` file: its imports, in the order written, and its
 * file-level options — what protoc records in a `FileDescriptorProto`'s
 * `dependency`, `public_dependency`, `weak_dependency` and `options`, and
 * protobufjs' parser does not keep per file (it drops unused imports and
 * merges options of files sharing a package).
 *
 * Only top-level `import` and `option` statements are read; comments and
 * string literals are skipped the way protoc's tokenizer does. Custom options
 * (`option (my.ext) = ...`) are not read.
 */

/** One `import` statement. */
export interface ProtoImport {
  /** The imported file, as written (`google/protobuf/empty.proto`). */
  readonly path: string;
  readonly kind: 'plain' | 'public' | 'weak';
}

/** One `option name = value;` at file level; `value` is a string, boolean, number or enum identifier. */
export interface ProtoFileOption {
  /** As written: `java_package`, `optimize_for`. */
  readonly name: string;
  readonly value: string | number | boolean | { readonly identifier: string };
}

export interface ProtoHeader {
  readonly imports: readonly ProtoImport[];
  readonly options: readonly ProtoFileOption[];
  /**
   * Methods written with a body (`rpc M(A) returns (B) {}`), as
   * `Service.Method`: protoc gives those an (empty) `options` message.
   */
  readonly methodsWithBody: ReadonlySet<string>;
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '?': '?' };

/** Reads a protobuf string literal body (between the quotes) with its escapes. */
function unescape(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ESCAPES[e] ?? e;
  });
}

/**
 * The top-level statements of a `.proto` text (outside every `{}`), each
 * without its `;`, comments removed and string literals kept as written.
 */
function topLevelStatements(text: string): string[] {
  return scan(text).statements;
}

/** The text without comments and with string literals emptied (same length is not kept). */
function code(text: string): string {
  return scan(text).code;
}

function scan(text: string): { statements: string[]; code: string } {
  let codeText = '';
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
      current += ' ';
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
      current += ' ';
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      if (depth === 0) current += text.slice(i, j + 1);
      codeText += '""';
      i = j;
      continue;
    }
    codeText += c;
    if (c === '{') {
      depth++;
      if (depth === 1) current = '';
      continue;
    }
    if (c === '}') {
      depth = Math.max(0, depth - 1);
      if (depth === 0) current = '';
      continue;
    }
    if (depth > 0) continue;
    if (c === ';') {
      if (current.trim() !== '') out.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  return { statements: out, code: codeText };
}

/** `Service.Method` of every method written with a `{ ... }` body. */
function methodsWithBody(text: string): Set<string> {
  const out = new Set<string>();
  const src = code(text);
  const re = /\bservice\s+(\w+)\s*\{|\brpc\s+(\w+)\s*\([^)]*\)\s*returns\s*\([^)]*\)\s*([{;])/g;
  let service = '';
  for (let m = re.exec(src); m; m = re.exec(src)) {
    if (m[1] !== undefined) service = m[1];
    else if (m[3] === '{') out.add(`${service}.${m[2]}`);
  }
  return out;
}

/** Adjacent string literals concatenated (`"a" "b"`), or undefined when `text` is not only strings. */
function strings(text: string): string | undefined {
  const re = /\s*("((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')\s*/y;
  let out = '';
  let any = false;
  re.lastIndex = 0;
  while (re.lastIndex < text.length) {
    const m = re.exec(text);
    if (!m) return undefined;
    out += unescape(m[2] ?? m[3] ?? '');
    any = true;
  }
  return any ? out : undefined;
}

function optionValue(raw: string): ProtoFileOption['value'] | undefined {
  const s = strings(raw);
  if (s !== undefined) return s;
  const v = raw.trim();
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(v) || /^[-+]?0[xX][0-9a-fA-F]+$/.test(v)) return Number(v);
  if (/^[A-Za-z_]\w*$/.test(v)) return { identifier: v };
  return undefined;
}

/** Parses the imports and file options of a `.proto` text. Never throws: what it cannot read it leaves out. */
export function parseProtoHeader(text: string): ProtoHeader {
  const imports: ProtoImport[] = [];
  const options: ProtoFileOption[] = [];
  for (const statement of topLevelStatements(text)) {
    const imp = /^import\s+(?:(public|weak)\s+)?([\s\S]+)$/.exec(statement);
    if (imp) {
      const path = strings(imp[2]!);
      if (path !== undefined) imports.push({ path, kind: (imp[1] as 'public' | 'weak' | undefined) ?? 'plain' });
      continue;
    }
    const opt = /^option\s+([A-Za-z_][\w.]*)\s*=\s*([\s\S]+)$/.exec(statement);
    if (opt) {
      const value = optionValue(opt[2]!);
      if (value !== undefined) options.push({ name: opt[1]!, value });
    }
  }
  return { imports, options, methodsWithBody: methodsWithBody(text) };
}
