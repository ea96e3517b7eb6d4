/**
 * Stable action keys: the identity of an action within its rule, part of its
 * idempotency key (`<eventKey>:<rule>:<actionKey>`). Inserting, removing or
 * reordering other actions never changes an action's key, so a redelivered
 * event never runs an action twice because the rule was edited in between.
 *
 * - an action with `id: welcome-grant` has the key `welcome-grant`;
 * - without an id: `<action>#<ordinal>`, the ordinal counting the same-named
 *   actions without an id before it in the rule (`grantItem#0`,
 *   `grantItem#1`). Only inserting or removing a same-named action without an
 *   id before it shifts it: `validate` warns when a rule has two same-named
 *   actions without ids.
 */

import { createHash } from 'node:crypto';

/** One `do` item as read from the file (a map: the action name, and an optional `id`). */
type RawItem = unknown;

/** Keys of a `do` item beside the action's name: its `id`, and a fan-out's `forEach`, `as` and `max`. */
export const ACTION_ITEM_KEYS: ReadonlySet<string> = new Set(['id', 'forEach', 'as', 'max']);

function actionName(item: RawItem): string | undefined {
  if (!item || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const names = Object.keys(item).filter((k) => !ACTION_ITEM_KEYS.has(k));
  return names.length === 1 ? names[0] : undefined;
}

/**
 * The key of each item of a rule's `do` list, by position (`undefined` for an
 * item that is not a valid action; those are reported elsewhere).
 */
export function actionKeys(items: readonly RawItem[]): (string | undefined)[] {
  const ordinals = new Map<string, number>();
  return items.map((item) => {
    const name = actionName(item);
    if (name === undefined) return undefined;
    const id = (item as { id?: unknown }).id;
    if (typeof id === 'string' && id !== '') return id;
    const n = ordinals.get(name) ?? 0;
    ordinals.set(name, n + 1);
    return `${name}#${n}`;
  });
}

/** Names of actions that appear more than once without an id in one rule (their keys depend on their order). */
export function unstableActionNames(items: readonly RawItem[]): string[] {
  const counts = new Map<string, number>();
  for (const item of items) {
    const name = actionName(item);
    if (name === undefined || typeof (item as { id?: unknown }).id === 'string') continue;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].filter(([, n]) => n > 1).map(([name]) => name);
}

/** Items of a `forEach` list whose text identity is written as is in an action key; others are hashed. */
const PLAIN_ITEM = /^[A-Za-z0-9_.@-]{1,64}$/;

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return typeof v === 'bigint' ? String(v) : v;
}

/**
 * The key of one item of a `forEach` action: the action's key and the item's
 * value (`grantSeasonExp#0[0123...ef]`), so reordering the event's list never
 * changes it (not its index). A text or number of up to 64 plain characters is
 * written as is; anything else (a map of a member, a long text) by 16
 * characters of the SHA-256 of its canonical JSON (keys sorted). Two equal
 * items have one key: the action runs once for them.
 */
export function forEachItemKey(actionKey: string, item: unknown): string {
  const text = typeof item === 'string' || typeof item === 'number' || typeof item === 'bigint' ? String(item) : undefined;
  if (text !== undefined && PLAIN_ITEM.test(text)) return `${actionKey}[${text}]`;
  const digest = createHash('sha256').update(JSON.stringify(canonical(item)) ?? 'null').digest('base64url').slice(0, 16);
  return `${actionKey}[#${digest}]`;
}
