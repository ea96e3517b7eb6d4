/**
 * `http`: call any HTTP endpoint (a webhook), JSON body, with the same retry
 * rules as AGS calls (429/502/503/504, timeouts and connection errors; 500 only
 * for idempotent methods GET/PUT/DELETE; a POST/PATCH answered 500/502/504 or
 * cut after sending is an unknown outcome, never sent again). 2xx is success. Header values may
 * hold secrets (`${env.X}`, resolved by the rules engine): plans redact values
 * of headers whose name looks secret, and the URL's path and query (a webhook
 * URL often is the credential). The request itself goes out whole.
 */
import { AgsError, HttpCaller, jsonBody } from '../../ags/index.js';
import type { HttpMethod } from '../../ags/index.js';
import { redactUrl } from '../../telemetry/index.js';
import { ActionParamError } from '../errors.js';
import type { ActionContext, ActionDefinition, PlannedRequest } from '../types.js';
import { integer, oneOf, optionalObject, requireString } from './common.js';

const NAME = 'http';
const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** RFC 9110 `token`. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** RFC 9110 `field-value` as undici accepts it: tab, visible Latin-1, no CR/LF/NUL. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export type HttpParams = {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
};

/** Header names whose values plans and logs never show. */
export function isSecretHeader(name: string): boolean {
  const n = name.toLowerCase();
  return n === 'authorization' || n === 'proxy-authorization' || n === 'cookie' || /token|key|secret|password|signature/.test(n);
}

export function redactHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, isSecretHeader(k) ? '[redacted]' : v]));
}

let fallback: HttpCaller | undefined;
/** The caller when there is no AGS client (it has no token; webhooks do not need one). */
function callerOf(ctx: ActionContext): HttpCaller {
  if (ctx.ags) return ctx.ags.http;
  fallback ??= new HttpCaller({ logger: ctx.logger });
  return fallback;
}

export const httpAction: ActionDefinition<HttpParams> = {
  name: NAME,
  description: 'Send an HTTP request (webhook) with a JSON body; 2xx is success.',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: {
      url: {
        type: 'string',
        description: 'Absolute http(s) URL. ${event...} values may appear only after the origin (scheme://host:port/) and are percent-encoded where they land (path segment, query value, fragment).',
        'x-template': 'url',
      },
      method: { enum: METHODS, description: 'HTTP method.', default: 'POST' },
      headers: {
        type: 'object',
        additionalProperties: { type: 'string' },
        description: 'Extra headers. Values may use ${env.X} for secrets; values of headers named like authorization/token/key/secret are redacted in plans.',
      },
      body: { description: 'JSON body (any JSON value). Not allowed with GET.' },
      timeoutMs: { type: ['integer', 'string'], description: 'Timeout of one attempt, ms.', default: 10000 },
    },
  },
  usesAgs: false,
  normalize(params) {
    const url = requireString(NAME, params, 'url');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ActionParamError(NAME, 'url', `"${unparsedUrlShown(url)}" is not an absolute URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ActionParamError(NAME, 'url', 'must be http:// or https://');
    if (hasDotSegment(url)) throw new ActionParamError(NAME, 'url', 'has a "." or ".." path segment (an event value?): URL resolution would remove it and the request would go to another path');
    const method = oneOf(NAME, params, 'method', METHODS, 'POST');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(optionalObject(NAME, params, 'headers') ?? {})) {
      if (typeof v !== 'string' && typeof v !== 'number') throw new ActionParamError(NAME, `headers.${k}`, 'must be a string');
      if (!HEADER_NAME.test(k)) throw new ActionParamError(NAME, `headers.${k}`, 'is not a valid HTTP header name');
      const value = String(v);
      if (!HEADER_VALUE.test(value)) throw new ActionParamError(NAME, `headers.${k}`, 'contains a character not allowed in an HTTP header value (CR, LF, NUL or another control character, or one beyond Latin-1)');
      headers[k] = value;
    }
    if (method === 'GET' && params.body !== undefined) throw new ActionParamError(NAME, 'body', 'is not allowed with GET');
    return {
      method,
      url: parsed.toString(),
      headers,
      ...(params.body !== undefined ? { body: params.body } : {}),
      timeoutMs: integer(NAME, params, 'timeoutMs', 10_000),
    };
  },
  display(p) {
    return { ...p, url: redactUrl(p.url), headers: redactHeaders(p.headers) };
  },
  plan(p) {
    const planned: PlannedRequest = {
      operation: NAME,
      method: p.method,
      path: redactUrl(p.url),
      ...(Object.keys(p.headers).length ? { headers: redactHeaders(p.headers) } : {}),
      ...(p.body !== undefined ? { body: p.body } : {}),
    };
    return [planned];
  },
  async execute(p, ctx) {
    const body = p.body === undefined ? undefined : jsonBody(NAME, p.body);
    const headers: Record<string, string> = { accept: 'application/json', ...lower(p.headers) };
    if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
    const url = new URL(p.url);
    const result = await withoutEcho(p, url, () => callerOf(ctx).call({
      operation: NAME,
      idempotent: p.method === 'GET' || p.method === 'PUT' || p.method === 'DELETE',
      timeoutMs: p.timeoutMs,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.inFlightSignal ? { inFlightSignal: ctx.inFlightSignal } : {}),
      logTo: () => ctx.logger,
      secretUrl: true,
      prepare: () => ({ url, method: p.method, headers, ...(body !== undefined ? { body } : {}) }),
    }));
    return { summary: `${p.method} ${redactUrl(p.url)} -> ${result.status}`, detail: result.body };
  },
};

/**
 * A URL that does not parse, as shown in its error: like `redactUrl`'s `origin/[redacted]`, its scheme and host
 * (and port) as written, without the `user:password@` of its authority, and `/[redacted]` for any path, query or
 * fragment (a webhook URL set without its scheme is still its own credential).
 */
function unparsedUrlShown(url: string): string {
  const authority = /^(?:[a-z][a-z0-9+.-]*:\/\/)?[^/?#]*/i.exec(url)?.[0] ?? '';
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(authority)?.[0] ?? '';
  const host = authority.slice(scheme.length);
  const shown = `${scheme}${host.slice(host.lastIndexOf('@') + 1)}`;
  return authority.length < url.length ? `${shown}/[redacted]` : shown;
}

/** Shorter parts are no credential (and redacting them would garble the text). */
const MIN_ECHOED = 6;

/**
 * The request's credentials as a target may echo them in an error answer: the URL's path and
 * query (whole, each segment and value, as sent and decoded) and the values of secret-named
 * headers, longest first. Only this request's: nothing is registered globally (templated URLs
 * differ per event).
 */
function echoedCredentials(p: HttpParams, url: URL): string[] {
  const parts = [url.pathname + url.search, url.pathname, url.search, ...url.pathname.split('/'), ...[...url.searchParams.values()]];
  for (const [name, value] of Object.entries(p.headers)) if (isSecretHeader(name)) parts.push(value);
  const forms = new Set<string>();
  for (const part of parts) {
    let decoded = part;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      // as sent
    }
    for (const f of [part, decoded, JSON.stringify(decoded).slice(1, -1), encodeURIComponent(decoded)]) if (f.length >= MIN_ECHOED && f !== '/') forms.add(f);
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

function withoutCredentials(text: string, credentials: readonly string[]): string {
  let out = text;
  for (const c of credentials) out = out.split(c).join('[redacted]');
  return out;
}

/**
 * Runs the call; a failure's text (the target's error message and body) is returned with the
 * request's credentials ({@link echoedCredentials}) redacted: a target echoing the request (an
 * Express 404 "Cannot POST /hooks/<token>", a 400 listing the headers) would otherwise put them
 * in log lines, dead letters and the gRPC status.
 */
async function withoutEcho<T>(p: HttpParams, url: URL, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof AgsError)) throw err;
    const credentials = echoedCredentials(p, url);
    const clean = (v: unknown): unknown => {
      if (v === undefined) return undefined;
      const text = withoutCredentials(typeof v === 'string' ? v : JSON.stringify(v), credentials);
      if (typeof v === 'string') return text;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    };
    const { name: _name, message: _message, stack: _stack, ...fields } = err;
    const errorMessage = clean(err.errorMessage) as string | undefined;
    const body = clean(err.body);
    throw new AgsError({ ...fields, ...(errorMessage !== undefined ? { errorMessage } : {}), ...(body !== undefined ? { body } : {}) });
  }
}

/** Does the path of `url` (as written, before resolution) have a `.` or `..` segment, plain or percent-encoded? */
function hasDotSegment(url: string): boolean {
  const path = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').split(/[?#]/, 1)[0] ?? '';
  return path.split('/').some((seg) => /^(?:\.|%2e){1,2}$/i.test(seg));
}

function lower(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}
