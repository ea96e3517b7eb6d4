/**
 * Every metric the app exposes, defined in one place so names and labels stay
 * consistent. gRPC metrics use the go-grpc-prometheus names Extend dashboards
 * read; the engine's own are prefixed `event_rules_`. Labels never carry user
 * ids or other unbounded values: only event, rule, action, operation and
 * outcome names, which the rules file bounds.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type ActionOutcome = 'succeeded' | 'failed' | 'retriable' | 'duplicate' | 'deadLettered' | 'shadow' | 'planned' | 'paused';
export type RuleMatchOutcome = 'matched' | 'notMatched' | 'inactive' | 'error' | 'suppressed';

export interface MetricsOptions {
  /** Collect Node process and runtime metrics (`process_*`, `nodejs_*`). Default: true. */
  readonly defaultMetrics?: boolean;
  /** Prefix for the default metrics, as `PROMETHEUS_PREFIX` in the templates. Default: none. */
  readonly prefix?: string;
}

export class Metrics {
  readonly registry = new Registry();

  // go-grpc-prometheus compatible
  readonly grpcStarted = new Counter({
    name: 'grpc_server_started_total',
    help: 'Total number of RPCs started on the server.',
    labelNames: ['grpc_type', 'grpc_service', 'grpc_method'] as const,
    registers: [this.registry],
  });
  readonly grpcHandled = new Counter({
    name: 'grpc_server_handled_total',
    help: 'Total number of RPCs completed on the server, regardless of success or failure.',
    labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'] as const,
    registers: [this.registry],
  });
  readonly grpcMsgReceived = new Counter({
    name: 'grpc_server_msg_received_total',
    help: 'Total number of RPC stream messages received on the server.',
    labelNames: ['grpc_type', 'grpc_service', 'grpc_method'] as const,
    registers: [this.registry],
  });
  readonly grpcMsgSent = new Counter({
    name: 'grpc_server_msg_sent_total',
    help: 'Total number of gRPC stream messages sent by the server.',
    labelNames: ['grpc_type', 'grpc_service', 'grpc_method'] as const,
    registers: [this.registry],
  });
  readonly grpcHandlingSeconds = new Histogram({
    name: 'grpc_server_handling_seconds',
    help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
    labelNames: ['grpc_type', 'grpc_service', 'grpc_method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  // the engine's own
  readonly eventsReceived = new Counter({
    name: 'event_rules_events_received_total',
    help: 'Events received, by event name.',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly eventsInvalid = new Counter({
    name: 'event_rules_events_invalid_total',
    help: 'Messages that did not decode (answered INVALID_ARGUMENT), by event name.',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  /** Messages of topics no rule listens on (answered OK: Extend Async Messaging delivers every subscribed topic). */
  readonly topicMessagesUnrouted = new Counter({
    name: 'event_rules_topic_messages_unrouted_total',
    help: 'Extend Async Messaging messages of a topic no enabled rule listens on (answered OK), by topic.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });
  readonly ruleEvaluations = new Counter({
    name: 'event_rules_rule_evaluations_total',
    help: 'Rule evaluations by rule and outcome (matched, notMatched, inactive: outside its activation window, error, suppressed: matched but refused by its limit or cooldown).',
    labelNames: ['rule', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly firingsSuppressed = new Counter({
    name: 'event_rules_firings_suppressed_total',
    help: 'Rules that matched but did not fire because of their limit or cooldown, by rule and reason (limit, cooldown).',
    labelNames: ['rule', 'reason'] as const,
    registers: [this.registry],
  });
  readonly actions = new Counter({
    name: 'event_rules_actions_total',
    help: 'Action executions by rule, action and outcome (succeeded, failed, retriable, duplicate, deadLettered, shadow, planned, paused: not run, its action is paused).',
    labelNames: ['rule', 'action', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly actionSeconds = new Histogram({
    name: 'event_rules_action_duration_seconds',
    help: 'Latency of action executions, by rule and action.',
    labelNames: ['rule', 'action'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly agsRequests = new Counter({
    name: 'event_rules_ags_requests_total',
    help: 'HTTP requests to AGS by operation id and status (HTTP code, or timeout / network).',
    labelNames: ['operation', 'status'] as const,
    registers: [this.registry],
  });
  readonly agsLogins = new Counter({
    name: 'event_rules_ags_logins_total',
    help: 'Client-credentials logins by reason (initial, refresh, unauthorized) and result (ok, failed).',
    labelNames: ['reason', 'result'] as const,
    registers: [this.registry],
  });
  readonly rulesReloads = new Counter({
    name: 'event_rules_rules_reloads_total',
    help: 'Rules file reloads by result (ok, rejected).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly dedupeStoreErrors = new Counter({
    name: 'event_rules_dedupe_store_errors_total',
    help: 'Failures to reach the idempotency store (events answered UNAVAILABLE), by store kind.',
    labelNames: ['store'] as const,
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'event_rules_dead_letters_total',
    help: 'Dead-letter records written, by rule and action.',
    labelNames: ['rule', 'action'] as const,
    registers: [this.registry],
  });
  /** Dead letters the store could not take (the event was answered UNAVAILABLE: the sidecar redelivers it). */
  readonly deadLettersRefused = new Counter({
    name: 'event_rules_dead_letters_refused_total',
    help: 'Dead letters not written (the event answered UNAVAILABLE and redelivered), by rule, action and reason (full: the store holds DEAD_LETTER_CAPACITY; write-failed: the store or file could not be written).',
    labelNames: ['rule', 'action', 'reason'] as const,
    registers: [this.registry],
  });
  /** Dead letters dropped because they outlived the retention. */
  readonly deadLettersExpired = new Counter({
    name: 'event_rules_dead_letters_expired_total',
    help: 'Dead letters dropped from the state store after DEAD_LETTER_RETENTION_HOURS, by rule and action.',
    labelNames: ['rule', 'action'] as const,
    registers: [this.registry],
  });
  /** 1 while the circuit breaker pauses an action (delivery/breaker.ts): its events are answered UNAVAILABLE until a probe succeeds. */
  readonly actionsPaused = new Gauge({
    name: 'event_rules_actions_paused',
    help: 'Actions paused by the circuit breaker (a failure of the deployment: 401/403, the same permanent error on many events), by rule and action: their events are answered UNAVAILABLE until a probe succeeds.',
    labelNames: ['rule', 'action'] as const,
    registers: [this.registry],
  });

  /** Children of the per-event metrics by their label values joined by NUL (see {@link Metrics.countAction}). */
  readonly #actionChildren = new Map<string, { inc(): void }>();
  readonly #actionSecondsChildren = new Map<string, { observe(value: number): void }>();
  readonly #agsRequestChildren = new Map<string, { inc(): void }>();

  /**
   * `actions{rule,action,outcome}` + 1, through a child made once per label set: prom-client hashes
   * and validates a label object on every call otherwise (the grant path counts every action).
   */
  countAction(rule: string, action: string, outcome: ActionOutcome): void {
    const key = `${rule}\u0000${action}\u0000${outcome}`;
    let child = this.#actionChildren.get(key);
    if (!child) {
      child = this.actions.labels(rule, action, outcome);
      this.#actionChildren.set(key, child);
    }
    child.inc();
  }

  /** `actionSeconds{rule,action}` observes `seconds`, through a child made once per label set (as {@link Metrics.countAction}). */
  observeAction(rule: string, action: string, seconds: number): void {
    const key = `${rule}\u0000${action}`;
    let child = this.#actionSecondsChildren.get(key);
    if (!child) {
      child = this.actionSeconds.labels(rule, action);
      this.#actionSecondsChildren.set(key, child);
    }
    child.observe(seconds);
  }

  /** `agsRequests{operation,status}` + 1, through a child made once per label set (as {@link Metrics.countAction}). */
  countAgsRequest(operation: string, status: string): void {
    const key = `${operation}\u0000${status}`;
    let child = this.#agsRequestChildren.get(key);
    if (!child) {
      child = this.agsRequests.labels(operation, status);
      this.#agsRequestChildren.set(key, child);
    }
    child.inc();
  }

  constructor(options: MetricsOptions = {}) {
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, ...(options.prefix ? { prefix: options.prefix } : {}) });
    }
  }
}
