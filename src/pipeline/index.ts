/** The public surface of src/pipeline: what other folders may import from it. */
export { evaluateOnDocuments } from './evaluate.js';
export { createEventHandler, REPLAY_FAILED_AGAIN } from './event-handler.js';
