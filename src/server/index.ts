/** The public surface of src/server: what other folders may import from it. */
export { createEventHost } from './host.js';
export type { EventHost } from './host.js';
