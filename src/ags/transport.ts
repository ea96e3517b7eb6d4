/**
 * One HTTP attempt over undici (connections pooled and kept alive per
 * origin; about half the CPU of `node:http` per request). No retries here:
 * see `http-caller.ts`. Failures below HTTP (timeout, refused, reset, abort)
 * become {@link TransportError}; any HTTP status is a normal
 * {@link RawResponse}.
 */
import { Agent } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';

export interface RawRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Timeout of this attempt, from sending to the last byte of the answer. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** A failure below HTTP: no status. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly kind: 'timeout' | 'network' | 'aborted',
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
    this.#agent = new Agent({ connections: options.maxSockets ?? 50 });
    this.#maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
  }

  async send(req: RawRequest): Promise<RawResponse> {
    if (req.signal?.aborted) throw new TransportError('aborted', undefined, 'aborted before sending');
    if (req.url.protocol !== 'https:' && req.url.protocol !== 'http:') {
      throw new TransportError('network', 'ERR_INVALID_URL', `unsupported protocol ${req.url.protocol}`);
    }
    // One signal for undici: the attempt's timeout or the caller's abort, whichever comes first.
    const controller = new AbortController();
    let failure: TransportError | undefined;
    const stop = (error: TransportError): void => {
      failure ??= error;
      controller.abort(error);
    };
    const timer = setTimeout(() => stop(new TransportError('timeout', 'ETIMEDOUT', `no answer within ${req.timeoutMs} ms`)), req.timeoutMs);
    const onAbort = (): void => stop(new TransportError('aborted', undefined, 'aborted'));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await this.#agent.request({
        origin: req.url.origin,
        path: `${req.url.pathname}${req.url.search}`,
        method: req.method,
        headers: req.headers,
        ...(req.body !== undefined ? { body: req.body } : {}),
        signal: controller.signal,
        headersTimeout: 0,
        bodyTimeout: 0,
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
      if (failure) throw failure;
      if (error instanceof TransportError) throw error;
      const code = codeOf(error);
      if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') throw new TransportError('network', 'ECONNRESET', `connection closed: ${messageOf(error)}`);
      if (code === 'UND_ERR_CONNECT_TIMEOUT') throw new TransportError('timeout', 'ETIMEDOUT', `connect timeout: ${messageOf(error)}`);
      throw new TransportError('network', code, messageOf(error));
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Close pooled connections. */
  close(): void {
    void this.#agent.destroy().catch(() => undefined);
  }
}
