/**
 * Retry policy of outgoing HTTP calls (AGS and webhooks), as pure functions.
 *
 * Retried: 408, 429, 502, 503, 504, AGS's 409 "optimistic lock" (errorCode 20006), timeouts and connection errors; 500 only when
 * the call is idempotent. A call that is not idempotent answered 500, 502 or
 * 504 (or Envoy's 503 for a reset after sending) is not retried: it may have been applied ({@link mayHaveApplied}). Never retried: any other 4xx (and 401 apart from the
 * client's single re-login). Delay: exponential backoff with full jitter,
 * `random() * min(max, base * 2^attempt)`, or the server's `Retry-After`.
 */

/**
 * Retried whatever the call: 408 (the server did not receive the whole request and closed: not applied, "the
 * client MAY repeat that request", RFC 9110 15.5.9), 429, and the gateway/server statuses 502, 503, 504 (a call
 * that is not idempotent answered 502/504 is an unknown outcome first: {@link mayHaveApplied}).
 */
const ALWAYS_RETRIED = new Set([408, 429, 502, 503, 504]);

/**
 * Statuses of a server or gateway that failed while or after handling a request that reached it:
 * 500 ("an unexpected condition", RFC 9110 15.6.1: possibly after the write), 502 (the gateway
 * passed it on and got no valid answer, 15.6.3), 504 (the gateway passed it on and stopped waiting,
 * 15.6.5). A call that is not idempotent answered so may have been applied: its outcome is unknown.
 * 503 and 429 say the request was not handled (15.6.4, RFC 6585 4): retried as before, except
 * Envoy's 503 for a stream reset after it was sent ({@link envoyResetAfterSending}).
 */
const MAY_HAVE_APPLIED = new Set([500, 502, 504]);

/**
 * Envoy's own 503 answer when the upstream connection or stream ended before the answer's headers:
 * `upstream connect error or disconnect/reset before headers. [retried and the latest ]reset reason: <reason>`
 * (Envoy's `Http::Utility::resetReasonToString`; the access log's response flags UF, UC, UR, LR).
 */
const ENVOY_RESET_BEFORE_HEADERS = /upstream connect error or disconnect\/reset before headers\.?\s*(?:retried and the latest )?reset reason:\s*([a-z][a-z ]*)/i;

/**
 * Envoy reset reasons that end the stream before the request reached the upstream: no connection
 * (`connection failure`, `local`/`remote connection failure`, `connection timeout`: flag UF), the
 * circuit breaker (`overflow`: UO), the overload manager, an HTTP/2 REFUSED_STREAM (the peer did not
 * process it, RFC 9113 8.7). Every other reason (`connection termination` UC, `remote reset` UR,
 * `local reset` LR, `protocol error`, one Envoy adds later) may come after the upstream read the
 * request (envoyproxy/envoy#10007; Istio does not retry such 503s: "the risky nature of
 * non-idempotent requests", istio/istio#13205).
 */
const ENVOY_NOT_SENT_REASON = /^(?:(?:local |remote )?connection failure|connection timeout|overflow|overload manager|(?:local |remote )?refused stream reset)/i;

/**
 * Is this answer Envoy's 503 for a stream reset that may have come after the upstream received the
 * request (see {@link ENVOY_NOT_SENT_REASON})? Which proxy fronts AGS is not documented
 * (`../shared/docs` names none); Envoy (alone or as Istio, Emissary, Contour) is the common one whose
 * 503 can follow sending, so its answer is recognised by its text. A 503 with any other body (AGS's
 * `{errorCode, errorMessage}`, no body, a maintenance page, Envoy's `no healthy upstream`) says the
 * request was not handled. When Envoy retried, the latest reason decides
 * (its default retry policies retry only failures before sending: `connect-failure`, `refused-stream`).
 */
export function envoyResetAfterSending(status: number, text: string): boolean {
  if (status !== 503) return false;
  const reason = ENVOY_RESET_BEFORE_HEADERS.exec(text.slice(0, 2000))?.[1];
  return reason !== undefined && !ENVOY_NOT_SENT_REASON.test(reason.trim());
}

/**
 * May a request answered `status` (with the answer's text `text`) have been applied all the same?
 * 500, 502, 504 ({@link MAY_HAVE_APPLIED}), and Envoy's 503 for a reset after sending
 * ({@link envoyResetAfterSending}).
 */
export function mayHaveApplied(status: number, text = ''): boolean {
  return MAY_HAVE_APPLIED.has(status) || envoyResetAfterSending(status, text);
}

/**
 * AGS's 409 errorCode 20006 "optimistic lock" (`../shared/docs/ags-rest.md`, common codes; `fulfillItem`'s
 * documented 409 in `../shared/ags-openapi/platform.json`): a concurrent write to the same player's data won
 * and this request was refused, not applied. The conflict is the moment's, not the event's: "the user might be
 * able to resolve the conflict and resubmit" (RFC 9110 15.5.10); sent again it goes through.
 */
const OPTIMISTIC_LOCK = { status: 409, errorCode: 20006 } as const;

/**
 * Is an HTTP status worth another attempt? `errorCode`: AGS's, from the answer's body (a 409 is retried only
 * as {@link OPTIMISTIC_LOCK}).
 */
export function isRetriableStatus(status: number, idempotent: boolean, errorCode?: number | string): boolean {
  if (ALWAYS_RETRIED.has(status)) return true;
  if (status === OPTIMISTIC_LOCK.status && Number(errorCode) === OPTIMISTIC_LOCK.errorCode) return true;
  return status === 500 && idempotent;
}

/**
 * Full-jitter backoff before retry number `retry` (0 = the first retry):
 * `random() * min(maxMs, baseMs * 2^retry)`.
 */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** retry);
  return Math.floor(random() * cap);
}

/**
 * The delay a `Retry-After` header asks for, in ms: delta-seconds or an HTTP
 * date (relative to `nowMs`). Undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Sleep `ms`, resolving early (without error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
