/** The public surface of src/delivery: what other folders may import from it. */
export { JsonlDeadLetterSink, readDeadLetters } from './dead-letters.js';
export type { DeadLetterRecord, DeadLetterSink } from './dead-letters.js';
export { eventKey, idempotencyKey } from './event-key.js';
export { CLAIM_BUSY_REASON, createExecutor, REPLAY_HEADER, REPLAY_SINCE_HEADER } from './executor.js';
export type { DeliveryReport, Executor } from './executor.js';
export { listStoredDeadLetters, removeStoredDeadLetter, StoreDeadLetterSink } from './store-dead-letters.js';
export type { StoredDeadLetter } from './store-dead-letters.js';
export { DEFAULT_LEASE_MS, DEFAULT_RETENTION_MS } from './action-ledger.js';
export { DEFAULT_EVENT_DEADLINE_MS } from './deadline.js';
