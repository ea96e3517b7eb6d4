/** The public surface of src/actions: what other folders may import from it. */
export { createDefaultRegistry } from './builtins/index.js';
export { ActionModuleLoadError, COMPILED_ACTIONS_DIR, createAppRegistry, InvalidActionModuleError, listActionModules, loadCustomActions, PACKAGE_ROOT } from './custom.js';
export { defineAction } from './define-action.js';
export { ActionError, ActionParamError } from './errors.js';
export { effectId } from './reconcile.js';
export { ActionRegistry, DuplicateActionError } from './registry.js';
export type { ActionContext, ActionDefinition, ActionResult, JsonSchema, PlannedRequest } from './types.js';
