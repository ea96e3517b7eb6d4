/**
 * The public entry point of extend-event-rules (`import ... from 'extend-event-rules'`),
 * for custom actions in the project's `actions/` folder: the action contract and
 * its helper, the errors an action throws, the AGS request helpers and the
 * registry (with the loader of the `actions/` folder).
 */
export { defineAction } from './actions/index.js';
export type { ActionContext, ActionDefinition, ActionResult, JsonSchema, PlannedRequest } from './actions/index.js';
export { ActionError, ActionParamError } from './actions/index.js';
export { ActionRegistry, DuplicateActionError } from './actions/index.js';
export { createDefaultRegistry } from './actions/index.js';
export { ActionModuleLoadError, InvalidActionModuleError, createAppRegistry, loadCustomActions } from './actions/index.js';
export { AgsError } from './ags/index.js';
export type { AgsApi, AgsClient } from './ags/index.js';
export { agsPath } from './ags/index.js';
export type { AgsRequest, HttpMethod } from './ags/index.js';
export type { DecodedEvent } from './events/index.js';
