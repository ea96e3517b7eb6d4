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
import { eventKey as computeEventKey, idempotencyKey } from './event-key.js';
import { inSpan, SpanKind, SpanStatusCode, tracingEnabled } from '../telemetry/index.js';
import { StateStoreUnavailableError, partitionId } from '../store/index.js';
import type { StateStore } from '../store/index.js';
import { ActionLedger } from './action-ledger.js';
import { ledgerPartition } from './ledger-partition.js';
import type { DoneState } from './action-ledger.js';

/** Bound of the per-process memory of actions that ran while the store was down. */
const MAX_UNRECORDED = 10_000;

/** gRPC metadata header of a replay: its value names the rule whose dead-lettered actions run again. */
export const REPLAY_HEADER = 'x-event-rules-replay';

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
  /** Lease of a claim, ms (a crashed holder's claim expires after it). Keep it above `eventDeadlineMs`. Default: 60000. */
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
  /** Per-event logger. Default: the executor's. */
  readonly logger?: Logger;
  /** Fields on every line written for this event (event id and name, trace ids). The child logger is made only when a line is written. Default: none. */
  readonly logBindings?: Readonly<Record<string, unknown>>;
  /** The call's metadata; its `x-event-rules-replay` header marks a replay. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** The rule being replayed (overrides the metadata header). */
  readonly replayRule?: string;
}

export interface Executor {
  run(input: RunInput): Promise<DeliveryReport>;
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

export function createExecutor(options: ExecutorOptions): Executor {
  const { registry, store, deadLetters, metrics } = options;
  const dryRun = options.dryRun ?? options.ags === undefined;
  const deadlineMs = options.eventDeadlineMs ?? 25_000;
  const now = options.now ?? (() => new Date());
  const ledger = new ActionLedger({
    store,
    now: () => now().getTime(),
    ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
    ...(options.retentionMs !== undefined ? { retentionMs: options.retentionMs } : {}),
    ...(options.maxEntriesPerPartition !== undefined ? { maxEntries: options.maxEntriesPerPartition } : {}),
  });
  /** The signals of the events running now: aborted together when the shutdown signal aborts. */
  const inFlight = new Set<AbortController>();
  const { shutdownSignal } = options;
  shutdownSignal?.addEventListener(
    'abort',
    () => {
      for (const a of inFlight) if (!a.signal.aborted) a.abort(shutdownSignal.reason);
    },
    { once: true },
  );
  /**
   * Keys whose action ran (or was dead-lettered) but whose mark could not be
   * written (store down at that moment). A redelivery to this process writes
   * the mark instead of running the action again; without this, the claim's
   * lease would expire and the action would run twice. Bounded, oldest dropped.
   */
  const unrecorded = new Map<string, DoneState>();
  const remember = (key: string, state: DoneState): void => {
    unrecorded.set(key, state);
    if (unrecorded.size > MAX_UNRECORDED) unrecorded.delete(unrecorded.keys().next().value!);
  };

  function count(p: PlannedAction, outcome: ActionOutcome): void {
    metrics?.actions.inc({ rule: p.rule, action: p.action, outcome });
  }

  async function run(input: RunInput): Promise<DeliveryReport> {
    const baseLog = input.logger ?? options.logger;
    let eventLog: Logger | undefined;
    const log = (): Logger => (eventLog ??= input.logBindings ? baseLog.child(input.logBindings) : baseLog);
    const key = computeEventKey(input.event, input.eventBytes);
    const header = input.metadata?.[REPLAY_HEADER];
    const replayRule = input.replayRule ?? (typeof header === 'string' && header !== '' ? header : undefined);
    const eventId = typeof input.event.id === 'string' ? input.event.id : '';

    // One signal per event: the call cancelled, shutdown, or the deadline passed, whichever comes first.
    // (Linked by hand: AbortSignal.any costs weak references and GC work on every event.) The shutdown
    // signal is shared by every event: it gets one listener for the executor (see `inFlight`), never one
    // per event, or concurrent events pile listeners on it (MaxListenersExceededWarning past 10).
    const aborter = new AbortController();
    const signal = aborter.signal;
    const timer = setTimeout(() => aborter.abort(new EventDeadlineError(deadlineMs)), deadlineMs);
    timer.unref?.();
    const callSignal = input.signal;
    const onAbort = function (this: AbortSignal): void {
      if (!signal.aborted) aborter.abort(this.reason);
    };
    if (callSignal?.aborted) aborter.abort(callSignal.reason);
    else callSignal?.addEventListener('abort', onAbort, { once: true });
    if (shutdownSignal?.aborted) aborter.abort(shutdownSignal.reason);
    inFlight.add(aborter);

    const reports: ActionReport[] = [];
    const retryReasons: string[] = [];
    let storeError: StateStoreUnavailableError | undefined;
    const partition = ledgerPartition(input.event, options.namespace, key);

    const storeFailed = (error: unknown): void => {
      if (storeError) return;
      storeError = error instanceof StateStoreUnavailableError ? error : new StateStoreUnavailableError(store.kind, 'unknown', messageOf(error));
      metrics?.dedupeStoreErrors.inc({ store: store.kind });
      log().error({ store: store.kind, operation: storeError.operation, reason: storeError.reason }, `idempotency store unavailable: event not processed, answering retry (${storeError.reason})`);
    };

    const context = (p: PlannedAction, idemKey: string): ActionContext => {
      let actionLog: Logger | undefined;
      return {
        event: input.event,
        eventName: input.service.eventName,
        namespace: options.namespace,
        rule: p.rule,
        idempotencyKey: idemKey,
        ...(options.ags && !dryRun ? { ags: options.ags } : {}),
        signal,
        ...(options.hardStopSignal ? { inFlightSignal: options.hardStopSignal } : {}),
        get logger(): Logger {
          actionLog ??= log().child({ rule: p.rule, action: p.action, index: p.index });
          return actionLog;
        },
      };
    };

    /** Shadow rule or dry run: plan only. */
    const planOnly = (p: PlannedAction, status: 'shadow' | 'planned'): ActionReport => {
      const t0 = performance.now();
      const ctx = context(p, idempotencyKey(key, p.rule, p.key));
      try {
        if (p.failure) throw p.failure;
        const def = registry.get(p.action);
        if (!def) throw new UnknownActionError(p.action);
        const requests = def.plan(def.normalize(p.params, ctx), ctx);
        count(p, status);
        const what = requests.map((r) => `${r.method} ${r.path}`).join(', ') || 'no request';
        log().info({ rule: p.rule, action: p.action, index: p.index, requests }, `${status === 'shadow' ? 'shadow' : 'dry run'}: ${p.rule}/${p.action} would send ${what}`);
        return { rule: p.rule, index: p.index, action: p.action, status, requests, durationMs: round(performance.now() - t0) };
      } catch (error) {
        count(p, 'failed');
        log().warn({ rule: p.rule, action: p.action, index: p.index, error: messageOf(error) }, `${status === 'shadow' ? 'shadow' : 'dry run'}: ${p.rule}/${p.action} cannot be planned: ${messageOf(error)}`);
        return { rule: p.rule, index: p.index, action: p.action, status: 'failed', error: messageOf(error), durationMs: round(performance.now() - t0) };
      }
    };

    /** One live action. Returns its report and whether the rule must stop. */
    const runLive = async (p: PlannedAction): Promise<{ report: ActionReport; stop: boolean }> => {
      const t0 = performance.now();
      const base = { rule: p.rule, index: p.index, action: p.action };
      const elapsed = (): number => round(performance.now() - t0);
      const idemKey = idempotencyKey(key, p.rule, p.key);
      const memoKey = `${partitionId(partition)} ${idemKey}`;

      const unrecordedState = unrecorded.get(memoKey);
      if (unrecordedState !== undefined) {
        try {
          await ledger.complete(partition, idemKey, unrecordedState);
          unrecorded.delete(memoKey);
        } catch (error) {
          storeFailed(error);
          return { report: { ...base, status: 'skipped', error: 'idempotency store unavailable', durationMs: elapsed() }, stop: true };
        }
        log().info({ rule: p.rule, action: p.action, index: p.index, state: unrecordedState }, `${p.rule}/${p.action} had run before the idempotency store went away: recorded now, not run again`);
        if (replayRule !== p.rule || unrecordedState === 'succeeded') {
          count(p, 'duplicate');
          const error = unrecordedState === 'deadLettered' ? 'dead-lettered by an earlier delivery (replay it to run again)' : undefined;
          return { report: { ...base, status: 'duplicate', ...(error ? { error } : {}), durationMs: elapsed() }, stop: unrecordedState === 'deadLettered' };
        }
      }

      let claim;
      try {
        claim = await ledger.claim(partition, idemKey, { reclaimDeadLettered: replayRule === p.rule, signal });
      } catch (error) {
        storeFailed(error);
        return { report: { ...base, status: 'skipped', error: 'idempotency store unavailable', durationMs: elapsed() }, stop: true };
      }
      if (claim.status === 'done') {
        count(p, 'duplicate');
        const error = claim.state === 'deadLettered' ? 'dead-lettered by an earlier delivery (replay it to run again)' : undefined;
        return { report: { ...base, status: 'duplicate', ...(error ? { error } : {}), durationMs: elapsed() }, stop: claim.state === 'deadLettered' };
      }
      if (claim.status === 'busy') {
        count(p, 'retriable');
        const error = 'another delivery of this event is running this action';
        retryReasons.push(`${p.rule}/${p.action}: ${error}`);
        return { report: { ...base, status: 'retriable', error, durationMs: elapsed() }, stop: true };
      }

      const token = claim.token;
      const release = async (unknownSince?: number): Promise<void> => {
        try {
          await ledger.release(partition, idemKey, token, unknownSince);
        } catch (error) {
          storeFailed(error); // the lease expires on its own
        }
      };
      const countFailure = async (): Promise<number | undefined> => {
        try {
          return await ledger.countFailure(partition, idemKey);
        } catch (error) {
          storeFailed(error);
          return undefined;
        }
      };

      let summary: string | undefined;
      let sentAt: number | undefined;
      try {
        if (p.failure) throw p.failure; // params that did not resolve: permanent
        const def: ActionDefinition | undefined = registry.get(p.action);
        if (!def) throw new UnknownActionError(p.action);
        const ctx = context(p, idemKey);
        const params = def.normalize(p.params, ctx);
        signal.throwIfAborted();
        if (claim.unknownSince !== undefined) {
          // An earlier attempt was sent and its answer lost: find out before sending again.
          if (!def.reconcile) throw new UnknownOutcomeError(p.action, 'an earlier attempt');
          if (await def.reconcile(params, ctx, claim.unknownSince)) {
            summary = 'applied by an earlier attempt whose answer was lost (reconciled, not sent again)';
            log().info({ rule: p.rule, action: p.action, index: p.index }, `${p.rule}/${p.action}: ${summary}`);
          }
        }
        if (summary === undefined) {
          sentAt = now().getTime();
          const result = await def.execute(params, ctx);
          summary = result.summary;
        }
      } catch (caught) {
        const seconds = (performance.now() - t0) / 1000;
        metrics?.actionSeconds.observe({ rule: p.rule, action: p.action }, seconds);
        const error = signal.aborted && !isRetriable(caught) && !(caught instanceof StateStoreUnavailableError) ? (signal.reason instanceof Error ? signal.reason : caught) : caught;
        const message = messageOf(error);
        // Outcome unknown: this attempt's answer was lost, or an earlier one's could not be reconciled.
        const unknown = isOutcomeUnknown(error) || (claim.unknownSince !== undefined && sentAt === undefined && !isRetriable(error) && !signal.aborted);
        // a lookup that cannot tell (its history does not reach back far enough) will not tell on redelivery either
        const inconclusive = (error as { inconclusive?: unknown } | undefined)?.inconclusive === true;
        const reconcilable = unknown && !inconclusive && !(error instanceof UnknownOutcomeError) && registry.get(p.action)?.reconcile !== undefined;
        const unknownSince = unknown ? (sentAt ?? claim.unknownSince) : undefined;
        const attempts = await countFailure();
        if (storeError) {
          await release(unknownSince);
          count(p, 'retriable');
          return { report: { ...base, status: 'retriable', error: `${message} (idempotency store unavailable)`, durationMs: elapsed() }, stop: true };
        }
        const withAttempts = attempts !== undefined ? { attempts } : {};

        if (reconcilable) {
          await release(unknownSince);
          count(p, 'retriable');
          retryReasons.push(`${p.rule}/${p.action}: ${message}`);
          log().warn({ rule: p.rule, action: p.action, index: p.index, error: errorInfo(error), attempts }, `${p.rule}/${p.action}: outcome unknown, the event will be redelivered and the action reconciled before any new attempt: ${message}`);
          return { report: { ...base, status: 'retriable', error: message, ...withAttempts, durationMs: elapsed() }, stop: true };
        }

        if (!unknown && (signal.aborted || isRetriable(error) || error instanceof StateStoreUnavailableError)) {
          await release();
          count(p, 'retriable');
          retryReasons.push(`${p.rule}/${p.action}: ${message}`);
          log().warn({ rule: p.rule, action: p.action, index: p.index, error: errorInfo(error), attempts }, `${p.rule}/${p.action} failed (retriable), the event will be redelivered: ${message}`);
          return { report: { ...base, status: 'retriable', error: message, ...withAttempts, durationMs: elapsed() }, stop: true };
        }

        if (!unknown && p.onFailure === 'retry') {
          await release();
          count(p, 'failed');
          retryReasons.push(`${p.rule}/${p.action}: ${message}`);
          log().error({ rule: p.rule, action: p.action, index: p.index, error: errorInfo(error), attempts }, `${p.rule}/${p.action} failed (onFailure: retry), the event will be redelivered: ${message}`);
          return { report: { ...base, status: 'failed', error: message, ...withAttempts, durationMs: elapsed() }, stop: true };
        }

        const record: DeadLetterRecord = {
          version: 1,
          timestamp: now().toISOString(),
          eventName: input.service.eventName,
          service: input.service.fullName,
          eventId,
          idempotencyKey: idemKey,
          rule: p.rule,
          index: p.index,
          action: p.action,
          error: errorInfo(error),
          attempts: attempts ?? 1,
          ...(unknown ? { kind: 'unknown-outcome' as const } : {}),
          event: input.event,
        };
        try {
          await deadLetters.write(record);
        } catch (writeError) {
          await release();
          count(p, 'retriable');
          retryReasons.push(`${p.rule}/${p.action}: dead letter not written: ${messageOf(writeError)}`);
          log().error({ rule: p.rule, action: p.action, index: p.index, error: errorInfo(error), writeError: messageOf(writeError) }, `${p.rule}/${p.action} failed permanently and its dead letter could not be written: the event will be redelivered`);
          return { report: { ...base, status: 'retriable', error: message, ...withAttempts, durationMs: elapsed() }, stop: true };
        }
        try {
          await ledger.complete(partition, idemKey, 'deadLettered');
        } catch (completeError) {
          remember(memoKey, 'deadLettered');
          storeFailed(completeError);
        }
        count(p, 'deadLettered');
        metrics?.deadLetters.inc({ rule: p.rule, action: p.action });
        log().error(
          { rule: p.rule, action: p.action, index: p.index, error: record.error, attempts: record.attempts, ...(unknown ? { kind: 'unknown-outcome' } : {}) },
          unknown
            ? `${p.rule}/${p.action}: outcome unknown and ${p.action} cannot be looked up: not sent again (at most once), dead-lettered as unknown-outcome: ${message}`
            : `${p.rule}/${p.action} failed permanently, dead-lettered: ${message}`,
        );
        return { report: { ...base, status: 'deadLettered', error: message, attempts: record.attempts, durationMs: elapsed() }, stop: true };
      }

      metrics?.actionSeconds.observe({ rule: p.rule, action: p.action }, (performance.now() - t0) / 1000);
      count(p, 'succeeded');
      try {
        await ledger.complete(partition, idemKey, 'succeeded');
      } catch (error) {
        // Executed but not recorded: the claim's lease keeps other replicas off it until it
        // expires; a redelivery to this process records it (see `unrecorded`).
        remember(memoKey, 'succeeded');
        storeFailed(error);
      }
      return { report: { ...base, status: 'succeeded', ...(summary !== undefined ? { summary } : {}), durationMs: elapsed() }, stop: false };
    };

    /** Runs one action in its span (tracing on): rule, action, outcome, attempts. */
    const traced = (p: PlannedAction, fn: () => Promise<{ report: ActionReport; stop: boolean }>): Promise<{ report: ActionReport; stop: boolean }> =>
      !tracingEnabled() ? fn() : inSpan(`action ${p.action}`, SpanKind.INTERNAL, { 'event.id': eventId, 'event.name': input.service.eventName, 'rule.name': p.rule, 'action.name': p.action, 'action.index': p.index }, async (span) => {
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

    try {
      // Group by rule, keeping plan order.
      const rules = new Map<string, PlannedAction[]>();
      for (const p of input.plan) {
        const list = rules.get(p.rule);
        if (list) list.push(p);
        else rules.set(p.rule, [p]);
      }
      for (const actions of rules.values()) {
        let stopped: string | undefined;
        /** The `do` entry whose action stopped the rule: the other items of its forEach still run (each player's grant is independent). */
        let stoppedIndex: number | undefined;
        for (const p of actions) {
          const skip = (error: string): void => {
            reports.push({ rule: p.rule, index: p.index, action: p.action, status: 'skipped', error, durationMs: 0 });
          };
          if (p.mode === 'shadow' || dryRun) {
            const status = p.mode === 'shadow' ? 'shadow' : 'planned';
            reports.push((await traced(p, () => Promise.resolve({ report: planOnly(p, status), stop: false }))).report);
            continue;
          }
          if (storeError) {
            skip('idempotency store unavailable');
            continue;
          }
          if (stopped !== undefined && !(p.item !== undefined && p.index === stoppedIndex)) {
            skip(stopped);
            continue;
          }
          if (signal.aborted) {
            const reason = messageOf(signal.reason);
            skip(reason);
            if (!retryReasons.includes(reason)) retryReasons.push(reason);
            continue;
          }
          const { report, stop } = await traced(p, () => runLive(p));
          reports.push(report);
          if (stop && stopped === undefined) {
            stopped = `an earlier action of rule ${p.rule} (${p.action} #${p.index}) did not complete`;
            stoppedIndex = p.index;
          }
        }
      }
    } finally {
      clearTimeout(timer);
      callSignal?.removeEventListener('abort', onAbort);
      inFlight.delete(aborter);
    }

    let outcome: EventOutcome;
    if (storeError) outcome = { kind: 'retry', message: `idempotency store unavailable: ${storeError.reason}` };
    else if (retryReasons.length > 0) outcome = { kind: 'retry', message: retryReasons.join('; ') };
    else outcome = { kind: 'ok' };
    return { outcome, eventKey: key, actions: reports };
  }

  return { run };
}
