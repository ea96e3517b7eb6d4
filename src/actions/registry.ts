/**
 * The action registry: the one place the engine looks up what a rule's `do`
 * entry means. Built-ins are registered by `createDefaultRegistry`; a custom
 * action is one more `register` call (see docs/actions.md, "Adding a custom action in TypeScript").
 */
import type { ActionDefinition } from './types.js';

export class DuplicateActionError extends Error {
  override readonly name = 'DuplicateActionError';
  constructor(readonly action: string) {
    super(`an action named "${action}" is already registered`);
  }
}

export class ActionRegistry {
  readonly #actions = new Map<string, ActionDefinition>();

  /** Add an action. Throws {@link DuplicateActionError} if the name is taken. */
  register<P extends Record<string, unknown>>(definition: ActionDefinition<P>): this {
    if (this.#actions.has(definition.name)) throw new DuplicateActionError(definition.name);
    this.#actions.set(definition.name, definition);
    return this;
  }

  get(name: string): ActionDefinition | undefined {
    return this.#actions.get(name);
  }

  has(name: string): boolean {
    return this.#actions.has(name);
  }

  /** Action names in registration order. */
  names(): string[] {
    return [...this.#actions.keys()];
  }

  list(): ActionDefinition[] {
    return [...this.#actions.values()];
  }
}
