/** The public surface of src/state: what other folders may import from it. */
export { decideFiring } from './firing.js';
export type { CooldownSpec, FiringState, KeyedCounter, LimitSpec, RuleState } from './firing.js';
export { counterTrack, eventTag, HISTORY_DATA, horizonOf, Ledger, MAX_COUNTED_LIMIT, MAX_LIMIT, streakKey, UnreadableSectionError } from './ledger.js';
export type { StateNeeds, StreakSpec } from './ledger.js';
export { parseWindow, periodRange, WindowSpecError, windowWordFix } from './windows.js';
export type { Window } from './windows.js';
