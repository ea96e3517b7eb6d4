/**
 * A fast reader for the plain subset of YAML that rules files are written in:
 * block maps and lists, one-line flow maps and lists (`{a: 1, b: [x, y]}`),
 * one-line plain and quoted scalars, comments. It builds the same plain data
 * as `yaml`'s `parseDocument(...).toJS()` (YAML 1.2 core schema), ~10x faster.
 *
 * Anything outside that subset (anchors, aliases, tags, block scalars,
 * multi-line scalars or flow collections, tabs, CR, directives, duplicate
 * keys, ...) and anything invalid throws {@link FastYamlUnsupported}: the
 * caller then parses with `yaml`, which handles every case and reports errors
 * with positions. Never accepts a text `yaml` would reject or read differently.
 */

/** The text is outside the fast subset (or invalid): parse it with `yaml`. */
export class FastYamlUnsupported extends Error {
  override readonly name = 'FastYamlUnsupported';
  constructor(readonly offset: number) {
    super(`not in the fast YAML subset at offset ${offset}`);
  }
}

/** The parsed data, and where each item of the top-level `rules` list starts. */
export interface FastYamlResult {
  readonly data: unknown;
  /** Offset of the content of each item of the top-level `rules` sequence (block or flow), when `rules` is one. */
  readonly rulesItemOffsets: readonly number[] | undefined;
}

/** Deeper files are read by yaml (the loader refuses more than 32 levels anyway). */
const MAX_NESTING = 64;

const NULL_RE = /^(?:~|[Nn]ull|NULL)?$/;
const INT_RE = /^[-+]?[0-9]+$/;
const FLOAT_RE = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
const EXP_RE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
/** Plain scalars starting with these resolve to something other than a string in some schema form we do not handle (octal, hex, .inf, .nan): fall back. */
const NUMERIC_START = /^[-+.0-9]/;
/** Characters that may not start a plain scalar (or start something we do not handle). */
const BAD_PLAIN_START = new Set(['&', '*', '!', '|', '>', '%', '@', '`', '#', ',', ']', '}', '?', ':', '-', "'", '"', '[', '{']);

function resolvePlain(s: string, at: number): unknown {
  if (NULL_RE.test(s)) return null;
  switch (s) {
    case 'true':
    case 'True':
    case 'TRUE':
      return true;
    case 'false':
    case 'False':
    case 'FALSE':
      return false;
    default:
      break;
  }
  if (NUMERIC_START.test(s)) {
    if (INT_RE.test(s)) return Number.parseInt(s, 10);
    if (FLOAT_RE.test(s) || EXP_RE.test(s)) return Number.parseFloat(s);
    if (/^(?:0o|0x|[-+]?\.(?:inf|Inf|INF)$|\.nan$|\.NaN$|\.NAN$)/.test(s)) throw new FastYamlUnsupported(at);
  }
  return s;
}

const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', '"': '"', '/': '/', n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '0': '\0' };

class Reader {
  readonly text: string;
  /** Offset of the start of each line. */
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  /** Index of the current line. */
  i = 0;
  rulesItemOffsets: number[] | undefined;
  /** Nesting of the collection being read: deep files go to yaml (and to the loader's depth limit) without deep recursion here. */
  depth = 0;

  constructor(text: string) {
    this.text = text;
    let s = 0;
    for (;;) {
      const e = text.indexOf('\n', s);
      this.starts.push(s);
      if (e === -1) {
        this.ends.push(text.length);
        break;
      }
      this.ends.push(e);
      s = e + 1;
    }
  }

  fail(offset: number): never {
    throw new FastYamlUnsupported(offset);
  }

  /** Skips blank and comment-only lines; returns the indent of the next content line, or -1 at the end. */
  nextContent(): number {
    const t = this.text;
    while (this.i < this.starts.length) {
      const s = this.starts[this.i]!;
      const e = this.ends[this.i]!;
      let p = s;
      while (p < e && t.charCodeAt(p) === 32) p++;
      if (p === e || t.charCodeAt(p) === 35 /* # */) {
        this.i++;
        continue;
      }
      return p - s;
    }
    return -1;
  }

  /** End of the content of [p, e): before a ` #` comment and trailing spaces. Only for text known to hold no quotes or flow. */
  static trimEnd(t: string, p: number, e: number): number {
    while (e > p && t.charCodeAt(e - 1) === 32) e--;
    return e;
  }

  /** After a value ended at p on a line ending at e: only spaces and a comment may follow. */
  expectLineEnd(p: number, e: number): void {
    const t = this.text;
    const start = p;
    while (p < e && t.charCodeAt(p) === 32) p++;
    if (p === e) return;
    if (t.charCodeAt(p) === 35 && p > start) return; // " #comment"
    this.fail(p);
  }

  // ------------------------------------------------------------ documents

  document(): unknown {
    const t = this.text;
    if (t.includes('\t') || t.includes('\r') || t.charCodeAt(0) === 0xfeff) this.fail(0);
    const indent = this.nextContent();
    if (indent !== 0) this.fail(0);
    const s = this.starts[this.i]!;
    const c = t.charCodeAt(s);
    // directives, document markers, flow documents, scalars documents
    if (c === 37 /* % */ || t.startsWith('---', s) || t.startsWith('...', s) || c === 123 || c === 91) this.fail(s);
    const value = this.block(0, true);
    if (this.nextContent() !== -1) this.fail(this.starts[this.i]!);
    return value;
  }

  /** A block node whose lines are indented by exactly `indent` (the current line is its first). */
  block(indent: number, top = false): unknown {
    const s = this.starts[this.i]! + indent;
    const t = this.text;
    if (t.charCodeAt(s) === 45 /* - */ && (s + 1 === this.ends[this.i] || t.charCodeAt(s + 1) === 32)) return this.seq(indent);
    return this.map(indent, s, top);
  }

  /** Finds `key:` at p on the current line: returns the key and the offset after the colon, or undefined when the line is no map entry. */
  key(p: number, e: number): { key: string; after: number } | undefined {
    const t = this.text;
    const c = t.charCodeAt(p);
    if (c === 34 || c === 39) {
      const q = this.quoted(p, e);
      let a = q.end;
      while (a < e && t.charCodeAt(a) === 32) a++;
      if (a < e && t.charCodeAt(a) === 58 && (a + 1 === e || t.charCodeAt(a + 1) === 32)) return { key: q.value, after: a + 1 };
      return undefined;
    }
    let a = p;
    for (; a < e; a++) {
      const ch = t.charCodeAt(a);
      if (ch === 58 /* : */ && (a + 1 === e || t.charCodeAt(a + 1) === 32)) break;
      if (ch === 35 /* # */ && t.charCodeAt(a - 1) === 32) return undefined;
    }
    if (a === e) return undefined;
    const raw = t.slice(p, Reader.trimEnd(t, p, a));
    if (raw === '' || BAD_PLAIN_START.has(raw[0]!) || /[{}[\],&*!|>'"%@`#]/.test(raw)) this.fail(p);
    const v = resolvePlain(raw, p);
    if (typeof v !== 'string' || v === '__proto__' || v === '<<') this.fail(p);
    return { key: v, after: a + 1 };
  }

  map(indent: number, first: number, top: boolean): Record<string, unknown> {
    if (++this.depth > MAX_NESTING) this.fail(first);
    const out: Record<string, unknown> = {};
    let p = first;
    for (;;) {
      const e = this.ends[this.i]!;
      const k = this.key(p, e);
      if (!k) this.fail(p);
      if (Object.hasOwn(out, k.key)) this.fail(p);
      let a = k.after;
      while (a < e && this.text.charCodeAt(a) === 32) a++;
      const line = this.i;
      let value: unknown;
      if (a === e || this.text.charCodeAt(a) === 35) {
        // value on the next lines: a more indented node, or a list at the same indent
        if (a < e && a === k.after) this.fail(a);
        this.i++;
        const next = this.nextContent();
        const ns = next >= 0 ? this.starts[this.i]! + next : -1;
        const isSeq = next >= 0 && this.text.charCodeAt(ns) === 45 && (ns + 1 === this.ends[this.i] || this.text.charCodeAt(ns + 1) === 32);
        if (next > indent || (next === indent && isSeq)) {
          const record = top && k.key === 'rules' && isSeq;
          if (record) this.rulesItemOffsets = [];
          value = isSeq ? this.seq(next, record) : this.map(next, ns, false);
        } else value = null;
      } else {
        const r = this.inline(a, e, top && k.key === 'rules');
        value = r.value;
        this.expectLineEnd(r.end, e);
        this.i = line + 1;
      }
      out[k.key] = value;
      const next = this.nextContent();
      if (next < indent) {
        this.depth--;
        return out; // -1 (end) included
      }
      if (next > indent) this.fail(this.starts[this.i]!);
      p = this.starts[this.i]! + indent;
    }
  }

  seq(indent: number, record = false): unknown[] {
    const out: unknown[] = [];
    const t = this.text;
    if (++this.depth > MAX_NESTING) this.fail(this.starts[this.i]!);
    for (;;) {
      const s = this.starts[this.i]! + indent;
      const e = this.ends[this.i]!;
      if (t.charCodeAt(s) !== 45 || !(s + 1 === e || t.charCodeAt(s + 1) === 32)) this.fail(s);
      let a = s + 1;
      while (a < e && t.charCodeAt(a) === 32) a++;
      if (a === e || t.charCodeAt(a) === 35) {
        if (a < e && a === s + 1) this.fail(a);
        // item on the next lines
        this.i++;
        const next = this.nextContent();
        if (next > indent) {
          if (record) this.rulesItemOffsets!.push(this.starts[this.i]! + next);
          out.push(this.block(next));
        } else {
          if (record) this.rulesItemOffsets!.push(s + 1);
          out.push(null);
        }
      } else {
        if (record) this.rulesItemOffsets!.push(a);
        const c = t.charCodeAt(a);
        if (c === 45 && (a + 1 === e || t.charCodeAt(a + 1) === 32)) this.fail(a); // "- - x"
        const k = c === 123 || c === 91 ? undefined : this.key(a, e);
        if (k) {
          // a map starting on the item's line: its keys are indented like the first one
          out.push(this.map(a - this.starts[this.i]!, a, false));
        } else {
          const r = this.inline(a, e, false);
          this.expectLineEnd(r.end, e);
          this.i++;
          out.push(r.value);
        }
      }
      const next = this.nextContent();
      if (next > indent) this.fail(this.starts[this.i]!);
      // a list at its map key's indent ends where the map's next key starts
      const ns = this.starts[this.i]! + indent;
      if (next < indent || t.charCodeAt(ns) !== 45 || !(ns + 1 === this.ends[this.i] || t.charCodeAt(ns + 1) === 32)) {
        this.depth--;
        return out;
      }
    }
  }

  // ------------------------------------------------------------ one-line values

  /** A value that starts at p and ends on this line (flow collection, quoted or plain scalar). */
  inline(p: number, e: number, record: boolean): { value: unknown; end: number } {
    const t = this.text;
    const c = t.charCodeAt(p);
    if (c === 123 || c === 91) return this.flow(p, e, record);
    if (c === 34 || c === 39) {
      const q = this.quoted(p, e);
      return { value: q.value, end: q.end };
    }
    // plain scalar in block context: up to " #" or the end of the line
    let a = p;
    for (; a < e; a++) {
      const ch = t.charCodeAt(a);
      if (ch === 35 && t.charCodeAt(a - 1) === 32) break;
      if (ch === 58 && (a + 1 === e || t.charCodeAt(a + 1) === 32)) this.fail(a); // "a: b: c"
    }
    const end = Reader.trimEnd(t, p, a);
    const raw = t.slice(p, end);
    if (BAD_PLAIN_START.has(raw[0]!) && !(raw[0] === '-' && raw.length > 1 && raw[1] !== ' ')) this.fail(p);
    return { value: resolvePlain(raw, p), end };
  }

  quoted(p: number, e: number): { value: string; end: number } {
    const t = this.text;
    const q = t.charCodeAt(p);
    if (q === 39) {
      let out = '';
      let s = p + 1;
      for (;;) {
        const j = t.indexOf("'", s);
        if (j === -1 || j >= e) this.fail(p);
        out += t.slice(s, j);
        if (t.charCodeAt(j + 1) === 39) {
          out += "'";
          s = j + 2;
          continue;
        }
        return { value: out, end: j + 1 };
      }
    }
    let out = '';
    let s = p + 1;
    for (let j = s; ; j++) {
      if (j >= e) this.fail(p);
      const ch = t.charCodeAt(j);
      if (ch === 34) {
        out += t.slice(s, j);
        return { value: out, end: j + 1 };
      }
      if (ch === 92 /* \ */) {
        out += t.slice(s, j);
        const n = t[j + 1];
        if (n === undefined || j + 1 >= e) this.fail(j);
        if (n === 'u') {
          const hex = t.slice(j + 2, j + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(j);
          const code = Number.parseInt(hex, 16);
          if (code >= 0xd800 && code <= 0xdfff) this.fail(j); // surrogates: let yaml decide
          out += String.fromCharCode(code);
          j += 5;
        } else {
          const r = ESCAPES[n];
          if (r === undefined) this.fail(j);
          out += r;
          j += 1;
        }
        s = j + 1;
      }
    }
  }

  /** A flow collection closed on this line. */
  flow(p: number, e: number, record: boolean): { value: unknown; end: number } {
    const t = this.text;
    const isMap = t.charCodeAt(p) === 123;
    const close = isMap ? 125 : 93;
    if (++this.depth > MAX_NESTING) this.fail(p);
    let a = p + 1;
    const skip = (): void => {
      while (a < e && t.charCodeAt(a) === 32) a++;
      if (a >= e) this.fail(a); // not closed on this line, or a comment inside
    };
    skip();
    if (t.charCodeAt(a) === close) {
      this.depth--;
      return { value: isMap ? {} : [], end: a + 1 };
    }
    const obj: Record<string, unknown> = {};
    const arr: unknown[] = [];
    if (record) this.rulesItemOffsets = [];
    for (;;) {
      skip();
      if (isMap) {
        const key = this.flowKey(a, e);
        a = key.end;
        skip();
        if (t.charCodeAt(a) !== 58) this.fail(a);
        a++;
        // JSON-like "a":b needs no space; a plain key needs "a: b"
        if (!key.quoted && a < e && t.charCodeAt(a) !== 32) this.fail(a);
        skip();
        if (Object.hasOwn(obj, key.value)) this.fail(a);
        const v = this.flowValue(a, e);
        obj[key.value] = v.value;
        a = v.end;
      } else {
        if (record) this.rulesItemOffsets!.push(a);
        const v = this.flowValue(a, e);
        arr.push(v.value);
        a = v.end;
      }
      skip();
      const ch = t.charCodeAt(a);
      if (ch === close) {
        this.depth--;
        return { value: isMap ? obj : arr, end: a + 1 };
      }
      if (ch !== 44 /* , */) this.fail(a);
      a++;
      skip();
      if (t.charCodeAt(a) === close) this.fail(a); // trailing comma
    }
  }

  flowKey(p: number, e: number): { value: string; end: number; quoted: boolean } {
    const t = this.text;
    const c = t.charCodeAt(p);
    if (c === 34 || c === 39) {
      const q = this.quoted(p, e);
      if (q.value === '__proto__' || q.value === '<<') this.fail(p);
      return { value: q.value, end: q.end, quoted: true };
    }
    let a = p;
    while (a < e) {
      const ch = t.charCodeAt(a);
      if (ch === 58 || ch === 44 || ch === 123 || ch === 125 || ch === 91 || ch === 93 || ch === 35) break;
      a++;
    }
    const end = Reader.trimEnd(t, p, a);
    const raw = t.slice(p, end);
    if (raw === '' || BAD_PLAIN_START.has(raw[0]!) || /['"&*!|>%@`]/.test(raw)) this.fail(p);
    const v = resolvePlain(raw, p);
    if (typeof v !== 'string' || v === '__proto__' || v === '<<') this.fail(p);
    return { value: v, end, quoted: false };
  }

  flowValue(p: number, e: number): { value: unknown; end: number } {
    const t = this.text;
    const c = t.charCodeAt(p);
    if (c === 123 || c === 91) return this.flow(p, e, false);
    if (c === 34 || c === 39) {
      const q = this.quoted(p, e);
      return { value: q.value, end: q.end };
    }
    let a = p;
    while (a < e) {
      const ch = t.charCodeAt(a);
      if (ch === 44 || ch === 125 || ch === 93) break;
      // ":" (a pair in a list, or an ambiguous scalar), "#", brackets: let yaml decide
      if (ch === 58 || ch === 35 || ch === 123 || ch === 91) this.fail(a);
      a++;
    }
    const end = Reader.trimEnd(t, p, a);
    const raw = t.slice(p, end);
    if (raw === '' || (BAD_PLAIN_START.has(raw[0]!) && !(raw[0] === '-' && raw.length > 1 && raw[1] !== ' '))) this.fail(p);
    if (/['"&*!|>%@`]/.test(raw[0]!)) this.fail(p);
    return { value: resolvePlain(raw, p), end };
  }
}

/** Parses `text` if it is in the fast subset; throws {@link FastYamlUnsupported} otherwise. */
export function parseFastYaml(text: string): FastYamlResult {
  const r = new Reader(text);
  const data = r.document();
  return { data, rulesItemOffsets: r.rulesItemOffsets };
}
