/**
 * One event through the pipeline: decoded event -> matching rules -> action
 * plan -> execution -> one summary log line, metrics and a span. The gRPC host
 * calls this for every served event and maps the outcome to a status.
 */
import type { Logger } from './telemetry/logger.js';
import type { Metrics } from './telemetry/metrics.js';
import { tracer, extractContext, SpanKind, recordError } from './telemetry/tracing.js';
import type { DecodedEvent, EventService } from './events/types.js';
import type { RuleSet } from './rules/index.js';
import type { Executor } from './delivery/executor.js';
import type { EventOutcome } from './server/types.js';
import { maskPersonalFields } from './telemetry/mask.js';

export interface EventHandlerOptions {
  /** The rules in force (read per event, so a reload applies to the next event). */
  readonly rules: () => RuleSet;
  readonly executor: Executor;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Log each payload at debug level, personal fields masked. Default false. */
  readonly logPayloads?: boolean;
  /** Aborted when shutdown begins. */
  readonly shutdownSignal?: AbortSignal;
  /** Clock for activation windows. Default: the system clock. */
  readonly now?: () => Date;
}

export interface EventCall {
  readonly signal?: AbortSignal;
  readonly metadata?: Record<string, unknown>;
  /** The encoded event as received: the idempotency key of an event without an `id`. */
  readonly bytes?: Uint8Array;
}

export function createEventHandler(options: EventHandlerOptions) {
  const { logger, metrics } = options;
  return async function onEvent(service: EventService, event: DecodedEvent, call: EventCall = {}): Promise<EventOutcome> {
    const started = performance.now();
    const rules = options.rules(); // one version for the whole event, even if a reload lands meanwhile
    metrics?.eventsReceived.inc({ event: service.eventName });
    const eventId = typeof event.id === 'string' ? event.id : '';
    const parent = extractContext(call.metadata);
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
      parent,
      async (span) => {
        const log = logger.child({
          eventId,
          event: service.eventName,
          traceId: span.spanContext().traceId,
          spanId: span.spanContext().spanId,
        });
        try {
          if (options.logPayloads) log.debug({ payload: maskPersonalFields(event) }, 'event payload');
          const evaluation = rules.evaluate(service.fullName, event, options.now ? { now: options.now() } : {});
          for (const o of evaluation.outcomes) {
            metrics?.ruleEvaluations.inc({ rule: o.rule, outcome: o.outcome });
            if (o.outcome === 'error') log.error({ rule: o.rule, error: o.error }, `rule ${o.rule} failed to evaluate`);
          }
          const signal = call.signal && options.shutdownSignal ? AbortSignal.any([call.signal, options.shutdownSignal]) : (call.signal ?? options.shutdownSignal);
          const report = await options.executor.run({
            service,
            event,
            plan: evaluation.plan,
            ...(signal ? { signal } : {}),
            logger: log,
            ...(call.metadata ? { metadata: call.metadata } : {}),
            ...(call.bytes ? { eventBytes: call.bytes } : {}),
          });
          const matched = evaluation.outcomes.filter((o) => o.outcome === 'matched').map((o) => o.rule);
          span.setAttribute('event.outcome', report.outcome.kind);
          span.setAttribute('event.rules_matched', matched.length);
          log.info(
            {
              outcome: report.outcome.kind,
              rules: Object.fromEntries(evaluation.outcomes.map((o) => [o.rule, o.outcome])),
              actions: report.actions.map((a) => ({ rule: a.rule, action: a.action, index: a.index, status: a.status, ...(a.error ? { error: a.error } : {}) })),
              durationMs: Math.round((performance.now() - started) * 100) / 100,
            },
            `${service.eventName}: ${matched.length} rule(s) matched, ${report.actions.length} action(s), ${report.outcome.kind}`,
          );
          return report.outcome;
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
