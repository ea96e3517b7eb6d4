/** The public surface of src/delivery: what other folders may import from it. */
export { JsonlDeadLetterSink, readDeadLetters } from './dead-letters.js';
export type { DeadLetterRecord, DeadLetterSink } from './dead-letters.js';
export { eventKey, idempotencyKey } from './event-key.js';
export { createExecutor, REPLAY_HEADER } from './executor.js';
export type { DeliveryReport, Executor } from './executor.js';
export { listStoredDeadLetters, removeStoredDeadLetter, StoreDeadLetterSink } from './store-dead-letters.js';
export type { StoredDeadLetter } from './store-dead-letters.js';
