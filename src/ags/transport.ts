/**
 * One HTTP attempt over Node's `http`/`https` with keep-alive agents
 * (connections pooled per host). No retries here: see `http-caller.ts`.
 * Failures below HTTP (timeout, refused, reset, abort) become
 * {@link TransportError}; any HTTP status is a normal {@link RawResponse}.
 */
import http from 'node:http';
import https from 'node:https';
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
  /** Max sockets per host. Default: 50. */
  readonly maxSockets?: number;
  /** Largest response body read, in bytes; longer ones are cut. Default: 4 MiB. */
  readonly maxBodyBytes?: number;
}

export class HttpTransport {
  readonly #http: http.Agent;
  readonly #https: https.Agent;
  readonly #maxBody: number;

  constructor(options: HttpTransportOptions = {}) {
    const maxSockets = options.maxSockets ?? 50;
    this.#http = new http.Agent({ keepAlive: true, maxSockets });
    this.#https = new https.Agent({ keepAlive: true, maxSockets });
    this.#maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
  }

  send(req: RawRequest): Promise<RawResponse> {
    return new Promise<RawResponse>((resolve, reject) => {
      if (req.signal?.aborted) {
        reject(new TransportError('aborted', undefined, 'aborted before sending'));
        return;
      }
      const secure = req.url.protocol === 'https:';
      if (!secure && req.url.protocol !== 'http:') {
        reject(new TransportError('network', 'ERR_INVALID_URL', `unsupported protocol ${req.url.protocol}`));
        return;
      }
      const headers: Record<string, string> = { ...req.headers };
      if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
      let settled = false;
      const finish = (err: Error | undefined, res?: RawResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res!);
      };
      const request = (secure ? https : http).request(req.url, {
        method: req.method,
        headers,
        agent: secure ? this.#https : this.#http,
      });
      const timer = setTimeout(() => {
        const e = new TransportError('timeout', 'ETIMEDOUT', `no answer within ${req.timeoutMs} ms`);
        finish(e);
        request.destroy(e);
      }, req.timeoutMs);
      const onAbort = (): void => {
        const e = new TransportError('aborted', undefined, 'aborted');
        finish(e);
        request.destroy(e);
      };
      req.signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof TransportError) finish(err);
        else finish(new TransportError('network', err.code, err.message));
      });
      request.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < this.#maxBody) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('error', (err: NodeJS.ErrnoException) => {
          finish(err instanceof TransportError ? err : new TransportError('network', err.code, err.message));
        });
        res.on('aborted', () => finish(new TransportError('network', 'ECONNRESET', 'connection closed mid-answer')));
        res.on('end', () => {
          finish(undefined, {
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8').slice(0, this.#maxBody),
          });
        });
      });
      request.end(req.body);
    });
  }

  /** Close pooled connections. */
  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}
