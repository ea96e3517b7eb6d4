/**
 * URL templates: a parameter whose schema says `'x-template': 'url'` (the
 * `http` action's `url`) is compiled so event values cannot redirect the
 * request:
 * - `${event...}` may appear only after the origin: the text before the first
 *   event reference (literal, with `${env...}` folded in) must hold the whole
 *   `scheme://host[:port]` and the `/`, `?` or `#` that ends it; else a load
 *   problem (`url-template`);
 * - each event value is percent-encoded as one component
 *   (`encodeURIComponent`: `/ ? # & = + @ :` and the rest): it stays inside
 *   its path segment, query value or fragment;
 * - at run time the resolved URL's origin is checked against the literal one
 *   (defence in depth; a mismatch is a {@link TemplateResolutionError}).
 * A value `.` or `..` filling a path segment stays as is: the `http` action
 * refuses URLs with dot segments (URL resolution would drop them).
 */
import { TemplateResolutionError } from './errors.js';
import type { CompiledValue, TemplatePart, TemplateRef, TemplateSyntaxProblem } from './template.js';
import { readPath, textOf } from './template.js';

/** The schema keyword marking a URL parameter. */
export const URL_TEMPLATE = 'x-template';

const ORIGIN_PREFIX = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)[/?#]/i;

type Folded = string | { readonly path: readonly string[]; readonly raw: string };

/**
 * Compiles one URL string. `env` resolves env references (folded at load);
 * problems are returned, not thrown.
 */
export function compileUrlTemplate(
  parts: readonly TemplatePart[],
  env: (ref: Extract<TemplateRef, { kind: 'env' }>) => string,
): { value: CompiledValue; problem?: TemplateSyntaxProblem } {
  const folded: Folded[] = [];
  for (const p of parts) {
    const piece = typeof p === 'string' ? p : p.kind === 'env' ? env(p) : { path: p.path, raw: p.raw };
    const last = folded[folded.length - 1];
    if (typeof piece === 'string' && typeof last === 'string') folded[folded.length - 1] = last + piece;
    else folded.push(piece);
  }
  const firstRef = folded.find((f): f is Exclude<Folded, string> => typeof f !== 'string');
  if (!firstRef) return { value: { constant: true, value: folded[0] ?? '' } };
  const prefix = typeof folded[0] === 'string' ? folded[0] : '';
  const m = ORIGIN_PREFIX.exec(prefix);
  let origin: string | undefined;
  try {
    origin = m ? new URL(m[1]!).origin : undefined;
  } catch {
    origin = undefined;
  }
  if (!m || origin === undefined || origin === 'null') {
    return {
      value: { constant: true, value: '' },
      problem: {
        code: 'url-template',
        message: `\${${firstRef.raw}} would be part of the URL's scheme, host or port: an event value must not choose where the request goes`,
        fix: 'write the origin literally (or from ${env.X}) and end it with "/", "?" or "#" before any ${event...}: "https://hooks.example/users/${event.userId}"',
      },
    };
  }
  const literalOrigin = origin;
  return {
    value: {
      constant: false,
      resolve: (event) => {
        let out = '';
        for (const piece of folded) {
          if (typeof piece === 'string') {
            out += piece;
            continue;
          }
          const v = readPath(event, piece.path);
          if (v === undefined || v === null) throw new TemplateResolutionError(piece.raw, v === null ? 'is null' : 'is not in the event');
          const text = textOf(v);
          // encodeURIComponent throws a bare "URI malformed" on a lone surrogate (a JSON body's "\ud800")
          if (/\p{Cs}/u.test(text)) throw new TemplateResolutionError(piece.raw, 'is not well-formed Unicode (a lone surrogate): it cannot be percent-encoded into the URL');
          out += encodeURIComponent(text);
        }
        let resolved: string;
        try {
          resolved = new URL(out).origin;
        } catch {
          resolved = 'invalid';
        }
        if (resolved !== literalOrigin) throw new TemplateResolutionError(firstRef.raw, `would send the request to ${resolved} instead of ${literalOrigin}`);
        return out;
      },
    },
  };
}
