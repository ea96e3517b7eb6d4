/** Time as rules read it: durations and RFC 3339 instants, and the test clock. A leaf layer: imports nothing from src. */
export { DURATION_SYNTAX, durationMs, suggestDuration } from './duration.js';
export { parseInstant } from './instant.js';
export type { InstantProblem, InstantResult } from './instant.js';
export { testClock } from './test-clock.js';
