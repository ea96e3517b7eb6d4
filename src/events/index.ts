/** The public surface of src/events: what other folders may import from it. */
export { loadCatalog } from './catalog.js';
export type { ProtoHeader } from './proto-header.js';
export { fillDefaults, sampleEvent, withFreshId } from './samples.js';
export { CatalogLoadError, EventDecodeError, EventEncodeError } from './types.js';
export type { Catalog, DecodedEvent, EventCodec, EventService, ResolveResult } from './types.js';
export { wellKnownKind } from './wkt.js';
export { readerOf } from './to-json.js';
