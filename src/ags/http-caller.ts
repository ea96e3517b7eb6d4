/**
 * The retry loop shared by AGS calls and the `http` (webhook) action: sends
 * attempts through an {@link HttpTransport}, retries what `retry.ts` says is
 * retriable, honours `Retry-After`, stops at `maxAttempts`, at `deadlineMs`
 * and when the caller's signal aborts, counts `agsRequests{operation,status}`,
 * and turns the final failure into an {@link AgsError}.
 */
import type { Logger } from 'pino';
import type { Metrics } from '../telemetry/index.js';
import { inSpan, injectContext, SpanKind, SpanStatusCode, tracingEnabled } from '../telemetry/index.js';
import { redactAndCut, redactUrl } from '../telemetry/index.js';
import { AgsError } from './errors.js';
import type { AgsFailureKind } from './errors.js';
import { backoffDelay, isRetriableStatus, mayHaveApplied, parseRetryAfter, sleep as realSleep } from './retry.js';
import { HttpTransport, TransportError } from './transport.js';
import { ServiceGate } from './service-gate.js';
import type { RawRequest, RawResponse } from './transport.js';
import type { AnswerReading } from './answers.js';
import type { IncomingHttpHeaders } from 'node:http';

export interface HttpCallerOptions {
  /** Timeout of one attempt, ms. Default: 10000. */
  readonly timeoutMs?: number;
  /** Attempts per call, the first included. Default: 4. */
  readonly maxAttempts?: number;
  /** Overall budget of one call with its retries and waits, ms (by `now`). Default: 30000. */
  readonly deadlineMs?: number;
  /** Backoff base, ms: retry n waits `random() * min(backoffMaxMs, backoffBaseMs * 2^n)`. Default: 100. */
  readonly backoffBaseMs?: number;
  /** Backoff cap, ms. Default: 5000. */
  readonly backoffMaxMs?: number;
  /** Clock (ms since epoch) for deadlines, `Retry-After` dates and token expiry. Default: `Date.now`. */
  readonly now?: () => number;
  /** Jitter source in [0, 1). Default: `Math.random`. */
  readonly random?: () => number;
  /** How to wait between attempts (tests record the delays). Default: a timer that ends early on abort. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Logger for retries (never headers or bodies). Default: none. */
  readonly logger?: Logger;
  /** Counts `agsRequests{operation,status}`. Default: none. */
  readonly metrics?: Metrics;
  /** The connection pool. Default: a new keep-alive {@link HttpTransport}. */
  readonly transport?: HttpTransport;
  /**
   * Most requests in flight to one AGS service (calls with a `service`; see `service-gate.ts`); 0: no bound.
   * Default: `DEFAULT_AGS_MAX_IN_FLIGHT` (64, `AGS_MAX_IN_FLIGHT`).
   */
  readonly maxInFlightPerService?: number;
  /**
   * Longest a request waits for a slot of its service, or for the end of a 429's hold, before it is refused unsent
   * (a retriable `busy` {@link AgsError}), ms. Default: `DEFAULT_AGS_QUEUE_WAIT_MS` (2000, `AGS_QUEUE_WAIT_MS`).
   */
  readonly queueWaitMs?: number;
}

/** One logical call (one or more attempts). */
export interface CallSpec {
  /** Operation id for errors, logs and metrics. */
  readonly operation: string;
  /** The AGS service called (`Cloud Save`...), named in errors (what failed or was slow). Default: none (webhooks). */
  readonly service?: string;
  /** May a 500 be retried (the call has the same effect when repeated)? */
  readonly idempotent: boolean;
  /** Stops retries (and, unless `inFlightSignal` is given, the attempt in flight) when aborted. */
  readonly signal?: AbortSignal;
  /**
   * Aborts an attempt already sent. Default: `signal`. Give a later signal (shutdown) so that a
   * caller's cancel or deadline lets the request in flight complete and its outcome be known.
   */
  readonly inFlightSignal?: AbortSignal;
  /** Per-attempt timeout of this call; default the caller's `timeoutMs`. */
  readonly timeoutMs?: number;
  /** Build one attempt (called before each; may throw an AgsError, e.g. a failed login). */
  prepare(): Promise<Omit<RawRequest, 'timeoutMs' | 'signal'>> | Omit<RawRequest, 'timeoutMs' | 'signal'>;
  /** Where this call's lines go (resolved only when one is written). Default: the caller's `logger`. */
  readonly logTo?: () => Logger;
  /** The URL's path and query are credentials (webhooks): spans show its origin only. Default: false. */
  readonly secretUrl?: boolean;
  /** Called once on the first 401; the call is then repeated once (re-login). */
  onUnauthorized?(): Promise<void>;
  /**
   * Reads a 2xx answer (see `answers.ts`): an answer it cannot read means the request reached the
   * server with an unknown effect: retried when `idempotent`, else an outcome-unknown {@link AgsError}.
   * Default: JSON when it parses, else the text (webhooks).
   */
  readAnswer?(status: number, headers: IncomingHttpHeaders, text: string): AnswerReading;
}

/** A successful (2xx) answer. */
export interface CallResult {
  readonly status: number;
  /** Parsed JSON body, the raw text when not JSON, undefined when empty. */
  readonly body: unknown;
  readonly attempts: number;
}

/** Parse a body: JSON when it parses, else the text; undefined when empty. */
export function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return redactAndCut(text, 2000, '...'); // redacted first: a secret across the cut is not kept in part
  }
}

/** A request body already serialised as JSON (the caller built its text, e.g. reusing unchanged parts): sent as is. */
export class JsonText {
  constructor(readonly text: string) {}
}

/**
 * `body` as JSON text (a {@link JsonText} as it is), or a permanent {@link AgsError} (`kind: 'invalid'`)
 * when it cannot be (a BigInt, a cycle): sending it again would fail the same way.
 */
export function jsonBody(operation: string, body: unknown): string {
  if (body instanceof JsonText) return body.text;
  try {
    return JSON.stringify(body);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new AgsError({ operation, retriable: false, attempts: 0, kind: 'invalid', code: 'ERR_JSON_BODY', errorMessage: `the body cannot be serialised as JSON: ${reason}` });
  }
}

/** AGS `{errorCode, errorMessage}` or OAuth `{error, error_description}`. */
export function errorFields(body: unknown): { errorCode?: number | string; errorMessage?: string } {
  if (body === null || typeof body !== 'object') return {};
  const b = body as Record<string, unknown>;
  const out: { errorCode?: number | string; errorMessage?: string } = {};
  const code = b.errorCode ?? b.error ?? b.code;
  if (typeof code === 'number' || typeof code === 'string') out.errorCode = code;
  const msg = b.errorMessage ?? b.error_description ?? b.message;
  if (typeof msg === 'string') out.errorMessage = msg;
  return out;
}

interface Failure {
  readonly status?: number;
  readonly kind: AgsFailureKind;
  readonly code?: string;
  readonly body?: unknown;
  readonly retriable: boolean;
  readonly retryAfter?: string;
}

/** Failures that happen before a request leaves: nothing can have been applied. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ERR_INVALID_URL']);

/**
 * May a request that failed this way have reached the server (and been applied)?
 * No for failures before sending (refused, unknown host, connect timeout, an invalid
 * request); yes for everything else: a timeout waiting for the answer, a reset or closed
 * connection, an abort in flight, an unrecognised network error.
 */
export function mayHaveReached(err: TransportError): boolean {
  if (err.kind === 'invalid') return false;
  if (err.kind === 'aborted') return err.message !== 'aborted before sending';
  if (err.kind === 'timeout') return !err.message.startsWith('connect timeout');
  return err.code === undefined || !NOT_SENT_CODES.has(err.code);
}

/**
 * One attempt's request: `prepared` with its timeout and signal (a literal of the transport's fields
 * instead of a spread of `prepared`: the same request, built without a copy loop).
 */
function attemptOf(prepared: Omit<RawRequest, 'timeoutMs' | 'signal'>, timeoutMs: number, signal: AbortSignal | undefined): RawRequest {
  const { url, method, headers, body } = prepared;
  if (body === undefined) return signal ? { url, method, headers, timeoutMs, signal } : { url, method, headers, timeoutMs };
  return signal ? { url, method, headers, body, timeoutMs, signal } : { url, method, headers, body, timeoutMs };
}

/** Timeout of one HTTP attempt to AGS, ms (`AGS_TIMEOUT_MS`'s default). */
export const DEFAULT_AGS_TIMEOUT_MS = 10_000;
/** Attempts per AGS call, retries of 429/5xx/timeouts included (`AGS_MAX_ATTEMPTS`'s default). */
export const DEFAULT_AGS_MAX_ATTEMPTS = 4;

export class HttpCaller {
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly deadlineMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly now: () => number;
  readonly random: () => number;
  readonly transport: HttpTransport;
  /** Back-pressure per AGS service (see `service-gate.ts`). */
  readonly gate: ServiceGate;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #logger: Logger | undefined;
  readonly #metrics: Metrics | undefined;
  readonly #ownsTransport: boolean;

  constructor(options: HttpCallerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_AGS_TIMEOUT_MS;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_AGS_MAX_ATTEMPTS);
    this.deadlineMs = options.deadlineMs ?? 30_000;
    this.backoffBaseMs = options.backoffBaseMs ?? 100;
    this.backoffMaxMs = options.backoffMaxMs ?? 5_000;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? realSleep;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#ownsTransport = options.transport === undefined;
    this.transport = options.transport ?? new HttpTransport();
    this.gate = new ServiceGate({
      ...(options.maxInFlightPerService !== undefined ? { maxInFlight: options.maxInFlightPerService } : {}),
      ...(options.queueWaitMs !== undefined ? { maxWaitMs: options.queueWaitMs } : {}),
    });
  }

  /** Run one call with retries. Resolves on 2xx; throws {@link AgsError} otherwise. */
  async call(spec: CallSpec): Promise<CallResult> {
    const start = this.now();
    const { operation, idempotent, signal } = spec;
    const inFlight = spec.inFlightSignal ?? signal;
    let attempts = 0;
    let retries = 0;
    let reauthed = false;
    /** The last attempt was answered 429: this call waits out its own hold (`delay`), the gate holds the others. */
    let throttled = false;
    for (;;) {
      if (signal?.aborted) throw this.#aborted(operation, attempts, spec.service);
      let failure: Failure | undefined;
      let sent = false;
      try {
        const preparing = spec.prepare();
        const prepared = preparing instanceof Promise ? await preparing : preparing;
        const { service } = spec;
        // back-pressure: wait for a slot of the service (or a 429's hold to end), or be refused unsent (`busy`)
        if (service !== undefined && !this.gate.tryEnter(service, throttled)) await this.#waitForSlot(service, operation, start, attempts, signal);
        attempts++;
        sent = true;
        const remaining = this.deadlineMs - (this.now() - start);
        const timeoutMs = Math.max(1, Math.min(spec.timeoutMs ?? this.timeoutMs, remaining));
        let res: RawResponse | undefined;
        try {
          res = await this.#send(operation, attempts, attemptOf(prepared, timeoutMs, inFlight), spec.secretUrl === true);
        } catch (err) {
          if (!(err instanceof TransportError)) throw err;
          this.#metrics?.countAgsRequest(operation, err.kind);
          if (!idempotent && mayHaveReached(err)) throw this.#unknownOutcome(spec, attempts, err);
          if (err.kind === 'aborted') throw this.#aborted(operation, attempts, spec.service);
          failure = { kind: err.kind, retriable: err.kind !== 'invalid', ...(err.code ? { code: err.code } : {}), body: err.message };
        } finally {
          if (service !== undefined) this.gate.leave(service, res?.status === 429);
        }
        if (res !== undefined) {
          this.#metrics?.countAgsRequest(operation, String(res.status));
          const read = this.#answered(spec, res, attempts);
          if ('result' in read) return read.result;
          if (res.status === 401 && spec.onUnauthorized && !reauthed) {
            reauthed = true;
            (spec.logTo?.() ?? this.#logger)?.info({ operation }, 'AGS answered 401: logging in again and retrying once');
            await spec.onUnauthorized();
            continue;
          }
          failure = read.failure;
        }
      } catch (err) {
        // a failed login (from prepare / onUnauthorized): retried like the call, else surfaced as is
        // (a login wait past the request's deadline is surfaced as is: it names IAM as what was slow)
        if (!(err instanceof AgsError) || err.kind === 'aborted' || err.kind === 'deadline' || err.kind === 'busy' || err.outcomeUnknown) throw err;
        if (!sent) attempts++; // a login that failed in prepare() is this round's attempt
        if (!err.retriable || attempts >= this.maxAttempts) throw err;
        failure = { kind: err.kind, retriable: true, ...(err.status !== undefined ? { status: err.status } : {}) };
      }
      if (failure === undefined) throw new Error(`${operation}: no answer and no error (bug)`);
      const f: Failure = failure;
      const make = (retriable: boolean): AgsError => {
        const fields = errorFields(f.body);
        return new AgsError({
          operation,
          ...(spec.service ? { service: spec.service } : {}),
          ...(f.status !== undefined ? { status: f.status } : {}),
          ...fields,
          ...(fields.errorMessage === undefined && f.kind !== 'http' && typeof f.body === 'string' ? { errorMessage: f.body } : {}),
          retriable,
          attempts,
          kind: f.kind,
          ...(f.code ? { code: f.code } : {}),
          ...(f.body !== undefined ? { body: f.body } : {}),
        });
      };
      if (!failure.retriable) throw make(false);
      const wanted = parseRetryAfter(failure.retryAfter, this.now());
      throttled = failure.status === 429;
      if (attempts >= this.maxAttempts) {
        if (throttled && spec.service !== undefined) this.gate.hold(spec.service, wanted ?? this.backoffBaseMs);
        throw make(true);
      }
      const delay = wanted ?? backoffDelay(retries, this.backoffBaseMs, this.backoffMaxMs, this.random);
      // throttled: hold the whole service for what AGS asked (else the backoff's base), then one request at a time
      // until an answer is not a 429 (the other calls' requests wait or are refused unsent: no retry storm)
      if (throttled && spec.service !== undefined) this.gate.hold(spec.service, wanted ?? this.backoffBaseMs);
      if (this.now() - start + delay >= this.deadlineMs) throw make(true);
      (spec.logTo?.() ?? this.#logger)?.warn(
        { operation, attempt: attempts, status: failure.status ?? failure.kind, delayMs: delay },
        `${operation}: attempt ${attempts} failed (${failure.status ?? failure.kind}), retrying in ${delay} ms`,
      );
      await this.#sleep(delay, signal);
      retries++;
    }
  }

  /** Waits for a slot of `service` within the call's budget; a refusal (`busy`, nothing sent) is counted and thrown as is. */
  async #waitForSlot(service: string, operation: string, start: number, attempts: number, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.gate.wait(service, operation, this.deadlineMs - (this.now() - start), signal, attempts);
    } catch (err) {
      this.#metrics?.countAgsRequest(operation, err instanceof AgsError && err.kind === 'busy' ? 'busy' : 'aborted');
      throw err;
    }
  }

  /**
   * An answer as the call's result (2xx, readable) or its failure. A 2xx that cannot be read (see
   * {@link CallSpec.readAnswer}) reached the server: a retriable failure when the call is idempotent,
   * else an outcome-unknown {@link AgsError} thrown here (never sent again).
   */
  #answered(spec: CallSpec, res: RawResponse, attempts: number): { result: CallResult } | { failure: Failure } {
    if (res.status >= 200 && res.status < 300) {
      const reading: AnswerReading = spec.readAnswer ? spec.readAnswer(res.status, res.headers, res.text) : { ok: true, body: parseBody(res.text) };
      if (reading.ok) return { result: { status: res.status, body: reading.body, attempts } };
      if (!spec.idempotent) throw this.#unreadable(spec, attempts, res.status, reading.problem);
      return { failure: { status: res.status, kind: 'unreadable', retriable: true, body: `answered ${res.status} with ${reading.problem}: the answer cannot be read` } };
    }
    if (!spec.idempotent && mayHaveApplied(res.status, res.text)) throw this.#failedAfterReaching(spec, attempts, res.status, parseBody(res.text));
    const retryAfter = res.headers['retry-after'];
    const body = parseBody(res.text);
    return {
      failure: {
        status: res.status,
        kind: 'http',
        body,
        retriable: isRetriableStatus(res.status, spec.idempotent, errorFields(body).errorCode),
        ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
      },
    };
  }

  /** One attempt, in a client span (when tracing is on) whose context travels in the request headers. */
  #send(operation: string, attempt: number, req: RawRequest, secretUrl: boolean): Promise<RawResponse> {
    if (!tracingEnabled()) return this.transport.send(req);
    return inSpan(
      `${req.method} ${operation}`,
      SpanKind.CLIENT,
      {
        'http.request.method': req.method,
        'url.full': secretUrl ? redactUrl(req.url.href) : `${req.url.origin}${req.url.pathname}`,
        'server.address': req.url.hostname,
        'ags.operation': operation,
        ...(attempt > 1 ? { 'http.request.resend_count': attempt - 1 } : {}),
      },
      async (span) => {
        if (!span) return this.transport.send(req);
        const headers = { ...req.headers };
        injectContext(headers);
        const res = await this.transport.send({ ...req, headers });
        span.setAttribute('http.response.status_code', res.status);
        if (res.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${res.status}` });
        return res;
      },
    );
  }

  /** A non-idempotent call sent but not answered: never sent again here (the caller reconciles or gives up). */
  #unknownOutcome(spec: CallSpec, attempts: number, err: TransportError): AgsError {
    return new AgsError({
      operation: spec.operation,
      ...(spec.service ? { service: spec.service } : {}),
      retriable: true,
      outcomeUnknown: true,
      attempts,
      kind: err.kind,
      ...(err.code ? { code: err.code } : {}),
      errorMessage: `${err.message}: the request may have been applied (outcome unknown, not repeated)`,
    });
  }

  /** A non-idempotent call answered 2xx in a shape it does not declare: it reached AGS, its effect is unknown (never "did nothing"). */
  #unreadable(spec: CallSpec, attempts: number, status: number, problem: string): AgsError {
    return new AgsError({
      operation: spec.operation,
      ...(spec.service ? { service: spec.service } : {}),
      status,
      retriable: true,
      outcomeUnknown: true,
      attempts,
      kind: 'unreadable',
      errorMessage: `answered ${status} with ${problem}: the answer cannot be read and the request may have been applied (outcome unknown, not repeated)`,
    });
  }

  /**
   * A non-idempotent call answered 500, 502 or 504 (or Envoy's 503 for a stream reset after sending, `retry.ts`): the
   * server or a gateway failed after the request reached it, so it
   * may have been applied (a gateway timing out on an AGS that completes the grant). Never sent again here: the action
   * reconciles through its lookup or the event ends as an `unknown-outcome` dead letter; never "nothing happened".
   */
  #failedAfterReaching(spec: CallSpec, attempts: number, status: number, body: unknown): AgsError {
    const fields = errorFields(body);
    const said =
      fields.errorMessage !== undefined
        ? ` (${fields.errorCode !== undefined ? `${fields.errorCode}: ` : ''}${fields.errorMessage})`
        : typeof body === 'string' && body !== ''
          ? ` (${redactAndCut(body, 200, '...')})`
          : '';
    return new AgsError({
      operation: spec.operation,
      ...(spec.service ? { service: spec.service } : {}),
      status,
      ...(fields.errorCode !== undefined ? { errorCode: fields.errorCode } : {}),
      retriable: true,
      outcomeUnknown: true,
      attempts,
      kind: 'http',
      ...(body !== undefined ? { body } : {}),
      errorMessage: `answered ${status}${said} after the request reached it: it may have been applied (outcome unknown, not repeated)`,
    });
  }

  #aborted(operation: string, attempts: number, service?: string): AgsError {
    return new AgsError({ operation, ...(service ? { service } : {}), retriable: true, attempts, kind: 'aborted', errorMessage: 'aborted (event deadline or shutdown)' });
  }

  /** Close pooled connections (when this caller created the transport). */
  close(): void {
    this.gate.close();
    if (this.#ownsTransport) this.transport.close();
  }
}
