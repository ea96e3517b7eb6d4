/**
 * An event's top-level string fields read straight from its wire bytes, for the events whose rules
 * are decided on such fields alone (`RuleSet.decidedOn`: `namespace == "mygame"`): when none of
 * them matches, nothing else of the event is needed, and decoding the whole message (protobufjs'
 * objects, every nested string) was the largest part of such an event's own work.
 *
 * The bytes are checked exactly as a full decode checks them (`checkWire`: what protobuf's reference
 * implementations refuse is refused, so an invalid event is still answered INVALID_ARGUMENT), and the
 * fields are read during that check; the values are those of the full decode: the last occurrence
 * of a field wins, an absent one reads ''. A type whose conversion can refuse what the wire check accepts (a
 * Timestamp out of range, `conversionMayRefuse`) is never decoded in part: the refusal must not depend on the rules.
 */
import type { Type } from 'protobufjs';
import { conversionMayRefuse } from './to-json.js';
import { checkWireReading } from './wire-check.js';
import { jsonKey } from './wkt.js';
import type { DecodedEvent } from './types.js';

/** The json name to set per field number (undefined: skipped), and every such name; null when a name is not a plain string field. */
interface ReadPlan {
  readonly keyOf: readonly (string | undefined)[];
  readonly keys: readonly string[];
}

/** Per type, per list of names (the rule set's own list: the same array for every event). */
const plans = new WeakMap<Type, WeakMap<readonly string[], ReadPlan | null>>();

/** The event id is read too: every log line of the event carries it. */
const ALWAYS_READ = ['id'];

function planOf(type: Type, names: readonly string[]): ReadPlan | null {
  let byNames = plans.get(type);
  if (!byNames) plans.set(type, (byNames = new WeakMap<readonly string[], ReadPlan | null>()));
  let plan = byNames.get(names);
  if (plan !== undefined) return plan;
  plan = makePlan(type, [...new Set([...names, ...ALWAYS_READ])]);
  byNames.set(names, plan);
  return plan;
}

function makePlan(type: Type, names: readonly string[]): ReadPlan | null {
  if (conversionMayRefuse(type)) return null; // refused by the whole decode alone: decoded whole
  const fields = new Map(type.fieldsArray.map((f) => [jsonKey(f), f]));
  const keyOf: (string | undefined)[] = [];
  const keys: string[] = [];
  for (const name of names) {
    const f = fields.get(name);
    if (f === undefined) continue; // absent from the full decode too
    // a plain proto3 string: '' when absent (no oneof, no proto2 default, not repeated)
    if (f.type !== 'string' || f.repeated || f.map || f.partOf !== null || f.options?.['default'] !== undefined) return null;
    if (f.id > 1024) return null; // a sparse table: seldom, decoded whole
    keyOf[f.id] = name;
    keys.push(name);
  }
  for (let i = 0; i < keyOf.length; i++) keyOf[i] ??= undefined; // no holes
  return { keyOf, keys };
}

/**
 * The named top-level fields of an event (json names) and its `id`, or undefined when one of them is
 * not a plain string field of `type` (then decode the whole event). Throws what `checkWire`
 * throws on bytes a full decode refuses.
 */
export function decodeTopLevel(type: Type, bytes: Uint8Array, names: readonly string[]): DecodedEvent | undefined {
  const plan = planOf(type, names);
  if (plan === null) return undefined;
  const event: Record<string, unknown> = {};
  for (const key of plan.keys) event[key] = ''; // absent: ''
  checkWireReading(type, bytes, plan.keyOf, event);
  return event;
}
