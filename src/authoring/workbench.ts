/**
 * The offline pipeline shared by `test` and `explain`: resolve an event name,
 * build the event from partial data, compile the rules for an environment,
 * evaluate, and plan each action exactly as the executor would (normalize,
 * then plan) without sending anything.
 */
import { FACT_OPERATIONS } from '../ags/index.js';
import type { ActionRegistry } from '../actions/index.js';
import type { PlannedRequest } from '../actions/index.js';
import { eventKey, idempotencyKey } from '../delivery/index.js';
import { fillDefaults } from '../events/index.js';
import { EventEncodeError } from '../events/index.js';
import type { Catalog, DecodedEvent, EventService } from '../events/index.js';
import { loadRules } from '../rules/index.js';
import type { RulesLoadResult } from '../rules/index.js';
import type { PlannedAction } from '../rules/index.js';
import { redactText, redactValue, silentLogger } from '../telemetry/index.js';
import { EventDataError, UnknownEventError } from './errors.js';
import { customEventFromData } from '../custom-events/index.js';

/** How missing fields of partial event data are filled. */
export type DataBase = 'sample' | 'defaults';

/** One action of a matched rule, planned offline. */
export interface PlannedStep {
  readonly rule: string;
  /** 0-based position in the rule's `do`. */
  readonly index: number;
  readonly action: string;
  /** For one item of a `forEach`: the item. */
  readonly item?: unknown;
  /** `shadow`: the server plans and counts it but never sends it. */
  readonly mode: 'live' | 'shadow';
  /** Parameters after the action's `normalize` (defaults from the event and the action applied), as displayed (secrets redacted, see `ActionDefinition.display`). Absent when planning failed. */
  readonly params?: Record<string, unknown>;
  /** The exact requests the action would send. Absent when planning failed. */
  readonly requests?: readonly PlannedRequest[];
  /** Why the action cannot be planned (a parameter the action refuses). */
  readonly error?: string;
}

/** The service an event name (or service name, or method path) means. Throws {@link UnknownEventError}. */
export function resolveEvent(catalog: Catalog, name: string): EventService {
  const r = catalog.resolve(name);
  if (r.ok) return r.service;
  throw new UnknownEventError(name, r.reason, r.candidates);
}

/**
 * A full event from partial data: missing fields from the sample event
 * (`sample`, the default: realistic ids, namespace "mygame"...) or from proto
 * defaults (`defaults`: empty strings, zeros). Throws {@link EventDataError}.
 */
export function buildEvent(service: EventService, data: unknown, source: string, base: DataBase = 'sample'): DecodedEvent {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new EventDataError(source, `the event data must be a JSON object, not ${Array.isArray(data) ? 'an array' : data === null ? 'null' : typeof data}`);
  }
  try {
    return customEventFromData(service.fullName, data as DecodedEvent) ?? fillDefaults(service, data as DecodedEvent, { base });
  } catch (err) {
    if (err instanceof EventEncodeError) {
      throw new EventDataError(source, `the data does not fit ${err.typeName}: ${err.reason}`, err.path || undefined, err.expected);
    }
    throw err;
  }
}

/** Plans the actions of an evaluation as the executor would in dry run. Never throws: a failing action carries `error`. */
export function planSteps(
  registry: ActionRegistry,
  service: EventService,
  event: DecodedEvent,
  plan: readonly PlannedAction[],
  namespace: string,
  now: Date,
): PlannedStep[] {
  const key = eventKey(event);
  return plan.map((p): PlannedStep => {
    const base = { rule: p.rule, index: p.index, action: p.action, mode: p.mode, ...(p.item !== undefined ? { item: redactValue(p.item) } : {}) };
    const def = registry.get(p.action);
    if (!def) return { ...base, error: `no action named "${p.action}" is registered` };
    const ctx = {
      event,
      eventName: service.eventName,
      namespace,
      rule: p.rule,
      idempotencyKey: idempotencyKey(key, p.rule, p.key),
      // pino is loaded only if the action reads it (telemetry/logger.ts)
      get logger() {
        return silentLogger();
      },
      now: () => now.getTime(),
    };
    if (p.failure) return { ...base, error: p.failure.message };
    try {
      const params = def.normalize(p.params, ctx);
      // shown, never sent: secrets out (see telemetry/redact.ts)
      return { ...base, params: redactValue(def.display ? def.display(params) : params), requests: redactValue(def.plan(params, ctx)) };
    } catch (err) {
      return { ...base, error: redactText(err instanceof Error ? err.message : String(err)) };
    }
  });
}

/** Compiles a rules file once per distinct environment. */
export class RulesCache {
  readonly #cache = new Map<string, Promise<RulesLoadResult>>();

  constructor(
    private readonly catalog: Catalog,
    private readonly registry: ActionRegistry,
  ) {}

  /** The rules of `file` compiled with `env` (an unset `${env.X}` without default is an error). */
  load(file: string, env: Readonly<Record<string, string | undefined>>): Promise<RulesLoadResult> {
    const key = `${file}\0${JSON.stringify(Object.entries(env).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
    let r = this.#cache.get(key);
    if (!r) {
      r = loadRules({ file, catalog: this.catalog, registry: this.registry, env, unsetEnv: 'error', facts: FACT_OPERATIONS });
      this.#cache.set(key, r);
    }
    return r;
  }
}
