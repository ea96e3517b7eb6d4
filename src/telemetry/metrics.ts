/**
 * Every metric the app exposes, defined in one place so names and labels stay
 * consistent. gRPC metrics use the go-grpc-prometheus names Extend dashboards
 * read; the engine's own are prefixed `event_rules_`. Labels never carry user
 * ids or other unbounded values: only event, rule, action, operation and
 * outcome names, which the rules file bounds.
 */
import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type * as PromClient from 'prom-client';

const requirePromClient = createRequire(import.meta.url);
let promClientModule: typeof PromClient | undefined;

/** prom-client, loaded when the first {@link Metrics} is made (the server): the CLI's commands make none and do not load it. */
function promClient(): typeof PromClient {
  promClientModule ??= requirePromClient('prom-client') as typeof PromClient;
  return promClientModule;
}

export type ActionOutcome = 'succeeded' | 'failed' | 'retriable' | 'duplicate' | 'deadLettered' | 'shadow' | 'planned' | 'paused';
export type RuleMatchOutcome = 'matched' | 'notMatched' | 'inactive' | 'error' | 'suppressed';

export interface MetricsOptions {
  /** Collect Node process and runtime metrics (`process_*`, `nodejs_*`). Default: true. */
  readonly defaultMetrics?: boolean;
  /** Prefix for the default metrics, as `PROMETHEUS_PREFIX` in the templates. Default: none. */
  readonly prefix?: string;
}

/**
 * A counter's child counted in a plain number and added to the counter when the counter is read (a
 * scrape, `get()`): prom-client's own children hash and validate their label object on every `inc`
 * (about 0.3 µs each, 6 to 10 per event). Its series appears at the first read after its first `inc`,
 * as with prom-client's children.
 */
export interface CounterChild {
  inc(): void;
}

class PendingCount implements CounterChild {
  n = 0;
  constructor(readonly labels: Record<string, string | number>) {}
  inc(): void {
    this.n++;
  }
}

/**
 * A histogram's child observed into plain numbers (a count per bucket, the sum) and added to the
 * histogram when it is read, as {@link CounterChild}: prom-client's own children validate and hash
 * their label object on every `observe` (about 1.4 µs of the per-event CPU of the no-match bench
 * row, `grpc_server_handling_seconds`).
 */
export interface HistogramChild {
  observe(seconds: number): void;
}

class PendingObservations implements HistogramChild {
  /** Per bucket of `bounds` (ascending), and one more for values above the last. */
  readonly counts: Float64Array;
  sum = 0;
  n = 0;
  constructor(
    readonly labels: Record<string, string | number>,
    readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) return; // prom-client throws; a clock glitch must not fail a call
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.n++;
  }
}

/** The parts of prom-client's Histogram that {@link Metrics} adds pending observations to (prom-client 15: `lib/histogram.js`). */
interface HistogramInternals {
  readonly upperBounds: readonly number[];
  readonly hashMap: Record<string, { labels: Record<string, string | number>; bucketValues: Record<number, number>; sum: number; count: number }>;
}

export class Metrics {
  /** The {@link CounterChild}ren of each counter, added to it when it is read. */
  readonly #pending = new Map<Counter<string>, PendingCount[]>();
  /** The {@link HistogramChild}ren of each histogram, added to it when it is read. */
  readonly #pendingObservations = new Map<Histogram<string>, PendingObservations[]>();
  readonly registry: Registry = new (promClient().Registry)();

  // go-grpc-prometheus compatible
  readonly grpcStarted = this.counter('grpc_server_started_total', 'Total number of RPCs started on the server.', ['grpc_type', 'grpc_service', 'grpc_method']);
  readonly grpcHandled = this.counter('grpc_server_handled_total', 'Total number of RPCs completed on the server, regardless of success or failure.', ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code']);
  readonly grpcMsgReceived = this.counter('grpc_server_msg_received_total', 'Total number of RPC stream messages received on the server.', ['grpc_type', 'grpc_service', 'grpc_method']);
  readonly grpcMsgSent = this.counter('grpc_server_msg_sent_total', 'Total number of gRPC stream messages sent by the server.', ['grpc_type', 'grpc_service', 'grpc_method']);
  readonly grpcHandlingSeconds = this.histogram('grpc_server_handling_seconds', 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.', ['grpc_type', 'grpc_service', 'grpc_method'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

  // the engine's own
  readonly eventsReceived = this.counter('event_rules_events_received_total', 'Events received, by event name.', ['event']);
  readonly eventsInvalid = this.counter('event_rules_events_invalid_total', 'Messages that did not decode (answered INVALID_ARGUMENT), by event name.', ['event']);
  /** Messages of topics no rule listens on (answered OK: Extend Async Messaging delivers every subscribed topic). */
  readonly topicMessagesUnrouted = this.counter('event_rules_topic_messages_unrouted_total', 'Extend Async Messaging messages of a topic no enabled rule listens on (answered OK), by topic.', ['topic']);
  readonly ruleEvaluations = this.counter('event_rules_rule_evaluations_total', 'Rule evaluations by rule and outcome (matched, notMatched, inactive: outside its activation window, error, suppressed: matched but refused by its limit or cooldown).', ['rule', 'outcome']);
  readonly firingsSuppressed = this.counter('event_rules_firings_suppressed_total', 'Rules that matched but did not fire because of their limit or cooldown, by rule and reason (limit, cooldown).', ['rule', 'reason']);
  readonly actions = this.counter('event_rules_actions_total', 'Action executions by rule, action and outcome (succeeded, failed, retriable, duplicate, deadLettered, shadow, planned, paused: not run, its action is paused).', ['rule', 'action', 'outcome']);
  readonly actionSeconds = this.histogram('event_rules_action_duration_seconds', 'Latency of action executions, by rule and action.', ['rule', 'action'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  readonly agsRequests = this.counter('event_rules_ags_requests_total', 'HTTP requests to AGS by operation id and status (HTTP code, or timeout / network; busy: refused unsent by AGS_MAX_IN_FLIGHT / a 429 hold, aborted while waiting).', ['operation', 'status']);
  readonly agsLogins = this.counter('event_rules_ags_logins_total', 'Client-credentials logins by reason (initial, refresh, unauthorized) and result (ok, failed).', ['reason', 'result']);
  readonly rulesReloads = this.counter('event_rules_rules_reloads_total', 'Rules file reloads by result (ok, rejected).', ['result']);
  readonly dedupeStoreErrors = this.counter('event_rules_dedupe_store_errors_total', 'Failures to reach the idempotency store (events answered UNAVAILABLE), by store kind.', ['store']);
  readonly deadLetters = this.counter('event_rules_dead_letters_total', 'Dead-letter records written, by rule and action.', ['rule', 'action']);
  /** Dead letters the store could not take (the event was answered UNAVAILABLE: the sidecar redelivers it). */
  readonly deadLettersRefused = this.counter('event_rules_dead_letters_refused_total', 'Dead letters not written (the event answered UNAVAILABLE and redelivered), by rule, action and reason (full: the store holds DEAD_LETTER_CAPACITY; write-failed: the store or file could not be written).', ['rule', 'action', 'reason']);
  /** Dead letters dropped because they outlived the retention. */
  readonly deadLettersExpired = this.counter('event_rules_dead_letters_expired_total', 'Dead letters dropped from the state store after DEAD_LETTER_RETENTION_HOURS, by rule and action.', ['rule', 'action']);
  /** 1 while the circuit breaker pauses an action (delivery/breaker.ts): its events are answered UNAVAILABLE until a probe succeeds. */
  readonly actionsPaused = this.gauge('event_rules_actions_paused', 'Actions paused by the circuit breaker (a failure of the deployment: 401/403, the same permanent error on many events), by rule and action: their events are answered UNAVAILABLE until a probe succeeds.', ['rule', 'action']);

  /** Children of the per-event metrics by their label values joined by NUL (see {@link Metrics.countAction}). */
  readonly #actionChildren = new Map<string, CounterChild>();
  readonly #actionSecondsChildren = new Map<string, { observe(value: number): void }>();
  readonly #agsRequestChildren = new Map<string, CounterChild>();

  /**
   * A child of `counter` for `labels` (every label of the counter), counted without prom-client's per-`inc`
   * label work (see {@link CounterChild}). Make it once per label set and keep it.
   */
  counterChild<L extends string>(counter: Counter<L>, labels: Record<L, string | number>): CounterChild {
    const child = new PendingCount({ ...labels });
    listOf(this.#pending, counter).push(child);
    return child;
  }

  /**
   * A child of `histogram` for `labels` (every label of the histogram), observed without prom-client's
   * per-`observe` label work (see {@link HistogramChild}). Make it once per label set and keep it.
   */
  histogramChild<L extends string>(histogram: Histogram<L>, labels: Record<L, string | number>): HistogramChild {
    const child = new PendingObservations({ ...labels }, (histogram as unknown as HistogramInternals).upperBounds);
    listOf(this.#pendingObservations, histogram).push(child);
    return child;
  }

  /**
   * Adds what the children of `histogram` observed since the last read: into the series prom-client
   * keeps for the label set (made by `zero(labels)` when absent), the way its own `observe` does
   * (a count per bucket, values above the last bound only in the count, the sum).
   */
  #collectObservations(histogram: Histogram<string>): void {
    const children = this.#pendingObservations.get(histogram);
    if (!children) return;
    const internals = histogram as unknown as HistogramInternals;
    for (const c of children) {
      if (c.n === 0) continue;
      let series = Object.values(internals.hashMap).find((e) => sameLabels(e.labels, c.labels));
      if (!series) {
        histogram.zero(c.labels);
        series = Object.values(internals.hashMap).find((e) => sameLabels(e.labels, c.labels));
        if (!series) throw new Error(`prom-client histogram ${(histogram as unknown as { name: string }).name}: no series after zero() (check the prom-client upgrade)`);
      }
      for (let i = 0; i < c.bounds.length; i++) {
        if (c.counts[i] !== 0) series.bucketValues[c.bounds[i]!] = (series.bucketValues[c.bounds[i]!] ?? 0) + c.counts[i]!;
      }
      series.sum += c.sum;
      series.count += c.n;
      c.counts.fill(0);
      c.sum = 0;
      c.n = 0;
    }
  }

  /** Adds what the children of `counter` counted since the last read. */
  #collect(counter: Counter<string>): void {
    const children = this.#pending.get(counter);
    if (!children) return;
    for (const c of children) {
      if (c.n === 0) continue;
      const n = c.n;
      c.n = 0;
      counter.inc(c.labels, n);
    }
  }

  /**
   * `actions{rule,action,outcome}` + 1, through a child made once per label set: prom-client hashes
   * and validates a label object on every call otherwise (the grant path counts every action).
   */
  countAction(rule: string, action: string, outcome: ActionOutcome): void {
    const key = `${rule}\u0000${action}\u0000${outcome}`;
    let child = this.#actionChildren.get(key);
    if (!child) {
      child = this.counterChild(this.actions, { rule, action, outcome });
      this.#actionChildren.set(key, child);
    }
    child.inc();
  }

  /** `actionSeconds{rule,action}` observes `seconds`, through a child made once per label set (as {@link Metrics.countAction}). */
  observeAction(rule: string, action: string, seconds: number): void {
    const key = `${rule}\u0000${action}`;
    let child = this.#actionSecondsChildren.get(key);
    if (!child) {
      child = this.histogramChild(this.actionSeconds, { rule, action });
      this.#actionSecondsChildren.set(key, child);
    }
    child.observe(seconds);
  }

  /** `agsRequests{operation,status}` + 1, through a child made once per label set (as {@link Metrics.countAction}). */
  countAgsRequest(operation: string, status: string): void {
    const key = `${operation}\u0000${status}`;
    let child = this.#agsRequestChildren.get(key);
    if (!child) {
      child = this.counterChild(this.agsRequests, { operation, status });
      this.#agsRequestChildren.set(key, child);
    }
    child.inc();
  }

  constructor(options: MetricsOptions = {}) {
    if (options.defaultMetrics ?? true) {
      promClient().collectDefaultMetrics({ register: this.registry, ...(options.prefix ? { prefix: options.prefix } : {}) });
    }
  }

  /** A counter registered in {@link registry}: `labelNames` bound the label sets (never a user id). */
  private counter<const L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    const counter: Counter<L> = new (promClient().Counter<L>)({ name, help, labelNames, registers: [this.registry], collect: () => this.#collect(counter) });
    return counter;
  }

  /** A gauge registered in {@link registry}. */
  private gauge<const L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new (promClient().Gauge<L>)({ name, help, labelNames, registers: [this.registry] });
  }

  /** A histogram registered in {@link registry}, `buckets` in seconds. */
  private histogram<const L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
    const histogram: Histogram<L> = new (promClient().Histogram<L>)({ name, help, labelNames, buckets, registers: [this.registry], collect: () => this.#collectObservations(histogram) });
    return histogram;
  }
}

/** The same label values (as prom-client keeps them: numbers and strings compared as text). */
function sameLabels(a: Record<string, string | number>, b: Record<string, string | number>): boolean {
  const keys = Object.keys(b);
  if (Object.keys(a).length !== keys.length) return false;
  for (const k of keys) if (String(a[k]) !== String(b[k])) return false;
  return true;
}

/** The list `map` holds for `key`, made empty and kept there when absent. */
function listOf<K, V>(map: Map<K, V[]>, key: K): V[] {
  let list = map.get(key);
  if (!list) {
    list = [];
    map.set(key, list);
  }
  return list;
}
