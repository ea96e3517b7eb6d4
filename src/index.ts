/**
 * The public entry point of extend-event-rules (`import ... from 'extend-event-rules'`),
 * for custom actions in the project's `actions/` folder: the action contract and
 * its helper, the errors an action throws, the AGS request helpers and the
 * registry (with the loader of the `actions/` folder).
 */
export { defineAction } from './actions/define-action.js';
export type { ActionContext, ActionDefinition, ActionResult, JsonSchema, PlannedRequest } from './actions/types.js';
export { ActionError, ActionParamError } from './actions/errors.js';
export { ActionRegistry, DuplicateActionError } from './actions/registry.js';
export { createDefaultRegistry } from './actions/builtins/index.js';
export { ActionModuleLoadError, InvalidActionModuleError, createAppRegistry, loadCustomActions } from './actions/custom.js';
export { AgsError } from './ags/errors.js';
export type { AgsClient } from './ags/client.js';
export { agsPath } from './ags/operations.js';
export type { AgsRequest, HttpMethod } from './ags/types.js';
export type { DecodedEvent } from './events/types.js';
