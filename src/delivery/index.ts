/** The public surface of src/delivery: what other folders may import from it. */
export { JsonlDeadLetterSink, readDeadLetters, replaySinceOf } from './dead-letters.js';
export type { DeadLetterRecord, DeadLetterSink } from './dead-letters.js';
export { eventKey, idempotencyKey } from './event-key.js';
export { CLAIM_BUSY_REASON, createExecutor, REPLAY_HEADER, REPLAY_SINCE_HEADER } from './executor.js';
export type { DeliveryReport, Executor } from './executor.js';
export { DEFAULT_DEAD_LETTER_CAPACITY, DeadLetterStoreFullError, StoreDeadLetterSink } from './store-dead-letters.js';
export type { StoredDeadLetter } from './store-dead-letters.js';
export { listStoredDeadLetters, removeStoredDeadLetter } from './store-dead-letter-listing.js';
export { DeadLetterCursorError, hasFilter, matchesQuery, pageOfList, reasonText } from './dead-letter-query.js';
export type { DeadLetterListing, DeadLetterQuery } from './dead-letter-query.js';
export { DEFAULT_LEASE_MS, DEFAULT_RETENTION_MS } from './action-ledger.js';
export { DEFAULT_EVENT_DEADLINE_MS } from './deadline.js';
export { DEFAULT_BREAKER_AUTH_FAILURES, DEFAULT_BREAKER_PERMANENT_FAILURES, DEFAULT_BREAKER_PROBE_INTERVAL_MS } from './breaker.js';
