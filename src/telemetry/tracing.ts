/**
 * Tracing with the OpenTelemetry Node SDK, as the templates do: always
 * sample, B3 and W3C (trace context + baggage) propagation, exporter chosen
 * by the standard variables (Zipkin at OTEL_EXPORTER_ZIPKIN_ENDPOINT, OTLP,
 * console, none). With `none` no SDK is started: the API's no-op tracer is
 * used and tracing costs nothing measurable.
 *
 * Spans are created by the modules themselves through `tracer()`: one per
 * event (gRPC server), one per executed action, one per AGS HTTP request.
 */
import { redactText } from './redact.js';
import type { Logger } from './logger.js';
import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

export type { Attributes, Span, Tracer, Context };

let apiModule: typeof OtelApi | undefined;

/**
 * The OpenTelemetry API (`@opentelemetry/api`, the same CommonJS build an ES import resolves to),
 * loaded at the first call that needs it: the CLI's commands, which make no span, never load it
 * (about 0.02 CPU s and 44 modules a start). The server loads it anyway (prom-client requires it).
 */
function api(): typeof OtelApi {
  apiModule ??= createRequire(import.meta.url)('@opentelemetry/api') as typeof OtelApi;
  return apiModule;
}

/** The API's `SpanKind` (a type). */
export type SpanKind = OtelApi.SpanKind;
/** The API's `SpanStatusCode` (a type). */
export type SpanStatusCode = OtelApi.SpanStatusCode;

/**
 * The API's `SpanKind` values (OTLP's numbering, fixed by the API since 1.0), available without
 * loading the API; test/telemetry/tracing.test.ts checks them against the API's enum.
 */
export const SpanKind = { INTERNAL: 0, SERVER: 1, CLIENT: 2, PRODUCER: 3, CONSUMER: 4 } as const satisfies Record<keyof typeof OtelApi.SpanKind, OtelApi.SpanKind>;

/** The API's `SpanStatusCode` values, available without loading the API (checked as {@link SpanKind}). */
export const SpanStatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const satisfies Record<keyof typeof OtelApi.SpanStatusCode, OtelApi.SpanStatusCode>;

export const TRACER_NAME = 'extend-event-rules';

let enabled = false;

/** The tracer every module uses (no-op until {@link startTracing} registers a provider). */
export function tracer(): Tracer {
  return api().trace.getTracer(TRACER_NAME);
}

/**
 * True once {@link startTracing} started an SDK in this process. Hot paths
 * check it to skip span bookkeeping entirely when tracing is off.
 */
export function tracingEnabled(): boolean {
  return enabled;
}

export interface TracingOptions {
  /** Which exporter. Default: `none` (no SDK started, no cost). */
  readonly exporter?: 'zipkin' | 'otlp' | 'console' | 'none';
  /** `service.name`. Default: `extend-app-event-handler`. */
  readonly serviceName?: string;
  /** Zipkin spans URL, required for `zipkin`. */
  readonly zipkinEndpoint?: string;
  /** OTLP/HTTP base endpoint (`http://host:4318`); default: the exporter's own default. */
  readonly otlpEndpoint?: string;
  /** Tests: export to this exporter instead (e.g. InMemorySpanExporter), synchronously. */
  readonly spanExporter?: SpanExporter;
  /** Where a failed export is said: one warning per outage (see {@link reportingExporter}). Default: not said. */
  readonly logger?: Pick<Logger, 'warn' | 'info'>;
}

export interface TracingHandle {
  readonly enabled: boolean;
  /** Flush and stop the SDK. */
  shutdown(): Promise<void>;
}

/** B3 (single and multi header) + W3C trace context + baggage, in and out. */
export async function createPropagator(): Promise<TextMapPropagator> {
  const { CompositePropagator, W3CTraceContextPropagator, W3CBaggagePropagator } = await import('@opentelemetry/core');
  const { B3Propagator, B3InjectEncoding } = await import('@opentelemetry/propagator-b3');
  return new CompositePropagator({
    propagators: [
      new W3CTraceContextPropagator(),
      new W3CBaggagePropagator(),
      new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }),
      new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER }),
    ],
  });
}

async function createExporter(options: TracingOptions): Promise<SpanExporter | undefined> {
  if (options.spanExporter) return options.spanExporter;
  switch (options.exporter ?? 'none') {
    case 'zipkin': {
      const { ZipkinExporter } = await import('@opentelemetry/exporter-zipkin');
      return new ZipkinExporter({ ...(options.zipkinEndpoint ? { url: options.zipkinEndpoint } : {}) });
    }
    case 'otlp': {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
      const url = options.otlpEndpoint ? `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` : undefined;
      return new OTLPTraceExporter(url ? { url } : {});
    }
    case 'console': {
      const { ConsoleSpanExporter } = await import('@opentelemetry/sdk-trace-base');
      return new ConsoleSpanExporter();
    }
    case 'none':
      return undefined;
  }
}

/**
 * Starts the SDK when an exporter is chosen; otherwise returns a disabled
 * handle. The SDK packages are imported only here, so with tracing off they
 * are never loaded (start-up time and memory stay those of the API alone).
 */
export async function startTracing(options: TracingOptions = {}): Promise<TracingHandle> {
  const created = await createExporter(options);
  if (!created) return { enabled: false, shutdown: () => Promise.resolve() };
  const endpoint = exportEndpoint(options);
  const exporter = redactingExporter(options.logger && endpoint !== undefined ? reportingExporter(created, endpoint, options.logger) : created);
  const [{ NodeSDK }, { BatchSpanProcessor, SimpleSpanProcessor }, { resourceFromAttributes }, { ATTR_SERVICE_NAME }, textMapPropagator] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
    createPropagator(),
  ]);
  const processor = options.spanExporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName ?? 'extend-app-event-handler' }),
    spanProcessors: [processor],
    textMapPropagator,
    instrumentations: [],
    autoDetectResources: false,
  });
  sdk.start();
  enabled = true;
  return {
    enabled: true,
    shutdown: async () => {
      enabled = false;
      await sdk.shutdown();
    },
  };
}

/** Where spans are sent (for messages): the Zipkin URL, the OTLP traces URL (the exporter's default when unset); undefined for console and tests. */
function exportEndpoint(options: TracingOptions): string | undefined {
  if (options.spanExporter) return undefined;
  if (options.exporter === 'zipkin') return shownEndpoint(options.zipkinEndpoint ?? 'http://localhost:9411/api/v2/spans');
  if (options.exporter === 'otlp') return shownEndpoint(options.otlpEndpoint ? `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` : 'http://localhost:4318/v1/traces');
  return undefined;
}

/** An endpoint as shown in a message: without credentials in its authority (`user:pass@`), registered secrets redacted. */
function shownEndpoint(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return redactText(u.toString());
  } catch {
    return redactText(url);
  }
}

/**
 * Says when spans cannot be exported, instead of dropping them without a
 * word (OpenTelemetry's default error handler writes to a silent diag
 * logger): a warning with the endpoint at the first failed export, nothing
 * for the next failures, and an info line when an export succeeds again
 * (the next failure warns again). The exporter's answer is passed on as is.
 */
export function reportingExporter(exporter: SpanExporter, endpoint: string, logger: Pick<Logger, 'warn' | 'info'>): SpanExporter {
  let failing = false;
  return {
    export: (spans, done) =>
      exporter.export(spans, (result) => {
        const ok = (result.code as number) === 0; // ExportResultCode.SUCCESS (@opentelemetry/core, loaded only with tracing on)
        if (!ok && !failing) {
          failing = true;
          const reason = redactText(result.error?.message ?? 'export failed');
          logger.warn(
            { endpoint, error: reason, spans: spans.length },
            `spans cannot be exported to ${endpoint} (${reason}): traces are dropped until it answers; start the collector (docs/observability.md) or unset the exporter (OTEL_TRACES_EXPORTER=none). Said once until it works again.`,
          );
        } else if (ok && failing) {
          failing = false;
          logger.info({ endpoint }, `spans are exported to ${endpoint} again`);
        }
        done(result);
      }),
    shutdown: () => exporter.shutdown(),
    ...(exporter.forceFlush ? { forceFlush: () => exporter.forceFlush!() } : {}),
  };
}

/**
 * Spans leave the process: the last step before any exporter redacts every registered secret and
 * any `Bearer`/`Basic` credential (see redact.ts) in span names, attribute values, status messages
 * and event attributes (an AGS error body echoing the request's Authorization header, wherever a
 * module put it).
 */
export function redactingExporter(exporter: SpanExporter): SpanExporter {
  type Spans = Parameters<SpanExporter['export']>[0];
  const clean = (attributes: Attributes | undefined): Attributes | undefined => {
    if (!attributes) return attributes;
    const out: Attributes = {};
    for (const [k, v] of Object.entries(attributes)) out[k] = typeof v === 'string' ? redactText(v) : Array.isArray(v) ? (v.map((x: unknown) => (typeof x === 'string' ? redactText(x) : x)) as Attributes[string]) : v;
    return out;
  };
  const redactSpan = (span: Spans[number]): Spans[number] =>
    Object.create(span, {
      name: { value: redactText(span.name) },
      attributes: { value: clean(span.attributes) },
      status: { value: span.status.message === undefined ? span.status : { ...span.status, message: redactText(span.status.message) } },
      events: { value: span.events.map((e) => ({ ...e, name: redactText(e.name), ...(e.attributes ? { attributes: clean(e.attributes) } : {}) })) },
    }) as Spans[number];
  return {
    export: (spans, done) => exporter.export(spans.map(redactSpan), done),
    shutdown: () => exporter.shutdown(),
    ...(exporter.forceFlush ? { forceFlush: () => exporter.forceFlush!() } : {}),
  };
}

/** Reads propagation headers from gRPC metadata (`getMap()` values). */
const metadataGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key];
    if (typeof v === 'string') return v;
    if (Buffer.isBuffer(v)) return v.toString('utf8');
    return undefined;
  },
};

/** The parent context carried by an incoming call's metadata (B3 or W3C), or the active one. */
export function extractContext(metadata: Record<string, unknown> | undefined): Context {
  const { context, propagation } = api();
  if (!metadata) return context.active();
  return propagation.extract(context.active(), metadata, metadataGetter);
}

const headerSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/**
 * Writes the active span's propagation headers (W3C `traceparent`, B3) into
 * outgoing HTTP headers. A no-op when tracing is off.
 *
 * @param ctx the context whose span is propagated. Default: the active one.
 */
export function injectContext(headers: Record<string, string>, ctx?: Context): void {
  if (enabled) api().propagation.inject(ctx ?? api().context.active(), headers, headerSetter);
}

/** What {@link logIds} answers without a recording span (shared, frozen: most events have none). */
const NO_IDS: { traceId?: string; spanId?: string } = Object.freeze({});

/** Trace and span ids of a recording span, for log lines; empty when tracing is off. */
export function logIds(span: Span | undefined): { traceId?: string; spanId?: string } {
  if (!span?.isRecording()) return NO_IDS;
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}

/** Records an error on a span and marks it failed. */
export function recordError(span: Span, error: unknown): void {
  // spans leave the process (Zipkin, OTLP): registered secrets are redacted like in log lines
  const message = redactText(error instanceof Error ? error.message : String(error));
  span.recordException({ name: error instanceof Error ? error.name : 'Error', message, ...(error instanceof Error && error.stack ? { stack: redactText(error.stack) } : {}) });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * Runs `fn` in a child span of the active one (ended when `fn` settles, marked
 * failed when it throws). With tracing off, runs `fn(undefined)` directly: no
 * span, no context switch.
 */
export function inSpan<T>(name: string, kind: SpanKind, attributes: Attributes, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  if (!enabled) return fn(undefined);
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}
