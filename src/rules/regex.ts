/**
 * Regular expressions of the `matches` operator: RE2 semantics (re2js, pure
 * JavaScript), so matching is linear in the text whatever the pattern: no
 * catastrophic backtracking, including for patterns that come from the event.
 * RE2 has no backreferences or lookaround; such a pattern is refused.
 */
import { createRequire } from 'node:module';
import type * as Re2jsModule from 're2js';
import { LogicOperatorError } from './errors.js';

let re2jsClass: typeof Re2jsModule.RE2JS | undefined;

/**
 * re2js's `RE2JS`, loaded at the first pattern compiled (its CommonJS build, the same code as its
 * ESM one): about 0.02-0.03 CPU s and 260 KB of source that a start whose rules have no `matches`
 * never spends.
 */
function re2js(): typeof Re2jsModule.RE2JS {
  re2jsClass ??= (createRequire(import.meta.url)('re2js') as typeof Re2jsModule).RE2JS;
  return re2jsClass;
}

/** Longest pattern `matches` compiles (a pattern read from the event is data: bounded). */
export const MAX_PATTERN_LENGTH = 1000;
/** Compiled patterns kept (literal ones and the most recent from events). */
export const REGEX_CACHE_SIZE = 500;

/** re2js's flag bits by JavaScript flag letter. */
function flagBits(RE2JS: typeof Re2jsModule.RE2JS): Readonly<Record<string, number>> {
  return { i: RE2JS.CASE_INSENSITIVE, m: RE2JS.MULTILINE, s: RE2JS.DOTALL, u: 0 };
}

/** A compiled pattern: `test` looks for a match anywhere in the text (anchor with ^ and $). */
export interface CompiledRegex {
  test(text: string): boolean;
}

/** Compiles patterns once and keeps a bounded number of them (least recently used out). */
export class RegexCache {
  readonly #cache = new Map<string, CompiledRegex>();

  /**
   * The compiled pattern. `flags`: any of `i` (ignore case), `m` (^ and $ at
   * line ends), `s` (`.` matches newlines), `u` (accepted, RE2 is Unicode).
   * Throws {@link LogicOperatorError} for a non-string or too long pattern,
   * an unknown flag, or a pattern RE2 refuses (backreferences, lookaround).
   */
  get(pattern: unknown, flags: unknown = ''): CompiledRegex {
    const f = flags === undefined || flags === null ? '' : flags;
    if (typeof pattern !== 'string') throw new LogicOperatorError('matches', `the pattern must be a string, not ${JSON.stringify(pattern) ?? 'undefined'}`);
    if (typeof f !== 'string') throw new LogicOperatorError('matches', `the flags must be a string, not ${JSON.stringify(f)}`);
    const key = `${f}/${pattern}`;
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit;
    }
    const re = compileRegex(pattern, f);
    if (this.#cache.size >= REGEX_CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, re);
    return re;
  }
}

/** Compiles one pattern with RE2 semantics. Throws {@link LogicOperatorError} (see {@link RegexCache.get}). */
export function compileRegex(pattern: string, flags = ''): CompiledRegex {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new LogicOperatorError('matches', `the pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  const RE2JS = re2js();
  const FLAGS = flagBits(RE2JS);
  let bits = 0;
  for (const c of flags) {
    const bit = FLAGS[c];
    if (bit === undefined) throw new LogicOperatorError('matches', `unknown flag "${c}" (allowed: i, m, s, u${/[gy]/.test(c) ? '; g and y would make matching stateful' : ''})`);
    bits |= bit;
  }
  try {
    return RE2JS.compile(pattern, bits);
  } catch (err) {
    throw new LogicOperatorError('matches', `${(err as Error).message} (RE2 syntax: no backreferences such as \\1, no lookahead or lookbehind)`);
  }
}
