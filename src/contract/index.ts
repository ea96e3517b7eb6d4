/** The pipeline's contract (src/contract/types.ts): the outcome of one event, the call it arrived on, the handler the gRPC host calls. */
export type { EventCall, EventHandler, EventOutcome } from './types.js';
/** The gRPC server's defaults (src/contract/server-defaults.ts), without grpc-js: the configuration and the CLI read them. */
export { DEFAULT_GRPC_LIMITS, DEFAULT_PORT } from './server-defaults.js';
export type { GrpcLimits } from './server-defaults.js';
