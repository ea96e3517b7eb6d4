/**
 * Retry policy of outgoing HTTP calls (AGS and webhooks), as pure functions.
 *
 * Retried: 429, 502, 503, 504, timeouts and connection errors; 500 only when
 * the call is idempotent. Never retried: any other 4xx (and 401 apart from the
 * client's single re-login). Delay: exponential backoff with full jitter,
 * `random() * min(max, base * 2^attempt)`, or the server's `Retry-After`.
 */

const ALWAYS_RETRIED = new Set([429, 502, 503, 504]);

/** Is an HTTP status worth another attempt? */
export function isRetriableStatus(status: number, idempotent: boolean): boolean {
  if (ALWAYS_RETRIED.has(status)) return true;
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
