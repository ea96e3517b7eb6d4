/** The public surface of src/store: what other folders may import from it. */
export { createStateStore } from './create-state-store.js';
export { documentKey, partitionId, StateStoreUnavailableError } from './state-store.js';
export type { Change, Partition, StateDocument, StateStore, StoreCallOptions } from './state-store.js';
