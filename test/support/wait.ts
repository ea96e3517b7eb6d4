/**
 * The one way tests wait: poll a condition until it holds, never sleep for a
 * fixed time (tests must pass on a loaded 2-core machine).
 */

/** What {@link waitFor} resolves with: the first value that is neither `undefined` nor `false`. */
export type Found<T> = Exclude<T, undefined | false>;

/** Default patience: 30 s, generous on a loaded machine (a condition that holds returns at once). */
export const WAIT_TIMEOUT_MS = 30_000;
/** Between two polls. */
const POLL_MS = 20;

/**
 * Polls `check` every 20 ms until it returns a value that is neither
 * `undefined` nor `false` (a `true`, a found log line...) and resolves with it.
 * Throws `timed out waiting for <what>` after `timeoutMs` (default 30 s); an
 * error thrown by `check` fails the wait at once (e.g. "the process exited").
 *
 * Two forms: `waitFor(what, check, timeoutMs?)`, and the older
 * `waitFor(check, timeoutMs?)` (no description).
 */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs?: number): Promise<Found<T>>;
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs?: number): Promise<Found<T>>;
export async function waitFor<T>(a: string | (() => T | Promise<T>), b?: number | (() => T | Promise<T>), c?: number): Promise<Found<T>> {
  const [what, check, timeoutMs] = typeof a === 'string' ? [a, b as () => T | Promise<T>, c] : ['a condition', a, b as number | undefined];
  const end = Date.now() + (timeoutMs ?? WAIT_TIMEOUT_MS);
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v as Found<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** `waitFor(what, predicate, timeoutMs)` resolving with nothing (the e2e helpers' name). */
export async function waitUntil(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs?: number): Promise<void> {
  await waitFor(what, predicate, timeoutMs);
}
