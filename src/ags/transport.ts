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

/** The parts of undici the transport uses: its `Agent` (requests go through its `dispatch`). */
export interface UndiciParts {
  readonly Agent: typeof Agent;
  /** `internal`: undici's own module (the lean way); `index`: its public index (the fallback). */
  readonly from: 'internal' | 'index';
  /** With `from: 'index'`: why the internal modules were not used (the load error, or what they were instead of functions). */
  readonly fallbackReason?: string;
}

/** undici's internal module {@link loadUndici} loads first (undici 7's layout). */
export const UNDICI_INTERNAL_MODULES = ['undici/lib/dispatcher/agent.js'] as const;

const requireUndici = createRequire(import.meta.url);

/**
 * undici's `Agent`, loaded without undici's index when its internal module is where undici 7 keeps it
 * ({@link UNDICI_INTERNAL_MODULES}): the index also loads fetch, WebSocket, EventSource, the cache and
 * cookie code and the mocks (111 modules, about 3 MiB of heap and 9 MiB of RSS held for the process's
 * life), none of which the AGS client uses. When it cannot be loaded (a later undici moved it) or is
 * not a function, undici's public index.
 * @param load `require` by module id. Default: this module's (an injectable one for tests).
 * @throws what `load('undici')` throws when neither can be loaded (undici is a dependency).
 */
export function loadUndici(load: (id: string) => unknown = requireUndici): UndiciParts {
  let fallbackReason: string;
  try {
    const agent = load(UNDICI_INTERNAL_MODULES[0]);
    if (typeof agent === 'function') return { Agent: agent as typeof Agent, from: 'internal' };
    fallbackReason = `it exports ${typeof agent} instead of a function`;
  } catch (err) {
    // moved or renamed in this undici: its public index below
    fallbackReason = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  }
  const index = load('undici') as { readonly Agent: typeof Agent };
  return { Agent: index.Agent, from: 'index', fallbackReason };
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
export function logUndiciFallback(logger: { warn(obj: object, msg: string): void }, parts: UndiciParts = processUndici()): boolean {
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

let undici: UndiciParts | undefined;

/**
 * undici as this process loaded it (see {@link loadUndici}), loaded at the first call: a command
 * that sends nothing to AGS (validate, test, explain...) does not pay for loading it.
 */
function processUndici(): UndiciParts {
  undici ??= loadUndici();
  return undici;
}

/**
 * What a request needs of its URL: a `URL` has it; the AGS client passes a plain object of the same
 * strings built from its base URL parsed once (no `URL` per request, see `client.ts`).
 */
export type RequestUrl = Pick<URL, 'href' | 'origin' | 'protocol' | 'hostname' | 'pathname' | 'search'>;

export interface RawRequest {
  readonly url: RequestUrl;
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
    this.#undici = options.undici ?? processUndici();
    this.#agent = new this.#undici.Agent({ connections: options.maxSockets ?? 50 });
    this.#maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
  }

  /**
   * One attempt. The request goes through the agent's `dispatch` with a handler of its own (undici's
   * `request` API makes a body stream, an async resource and an async iterator per request: about a
   * fifth of the client's CPU per AGS call, measured on loopback). The attempt's timeout is undici's
   * (no timer of our own): until the answer's headers, then between body chunks.
   */
  send(req: RawRequest): Promise<RawResponse> {
    const { signal } = req;
    if (signal?.aborted) return Promise.reject(new TransportError('aborted', undefined, 'aborted before sending'));
    if (req.url.protocol !== 'https:' && req.url.protocol !== 'http:') {
      return Promise.reject(new TransportError('invalid', 'ERR_INVALID_URL', `unsupported protocol ${req.url.protocol}`));
    }
    const maxBody = this.#maxBody;
    return new Promise<RawResponse>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let status = 0;
      let headers: IncomingHttpHeaders = {};
      let controller: Dispatcher.DispatchController | undefined;
      let settled = false;
      const onAbort = (): void => controller?.abort(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const fail = (error: unknown): void => {
        if (!settle()) return;
        reject(signal?.aborted ? new TransportError('aborted', undefined, 'aborted') : transportErrorOf(error, req.timeoutMs));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(c) {
          controller = c;
          if (signal?.aborted) onAbort();
        },
        onResponseStart(_c, statusCode, answerHeaders) {
          if (statusCode < 200) return; // 1xx: informational, the answer follows
          status = statusCode;
          headers = answerHeaders;
        },
        onResponseData(_c, chunk) {
          if (size < maxBody) chunks.push(chunk);
          size += chunk.length;
        },
        onResponseEnd() {
          if (!settle()) return;
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          const text = body.toString('utf8');
          resolve({ status, headers, text: text.length > maxBody ? text.slice(0, maxBody) : text });
        },
        onResponseError(_c, error) {
          fail(error);
        },
      };
      try {
        this.#agent.dispatch(
          {
            origin: req.url.origin,
            path: `${req.url.pathname}${req.url.search}`,
            method: req.method,
            headers: req.headers,
            ...(req.body !== undefined ? { body: req.body } : {}),
            headersTimeout: req.timeoutMs,
            bodyTimeout: req.timeoutMs,
          },
          handler,
        );
      } catch (error) {
        fail(error);
      }
    });
  }

  /** Close pooled connections. */
  close(): void {
    void this.#agent.destroy().catch(() => undefined);
  }
}
