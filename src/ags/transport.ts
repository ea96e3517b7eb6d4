/**
 * One HTTP attempt over undici (connections pooled and kept alive per
 * origin; about half the CPU of `node:http` per request). No retries here:
 * see `http-caller.ts`. Failures below HTTP (timeout, refused, reset, abort)
 * become {@link TransportError}; any HTTP status is a normal
 * {@link RawResponse}.
 */
import { createRequire } from 'node:module';
import type { Agent, Dispatcher, request as undiciIndexRequest } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';

/** The options of one request, without where it goes. */
export type UndiciRequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path'>;

/** The parts of undici the transport uses: its `Agent`, and its `request` API over a dispatcher. */
export interface UndiciParts {
  readonly Agent: typeof Agent;
  /** Sends `options` to `url` (its origin, path and query) through `dispatcher`. */
  readonly request: (dispatcher: Dispatcher, url: URL, options: UndiciRequestOptions) => Promise<Dispatcher.ResponseData>;
  /** `internal`: undici's own modules (the lean way); `index`: its public index (the fallback). */
  readonly from: 'internal' | 'index';
  /** With `from: 'index'`: why the internal modules were not used (the load error, or what they were instead of functions). */
  readonly fallbackReason?: string;
}

/** undici's internal modules {@link loadUndici} loads first (undici 7's layout). */
export const UNDICI_INTERNAL_MODULES = ['undici/lib/dispatcher/agent.js', 'undici/lib/api/api-request.js'] as const;

const requireUndici = createRequire(import.meta.url);

/**
 * undici's `Agent` and `request`, loaded without undici's index when its internal modules are where
 * undici 7 keeps them ({@link UNDICI_INTERNAL_MODULES}): the index also loads fetch, WebSocket,
 * EventSource, the cache and cookie code and the mocks (111 modules, about 3 MiB of heap and 9 MiB
 * of RSS held for the process's life), none of which the AGS client uses; these two are 23 modules.
 * When they cannot be loaded (a later undici moved them) or are not functions, undici's public
 * index: `Agent`, and `request(url, { dispatcher, ... })`, whose calling convention differs (the
 * internal one takes the dispatcher as `this` and `origin` + `path` in its options).
 * @param load `require` by module id. Default: this module's (an injectable one for tests).
 * @throws what `load('undici')` throws when neither can be loaded (undici is a dependency).
 */
export function loadUndici(load: (id: string) => unknown = requireUndici): UndiciParts {
  let fallbackReason: string;
  try {
    const agent = load(UNDICI_INTERNAL_MODULES[0]);
    const request = load(UNDICI_INTERNAL_MODULES[1]);
    if (typeof agent === 'function' && typeof request === 'function') {
      const send = request as (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
      return {
        Agent: agent as typeof Agent,
        request: (dispatcher, url, options) => send.call(dispatcher, { ...options, origin: url.origin, path: `${url.pathname}${url.search}` }),
        from: 'internal',
      };
    }
    fallbackReason = `they export ${typeof agent} and ${typeof request} instead of functions`;
  } catch (err) {
    // moved or renamed in this undici: its public index below
    fallbackReason = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  }
  const index = load('undici') as { readonly Agent: typeof Agent; readonly request: typeof undiciIndexRequest };
  return { Agent: index.Agent, request: (dispatcher, url, options) => index.request(url, { ...options, dispatcher }), from: 'index', fallbackReason };
}

/** The undici parts whose fallback {@link logUndiciFallback} already reported. */
const fallbackLogged = new WeakSet<UndiciParts>();

/**
 * Logs one warning, once per process for `parts`, when the AGS transport uses undici's public index
 * instead of its internal modules ({@link loadUndici}): requests work the same, but the process holds
 * about 3 MiB of heap and 9 MiB of RSS more, and the internal paths need updating for this undici.
 * Nothing is logged when the internal modules are used.
 * @param parts Default: the parts this process loaded.
 * @returns whether it logged.
 */
export function logUndiciFallback(logger: { warn(obj: object, msg: string): void }, parts: UndiciParts = UNDICI): boolean {
  if (parts.from !== 'index' || fallbackLogged.has(parts)) return false;
  fallbackLogged.add(parts);
  logger.warn(
    { undici: 'index', modules: [...UNDICI_INTERNAL_MODULES], reason: parts.fallbackReason },
    `AGS transport: undici's internal modules (${UNDICI_INTERNAL_MODULES.join(', ')}) could not be used (${parts.fallbackReason ?? 'unknown reason'}); ` +
      "using undici's public index instead: requests work the same, the process holds about 3 MiB of heap and 9 MiB of RSS more " +
      '(update UNDICI_INTERNAL_MODULES in src/ags/transport.ts for this undici)',
  );
  return true;
}

/** undici as this process loaded it (see {@link loadUndici}). */
const UNDICI: UndiciParts = loadUndici();

export interface RawRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Timeout of this attempt: until the answer's headers, then at most this long between body chunks. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/**
 * A failure below HTTP: no status. `invalid`: the request itself cannot be
 * sent (a header value with CR/LF/NUL, a bad header name, method or path, an
 * unsupported protocol): sending it again fails the same way, so it is
 * permanent; the other kinds are worth another attempt.
 */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly kind: 'timeout' | 'network' | 'aborted' | 'invalid',
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface HttpTransportOptions {
  /** Max connections per origin. Default: 50. */
  readonly maxSockets?: number;
  /** Largest response body read, in bytes; longer ones are cut. Default: 4 MiB. */
  readonly maxBodyBytes?: number;
  /** The undici parts to send with. Default: {@link loadUndici}'s (tests pass the fallback's). */
  readonly undici?: UndiciParts;
}

/**
 * Error codes (undici's and Node's) meaning the request is malformed: refused
 * before anything is sent, the same on every attempt.
 */
const INVALID_REQUEST_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_URL',
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_UNESCAPED_CHARACTERS',
]);

/**
 * The {@link TransportError} of a failed attempt (the caller's signal not
 * aborted): timeouts, connection failures (retriable), or an invalid request
 * (a code of {@link INVALID_REQUEST_CODES}, or a `TypeError` without code,
 * as `Headers`/`URL` throw: permanent).
 */
export function transportErrorOf(error: unknown, timeoutMs: number): TransportError {
  if (error instanceof TransportError) return error;
  const code = codeOf(error);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return new TransportError('timeout', 'ETIMEDOUT', `no answer within ${timeoutMs} ms`);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new TransportError('timeout', 'ETIMEDOUT', `connect timeout: ${messageOf(error)}`);
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') return new TransportError('network', 'ECONNRESET', `connection closed: ${messageOf(error)}`);
  if ((code !== undefined && INVALID_REQUEST_CODES.has(code)) || (code === undefined && error instanceof TypeError)) {
    return new TransportError('invalid', code ?? 'ERR_INVALID_REQUEST', `invalid request: ${messageOf(error)}`);
  }
  return new TransportError('network', code, messageOf(error));
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class HttpTransport {
  readonly #agent: Agent;
  readonly #maxBody: number;
  readonly #undici: UndiciParts;

  constructor(options: HttpTransportOptions = {}) {
    this.#undici = options.undici ?? UNDICI;
    this.#agent = new this.#undici.Agent({ connections: options.maxSockets ?? 50 });
    this.#maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
  }

  async send(req: RawRequest): Promise<RawResponse> {
    if (req.signal?.aborted) throw new TransportError('aborted', undefined, 'aborted before sending');
    if (req.url.protocol !== 'https:' && req.url.protocol !== 'http:') {
      throw new TransportError('invalid', 'ERR_INVALID_URL', `unsupported protocol ${req.url.protocol}`);
    }
    // The attempt's timeout is undici's (no timer of our own per request): until the answer's
    // headers, then between body chunks. The caller's signal is passed as is.
    try {
      const res = await this.#undici.request(this.#agent, req.url, {
        method: req.method,
        headers: req.headers,
        ...(req.body !== undefined ? { body: req.body } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (size < this.#maxBody) chunks.push(chunk);
        size += chunk.length;
      }
      return {
        status: res.statusCode,
        headers: res.headers,
        text: Buffer.concat(chunks).toString('utf8').slice(0, this.#maxBody),
      };
    } catch (error) {
      if (error instanceof TransportError) throw error;
      if (req.signal?.aborted) throw new TransportError('aborted', undefined, 'aborted');
      throw transportErrorOf(error, req.timeoutMs);
    }
  }

  /** Close pooled connections. */
  close(): void {
    void this.#agent.destroy().catch(() => undefined);
  }
}
