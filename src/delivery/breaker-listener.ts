/**
 * What the circuit breaker (`breaker.ts`) says, said: an error line when an action pauses and
 * once a minute while it keeps refusing events, an info line when it resumes, the gauge
 * `event_rules_actions_paused{rule,action}`. Lines are redacted (AGS's error text is echoed).
 */
import type { Logger } from 'pino';
import { redactText } from '../telemetry/index.js';
import type { Metrics } from '../telemetry/index.js';
import { describePause } from './breaker.js';
import type { BreakerListener, PauseReport } from './breaker.js';

/** What the circuit breaker says goes to the log (one line when an action pauses, one a minute while it stays paused, one when it resumes) and the gauge. */
export function breakerListener(logger: Logger, metrics: Metrics | undefined): BreakerListener {
  const fields = (r: PauseReport): Record<string, unknown> => ({
    rule: r.target.rule,
    action: r.target.action,
    operation: r.cause.operation,
    status: r.cause.status,
    ...(r.cause.errorCode !== undefined ? { errorCode: r.cause.errorCode } : {}),
    ...(r.target.permission !== undefined && r.cause.kind === 'auth' ? { permission: r.target.permission } : {}),
    since: new Date(r.since).toISOString(),
  });
  return {
    paused(r) {
      metrics?.actionsPaused.inc({ rule: r.target.rule, action: r.target.action });
      logger.error(fields(r), redactText(describePause(r)));
    },
    stillPaused(r) {
      logger.error({ ...fields(r), refused: r.refused }, redactText(`${describePause(r)}; ${r.refused} event(s) answered UNAVAILABLE since the last line (paused for ${Math.round((r.now - r.since) / 1000)} s)`.replace(' paused ', ' still paused ')));
    },
    resumed(r) {
      metrics?.actionsPaused.dec({ rule: r.target.rule, action: r.target.action });
      logger.info({ ...fields(r), refused: r.refused }, `${r.target.action} resumed (rule ${r.target.rule}): a probe went through after ${Math.round((r.now - r.since) / 1000)} s paused; ${r.refused} event(s) were answered UNAVAILABLE meanwhile (the sidecar redelivers them)`);
    },
  };
}
