/**
 * One HTTP attempt over undici (connections pooled and kept alive per
 * origin; about half the CPU of `node:http` per request). No retries here:
 * see `http-caller.ts`. Failures below HTTP (timeout, refused, reset, abort)
 * become {@link TransportError}; any HTTP status is a normal
 * {@link RawResponse}.
 */
import { createRequire } from 'node:module';
import type { Agent, Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * undici's `Agent` and its `request` API, loaded without undici's index: the index also loads
 * fetch, WebSocket, EventSource, the cache and cookie code and the mocks (111 modules, about 3 MiB
 * of heap and 9 MiB of RSS held for the process's life), none of which the AGS client uses; these
 * two are 23 modules. The paths are undici 7's (`package.json` pins the major): a move in a later
 * major fails every AGS test at once, not silently.
 */
const requireUndici = createRequire(import.meta.url);
const UndiciAgent = requireUndici('undici/lib/dispatcher/agent.js') as typeof Agent;
const undiciRequest = requireUndici('undici/lib/api/api-request.js') as (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

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

  constructor(options: HttpTransportOptions = {}) {
    this.#agent = new UndiciAgent({ connections: options.maxSockets ?? 50 });
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
      const res = await undiciRequest.call(this.#agent, {
        origin: req.url.origin,
        path: `${req.url.pathname}${req.url.search}`,
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
