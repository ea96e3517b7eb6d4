/** The public surface of src/ags: what other folders may import from it. */
export { AgsClient } from './client.js';
export type { AgsApi } from './client.js';
export { AgsError, agsServiceOf, pathSegmentProblem } from './errors.js';
export { AGS_NAMESPACE, AGS_USER_ID, identifierError, namespaceProblem, userIdProblem } from './identifiers.js';
export { readAnswer } from './answers.js';
export { logUndiciFallback } from './transport.js';
export { DEFAULT_AGS_MAX_ATTEMPTS, DEFAULT_AGS_TIMEOUT_MS, HttpCaller, jsonBody, JsonText } from './http-caller.js';
export { DEFAULT_AGS_MAX_IN_FLIGHT, DEFAULT_AGS_QUEUE_WAIT_MS, ServiceGate } from './service-gate.js';
export { agsPath, BULK_USER_IDS_MAX, ops } from './operations.js';
export { specEnum, specField, specIntegerRange, specSupportedItemTypes } from './spec.js';
export type { SpecField } from './spec.js';
export type { AdminRecord, AgsRequest, BanCreate, CreditRequest, EntitlementGrant, FulfillmentRequest, FulfillmentResult, FulfillmentV3Result, HttpMethod, PagedResult, StatItemUpdate, StatUpdateStrategy, UserExpGrant } from './types.js';
export { FACT_OPERATIONS, factFetcher } from './facts.js';
export type { FactLookup, FactOperation, FetchedFact } from './facts.js';
