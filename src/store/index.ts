/** The public surface of src/store: what other folders may import from it. */
export { createStateStore } from './create-state-store.js';
export { DEFAULT_MEMORY_MAX_BYTES } from './memory-state-store.js';
export { adoptJson, adoptJsonReplacing } from './frozen-json.js';
export { documentKey, partitionId, StateStoreUnavailableError, UnreadableStateError } from './state-store.js';
export type { Change, Partition, StateDocument, StateStore, StoreCallOptions, StoreKind } from './state-store.js';
