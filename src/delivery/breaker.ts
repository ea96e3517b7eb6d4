/**
 * The circuit breaker of live actions: it stops the line when a failure
 * belongs to the deployment, not to the event (issue 22.5).
 *
 * One breaker per action of a rule (`rule` + the action's stable key), in
 * each process. It counts the permanent AGS answers (a 4xx after the client's
 * own retries and its one re-login) of **distinct consecutive events** of that
 * action, with no success between them:
 * - `auth`: 401 (the token was just renewed: the client logs in again once on
 *   a 401) or 403 (a permission the IAM client lacks). `authFailures` events
 *   in a row pause the action. Until then such an event is **held** (answered
 *   UNAVAILABLE, not dead-lettered) until the action succeeds for another
 *   event (proof that the refusal is this event's own, e.g. a 403 on a
 *   namespace it names: dead-lettered at its next delivery) or for
 *   {@link MAX_HELD_DELIVERIES} deliveries: in a permission outage nothing is
 *   dead-lettered, a lone bad event never blocks its batch for ever.
 * - `permanent`: the same operation, status and AGS `errorCode` (an item or
 *   namespace that does not exist) on `permanentFailures` events in a row
 *   pauses the action; the events before it are dead-lettered as any
 *   permanent failure (a single bad event is one dead letter, as before).
 *
 * While paused, events that need the action are answered UNAVAILABLE without
 * sending anything (the sidecar keeps them: nothing dead-lettered, nothing
 * lost). Every `probeIntervalMs` the next event is let through as the
 * **probe**: it runs as usual; a success resumes the action, the same failure
 * keeps it paused, another failure resumes it too (the paused cause is gone;
 * that failure is the event's own). A probe meeting the same 401/403 is held;
 * one meeting the same permanent error is dead-lettered like any permanent
 * failure, so events that only looked systemic (a run of events each refused
 * for its own reason, e.g. deleted players) move on one per probe interval
 * and never stay UNAVAILABLE for ever.
 * A probe that ends without an answer from AGS (a transient failure, a bad
 * parameter, a duplicate) decides nothing: the next event probes.
 *
 * Pure state machine: the clock and what is said (log lines, the gauge) are
 * injected ({@link BreakerListener}); no timers.
 */

import { redactAndCut } from '../telemetry/index.js';

/** `BREAKER_AUTH_FAILURES`'s default: distinct consecutive events answered 401/403 that pause an action. */
export const DEFAULT_BREAKER_AUTH_FAILURES = 3;
/** `BREAKER_PERMANENT_FAILURES`'s default: distinct consecutive events with the same permanent AGS error that pause an action. */
export const DEFAULT_BREAKER_PERMANENT_FAILURES = 10;
/** `BREAKER_PROBE_INTERVAL_MS`'s default: while paused, one event per interval is let through as the probe. */
export const DEFAULT_BREAKER_PROBE_INTERVAL_MS = 30_000;
/** Most deliveries of one event held for a 401/403 before it is dead-lettered while its action is not paused (the `attempts` of the ledger). */
export const MAX_HELD_DELIVERIES = 10;
/** Bound of the events held per action whose first hold is remembered (oldest forgotten: held again from scratch). */
const MAX_HELD_EVENTS = 1000;
/** While paused, how often the line saying so is repeated (when events keep being refused), ms. */
export const BREAKER_LOG_INTERVAL_MS = 60_000;

/** A permanent AGS answer that may belong to the deployment (see {@link systemicFailureOf}). */
export interface SystemicFailure {
  /** `auth`: 401 after a re-login, or 403; `permanent`: another 4xx. */
  readonly kind: 'auth' | 'permanent';
  /** The AGS operation id that answered (`fulfillItem`). */
  readonly operation: string;
  readonly status: number;
  readonly errorCode?: number | string;
  /** AGS's `errorMessage` (it may name the permission or the item), bounded to 200 characters. */
  readonly errorMessage?: string;
}

const MAX_MESSAGE = 200;

/**
 * The permanent gRPC status codes of a sidecar's answer (the publisher's `PublishMessage`), as the
 * HTTP status each stands for in `google.rpc.Code`'s documented mapping (INVALID_ARGUMENT,
 * FAILED_PRECONDITION, OUT_OF_RANGE 400; UNAUTHENTICATED 401; PERMISSION_DENIED 403; NOT_FOUND
 * 404; ALREADY_EXISTS 409), with the code's name as the error code: a topic that does not exist
 * for every event pauses the action like an AGS item that does not exist.
 */
const GRPC_PERMANENT: Readonly<Record<number, readonly [number, string]>> = {
  3: [400, 'INVALID_ARGUMENT'],
  5: [404, 'NOT_FOUND'],
  6: [409, 'ALREADY_EXISTS'],
  7: [403, 'PERMISSION_DENIED'],
  9: [400, 'FAILED_PRECONDITION'],
  11: [400, 'OUT_OF_RANGE'],
  16: [401, 'UNAUTHENTICATED'],
};

/**
 * The systemic failure an error may be: an AGS answer with a 4xx status other than 408/429 that is
 * not retriable and whose outcome is known (`AgsError` fields, read by shape), or a sidecar's
 * permanent gRPC answer (a numeric `code`, see {@link GRPC_PERMANENT}). Undefined otherwise
 * (timeouts, 5xx, bad parameters, unknown outcomes: those are not counted).
 */
export function systemicFailureOf(error: unknown): SystemicFailure | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { operation?: unknown; status?: unknown; code?: unknown; errorCode?: unknown; errorMessage?: unknown; message?: unknown; retriable?: unknown; outcomeUnknown?: unknown };
  const grpc = typeof e.status !== 'number' && typeof e.code === 'number' ? GRPC_PERMANENT[e.code] : undefined;
  const status = grpc?.[0] ?? e.status;
  if (typeof status !== 'number' || status < 400 || status > 499 || status === 408 || status === 429) return undefined;
  if (e.retriable === true || e.outcomeUnknown === true || typeof e.operation !== 'string') return undefined;
  const errorCode = grpc?.[1] ?? e.errorCode;
  const said = grpc !== undefined ? e.message : e.errorMessage;
  // redacted before it is cut: a secret AGS echoed across the bound is not shown in part
  const message = typeof said === 'string' && said !== '' ? redactAndCut(said, MAX_MESSAGE) : undefined;
  return {
    kind: status === 401 || status === 403 ? 'auth' : 'permanent',
    operation: e.operation,
    status,
    ...(typeof errorCode === 'number' || (typeof errorCode === 'string' && errorCode !== '') ? { errorCode } : {}),
    ...(message !== undefined ? { errorMessage: message } : {}),
  };
}

/** Failures that count as "the same": every 401/403 of an action; otherwise operation, status and errorCode. */
function signatureOf(f: SystemicFailure): string {
  return f.kind === 'auth' ? 'auth' : `${f.operation} ${f.status} ${String(f.errorCode ?? '')}`;
}

/** The action a breaker guards. */
export interface BreakerTarget {
  readonly rule: string;
  /** The action's name (`grantItem`). */
  readonly action: string;
  /** The action's stable key in its rule (`grantItem#0`, or its `id:`). */
  readonly key: string;
  /** The permission the action needs (from its definition), named when an `auth` failure pauses it. */
  readonly permission?: string;
}

/** What a listener is told of a paused action. */
export interface PauseReport {
  readonly target: BreakerTarget;
  /** When it was paused (clock ms). */
  readonly since: number;
  /** What paused it (the last failure of the streak). */
  readonly cause: SystemicFailure;
  /** Distinct consecutive events that failed so. */
  readonly events: number;
  /** Events refused (answered UNAVAILABLE) since the last report; for `resumed`, since the pause. */
  readonly refused: number;
  /** The clock (ms) at the report. */
  readonly now: number;
  readonly probeIntervalMs: number;
}

/** What the breaker says: the wiring logs it and sets the gauge. Called synchronously. */
export interface BreakerListener {
  /** The action is paused now. */
  paused(report: PauseReport): void;
  /** Still paused, said once per `logIntervalMs` while events are refused. */
  stillPaused(report: PauseReport): void;
  /** A probe succeeded (or met another failure): the action runs again. */
  resumed(report: PauseReport): void;
}

export interface BreakerOptions {
  /** Clock, ms. Required (injected: the executor's clock). */
  readonly now: () => number;
  /** Distinct consecutive events answered 401/403 that pause an action; 0 never pauses on them (nor holds them). Default: {@link DEFAULT_BREAKER_AUTH_FAILURES}. */
  readonly authFailures?: number;
  /** Distinct consecutive events with the same permanent error that pause an action; 0 never. Default: {@link DEFAULT_BREAKER_PERMANENT_FAILURES}. */
  readonly permanentFailures?: number;
  /** While paused, ms between probes. Default: {@link DEFAULT_BREAKER_PROBE_INTERVAL_MS}. */
  readonly probeIntervalMs?: number;
  /** While paused, ms between two `stillPaused` reports. Default: {@link BREAKER_LOG_INTERVAL_MS}. */
  readonly logIntervalMs?: number;
  /** Told of pauses and resumptions. Default: none. */
  readonly listener?: BreakerListener;
}

/** Whether an action may run: `run` (not paused), `probe` (paused, this event is the probe), `paused` (refuse it). */
export type Admission = 'run' | 'probe' | 'paused';

/** What to do with a failure the breaker saw: `hold` it (answer UNAVAILABLE, keep the event) or let the failure policy `pass` it as usual. */
export type Verdict = 'hold' | 'pass';

interface Streak {
  readonly signature: string;
  readonly events: Set<string>;
}

interface Open {
  readonly since: number;
  readonly cause: SystemicFailure;
  readonly signature: string;
  readonly events: number;
  /** A probe may start at or after this instant. */
  probeAt: number;
  /** The probe running since this instant, if any. */
  probingSince: number | undefined;
  loggedAt: number;
  refused: number;
  refusedTotal: number;
  /** What a refused event is told (built once). */
  readonly message: string;
}

interface State {
  readonly target: BreakerTarget;
  streak: Streak | undefined;
  open: Open | undefined;
  /** Successes of the action seen so far (the state is kept once created). */
  successes: number;
  /** Events held for a 401/403 -> `successes` at their first hold. */
  readonly held: Map<string, number>;
}

/** One breaker per action of a rule: the items of a `forEach` (`grantSeasonExp#0[<item>]`) share their action's. */
function keyOf(t: Pick<BreakerTarget, 'rule' | 'key'>): string {
  const item = t.key.indexOf('[');
  return `${t.rule}\n${item < 0 ? t.key : t.key.slice(0, item)}`;
}

/** `fulfillItem answered 403 errorCode 20013 "insufficient permissions"`. */
export function describeFailure(f: SystemicFailure): string {
  return `${f.operation} answered ${f.status}${f.errorCode !== undefined ? ` errorCode ${f.errorCode}` : ''}${f.errorMessage !== undefined ? ` ${JSON.stringify(f.errorMessage)}` : ''}`;
}

/** The one line saying why an action is paused and what happens to its events (logs, the gRPC answer). */
export function describePause(r: Pick<PauseReport, 'target' | 'since' | 'cause' | 'events' | 'probeIntervalMs'>): string {
  const { target: t, cause } = r;
  const why =
    cause.kind === 'auth' && cause.operation === 'http'
      ? ' (the webhook refused the request: check the credentials the rule sends)'
      : cause.kind === 'auth'
      ? cause.status === 401
        ? ` (refused with a freshly obtained token: the IAM client lost a permission or its access${t.permission ? `; ${t.action} needs ${t.permission}` : ''})`
        : ` (the IAM client lacks a permission${t.permission ? `; ${t.action} needs ${t.permission}` : ''})`
      : ' (the same error for every event: check what the rule names, e.g. the item or the namespace)';
  return (
    `${t.action} paused (rule ${t.rule}): ${describeFailure(cause)} on ${r.events} consecutive event${r.events === 1 ? '' : 's'}${why}, since ${new Date(r.since).toISOString()}; ` +
    `events that need it are answered UNAVAILABLE until a probe succeeds (one event every ${Math.round(r.probeIntervalMs / 100) / 10} s)`
  );
}

/** The breakers of every action, in one process (see the module comment). */
export class ActionBreaker {
  readonly #now: () => number;
  readonly #authFailures: number;
  readonly #permanentFailures: number;
  readonly #probeIntervalMs: number;
  readonly #logIntervalMs: number;
  readonly #listener: BreakerListener | undefined;
  readonly #states = new Map<string, State>();

  constructor(options: BreakerOptions) {
    this.#now = options.now;
    this.#authFailures = options.authFailures ?? DEFAULT_BREAKER_AUTH_FAILURES;
    this.#permanentFailures = options.permanentFailures ?? DEFAULT_BREAKER_PERMANENT_FAILURES;
    this.#probeIntervalMs = options.probeIntervalMs ?? DEFAULT_BREAKER_PROBE_INTERVAL_MS;
    this.#logIntervalMs = options.logIntervalMs ?? BREAKER_LOG_INTERVAL_MS;
    this.#listener = options.listener;
  }

  /** Whether the action may run for this event (a `paused` answer is counted as a refused event). */
  admit(target: Pick<BreakerTarget, 'rule' | 'key'>): Admission {
    if (this.#states.size === 0) return 'run';
    const s = this.#states.get(keyOf(target));
    const open = s?.open;
    if (!s || !open) return 'run';
    const now = this.#now();
    const probeStale = open.probingSince !== undefined && now - open.probingSince >= this.#probeIntervalMs;
    if ((open.probingSince === undefined || probeStale) && now >= open.probeAt) {
      open.probingSince = now;
      return 'probe';
    }
    open.refused++;
    open.refusedTotal++;
    if (now - open.loggedAt >= this.#logIntervalMs) {
      this.#listener?.stillPaused(this.#report(s, open, open.refused, now));
      open.loggedAt = now;
      open.refused = 0;
    }
    return 'paused';
  }

  /** Why the action is paused (the text a refused event is answered with), or undefined when it runs. */
  pausedMessage(target: Pick<BreakerTarget, 'rule' | 'key'>): string | undefined {
    return this.#states.get(keyOf(target))?.open?.message;
  }

  /** The action succeeded for an event: its streak ends; paused, it resumes. */
  succeeded(target: Pick<BreakerTarget, 'rule' | 'key'>): void {
    if (this.#states.size === 0) return;
    const key = keyOf(target);
    const s = this.#states.get(key);
    if (!s) return;
    if (s.open) this.#resume(s, s.open);
    s.streak = undefined;
    s.successes++;
  }

  /**
   * The action failed for an event with an AGS answer that may be systemic. `attempts`: failed
   * deliveries of this action for this event so far, this one included (the idempotency ledger's count).
   */
  failed(target: BreakerTarget, admission: Admission, failure: SystemicFailure, eventKey: string, attempts: number): Verdict {
    const key = keyOf(target);
    let s = this.#states.get(key);
    const signature = signatureOf(failure);
    if (s?.open) {
      const open = s.open;
      if (admission === 'probe') open.probingSince = undefined;
      if (signature === open.signature) {
        if (admission !== 'probe') return 'hold';
        open.probeAt = this.#now() + this.#probeIntervalMs;
        // a 401/403 probe is held: the refusal is the deployment's. A probe meeting the same permanent error is
        // dead-lettered: were these errors each event's own (404 "user not found" for a run of deleted players),
        // holding every probe would keep such events UNAVAILABLE, and block the sidecar's batch, for ever.
        return failure.kind === 'auth' ? 'hold' : 'pass';
      }
      if (admission !== 'probe') return 'pass'; // admitted before the pause, failed for its own reason
      this.#resume(s, open); // the probe no longer meets the cause: that failure is the event's own
      s.streak = undefined;
    }
    const threshold = failure.kind === 'auth' ? this.#authFailures : this.#permanentFailures;
    if (threshold <= 0) return 'pass';
    if (!s) {
      s = { target, streak: undefined, open: undefined, successes: 0, held: new Map() };
      this.#states.set(key, s);
    }
    if (s.streak?.signature !== signature) s.streak = { signature, events: new Set() };
    s.streak.events.add(eventKey);
    if (s.streak.events.size >= threshold) {
      this.#trip(s, failure, signature, s.streak.events.size);
      return 'hold';
    }
    return failure.kind === 'auth' ? this.#holdOrPass(s, eventKey, attempts) : 'pass';
  }

  /** A 401/403 while not paused: held until the action succeeds for another event, or for {@link MAX_HELD_DELIVERIES}. */
  #holdOrPass(s: State, eventKey: string, attempts: number): Verdict {
    const first = s.held.get(eventKey);
    if (first === undefined) {
      s.held.set(eventKey, s.successes);
      if (s.held.size > MAX_HELD_EVENTS) s.held.delete(s.held.keys().next().value!);
    }
    if ((first !== undefined && s.successes > first) || attempts >= MAX_HELD_DELIVERIES) {
      s.held.delete(eventKey);
      return 'pass';
    }
    return 'hold';
  }

  /** The action ended for this event without a success or a systemic failure: a probe that decided nothing frees the next event to probe. */
  settled(target: Pick<BreakerTarget, 'rule' | 'key'>, admission: Admission): void {
    if (admission !== 'probe') return;
    const open = this.#states.get(keyOf(target))?.open;
    if (open?.probingSince === undefined) return;
    open.probingSince = undefined;
    open.probeAt = Math.min(open.probeAt, this.#now());
  }

  /** The actions paused now. */
  paused(): BreakerTarget[] {
    return [...this.#states.values()].filter((s) => s.open !== undefined).map((s) => s.target);
  }

  #trip(s: State, cause: SystemicFailure, signature: string, events: number): void {
    const now = this.#now();
    const report = { target: s.target, since: now, cause, events, probeIntervalMs: this.#probeIntervalMs };
    s.open = { since: now, cause, signature, events, probeAt: now + this.#probeIntervalMs, probingSince: undefined, loggedAt: now, refused: 0, refusedTotal: 0, message: describePause(report) };
    s.streak = undefined;
    this.#listener?.paused({ ...report, refused: 0, now });
  }

  #resume(s: State, open: Open): void {
    s.open = undefined;
    this.#listener?.resumed(this.#report(s, open, open.refusedTotal, this.#now()));
  }

  #report(s: State, open: Open, refused: number, now: number): PauseReport {
    return { target: s.target, since: open.since, cause: open.cause, events: open.events, refused, now, probeIntervalMs: this.#probeIntervalMs };
  }
}
