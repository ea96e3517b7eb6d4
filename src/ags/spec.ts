/**
 * Typed access to the generated {@link SPEC_OPERATIONS} (AccelByte's OpenAPI
 * specs, see scripts/spec-constraints.mjs): the constraints of an operation's
 * body field by path (`source`, `items.quantity`; array levels are skipped),
 * and the ranges an integer format allows. Actions build their parameter
 * schemas and run-time checks from these, so neither can drift from the spec.
 */
import { SPEC_ANSWERS, SPEC_OPERATIONS } from './generated/spec-constraints.js';

export { SPEC_ANSWERS, SPEC_OPERATIONS };

/** An operation id of the specs that an action calls. */
export type SpecOperationId = keyof typeof SPEC_OPERATIONS;

/** One body field's schema, as the specs write it (summarized). */
export interface SpecField {
  readonly type?: string;
  readonly format?: string;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly nullable?: boolean;
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, SpecField>>;
  readonly items?: SpecField;
}

/** Integer bounds of the specs' formats (int64 is bounded by what a JSON number carries exactly). */
const FORMAT_RANGE: Readonly<Record<string, readonly [number, number]>> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** A missing field means the spec changed under the code: fail at import, not per event. */
export class SpecFieldMissingError extends Error {
  override readonly name = 'SpecFieldMissingError';
  constructor(
    readonly operation: string,
    readonly path: string,
  ) {
    super(`the AGS spec of ${operation} has no body field "${path}" (regenerate src/ags/generated/spec-constraints.ts and update the action)`);
  }
}

function skipArrays(f: SpecField | undefined): SpecField | undefined {
  let s = f;
  while (s?.type === 'array' && s.items) s = s.items;
  return s;
}

/** The body field of `operation` at a dotted `path`. Throws {@link SpecFieldMissingError}. */
export function specField(operation: SpecOperationId, path: string): SpecField {
  const op = SPEC_OPERATIONS[operation] as { body?: SpecField };
  let cur = skipArrays(op.body);
  for (const seg of path.split('.')) {
    cur = skipArrays(cur?.properties?.[seg]);
    if (!cur) throw new SpecFieldMissingError(operation, path);
  }
  return cur!;
}

/** The enum values of a string field. Throws when the field has none. */
export function specEnum(operation: SpecOperationId, path: string): readonly string[] {
  const values = specField(operation, path).enum;
  if (!values) throw new SpecFieldMissingError(operation, `${path} (enum)`);
  return values;
}

/** Is the field required by its object's schema? */
export function specRequired(operation: SpecOperationId, path: string): boolean {
  const parts = path.split('.');
  const name = parts.pop()!;
  const parent = parts.length === 0 ? skipArrays((SPEC_OPERATIONS[operation] as { body?: SpecField }).body) : specField(operation, parts.join('.'));
  return parent?.required?.includes(name) ?? false;
}

/** The integer range of a field: the format's bounds, narrowed by the spec's `minimum`/`maximum` and by `atLeast` (the action's own floor). */
export function specIntegerRange(operation: SpecOperationId, path: string, atLeast?: number): { readonly minimum: number; readonly maximum: number } {
  const f = specField(operation, path);
  if (f.type !== 'integer') throw new SpecFieldMissingError(operation, `${path} (integer)`);
  const [lo, hi] = FORMAT_RANGE[f.format ?? 'int64'] ?? FORMAT_RANGE.int64!;
  return { minimum: Math.max(lo, f.minimum ?? lo, atLeast ?? lo), maximum: Math.min(hi, f.maximum ?? hi) };
}

/** The item types an operation's description lists as supported (grantUserEntitlement). */
export function specSupportedItemTypes(operation: SpecOperationId): readonly string[] | undefined {
  return (SPEC_OPERATIONS[operation] as { supportedItemTypes?: readonly string[] }).supportedItemTypes;
}

/** The permissions the spec documents for an operation. */
export function specPermissions(operation: SpecOperationId): readonly string[] {
  return SPEC_OPERATIONS[operation].permissions;
}
