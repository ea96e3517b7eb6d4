/** `defineAction`: the typed way to write a custom action (see `src/actions/custom.ts`). */
import type { ActionDefinition } from './types.js';

/**
 * Returns `definition` unchanged: it only gives the object its type, so the
 * editor checks every field and infers `P` (the normalized parameters) for
 * `plan` and `execute`. Export it as the module's default:
 *
 * ```ts
 * export default defineAction<Params>({ name: 'myAction', description, params, usesAgs, normalize, plan, execute });
 * ```
 */
export function defineAction<P extends Record<string, unknown>>(definition: ActionDefinition<P>): ActionDefinition<P> {
  return definition;
}
