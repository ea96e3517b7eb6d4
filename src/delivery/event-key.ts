/** Idempotency keys: `<eventKey>:<rule>:<actionKey>`. */
import { createHash } from 'node:crypto';
import type { DecodedEvent } from '../events/index.js';

/** JSON with object keys sorted at every depth: one text per value, whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/**
 * The event's identity: its `id` when it has one; otherwise `sha256:<hex>` of the
 * wire bytes when given (the same message redelivered has the same bytes), else
 * of the canonical JSON of the decoded event.
 */
export function eventKey(event: DecodedEvent, eventBytes?: Uint8Array): string {
  if (typeof event.id === 'string' && event.id !== '') return event.id;
  const hash = createHash('sha256');
  if (eventBytes) hash.update(eventBytes);
  else hash.update(canonicalJson(event));
  return `sha256:${hash.digest('hex')}`;
}

/**
 * `<eventKey>:<rule>:<actionKey>`, where `actionKey` is the action's stable key
 * within its rule (`PlannedAction.key`: its `id`, or `grantItem#0`).
 */
export function idempotencyKey(eventKeyValue: string, rule: string, actionKey: string): string {
  return `${eventKeyValue}:${rule}:${actionKey}`;
}
