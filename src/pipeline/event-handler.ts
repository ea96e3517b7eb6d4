/**
 * One event through the pipeline: decoded event -> matching rules -> action
 * plan -> execution -> one summary log line, metrics and a span. The gRPC host
 * calls this for every served event and maps the outcome to a status.
 *
 * This runs for every event of every player, so the common case stays cheap:
 * an event no rule matches costs a rule lookup, one log line and a few
 * counter increments (no child logger, no abort signals, no executor) and is
 * answered synchronously; spans are created only when tracing is on.
 */
import { redactText } from '../telemetry/index.js';
import type { Logger } from '../telemetry/index.js';
import { logField } from '../telemetry/index.js';
import type { Metrics } from '../telemetry/index.js';
import { tracer, tracingEnabled, extractContext, SpanKind, SpanStatusCode, recordError, logIds } from '../telemetry/index.js';
import type { Span } from '../telemetry/index.js';
import type { DecodedEvent, EventService } from '../events/index.js';
import type { EvaluateOptions, FactRequest, FactValue, RuleSet } from '../rules/index.js';
import type { DeliveryReport, Executor } from '../delivery/index.js';
import { REPLAY_HEADER, REPLAY_SINCE_HEADER } from '../delivery/index.js';
import type { EventCall, EventOutcome } from '../contract/index.js';
import { maskPersonalFields } from '../telemetry/index.js';
import type { EvaluationResult } from '../rules/index.js';
import { eventKey } from '../delivery/index.js';
import { evaluateWithState, partitionOf } from './evaluate.js';
import type { StateStore } from '../store/index.js';
import { StateStoreUnavailableError, UnreadableStateError } from '../store/index.js';

export interface EventHandlerOptions {
  /** The rules in force (read per event, so a reload applies to the next event). */
  readonly rules: () => RuleSet;
  readonly executor: Executor;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Log each payload at debug level, personal fields masked. Default false. */
  readonly logPayloads?: boolean;
  /** Clock for activation windows and stateful rules. Default: the system clock. */
  readonly now?: () => Date;
  /**
   * Players' ledgers for stateful rules (`limit`, `cooldown`, `count`, `streak`,
   * `fired`). Only events whose rules need it touch it. Absent: stateful rules
   * end in `error` (never decided without the state).
   */
  readonly stateStore?: StateStore;
  /** Namespace of events that carry none (the state partition). Default "". */
  readonly namespace?: string;
  /** How long ledgers remember event keys (ms). Default 7 days. */
  readonly stateRetentionMs?: number;
  /**
   * Fetches the facts the event's rules read (`facts`, src/ags/facts.ts):
   * resolves with each value, or a permanent failure's text; rejects with a
   * transient failure (the event is answered UNAVAILABLE and redelivered).
   * Absent: a rule reading facts ends in `error`.
   */
  readonly fetchFacts?: (requests: readonly FactRequest[], event: DecodedEvent, signal?: AbortSignal) => Promise<ReadonlyMap<string, Readonly<Record<string, FactValue>>>>;
}

const NOTHING_TO_DO: DeliveryReport = { outcome: { kind: 'ok' }, eventKey: '', actions: [] };
/** The fact requests of an event whose rules read none (shared). */
const NO_FACTS: readonly FactRequest[] = Object.freeze([]);
/** The summary line's `actions` when none ran (shared: most events run none). */
const NO_ACTIONS: readonly never[] = Object.freeze([]);

/** An action's part of the summary line. */
function summaryOf(a: DeliveryReport['actions'][number]): { rule: string; action: string; index: number; status: string; error?: string } {
  return a.error ? { rule: a.rule, action: a.action, index: a.index, status: a.status, error: a.error } : { rule: a.rule, action: a.action, index: a.index, status: a.status };
}

/** Whether the rules' fields (`RuleSet.decidedOn`) are all among those decoded of a partly decoded event. */
function decidedOnFields(needed: readonly string[] | undefined, decoded: readonly string[]): boolean {
  return needed === decoded || (needed !== undefined && needed.every((f) => decoded.includes(f))); // the same list when the rules did not change since the host decoded
}

/** An outcome that needs nothing more of the event: the rule did not match, or is outside its window. */
/** The evaluation of a partial event (see `EvaluateOptions.conditionsOnly`). */
const CONDITIONS_ONLY: EvaluateOptions = Object.freeze({ conditionsOnly: true });

function decidedWithout(o: { readonly outcome: string }): boolean {
  return o.outcome === 'notMatched' || o.outcome === 'inactive';
}

/** A counter child, resolved once per label set. */
type Child = { inc(): void };

/** The replay's `x-event-rules-replay-since` header as the executor's `replaySince` (unreadable: NaN, read as absent, as the executor reads the header). */
function replaySinceOf(header: string | undefined): number | undefined {
  return header === undefined ? undefined : Date.parse(header);
}

/** Part of the answer to a replay whose rule's action failed again (the replay command looks for it). */
export const REPLAY_FAILED_AGAIN = 'failed again and was dead-lettered again';

/**
 * A replay whose rule's action failed again answers `refused` (FAILED_PRECONDITION), never OK: the
 * replay command reports it and exits 1 (before, it printed "replayed OK" and exited 0 while nothing
 * was fixed). Its newer dead letter (just written) replaces the one replayed.
 */
function replayReport(report: DeliveryReport, rule: string): DeliveryReport {
  const o = report.outcome;
  if (o.kind !== 'ok' || o.deadLettered === undefined) return report;
  const again = report.actions.filter((a) => a.rule === rule && a.status === 'deadLettered');
  if (again.length === 0) return report;
  const what = again.map((a) => `${a.action} #${a.index}${a.error !== undefined ? ` (${a.error})` : ''}`).join('; ');
  return { ...report, outcome: { kind: 'refused', message: `replay of rule ${rule}: ${what} ${REPLAY_FAILED_AGAIN}; that newer dead letter replaces the one replayed` } };
}

/** Why a replayed rule planned nothing for its event, for the replay command's output. */
function whyNothingRan(rule: string, evaluation: EvaluationResult): string {
  const o = evaluation.outcomes.find((x) => x.rule === rule);
  if (!o) return 'no enabled rule of that name listens on this event now (renamed, removed or disabled since)';
  switch (o.outcome) {
    case 'suppressed': {
      const f = o.firing;
      if (f?.suppressedBy === 'cooldown') return `its cooldown ${f.cooldown?.duration ?? ''} refuses it (last firing ${f.cooldown?.lastFiring ?? 'unknown'})`;
      return `its limit refuses it${f?.limit ? ` (${f.limit.fired} of ${f.limit.count} per ${f.limit.per}${f.key !== undefined ? ` under key ${JSON.stringify(f.key)}` : ''}; the record has no firing of it for this event: it never fired it, or that firing is older than the retention)` : ''}`;
    }
    case 'notMatched':
      return 'its condition is false for this event now';
    case 'inactive':
      return 'it is outside its activation window now';
    case 'error':
      return `it fails to evaluate: ${o.error ?? ''}`;
    default:
      return 'it planned no action';
  }
}

export function createEventHandler(options: EventHandlerOptions) {
  const { logger, metrics } = options;
  // Counter children resolved once per label set (prom-client hashes and validates labels on every `inc`
  // otherwise), found without building a key per event: by service, and by rule then outcome.
  const received = new Map<EventService, Child>();
  // The summary line's logger per service: `event` is bound once (pino serialises a child's bindings
  // when it is made), so a line serialises only what is the event's own. Same fields as before.
  const summaryLoggers = new Map<EventService, Logger>();
  const summaryLogger = (service: EventService): Logger => {
    let child = summaryLoggers.get(service);
    if (!child) {
      child = logger.child({ event: service.eventName });
      summaryLoggers.set(service, child);
    }
    return child;
  };
  const evaluations = new Map<string, Map<string, Child>>();
  const suppressed = new Map<string, Map<string, Child>>();
  const countReceived = (m: Metrics, service: EventService): void => {
    let child = received.get(service);
    if (!child) {
      child = m.counterChild(m.eventsReceived, { event: service.eventName });
      received.set(service, child);
    }
    child.inc();
  };
  const countRule = (byRule: Map<string, Map<string, Child>>, rule: string, label: string, make: () => Child): void => {
    let byLabel = byRule.get(rule);
    if (!byLabel) {
      byLabel = new Map();
      byRule.set(rule, byLabel);
    }
    let child = byLabel.get(label);
    if (!child) {
      child = make();
      byLabel.set(label, child);
    }
    child.inc();
  };

  /** Matches the rules; answers at once when nothing is planned, else when the executor is done. */
  function handle(service: EventService, event: DecodedEvent, call: EventCall, span: Span | undefined): EventOutcome | Promise<EventOutcome> {
    const started = performance.now();
    const rules = options.rules(); // one version for the whole event, even if a reload lands meanwhile
    let partial = call.partial;
    if (partial !== undefined && ((options.logPayloads && logger.isLevelEnabled('debug')) || !decidedOnFields(rules.decidedOn(service.fullName), partial.fields))) {
      // these rules (a reload since the host decoded) or the payload's debug line read more than the fields decoded
      event = partial.whole();
      partial = undefined;
    }
    if (metrics) countReceived(metrics, service);
    const eventId = logField(event.id); // bounded: it goes on every line of the event
    const ids = logIds(span);
    if (options.logPayloads && logger.isLevelEnabled('debug')) {
      logger.debug({ eventId, event: service.eventName, ...ids, payload: maskPersonalFields(event) }, 'event payload');
    }
    // most events' rules read no facts: no clock read, no list made
    const factRequests = options.fetchFacts && rules.readsFacts(service.fullName) ? rules.factRequests(service.fullName, event, options.now ? options.now().getTime() : Date.now()) : NO_FACTS;
    if (factRequests.length > 0) {
      // the facts the conditions read, fetched once before the rules are decided; a transient failure: redelivered, never read as false
      return options.fetchFacts!(factRequests, event, call.signal).then(
        (facts) => decide(service, event, call, span, started, eventId, ids, rules, facts, undefined),
        (error: unknown) => {
          const message = `a fact lookup failed: ${error instanceof Error ? error.message : String(error)}`;
          logger.warn({ eventId, event: service.eventName, ...ids, error: redactText(message) }, `${service.eventName}: ${redactText(message)}: the event will be redelivered`);
          return finish(service, eventId, ids, span, started, 0, {}, { outcome: { kind: 'retry', message }, eventKey: '', actions: [] });
        },
      );
    }
    return decide(service, event, call, span, started, eventId, ids, rules, undefined, partial);
  }

  /** Decides the rules (with the player's state when they need it) and runs the plan. */
  function decide(
    service: EventService,
    event: DecodedEvent,
    call: EventCall,
    span: Span | undefined,
    started: number,
    eventId: string,
    ids: { traceId?: string; spanId?: string },
    rules: RuleSet,
    facts: EvaluateOptions['facts'],
    partial: EventCall['partial'],
  ): EventOutcome | Promise<EventOutcome> {
    if (options.stateStore && rules.needsState(service.fullName)) {
      // the state is read, decided and written in one transaction; only events with stateful rules wait for it
      const now = options.now ? options.now().getTime() : Date.now();
      const partition = partitionOf(event, options.namespace ?? '');
      return evaluateWithState(
        options.stateStore,
        partition,
        { rules, serviceFullName: service.fullName, event, eventKey: eventKey(event, call.bytes), now, ...(options.stateRetentionMs !== undefined ? { retentionMs: options.stateRetentionMs } : {}), ...(facts ? { facts } : {}) },
        call.signal ? { signal: call.signal } : {},
      ).then(
        (evaluation) => proceed(service, event, call, span, started, eventId, ids, evaluation),
        (error: unknown) => {
          if (!(error instanceof StateStoreUnavailableError)) throw error;
          if (error instanceof UnreadableStateError) {
            // fail closed, loudly: a record read as empty would fire every limited rule anew
            metrics?.dedupeStoreErrors.inc({ store: error.store });
            logger.error({ eventId, event: service.eventName, ...ids, store: error.store, record: error.record, error: error.problem }, `${service.eventName}: ${error.message}`);
          } else logger.warn({ eventId, event: service.eventName, ...ids, store: error.store, error: error.reason }, `${service.eventName}: the state store is unavailable: the event will be redelivered`);
          return finish(service, eventId, ids, span, started, 0, {}, { outcome: { kind: 'retry', message: error.message }, eventKey: '', actions: [] });
        },
      );
    }
    // on a partial event the conditions alone are decided (its actions' parameters may read any field)
    let evaluation = rules.evaluate(service.fullName, event, partial !== undefined ? (options.now ? { now: options.now(), conditionsOnly: true } : CONDITIONS_ONLY) : options.now || facts ? { ...(options.now ? { now: options.now() } : {}), ...(facts ? { facts } : {}) } : undefined); // no options object when there is nothing to pass
    if (partial !== undefined && !evaluation.outcomes.every(decidedWithout)) {
      // a rule matched (or failed) on the fields decoded: its actions read the whole event, decided again on it
      event = partial.whole();
      evaluation = rules.evaluate(service.fullName, event, options.now ? { now: options.now() } : undefined);
    }
    return proceed(service, event, call, span, started, eventId, ids, evaluation);
  }

  /** Counts and logs the rules' outcomes, then runs the plan (or answers at once when it is empty). */
  function proceed(
    service: EventService,
    event: DecodedEvent,
    call: EventCall,
    span: Span | undefined,
    started: number,
    eventId: string,
    ids: { traceId?: string; spanId?: string },
    evaluation: EvaluationResult,
  ): EventOutcome | Promise<EventOutcome> {
    let matched = 0;
    const outcomes: Record<string, string> = {};
    for (const o of evaluation.outcomes) {
      outcomes[o.rule] = o.outcome;
      if (o.outcome === 'matched') matched++;
      if (metrics) countRule(evaluations, o.rule, o.outcome, () => metrics.counterChild(metrics.ruleEvaluations, { rule: o.rule, outcome: o.outcome }));
      if (o.outcome === 'suppressed' && metrics) {
        const reason = o.firing?.suppressedBy ?? 'limit';
        countRule(suppressed, o.rule, reason, () => metrics.counterChild(metrics.firingsSuppressed, { rule: o.rule, reason }));
      }
      if (o.outcome === 'error') {
        logger.error({ eventId, event: service.eventName, ...ids, rule: o.rule, error: o.error }, `rule ${o.rule} failed to evaluate`);
      }
    }

    // read through getters: the call's signal and metadata map are made only for an event with actions (an AbortController
    // and a listener; an object of every header), the replay header alone for every event
    const replayed = call.header ? call.header(REPLAY_HEADER) : call.metadata?.[REPLAY_HEADER];
    if (typeof replayed === 'string' && replayed !== '' && !evaluation.plan.some((p) => p.rule === replayed)) {
      // a replay that would run nothing must not be answered OK: the replay command would drop the dead letter
      const message = `replay of rule ${replayed}: ${whyNothingRan(replayed, evaluation)}; nothing ran, the dead letter is kept`;
      return finish(service, eventId, ids, span, started, matched, outcomes, { outcome: { kind: 'refused', message }, eventKey: '', actions: [] });
    }
    if (evaluation.plan.length === 0) return finish(service, eventId, ids, span, started, matched, outcomes, NOTHING_TO_DO);
    const replay = typeof replayed === 'string' && replayed !== '';
    // the executor's controller is linked to the call (no signal of the call's own), else it listens to the call's signal
    const abortWith = call.abortWith ? (c: AbortController): void => call.abortWith!(c) : undefined;
    // one literal of fixed shape (absent members undefined): no spread of optional parts per event
    return options.executor
      .run({
        service,
        event,
        plan: evaluation.plan,
        abortWith,
        signal: abortWith ? undefined : call.signal,
        logBindings: ids.traceId === undefined ? { eventId, event: service.eventName } : { eventId, event: service.eventName, ...ids },
        // the replay headers one by one when the call reads them so (no map of every header), else its metadata
        metadata: call.header ? undefined : call.metadata,
        replayRule: call.header && replay ? replayed : undefined,
        replaySince: call.header && replay ? replaySinceOf(call.header(REPLAY_SINCE_HEADER)) : undefined,
        eventBytes: call.bytes,
      })
      .then((report) => finish(service, eventId, ids, span, started, matched, outcomes, typeof replayed === 'string' && replayed !== '' ? replayReport(report, replayed) : report));
  }

  /** The span's outcome and the event's summary line. */
  function finish(
    service: EventService,
    eventId: string,
    ids: { traceId?: string; spanId?: string },
    span: Span | undefined,
    started: number,
    matched: number,
    outcomes: Record<string, string>,
    report: DeliveryReport,
  ): EventOutcome {
    if (span) {
      span.setAttribute('event.outcome', report.outcome.kind);
      span.setAttribute('event.rules_matched', matched);
      if (report.outcome.kind !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: redactText(report.outcome.message) });
    }
    if (!logger.isLevelEnabled('info')) return report.outcome; // nothing of the line is made
    const actions = report.actions.length === 0 ? NO_ACTIONS : report.actions.map(summaryOf);
    const durationMs = Math.round((performance.now() - started) * 100) / 100;
    const message = `${service.eventName}: ${matched} rule(s) matched, ${report.actions.length} action(s), ${report.outcome.kind}`;
    // no trace ids (tracing off, the usual case): a literal of fixed shape, no spread
    if (ids.traceId === undefined) summaryLogger(service).info({ eventId, outcome: report.outcome.kind, rules: outcomes, actions, durationMs }, message);
    else summaryLogger(service).info({ eventId, ...ids, outcome: report.outcome.kind, rules: outcomes, actions, durationMs }, message);
    return report.outcome;
  }

  return function onEvent(service: EventService, event: DecodedEvent, call: EventCall = {}): EventOutcome | Promise<EventOutcome> {
    if (!tracingEnabled()) return handle(service, event, call, undefined);
    const eventId = logField(event.id); // bounded: it goes on every line of the event
    return tracer().startActiveSpan(
      `event ${service.eventName}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': service.fullName,
          'rpc.method': service.methodName,
          'event.id': eventId,
          'event.name': service.eventName,
        },
      },
      extractContext(call.metadata),
      async (span) => {
        try {
          return await handle(service, event, call, span);
        } catch (error) {
          recordError(span, error);
          throw error;
        } finally {
          span.end();
        }
      },
    );
  };
}
