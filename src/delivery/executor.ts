/**
 * The executor: runs an event's planned actions with exactly one effect per
 * event and action, across redeliveries and replicas, and never drops an event
 * silently.
 *
 * For each live action, keyed `<eventKey>:<rule>:<actionKey>`:
 * 1. claim the key in the {@link DedupeStore} (`done` -> skip as duplicate;
 *    `busy`, another delivery holds it -> answer retry without running it);
 * 2. normalize the params and execute;
 * 3. success -> mark the key done; failure -> classify:
 *    - retriable (`retriable: true` on the error: AGS 429/5xx/timeouts; the
 *      per-event deadline; shutdown) -> release the claim, answer `retry`: the
 *      sidecar redelivers and actions already done are skipped;
 *    - permanent (ActionParamError, AGS 4xx, unknown action...) -> write a dead
 *      letter, mark the key `deadLettered`, answer ok (the batch moves on); or,
 *      with `onFailure: retry`, release and answer `retry`.
 * A failure stops the rest of its rule; other rules still run. Rules run one
 * after the other, in plan (file) order, actions in `do` order: simple and
 * predictable (a later action may depend on an earlier one's effect).
 *
 * The store unreachable -> nothing more runs, the event answers `retry` (fail
 * closed: never a double grant), logged once per event.
 *
 * Replays: a key marked `deadLettered` is skipped on redelivery (and stops its
 * rule), so a dead letter is written once. `extend-event-rules replay` sends
 * the event again with the gRPC metadata header `x-event-rules-replay: <rule>`:
 * for that rule only, `deadLettered` keys are claimed again, so the failed
 * action and the ones after it run; actions that succeeded stay done.
 *
 * Shadow rules and dry runs: params normalized and requests planned, logged
 * and counted (`shadow` / `planned`), never executed, no claims.
 */
import { DEFAULT_EVENT_DEADLINE_MS } from './deadline.js';
import { redactText } from '../telemetry/index.js';
import type { Logger } from 'pino';
import type { ActionContext, ActionDefinition, PlannedRequest } from '../actions/index.js';
import type { ActionRegistry } from '../actions/index.js';
import type { AgsClient } from '../ags/index.js';
import type { DecodedEvent, EventService } from '../events/index.js';
import type { PlannedAction } from '../rules/index.js';
import type { EventOutcome } from '../contract/index.js';
import type { ActionOutcome, Metrics } from '../telemetry/index.js';
import type { DeadLetterRecord, DeadLetterSink } from './dead-letters.js';
import { DeadLetterStoreFullError } from './store-dead-letters.js';
import { eventKey as computeEventKey, idempotencyKey } from './event-key.js';
import { inSpan, SpanKind, SpanStatusCode, tracingEnabled } from '../telemetry/index.js';
import { StateStoreUnavailableError, partitionId } from '../store/index.js';
import type { StateStore } from '../store/index.js';
import { ActionLedger } from './action-ledger.js';
import { ledgerPartition } from './ledger-partition.js';
import type { ClaimResult, DoneState } from './action-ledger.js';
import { decideFailure } from './failure-policy.js';
import type { FailureErrorKind } from './failure-policy.js';
import { ActionBreaker, systemicFailureOf } from './breaker.js';
import type { Admission } from './breaker.js';
import { breakerListener } from './breaker-listener.js';

/** A signal that never aborts (shared). */
const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/** Bound of the per-process memory of actions that ran while the store was down. */
const MAX_UNRECORDED = 10_000;

/** gRPC metadata header of a replay: its value names the rule whose dead-lettered actions run again. */
export const REPLAY_HEADER = 'x-event-rules-replay';

/**
 * gRPC metadata header of a replay: when the dead letter was written (ISO 8601). Where a replayed
 * action's lookup starts when its key has no mark left (expired, or never recorded): that instant
 * less the claim lease. Absent or unreadable: the lookup reads the history as far back as it goes.
 */
export const REPLAY_SINCE_HEADER = 'x-event-rules-replay-since';

/** Why an action answers retry while another delivery (a replica, a concurrent replay) holds its claim. */
export const CLAIM_BUSY_REASON = 'another delivery of this event is running this action';

export type ActionStatus = 'succeeded' | 'duplicate' | 'failed' | 'retriable' | 'deadLettered' | 'shadow' | 'planned' | 'skipped';

/** How one planned action fared. */
export interface ActionReport {
  readonly rule: string;
  readonly index: number;
  readonly action: string;
  /**
   * - `succeeded`: executed now; `duplicate`: done (or dead-lettered) by an earlier delivery, skipped;
   * - `retriable`: failed transiently, or another delivery holds it: the event is redelivered;
   * - `failed`: failed permanently with `onFailure: retry` (event redelivered), or a shadow/dry-run plan failed;
   * - `deadLettered`: failed permanently, recorded in the dead letters;
   * - `shadow` / `planned`: planned only (shadow rule / dry run);
   * - `skipped`: not attempted (an earlier action of its rule failed, deadline, store down).
   */
  readonly status: ActionStatus;
  /** Why it failed or was skipped. Never contains secrets. */
  readonly error?: string;
  /** Failed deliveries of this action so far (failures only). */
  readonly attempts?: number;
  /** For shadow and planned: the requests it would send. */
  readonly requests?: readonly PlannedRequest[];
  /** For succeeded: the action's summary. */
  readonly summary?: string;
  /** True when the action is in the dead letters: dead-lettered now (`deadLettered`) or by an earlier delivery (`duplicate`). */
  readonly deadLettered?: true;
  readonly durationMs: number;
}

export interface DeliveryReport {
  /** What the gRPC host answers. */
  readonly outcome: EventOutcome;
  /** The event's identity in idempotency keys (`id`, or `sha256:...`). */
  readonly eventKey: string;
  readonly actions: readonly ActionReport[];
}

export interface ExecutorOptions {
  /** Where action names are looked up. Required. */
  readonly registry: ActionRegistry;
  /** The state store holding the idempotency ledger (`actions` section of each player's document). Required. */
  readonly store: StateStore;
  /** Where permanent failures go. Required. */
  readonly deadLetters: DeadLetterSink;
  /** Default logger (a per-event child may be passed to `run`). Required. */
  readonly logger: Logger;
  /** Counts into `actions`, `actionSeconds`, `deadLetters`, `dedupeStoreErrors`. Default: none. */
  readonly metrics?: Metrics;
  /** The AGS client handed to actions. Absent: dry run. */
  readonly ags?: AgsClient;
  /** Plan and log, never execute. Default: true when `ags` is absent, else false. */
  readonly dryRun?: boolean;
  /** `AB_NAMESPACE`, passed to actions. Required. */
  readonly namespace: string;
  /** Time budget of one event (all its actions), ms; then `ctx.signal` aborts and the event answers retry. Default: 25000. */
  readonly eventDeadlineMs?: number;
  /** Lease of a claim, ms (a crashed holder's claim expires after it). Keep it above `eventDeadlineMs` plus the longest an AGS request sent just before it is awaited (config.ts checks DEDUPE_LEASE_MS so). Default: 60000. */
  readonly leaseMs?: number;
  /** How long done keys (and failure counters) are kept, ms. Default: 7 days. */
  readonly retentionMs?: number;
  /** Most ledger entries per partition (oldest done marks dropped past it). Default: 2000. */
  readonly maxEntriesPerPartition?: number;
  /** Clock of dead-letter timestamps, leases and retention. Default: `() => new Date()`. */
  readonly now?: () => Date;
  /** Aborted when the process shuts down: like a cancelled call, no new request is sent and the event answers retry. Default: none. */
  readonly shutdownSignal?: AbortSignal;
  /** Aborted when shutdown's grace period is over: aborts AGS requests in flight. Default: none (they complete). */
  readonly hardStopSignal?: AbortSignal;
  /**
   * Write the done mark of an action with a lookup (`reconcile`: grantItem's orderNo, creditWallet's
   * metadata) with the player's next write instead of its own (see `delivery/action-ledger.ts`, deferred
   * done marks): one state-store write fewer per such action. Call {@link Executor.flush} before
   * closing the store. Default: true when the store is Cloud Save (each write is an AGS call), else false.
   */
  readonly deferDoneMarks?: boolean;
  /**
   * Most deferred done marks waiting in this process; past it the oldest player's are forgotten unwritten
   * (their claims are settled by the action's lookup on a redelivery, as after a crash). Default: 10,000
   * (`DEFAULT_MAX_PENDING_MARKS` of `delivery/action-ledger.ts`).
   */
  readonly maxPendingDoneMarks?: number;
  /** The circuit breaker's thresholds (`breaker.ts`; `BREAKER_*` variables). Default: its defaults. */
  readonly breaker?: { readonly authFailures?: number; readonly permanentFailures?: number; readonly probeIntervalMs?: number };
}

export interface RunInput {
  /** The service the event came on (full name and event name are used). */
  readonly service: Pick<EventService, 'fullName' | 'eventName'>;
  readonly event: DecodedEvent;
  /** The wire bytes: the event key when the event has no `id`. Default: canonical JSON of `event`. */
  readonly eventBytes?: Uint8Array;
  /** The actions to run, as the rules engine planned them (file order, then `do` order). */
  readonly plan: readonly PlannedAction[];
  /** Aborted on client cancel or shutdown: in-flight actions see it, remaining ones are skipped, the event answers retry. */
  readonly signal?: AbortSignal;
  /**
   * Instead of `signal`: hands the event's own controller to the caller, which aborts it on client cancel
   * or shutdown as `signal` would be (the gRPC host's `EventCall.abortWith`): one AbortSignal per event, not two.
   */
  readonly abortWith?: (controller: AbortController) => void;
  /** Per-event logger. Default: the executor's. */
  readonly logger?: Logger;
  /** Fields on every line written for this event (event id and name, trace ids). The child logger is made only when a line is written. Default: none. */
  readonly logBindings?: Readonly<Record<string, unknown>>;
  /** The call's metadata; its `x-event-rules-replay` header marks a replay. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** The rule being replayed (overrides the metadata header). */
  readonly replayRule?: string;
  /** When the replayed dead letter was written, ms since epoch (overrides the `x-event-rules-replay-since` header). */
  readonly replaySince?: number;
}

export interface Executor {
  run(input: RunInput): Promise<DeliveryReport>;
  /** Writes the deferred done marks (shutdown, before the store closes; see {@link ExecutorOptions.deferDoneMarks}). */
  flush(): Promise<void>;
}

/** A plan names an action the registry does not have (a permanent failure). */
export class UnknownActionError extends Error {
  override readonly name = 'UnknownActionError';
  readonly retriable = false;
  constructor(readonly action: string) {
    super(`unknown action "${action}"`);
  }
}

/** The per-event deadline passed. */
export class EventDeadlineError extends Error {
  override readonly name = 'EventDeadlineError';
  readonly retriable = true;
  constructor(readonly deadlineMs: number) {
    super(`event deadline of ${deadlineMs} ms exceeded`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorInfo(error: unknown): DeadLetterRecord['error'] {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; status?: unknown; errorCode?: unknown };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: messageOf(error),
    ...(typeof e.status === 'number' ? { status: e.status } : {}),
    ...(typeof e.errorCode === 'number' || typeof e.errorCode === 'string' ? { errorCode: e.errorCode } : {}),
  };
}

/** An action whose earlier attempt has an unknown outcome and which has no way to look it up (`reconcile`). */
export class UnknownOutcomeError extends Error {
  override readonly name = 'UnknownOutcomeError';
  readonly retriable = false;
  readonly outcomeUnknown = true;
  constructor(
    readonly action: string,
    what: string,
  ) {
    super(`${what} of ${action} may have been applied (its answer was lost) and ${action} cannot be looked up: not sent again`);
  }
}

function isOutcomeUnknown(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { outcomeUnknown?: unknown }).outcomeUnknown === true;
}

function isRetriable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** The failure policy's name for an error (see {@link decideFailure}). */
export function failureErrorKind(error: unknown): FailureErrorKind {
  if (error instanceof UnknownOutcomeError) return 'unreconcilable';
  // a lookup that cannot tell (its history does not reach back far enough) will not tell on redelivery either
  if ((error as { inconclusive?: unknown } | undefined)?.inconclusive === true) return 'unreconcilable';
  if (isOutcomeUnknown(error)) return 'outcome-unknown';
  if (error instanceof StateStoreUnavailableError) return 'store-unavailable';
  return isRetriable(error) ? 'retriable' : 'permanent';
}

type Claimed = Extract<ClaimResult, { status: 'claimed' }>;

/** What one attempt did: when its request went out; where a replay's lookup started (a claim not otherwise unknown). */
interface Attempt {
  sentAt?: number;
  lookupSince?: number;
  /** The action's lookup (`reconcile`) threw: the failure is the lookup's, not the action's. */
  lookupFailed?: boolean;
  /** The action's lookup found the effect: nothing was sent. */
  found?: boolean;
}

/**
 * The earliest instant an attempt of the action may have been sent, as far as this delivery knows: an
 * earlier attempt's unknown outcome (the claim's), where a replay's lookup started, this attempt's request.
 * Undefined when none was sent. A dead letter carries it (`sentSince`): `replay` looks up from there once
 * the mark that keeps it has expired.
 */
function sentSince(claim: Claimed, attempt: Attempt, unknownSince: number | undefined): number | undefined {
  let since: number | undefined;
  for (const t of [claim.unknownSince, attempt.lookupSince, attempt.sentAt, unknownSince]) if (t !== undefined && Number.isFinite(t)) since = Math.min(since ?? t, t);
  return since;
}

/** How one action ran, and whether the rest of its rule must stop. */
interface Ran {
  readonly report: ActionReport;
  readonly stop: boolean;
}

/** One live action being run: its identity and clock. */
interface LiveAction {
  readonly p: PlannedAction;
  readonly t0: number;
  readonly base: { readonly rule: string; readonly index: number; readonly action: string };
  readonly idemKey: string;
  /** Key of {@link ExecutorState.unrecorded}. */
  readonly memoKey: string;
  /** What the action's circuit breaker said: run, probe (it is paused, this event probes). */
  readonly gate: Admission;
}

function elapsed(a: LiveAction): number {
  return round(performance.now() - a.t0);
}

/**
 * Per-event abort signal: the call cancelled, shutdown, or the deadline passed, whichever comes first.
 * Linked by hand (AbortSignal.any costs weak references and GC work on every event). The shutdown signal
 * is shared by every event: it gets one listener for the executor (see `inFlight`), never one per event,
 * or concurrent events pile listeners on it (MaxListenersExceededWarning past 10). A caller that aborts
 * the controller itself (`abortWith`, the gRPC host) costs no listener and no closure for it.
 */
class EventSignal {
  readonly aborter = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #callSignal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;
  readonly #inFlight: Set<AbortController>;

  constructor(deadlineMs: number, input: RunInput, shutdownSignal: AbortSignal | undefined, inFlight: Set<AbortController>) {
    const aborter = this.aborter;
    this.#timer = setTimeout(() => aborter.abort(new EventDeadlineError(deadlineMs)), deadlineMs);
    this.#timer.unref?.();
    this.#inFlight = inFlight;
    // the caller aborts this controller itself (no signal of its own to listen to), else its signal is listened to
    const callSignal = input.abortWith ? undefined : input.signal;
    this.#callSignal = callSignal;
    input.abortWith?.(aborter);
    if (callSignal?.aborted) aborter.abort(callSignal.reason);
    else if (callSignal) {
      const onAbort = (): void => {
        if (!aborter.signal.aborted) aborter.abort(callSignal.reason);
      };
      this.#onAbort = onAbort;
      callSignal.addEventListener('abort', onAbort, { once: true });
    }
    if (shutdownSignal?.aborted) aborter.abort(shutdownSignal.reason);
    inFlight.add(aborter);
  }

  dispose(): void {
    clearTimeout(this.#timer);
    if (this.#onAbort) this.#callSignal!.removeEventListener('abort', this.#onAbort);
    this.#inFlight.delete(this.aborter);
  }
}

/** Groups a plan by rule, keeping plan order. */
function byRule(plan: readonly PlannedAction[]): (readonly PlannedAction[])[] {
  // the usual plan: one rule's actions (no map, no copies)
  if (plan.every((p) => p.rule === plan[0]!.rule)) return [plan];
  const rules = new Map<string, PlannedAction[]>();
  for (const p of plan) {
    const list = rules.get(p.rule);
    if (list) list.push(p);
    else rules.set(p.rule, [p]);
  }
  return [...rules.values()];
}

/** `ok`, naming the actions in the dead letters (a caller answering more than Empty, the Task Scheduler's handler, reports them). */
function okOutcome(reports: readonly ActionReport[]): EventOutcome {
  // the usual event: nothing dead-lettered, no list made
  if (!reports.some(isDeadLettered)) return { kind: 'ok' };
  const deadLettered = reports.filter(isDeadLettered).map((r) => ({ rule: r.rule, action: r.action, ...(r.error !== undefined ? { error: r.error } : {}) }));
  return { kind: 'ok', deadLettered };
}

function isDeadLettered(r: ActionReport): boolean {
  return r.deadLettered === true;
}

/** Runs one action in its span (tracing on): rule, action, outcome, attempts. */
function traced(p: PlannedAction, eventId: string, eventName: string, fn: () => Promise<Ran>): Promise<Ran> {
  if (!tracingEnabled()) return fn();
  return inSpan(`action ${p.action}`, SpanKind.INTERNAL, { 'event.id': eventId, 'event.name': eventName, 'rule.name': p.rule, 'action.name': p.action, 'action.index': p.index }, async (span) => {
    const ran = await fn();
    if (span) {
      span.setAttribute('action.outcome', ran.report.status);
      if (ran.report.attempts !== undefined) span.setAttribute('action.attempts', ran.report.attempts);
      if (ran.report.status === 'failed' || ran.report.status === 'retriable' || ran.report.status === 'deadLettered') {
        span.setStatus({ code: SpanStatusCode.ERROR, ...(ran.report.error ? { message: redactText(ran.report.error) } : {}) });
      }
    }
    return ran;
  });
}

/**
 * An action's context: one object of fixed shape per action (absent members undefined), its logger
 * (a child of the event's) made on first read by a getter of the class, not of an object literal
 * with spreads and a closure per action.
 */
class RunContext implements ActionContext {
  readonly event: DecodedEvent;
  readonly eventName: string;
  readonly rule: string;
  #actionLog: Logger | undefined;

  constructor(
    input: RunInput,
    readonly namespace: string,
    private readonly p: PlannedAction,
    readonly idempotencyKey: string,
    readonly ags: AgsClient | undefined,
    readonly signal: AbortSignal,
    readonly inFlightSignal: AbortSignal | undefined,
    private readonly eventLog: () => Logger,
  ) {
    this.event = input.event;
    this.eventName = input.service.eventName;
    this.rule = p.rule;
  }

  get logger(): Logger {
    const { p } = this;
    this.#actionLog ??= this.eventLog().child({ rule: p.rule, action: p.action, index: p.index });
    return this.#actionLog;
  }
}

/** What outlives one event: the ledger, the in-flight signals, the unrecorded marks. */
interface ExecutorState {
  readonly options: ExecutorOptions;
  readonly dryRun: boolean;
  /** See {@link ExecutorOptions.deferDoneMarks}. */
  readonly deferDone: boolean;
  readonly deadlineMs: number;
  readonly now: () => Date;
  readonly ledger: ActionLedger;
  /** The signals of the events running now: aborted together when the shutdown signal aborts. */
  readonly inFlight: Set<AbortController>;
  /**
   * Keys whose action ran (or was dead-lettered) but whose mark could not be
   * written (store down at that moment). A redelivery to this process writes
   * the mark instead of running the action again; without this, the claim's
   * lease would expire and the action would run twice. Bounded, oldest dropped.
   */
  readonly unrecorded: Map<string, DoneState>;
  /** Pauses an action whose failures belong to the deployment (issue 22.5). */
  readonly breaker: ActionBreaker;
  /** Keys ({@link LiveAction.memoKey}) whose claim this process holds and is running now: a busy claim of one of them needs no lookup. */
  readonly running: Set<string>;
}

export function createExecutor(options: ExecutorOptions): Executor {
  const now = options.now ?? (() => new Date());
  const state: ExecutorState = {
    options,
    dryRun: options.dryRun ?? options.ags === undefined,
    deferDone: options.deferDoneMarks ?? options.store.kind === 'cloudsave',
    deadlineMs: options.eventDeadlineMs ?? DEFAULT_EVENT_DEADLINE_MS,
    now,
    ledger: new ActionLedger({
      store: options.store,
      now: () => now().getTime(),
      ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
      ...(options.retentionMs !== undefined ? { retentionMs: options.retentionMs } : {}),
      ...(options.maxEntriesPerPartition !== undefined ? { maxEntries: options.maxEntriesPerPartition } : {}),
      ...(options.maxPendingDoneMarks !== undefined ? { maxPendingMarks: options.maxPendingDoneMarks } : {}),
    }),
    inFlight: new Set<AbortController>(),
    unrecorded: new Map<string, DoneState>(),
    breaker: new ActionBreaker({ ...options.breaker, now: () => now().getTime(), listener: breakerListener(options.logger, options.metrics) }),
    running: new Set<string>(),
  };
  const { shutdownSignal } = options;
  shutdownSignal?.addEventListener(
    'abort',
    () => {
      for (const a of state.inFlight) if (!a.signal.aborted) a.abort(shutdownSignal.reason);
    },
    { once: true },
  );
  return { run: (input) => new EventRun(state, input).run(), flush: () => state.ledger.flush() };
}

/** One event's delivery: runs its plan rule by rule and answers the sidecar. */
class EventRun {
  readonly #s: ExecutorState;
  readonly #o: ExecutorOptions;
  readonly #input: RunInput;
  readonly #key: string;
  readonly #replayRule: string | undefined;
  /** A replay: where the lookup of a replayed action without a dead-lettered mark starts (ms since epoch). */
  readonly #replaySince: number;
  readonly #eventId: string;
  readonly #partition: ReturnType<typeof ledgerPartition>;
  readonly #reports: ActionReport[] = [];
  readonly #retryReasons: string[] = [];
  #storeError: StateStoreUnavailableError | undefined;
  #eventLog: Logger | undefined;
  /** The event's signal, set by `run` (until then one that never aborts, shared: no AbortController per event for it). */
  #signal: AbortSignal = NEVER_ABORTED;

  constructor(state: ExecutorState, input: RunInput) {
    this.#s = state;
    this.#o = state.options;
    this.#input = input;
    this.#key = computeEventKey(input.event, input.eventBytes);
    const header = input.metadata?.[REPLAY_HEADER];
    this.#replayRule = input.replayRule ?? (typeof header === 'string' && header !== '' ? header : undefined);
    const since = input.metadata?.[REPLAY_SINCE_HEADER];
    const written = input.replaySince ?? (typeof since === 'string' ? Date.parse(since) : Number.NaN);
    // the dead-lettered attempt was claimed at most a lease before its dead letter was written
    this.#replaySince = Number.isFinite(written) ? Math.max(0, written - state.ledger.leaseMs) : 0;
    this.#eventId = typeof input.event.id === 'string' ? input.event.id : '';
    this.#partition = ledgerPartition(input.event, this.#o.namespace, this.#key);
  }

  async run(): Promise<DeliveryReport> {
    const linked = new EventSignal(this.#s.deadlineMs, this.#input, this.#o.shutdownSignal, this.#s.inFlight);
    this.#signal = linked.aborter.signal;
    try {
      for (const actions of byRule(this.#input.plan)) await this.#runRule(actions);
    } finally {
      linked.dispose();
    }
    let outcome: EventOutcome;
    if (this.#storeError) outcome = { kind: 'retry', message: `idempotency store unavailable: ${this.#storeError.reason}` };
    else if (this.#retryReasons.length > 0) outcome = { kind: 'retry', message: this.#retryReasons.join('; ') };
    else outcome = okOutcome(this.#reports);
    return { outcome, eventKey: this.#key, actions: this.#reports };
  }

  #log(): Logger {
    const baseLog = this.#input.logger ?? this.#o.logger;
    return (this.#eventLog ??= this.#input.logBindings ? baseLog.child(this.#input.logBindings) : baseLog);
  }

  #count(p: PlannedAction, outcome: ActionOutcome): void {
    this.#o.metrics?.countAction(p.rule, p.action, outcome);
  }

  #remember(key: string, done: DoneState): void {
    const { unrecorded } = this.#s;
    unrecorded.set(key, done);
    if (unrecorded.size > MAX_UNRECORDED) unrecorded.delete(unrecorded.keys().next().value!);
  }

  #storeFailed(error: unknown): void {
    if (this.#storeError) return;
    const { store } = this.#o;
    this.#storeError = error instanceof StateStoreUnavailableError ? error : new StateStoreUnavailableError(store.kind, 'unknown', messageOf(error));
    this.#o.metrics?.dedupeStoreErrors.inc({ store: store.kind });
    this.#log().error({ store: store.kind, operation: this.#storeError.operation, reason: this.#storeError.reason }, `idempotency store unavailable: event not processed, answering retry (${this.#storeError.reason})`);
  }

  async #runRule(actions: readonly PlannedAction[]): Promise<void> {
    let stopped: string | undefined;
    /** The `do` entry whose action stopped the rule: the other items of its forEach still run (each player's grant is independent). */
    let stoppedIndex: number | undefined;
    for (const p of actions) {
      if (p.mode === 'shadow' || this.#s.dryRun) {
        const status = p.mode === 'shadow' ? 'shadow' : 'planned';
        this.#reports.push((await this.#traced(p, () => Promise.resolve({ report: this.#planOnly(p, status), stop: false }))).report);
      } else if (this.#storeError) this.#skip(p, 'idempotency store unavailable');
      else if (stopped !== undefined && !(p.item !== undefined && p.index === stoppedIndex)) this.#skip(p, stopped);
      else if (this.#signal.aborted) {
        const reason = messageOf(this.#signal.reason);
        this.#skip(p, reason);
        if (!this.#retryReasons.includes(reason)) this.#retryReasons.push(reason);
      } else {
        // tracing off (the usual case): no closure per action for the span
        const { report, stop } = tracingEnabled() ? await this.#traced(p, () => this.#runLive(p)) : await this.#runLive(p);
        this.#reports.push(report);
        if (stop && stopped === undefined) {
          stopped = `an earlier action of rule ${p.rule} (${p.action} #${p.index}) did not complete`;
          stoppedIndex = p.index;
        }
      }
    }
  }

  /** Reports `p` as not attempted. */
  #skip(p: PlannedAction, error: string): void {
    this.#reports.push({ rule: p.rule, index: p.index, action: p.action, status: 'skipped', error, durationMs: 0 });
  }

  #traced(p: PlannedAction, fn: () => Promise<Ran>): Promise<Ran> {
    return traced(p, this.#eventId, this.#input.service.eventName, fn);
  }

  #context(p: PlannedAction, idemKey: string): ActionContext {
    const o = this.#o;
    return new RunContext(this.#input, o.namespace, p, idemKey, o.ags && !this.#s.dryRun ? o.ags : undefined, this.#signal, o.hardStopSignal, () => this.#log());
  }

  /** Shadow rule or dry run: plan only. */
  #planOnly(p: PlannedAction, status: 'shadow' | 'planned'): ActionReport {
    const t0 = performance.now();
    const ctx = this.#context(p, idempotencyKey(this.#key, p.rule, p.key));
    const what = status === 'shadow' ? 'shadow' : 'dry run';
    try {
      if (p.failure) throw p.failure;
      const def = this.#o.registry.get(p.action);
      if (!def) throw new UnknownActionError(p.action);
      const requests = def.plan(def.normalize(p.params, ctx), ctx);
      this.#count(p, status);
      const sends = requests.map((r) => `${r.method} ${r.path}`).join(', ') || 'no request';
      this.#log().info({ rule: p.rule, action: p.action, index: p.index, requests }, `${what}: ${p.rule}/${p.action} would send ${sends}`);
      return { rule: p.rule, index: p.index, action: p.action, status, requests, durationMs: round(performance.now() - t0) };
    } catch (error) {
      this.#count(p, 'failed');
      this.#log().warn({ rule: p.rule, action: p.action, index: p.index, error: messageOf(error) }, `${what}: ${p.rule}/${p.action} cannot be planned: ${messageOf(error)}`);
      return { rule: p.rule, index: p.index, action: p.action, status: 'failed', error: messageOf(error), durationMs: round(performance.now() - t0) };
    }
  }

  /** One live action, unless its circuit breaker paused it (then answered retry without running). */
  async #runLive(p: PlannedAction): Promise<Ran> {
    const gate = this.#s.breaker.admit(p);
    if (gate === 'paused') return this.#paused(p);
    try {
      return await this.#runAdmitted(p, gate);
    } finally {
      this.#s.breaker.settled(p, gate);
    }
  }

  #paused(p: PlannedAction): Ran {
    this.#count(p, 'paused');
    const error = this.#s.breaker.pausedMessage(p) ?? `${p.action} paused`;
    this.#retryReasons.push(`${p.rule}/${p.action}: ${error}`);
    return { report: { rule: p.rule, index: p.index, action: p.action, status: 'retriable', error, durationMs: 0 }, stop: true };
  }

  /** Claim, attempt, then record its success or apply the failure policy. */
  async #runAdmitted(p: PlannedAction, gate: Admission): Promise<Ran> {
    const idemKey = idempotencyKey(this.#key, p.rule, p.key);
    const a: LiveAction = { p, t0: performance.now(), base: { rule: p.rule, index: p.index, action: p.action }, idemKey, memoKey: `${partitionId(this.#partition)} ${idemKey}`, gate };
    // the usual case, nothing left unrecorded: no await for it
    const settled = this.#s.unrecorded.size > 0 ? await this.#settleUnrecorded(a) : undefined;
    if (settled) return settled;
    const claimed = await this.#claim(a);
    if ('report' in claimed) return claimed;
    const attempt: Attempt = {};
    let summary: string | undefined;
    this.#s.running.add(a.memoKey);
    try {
      try {
        summary = await this.#attempt(a, claimed, attempt);
      } catch (caught) {
        return await this.#failed(a, claimed, caught, attempt);
      }
      return await this.#succeeded(a, summary, attempt.found === true ? claimed.token : undefined);
    } finally {
      this.#s.running.delete(a.memoKey);
    }
  }

  /** A mark this process could not write earlier: write it now instead of running the action again. */
  async #settleUnrecorded(a: LiveAction): Promise<Ran | undefined> {
    const { p } = a;
    const done = this.#s.unrecorded.get(a.memoKey);
    if (done === undefined) return undefined;
    try {
      await this.#s.ledger.complete(this.#partition, a.idemKey, done);
      this.#s.unrecorded.delete(a.memoKey);
    } catch (error) {
      this.#storeFailed(error);
      return { report: { ...a.base, status: 'skipped', error: 'idempotency store unavailable', durationMs: elapsed(a) }, stop: true };
    }
    this.#log().info({ rule: p.rule, action: p.action, index: p.index, state: done }, `${p.rule}/${p.action} had run before the idempotency store went away: recorded now, not run again`);
    if (this.#replayRule === p.rule && done !== 'succeeded') return undefined;
    return this.#duplicate(a, done);
  }

  #duplicate(a: LiveAction, done: DoneState): Ran {
    this.#count(a.p, 'duplicate');
    const error = done === 'deadLettered' ? 'dead-lettered by an earlier delivery (replay it to run again)' : undefined;
    return { report: { ...a.base, status: 'duplicate', ...(error ? { error, deadLettered: true as const } : {}), durationMs: elapsed(a) }, stop: done === 'deadLettered' };
  }

  /** Claims the action's key: ours, done (duplicate) or busy (another delivery runs it: retry). */
  async #claim(a: LiveAction): Promise<Claimed | Ran> {
    const { p } = a;
    let claim: ClaimResult;
    try {
      const replay = this.#replayRule === p.rule;
      const hasLookup = this.#o.registry.get(p.action)?.reconcile !== undefined;
      claim = await this.#s.ledger.claim(this.#partition, a.idemKey, { reclaimDeadLettered: replay, reconcileDeadLettered: replay && hasLookup, signal: this.#signal });
    } catch (error) {
      this.#storeFailed(error);
      return { report: { ...a.base, status: 'skipped', error: 'idempotency store unavailable', durationMs: elapsed(a) }, stop: true };
    }
    if (claim.status === 'done') return this.#duplicate(a, claim.state);
    if (claim.status === 'busy') {
      if (await this.#appliedMeanwhile(a)) return this.#duplicate(a, 'succeeded');
      this.#count(p, 'retriable');
      const error = CLAIM_BUSY_REASON;
      this.#retryReasons.push(`${p.rule}/${p.action}: ${error}`);
      return { report: { ...a.base, status: 'retriable', error, durationMs: elapsed(a) }, stop: true };
    }
    return claim;
  }

  /**
   * Another delivery holds the key's claim: whether the action's lookup finds its effect (the holder
   * answered but its done mark is deferred, or it died after sending). Found: marked done now. Not
   * found, no lookup, or a lookup that cannot tell: false (the holder may still be sending; retry).
   */
  async #appliedMeanwhile(a: LiveAction): Promise<boolean> {
    const { p } = a;
    const def = this.#o.registry.get(p.action);
    // this process's own delivery holds it (a client retry while it runs): it will answer; no lookup
    if (!def?.reconcile || p.failure || this.#s.dryRun || this.#s.running.has(a.memoKey)) return false;
    try {
      const ctx = this.#context(p, a.idemKey);
      // a live claim was taken less than a lease ago; an earlier attempt of it left an unknown-outcome marker for its holder
      if (!(await def.reconcile(def.normalize(p.params, ctx), ctx, this.#s.now().getTime() - this.#s.ledger.leaseMs))) return false;
    } catch {
      return false;
    }
    try {
      // another delivery's claim taken below the horizon is left to its holder (see `complete`'s `found`)
      await this.#s.ledger.complete(this.#partition, a.idemKey, 'succeeded', { found: {} });
    } catch (error) {
      this.#storeFailed(error);
    }
    this.#log().info({ rule: p.rule, action: p.action, index: p.index }, `${p.rule}/${p.action}: applied by an earlier attempt whose answer was lost or is not recorded yet (found by its lookup while that attempt's claim is held): not sent again`);
    return true;
  }

  /**
   * Normalizes, reconciles an earlier unknown outcome, executes. Returns the summary; sets `attempt.sentAt`
   * when the request goes out, `attempt.lookupSince` when a replay looks up an action its claim does not call unknown.
   */
  async #attempt(a: LiveAction, claim: Claimed, attempt: Attempt): Promise<string | undefined> {
    const { p } = a;
    if (p.failure) throw p.failure; // params that did not resolve: permanent
    const def: ActionDefinition | undefined = this.#o.registry.get(p.action);
    if (!def) throw new UnknownActionError(p.action);
    const ctx = this.#context(p, a.idemKey);
    const params = def.normalize(p.params, ctx);
    this.#signal.throwIfAborted();
    // A replay looks up every action of its rule that has a lookup before sending, whatever its dead
    // letter says (an answer read as a failure may have been applied; its mark may be gone).
    const replay = this.#replayRule === p.rule;
    if (claim.unknownSince === undefined && replay && def.reconcile) attempt.lookupSince = this.#replaySince;
    const since = claim.unknownSince ?? attempt.lookupSince;
    if (since !== undefined) {
      // An earlier attempt was sent and its answer lost (or a replay): find out before sending again.
      if (!def.reconcile) throw new UnknownOutcomeError(p.action, 'an earlier attempt');
      if (await this.#lookUp(def, params, ctx, since, attempt)) {
        attempt.found = true;
        const summary = replay
          ? 'applied by an earlier attempt (replay: found by its lookup, not sent again)'
          : 'applied by an earlier attempt whose answer was lost (reconciled, not sent again)';
        this.#log().info({ rule: p.rule, action: p.action, index: p.index }, `${p.rule}/${p.action}: ${summary}`);
        return summary;
      }
    }
    attempt.sentAt = this.#s.now().getTime();
    return (await def.execute(params, ctx)).summary;
  }

  /** The action's lookup; when it throws, `attempt.lookupFailed` says so (its refusal is no failure of the action itself). */
  async #lookUp(def: ActionDefinition, params: Record<string, unknown>, ctx: ActionContext, since: number, attempt: Attempt): Promise<boolean> {
    try {
      return await def.reconcile!(params, ctx, since);
    } catch (error) {
      attempt.lookupFailed = true;
      throw error;
    }
  }

  async #release(a: LiveAction, token: string, unknownSince?: number): Promise<void> {
    try {
      await this.#s.ledger.release(this.#partition, a.idemKey, token, unknownSince);
    } catch (error) {
      this.#storeFailed(error); // the lease expires on its own
    }
  }

  async #countFailure(a: LiveAction): Promise<number | undefined> {
    try {
      return await this.#s.ledger.countFailure(this.#partition, a.idemKey);
    } catch (error) {
      this.#storeFailed(error);
      return undefined;
    }
  }

  /** Applies {@link decideFailure} to a failed attempt. */
  async #failed(a: LiveAction, claim: Claimed, caught: unknown, attempt: Attempt): Promise<Ran> {
    const { p } = a;
    const { sentAt } = attempt;
    // a replay's lookup counts as an unknown outcome since then: what it could not settle stays unknown
    const since = claim.unknownSince ?? attempt.lookupSince;
    const signal = this.#signal;
    this.#o.metrics?.observeAction(p.rule, p.action, (performance.now() - a.t0) / 1000);
    const error = signal.aborted && !isRetriable(caught) && !(caught instanceof StateStoreUnavailableError) ? (signal.reason instanceof Error ? signal.reason : caught) : caught;
    const message = messageOf(error);
    const attempts = await this.#countFailure(a);
    const ledgerDown = this.#storeError !== undefined;
    const kind = failureErrorKind(error);
    // a refused lookup says nothing of the action itself (its writes may work): it never pauses the action
    const systemic = kind === 'permanent' && !signal.aborted && attempts !== undefined && attempt.lookupFailed !== true ? systemicFailureOf(error) : undefined;
    const def = this.#o.registry.get(p.action);
    const target = { rule: p.rule, action: p.action, key: p.key, ...(def?.permission !== undefined ? { permission: def.permission } : {}) };
    const decision = decideFailure({
      error: kind,
      claim: since === undefined ? 'fresh' : sentAt === undefined ? 'unknown-not-sent' : 'unknown-sent',
      aborted: signal.aborted,
      onFailure: p.onFailure,
      hasLookup: def?.reconcile !== undefined,
      ledgerDown,
      held: systemic !== undefined && this.#s.breaker.failed(target, a.gate, systemic, this.#key, attempts!) === 'hold',
    });
    const unknownSince = decision.unknown ? (sentAt ?? since ?? this.#s.now().getTime() - this.#s.ledger.leaseMs) : since;
    const withAttempts = attempts !== undefined ? { attempts } : {};
    const fields = { rule: p.rule, action: p.action, index: p.index, error: errorInfo(error), attempts };
    if (decision.action === 'dead-letter') return this.#deadLetter(a, claim, error, attempts, decision.unknown ? unknownSince : undefined, attempt.lookupFailed === true, sentSince(claim, attempt, unknownSince));
    await this.#release(a, claim.token, unknownSince);
    if (ledgerDown) {
      this.#count(p, 'retriable');
      return { report: { ...a.base, status: 'retriable', error: `${message} (idempotency store unavailable)`, durationMs: elapsed(a) }, stop: true };
    }
    this.#retryReasons.push(`${p.rule}/${p.action}: ${(decision.action === 'pause' ? this.#s.breaker.pausedMessage(p) : undefined) ?? message}`);
    if (decision.action === 'retry-on-failure') {
      this.#count(p, 'failed');
      this.#log().error(fields, `${p.rule}/${p.action} failed (onFailure: retry), the event will be redelivered: ${message}`);
      return { report: { ...a.base, status: 'failed', error: message, ...withAttempts, durationMs: elapsed(a) }, stop: true };
    }
    this.#count(p, 'retriable');
    if (decision.action === 'pause') return this.#held(a, message, attempts);
    if (decision.action === 'reconcile') {
      this.#log().warn(fields, `${p.rule}/${p.action}: outcome unknown, the event will be redelivered and the action reconciled before any new attempt: ${message}`);
    } else {
      this.#log().warn(fields, `${p.rule}/${p.action} failed (retriable), the event will be redelivered: ${message}`);
    }
    return { report: { ...a.base, status: 'retriable', error: message, ...withAttempts, durationMs: elapsed(a) }, stop: true };
  }

  /** A permanent failure the circuit breaker holds: the event is redelivered, nothing dead-lettered (one line per event only before the action pauses). */
  #held(a: LiveAction, message: string, attempts: number | undefined): Ran {
    const { p } = a;
    const paused = this.#s.breaker.pausedMessage(p);
    const fields = { rule: p.rule, action: p.action, index: p.index, attempts };
    if (paused === undefined) this.#log().warn(fields, `${p.rule}/${p.action} held, the event will be redelivered (a refusal that may belong to the deployment; more like it pause ${p.action}): ${message}`);
    else this.#log().debug(fields, `${p.rule}/${p.action}: ${paused}`);
    return { report: { ...a.base, status: 'retriable', error: paused ?? message, ...(attempts !== undefined ? { attempts } : {}), durationMs: elapsed(a) }, stop: true };
  }

  /**
   * Writes the dead letter and marks the key dead-lettered; the dead letter not written -> retry.
   * `unknownSince`: the outcome is unknown since then (an `unknown-outcome` dead letter); kept on the
   * claim when the dead letter cannot be written, so the redelivery looks it up or dead-letters it, never sends it blindly.
   */
  async #deadLetter(a: LiveAction, claim: Claimed, error: unknown, attempts: number | undefined, unknownSince: number | undefined, lookupFailed = false, sent?: number): Promise<Ran> {
    const { p } = a;
    const unknown = unknownSince !== undefined;
    const message = messageOf(error);
    const input = this.#input;
    const at = this.#s.now();
    // kept only when a replay would not look back that far anyway (the dead letter's time less the lease)
    const sentLong = sent !== undefined && sent < at.getTime() - this.#s.ledger.leaseMs;
    const record: DeadLetterRecord = {
      version: 1,
      timestamp: at.toISOString(),
      eventName: input.service.eventName,
      service: input.service.fullName,
      eventId: this.#eventId,
      idempotencyKey: a.idemKey,
      rule: p.rule,
      index: p.index,
      action: p.action,
      error: errorInfo(error),
      attempts: attempts ?? 1,
      ...(unknown ? { kind: 'unknown-outcome' as const } : {}),
      ...(sentLong ? { sentSince: new Date(sent).toISOString() } : {}),
      event: input.event,
    };
    try {
      await this.#o.deadLetters.write(record);
    } catch (writeError) {
      await this.#release(a, claim.token, unknownSince);
      this.#count(p, 'retriable');
      this.#retryReasons.push(`${p.rule}/${p.action}: dead letter not written: ${messageOf(writeError)}`);
      this.#o.metrics?.deadLettersRefused.inc({ rule: p.rule, action: p.action, reason: writeError instanceof DeadLetterStoreFullError ? 'full' : 'write-failed' });
      this.#log().error({ rule: p.rule, action: p.action, index: p.index, error: errorInfo(error), writeError: messageOf(writeError) }, `${p.rule}/${p.action} failed permanently and its dead letter could not be written: the event will be redelivered`);
      return { report: { ...a.base, status: 'retriable', error: message, ...(attempts !== undefined ? { attempts } : {}), durationMs: elapsed(a) }, stop: true };
    }
    try {
      await this.#s.ledger.complete(this.#partition, a.idemKey, 'deadLettered');
    } catch (completeError) {
      this.#remember(a.memoKey, 'deadLettered');
      this.#storeFailed(completeError);
    }
    this.#count(p, 'deadLettered');
    this.#o.metrics?.deadLetters.inc({ rule: p.rule, action: p.action });
    this.#log().error(
      { rule: p.rule, action: p.action, index: p.index, error: record.error, attempts: record.attempts, ...(unknown ? { kind: 'unknown-outcome' } : {}) },
      unknown ? this.#unknownLine(p, message, lookupFailed) : `${p.rule}/${p.action} failed permanently, dead-lettered: ${message}`,
    );
    return { report: { ...a.base, status: 'deadLettered', error: message, attempts: record.attempts, deadLettered: true, durationMs: elapsed(a) }, stop: true };
  }

  /** The line of an `unknown-outcome` dead letter: the lookup refused (naming its permission), or none to look up with. */
  #unknownLine(p: PlannedAction, message: string, lookupFailed: boolean): string {
    if (!lookupFailed) return `${p.rule}/${p.action}: outcome unknown and ${p.action} cannot be looked up: not sent again (at most once), dead-lettered as unknown-outcome: ${message}`;
    const needs = this.#o.registry.get(p.action)?.lookupPermission;
    return (
      `${p.rule}/${p.action}: outcome unknown and its lookup failed: not sent again (at most once), dead-lettered as unknown-outcome; ` +
      `\`replay\` looks it up once the lookup works${needs !== undefined ? ` (the IAM client needs ${needs})` : ''}: ${message}`
    );
  }

  /** Records a success; `foundBy`: the claim's token when the action's lookup found the effect (nothing sent: see the ledger's `found`). */
  async #succeeded(a: LiveAction, summary: string | undefined, foundBy?: string): Promise<Ran> {
    const { p } = a;
    this.#o.metrics?.observeAction(p.rule, p.action, (performance.now() - a.t0) / 1000);
    this.#count(p, 'succeeded');
    this.#s.breaker.succeeded(p);
    try {
      const defer = this.#s.deferDone && this.#o.registry.get(p.action)?.reconcile !== undefined;
      await this.#s.ledger.complete(this.#partition, a.idemKey, 'succeeded', foundBy !== undefined ? { defer, found: { token: foundBy } } : { defer });
    } catch (error) {
      // Executed but not recorded: the claim's lease keeps other replicas off it until it
      // expires; a redelivery to this process records it (see `unrecorded`).
      this.#remember(a.memoKey, 'succeeded');
      this.#storeFailed(error);
    }
    const durationMs = elapsed(a);
    const report: ActionReport =
      summary !== undefined ? { rule: p.rule, index: p.index, action: p.action, status: 'succeeded', summary, durationMs } : { rule: p.rule, index: p.index, action: p.action, status: 'succeeded', durationMs };
    return { report, stop: false };
  }
}
