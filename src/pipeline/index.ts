/** The public surface of src/pipeline: what other folders may import from it. */
export { evaluateOnDocuments } from './evaluate.js';
export { createEventHandler } from './event-handler.js';
