/**
 * A quick check that a rules file satisfies the file schema
 * ({@link buildRulesSchema}) without compiling the whole schema with ajv
 * (~100 ms and ~10 MB at start-up): the file and rule structure is checked by
 * hand, each action's parameters by a small validator compiled from that
 * action's part of the same schema, only for the actions the file uses.
 *
 * `true` means the full schema accepts the file. `false` means "maybe not":
 * the caller then runs the full schema, which reports the problems.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { ActionRegistry } from '../actions/registry.js';
import type { JsonSchema } from '../actions/types.js';
import { MAX_RULES, buildRulesSchema } from './schema.js';

// validateSchema: false: these schemas are derived from the actions' parameter schemas, which paramsAjv (validate.ts) meta-validates when it compiles them; this saves compiling the draft 2020-12 meta-schema again (~50 ms)
const actionAjv = new Ajv2020({ allErrors: false, strict: false, validateSchema: false });

interface RegistryCheck {
  readonly key: string;
  readonly schema: JsonSchema;
  readonly actions: Map<string, ValidateFunction | null>;
  readonly name: RegExp;
  readonly instant: RegExp;
}

const checks = new WeakMap<ActionRegistry, RegistryCheck>();

const RULE_KEYS = new Set(['name', 'description', 'on', 'enabled', 'activeFrom', 'activeUntil', 'mode', 'onFailure', 'when', 'do']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function get(o: unknown, ...path: string[]): unknown {
  let cur = o;
  for (const k of path) cur = isObject(cur) ? cur[k] : undefined;
  return cur;
}

function forRegistry(registry: ActionRegistry): RegistryCheck | undefined {
  const key = registry.names().join('\0');
  const cached = checks.get(registry);
  if (cached?.key === key) return cached;
  const schema = buildRulesSchema(registry);
  const name = get(schema, '$defs', 'rule', 'properties', 'name', 'pattern');
  const instant = get(schema, '$defs', 'rule', 'properties', 'activeFrom', 'pattern');
  if (typeof name !== 'string' || typeof instant !== 'string') return undefined;
  const check: RegistryCheck = { key, schema, actions: new Map(), name: new RegExp(name, 'u'), instant: new RegExp(instant, 'u') };
  checks.set(registry, check);
  return check;
}

/** The validator of one action's parameters as the file schema describes them; null: not available (use the full schema). */
function actionValidator(check: RegistryCheck, action: string): ValidateFunction | null {
  let v = check.actions.get(action);
  if (v !== undefined) return v;
  v = null;
  const defs = get(check.schema, '$defs');
  const sub = get(defs, 'action', 'properties', action);
  if (isObject(sub) && isObject(defs) && !('$defs' in sub) && !('$id' in sub)) {
    try {
      v = actionAjv.compile({ ...sub, $defs: { reference: defs.reference, computed: defs.computed, logic: defs.logic } });
    } catch {
      v = null;
    }
  }
  check.actions.set(action, v);
  return v;
}

/** True when the rules file data certainly satisfies the file schema of `registry`. */
export function quickSchemaCheck(data: unknown, registry: ActionRegistry): boolean {
  if (!isObject(data)) return false;
  for (const k in data) if (Object.hasOwn(data, k) && k !== 'version' && k !== 'rules') return false;
  if (data.version !== 1) return false;
  const rules = data.rules;
  if (!Array.isArray(rules) || rules.length > MAX_RULES) return false;
  const check = forRegistry(registry);
  if (!check) return false;
  for (const rule of rules) {
    if (!isObject(rule)) return false;
    for (const k in rule) if (Object.hasOwn(rule, k) && !RULE_KEYS.has(k)) return false;
    const { name, on, description, enabled, activeFrom, activeUntil, mode, onFailure } = rule;
    if (typeof name !== 'string' || name.length < 1 || name.length > 200 || !check.name.test(name)) return false;
    if (typeof on !== 'string' || on.length < 1) return false;
    if (description !== undefined && typeof description !== 'string') return false;
    if (enabled !== undefined && typeof enabled !== 'boolean') return false;
    if (activeFrom !== undefined && (typeof activeFrom !== 'string' || !check.instant.test(activeFrom))) return false;
    if (activeUntil !== undefined && (typeof activeUntil !== 'string' || !check.instant.test(activeUntil))) return false;
    if (mode !== undefined && mode !== 'live' && mode !== 'shadow') return false;
    if (onFailure !== undefined && onFailure !== 'deadLetter' && onFailure !== 'retry') return false;
    // "when" is any JSON Logic value for the schema; "description" keys with undefined values do not occur in parsed YAML
    const actions = rule.do;
    if (!Array.isArray(actions) || actions.length < 1) return false;
    for (const item of actions) {
      if (!isObject(item)) return false;
      const keys = Object.keys(item);
      if (keys.length !== 1) return false;
      const action = keys[0]!;
      if (!registry.get(action)) return false;
      const validate = actionValidator(check, action);
      if (!validate || !validate(item[action])) return false;
    }
  }
  return true;
}
