/**
 * Time budget of one event (all its actions, their retries and AGS calls), ms: `EVENT_DEADLINE_MS`'s
 * default. Below the sidecar's own call timeout, so the handler answers before the sidecar gives up.
 */
export const DEFAULT_EVENT_DEADLINE_MS = 25_000;
