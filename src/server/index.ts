/** The public surface of src/server: what other folders may import from it. */
export { createEventHost, DEFAULT_GRPC_LIMITS, DEFAULT_PORT } from './host.js';
export type { EventHost } from './host.js';
