/** The pipeline's contract (src/contract/types.ts): the outcome of one event, the call it arrived on, the handler the gRPC host calls. */
export type { EventCall, EventHandler, EventOutcome } from './types.js';
