/** The public surface of src/telemetry: what other folders may import from it. */
export { createLogger } from './logger.js';
export type { Logger } from './logger.js';
export { maskPersonalFields } from './mask.js';
export { startMetricsServer } from './metrics-server.js';
export type { MetricsServer } from './metrics-server.js';
export { Metrics } from './metrics.js';
export type { ActionOutcome } from './metrics.js';
export { isSecretEnvName, redactText, redactUrl, redactValue, registerSecret } from './redact.js';
export { extractContext, injectContext, inSpan, logIds, recordError, SpanKind, SpanStatusCode, startTracing, tracer, tracingEnabled } from './tracing.js';
export type { Span } from './tracing.js';
