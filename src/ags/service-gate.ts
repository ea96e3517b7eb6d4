/**
 * Back-pressure toward AGS, per service (Platform, Cloud Save, IAM...): this process keeps at most
 * `maxInFlight` requests in flight to one service, and holds a service that answered 429 until its
 * `Retry-After` (or the backoff's base) passed; then one request at a time goes out (the probe), and the others
 * follow only once an answer is not a 429 (another 429 holds the service again). A request that cannot go out within `maxWaitMs` is
 * refused before it is sent (an {@link AgsError} of kind `busy`, retriable: nothing was applied), so the
 * event is answered UNAVAILABLE and the sidecar redelivers it later, instead of every event in flight
 * retrying into a throttled service (a retry storm spends the namespace's rate limit: Shared Cloud allows
 * 5,000 requests a minute per studio and answers 429 past it, `../shared/docs/ags-rest.md`).
 *
 * Waiters are served first come, first served. The fast path (a free slot, no hold, nobody waiting)
 * allocates nothing.
 */
import { AgsError } from './errors.js';

/** Most requests one process has in flight to one AGS service (`AGS_MAX_IN_FLIGHT`'s default). */
export const DEFAULT_AGS_MAX_IN_FLIGHT = 64;
/** Longest a request waits for a slot or a 429's hold before it is refused unsent, ms (`AGS_QUEUE_WAIT_MS`'s default). */
export const DEFAULT_AGS_QUEUE_WAIT_MS = 2_000;

export interface ServiceGateOptions {
  /** Most requests in flight to one service; 0: no bound (429 holds still apply). Default: {@link DEFAULT_AGS_MAX_IN_FLIGHT}. */
  readonly maxInFlight?: number;
  /** Longest wait for a slot or a hold's end, ms (also bounded by the call's own budget). Default: {@link DEFAULT_AGS_QUEUE_WAIT_MS}. */
  readonly maxWaitMs?: number;
  /** Clock of holds and waits, ms since epoch (real time: the waits are timers). Default: `Date.now`. */
  readonly now?: () => number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly onAbort: (() => void) | undefined;
  readonly signal: AbortSignal | undefined;
}

interface Service {
  inFlight: number;
  /** No request goes out before this instant (a 429's hold), ms since epoch. */
  heldUntil: number;
  holdTimer: ReturnType<typeof setTimeout> | undefined;
  readonly queue: Waiter[];
}

/** Bounds the requests in flight to each AGS service and holds a throttled one (see the module). */
export class ServiceGate {
  readonly maxInFlight: number;
  readonly maxWaitMs: number;
  readonly #now: () => number;
  readonly #services = new Map<string, Service>();

  constructor(options: ServiceGateOptions = {}) {
    this.maxInFlight = Math.max(0, options.maxInFlight ?? DEFAULT_AGS_MAX_IN_FLIGHT);
    this.maxWaitMs = Math.max(0, options.maxWaitMs ?? DEFAULT_AGS_QUEUE_WAIT_MS);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Takes a slot of `service` at once when one is free and the service is not held: true. False: call
   * {@link ServiceGate.wait} (the slot is not taken). Every slot taken is given back with {@link ServiceGate.leave}.
   * `pastHold`: the call already waited out its own 429 (its retry): the hold does not apply to it.
   */
  tryEnter(service: string, pastHold = false): boolean {
    const s = this.#service(service);
    if (pastHold ? s.queue.length > 0 || !this.#free(s) : s.queue.length > 0 || !this.#open(s)) return false;
    s.inFlight++;
    return true;
  }

  /**
   * Waits for a slot of `service` (first come, first served), at most `maxWaitMs` and at most `budgetMs`.
   * Resolves with the slot taken. Rejects with a retriable {@link AgsError} of kind `busy` (nothing sent) when the
   * wait would be longer, or of kind `aborted` when `signal` aborts first. `attempts`: the call's attempts so far
   * (named in the error). Default: 0.
   */
  wait(service: string, operation: string, budgetMs: number, signal?: AbortSignal, attempts = 0): Promise<void> {
    const s = this.#service(service);
    const waitMs = Math.min(this.maxWaitMs, budgetMs);
    const now = this.#now();
    if (s.heldUntil - now > waitMs) return Promise.reject(this.#busy(service, operation, attempts, `held after a 429 for ${s.heldUntil - now} more ms`));
    if (signal?.aborted) return Promise.reject(aborted(service, operation, attempts));
    return new Promise<void>((resolve, reject) => {
      const onAbort = signal ? () => this.#drop(s, waiter, aborted(service, operation, attempts)) : undefined;
      const waiter: Waiter = { resolve, reject, timer: undefined, onAbort, signal };
      waiter.timer = setTimeout(() => this.#drop(s, waiter, this.#busy(service, operation, attempts, `${s.inFlight} requests in flight${s.heldUntil > this.#now() ? ', held after a 429' : ''}`)), waitMs);
      waiter.timer.unref?.();
      if (onAbort) signal!.addEventListener('abort', onAbort, { once: true });
      s.queue.push(waiter);
      this.#pump(s);
    });
  }

  /**
   * Gives back a slot taken by {@link ServiceGate.tryEnter} or {@link ServiceGate.wait}. `throttled`: its answer
   * was a 429 (the caller then calls {@link ServiceGate.hold}); any other answer after a hold's end ends the hold.
   */
  leave(service: string, throttled = false): void {
    const s = this.#services.get(service);
    if (!s) return;
    s.inFlight = Math.max(0, s.inFlight - 1);
    if (throttled) return;
    if (s.heldUntil !== 0 && s.heldUntil <= this.#now()) s.heldUntil = 0;
    if (s.queue.length > 0) this.#pump(s);
  }

  /** `service` answered 429: no new call's request goes out to it for `forMs` ms (its `Retry-After`, or the retry's backoff). */
  hold(service: string, forMs: number): void {
    const s = this.#service(service);
    const untilMs = this.#now() + forMs;
    if (untilMs <= s.heldUntil) return;
    s.heldUntil = untilMs;
    if (s.holdTimer) clearTimeout(s.holdTimer);
    this.#wakeAtHoldEnd(s);
  }

  /** Pumps the queue once the hold ended; a timer that fires before the clock reached the end (Node's timers can, by a millisecond) waits again. */
  #wakeAtHoldEnd(s: Service): void {
    s.holdTimer = setTimeout(() => {
      s.holdTimer = undefined;
      if (s.heldUntil > this.#now()) this.#wakeAtHoldEnd(s);
      else this.#pump(s);
    }, Math.max(1, s.heldUntil - this.#now()));
    s.holdTimer.unref?.();
  }

  /** Requests in flight and waiting, per service (metrics, tests). */
  load(service: string): { readonly inFlight: number; readonly waiting: number; readonly heldUntil: number } {
    const s = this.#services.get(service);
    return { inFlight: s?.inFlight ?? 0, waiting: s?.queue.length ?? 0, heldUntil: s?.heldUntil ?? 0 };
  }

  /** Clears the timers (shutdown). Waiters still queued are refused as `busy`. */
  close(): void {
    for (const [name, s] of this.#services) {
      if (s.holdTimer) clearTimeout(s.holdTimer);
      for (const w of s.queue.slice()) this.#drop(s, w, this.#busy(name, 'request', 0, 'shutting down'));
    }
  }

  #service(name: string): Service {
    let s = this.#services.get(name);
    if (!s) {
      s = { inFlight: 0, heldUntil: 0, holdTimer: undefined, queue: [] };
      this.#services.set(name, s);
    }
    return s;
  }

  #free(s: Service): boolean {
    return this.maxInFlight === 0 || s.inFlight < this.maxInFlight;
  }

  /** A slot is free and the service is not held; past a hold's end, only one request at a time (the probe). */
  #open(s: Service): boolean {
    return this.#free(s) && (s.heldUntil === 0 || (s.heldUntil <= this.#now() && s.inFlight === 0));
  }

  #pump(s: Service): void {
    while (s.queue.length > 0 && this.#open(s)) {
      const w = s.queue.shift()!;
      this.#settle(w);
      s.inFlight++;
      w.resolve();
    }
  }

  #drop(s: Service, w: Waiter, error: Error): void {
    const at = s.queue.indexOf(w);
    if (at < 0) return;
    s.queue.splice(at, 1);
    this.#settle(w);
    w.reject(error);
  }

  #settle(w: Waiter): void {
    if (w.timer) clearTimeout(w.timer);
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
  }

  #busy(service: string, operation: string, attempts: number, why: string): AgsError {
    return new AgsError({
      operation,
      service,
      retriable: true,
      attempts,
      kind: 'busy',
      errorMessage: `not sent: AGS ${service} is busy (${why}; AGS_MAX_IN_FLIGHT=${this.maxInFlight}, AGS_QUEUE_WAIT_MS=${this.maxWaitMs})`,
    });
  }
}

function aborted(service: string, operation: string, attempts: number): AgsError {
  return new AgsError({ operation, service, retriable: true, attempts, kind: 'aborted', errorMessage: 'aborted (event deadline or shutdown) while waiting for a slot' });
}
