/** The public surface of src/telemetry: what other folders may import from it. */
export { createLogger, logField, MAX_LOG_FIELD, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { maskPersonalFields } from './mask.js';
export { DEFAULT_METRICS_PATH, DEFAULT_METRICS_PORT, startMetricsServer } from './metrics-server.js';
export type { MetricsServer } from './metrics-server.js';
export { Metrics } from './metrics.js';
export type { ActionOutcome } from './metrics.js';
export { AUTH_SCHEME, isSecretEnvName, redactAndCut, redactKnownText, redactText, redactUrl, redactValue, registerRotatingSecret, registerSecret } from './redact.js';
export { extractContext, injectContext, inSpan, logIds, recordError, SpanKind, SpanStatusCode, startTracing, tracer, tracingEnabled } from './tracing.js';
export type { Span } from './tracing.js';
