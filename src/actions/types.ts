/**
 * The action contract. An action is a named, schema-described operation that a
 * rule's `do` list invokes with parameters. Built-ins live in `builtins/`;
 * custom actions implement the same interface and are registered with
 * `ActionRegistry.register` — the engine never changes to add one.
 */
import type { DecodedEvent } from '../events/index.js';
import type { AgsApi } from '../ags/index.js';
import type { Logger } from 'pino';

/** A JSON Schema object (draft 2020-12 subset that ajv compiles). */
export type JsonSchema = Record<string, unknown>;

/** One HTTP request an action would send (dry runs, explain, tests). */
export interface PlannedRequest {
  /** AGS operation id (`fulfillItem`) or `http` for webhooks. */
  readonly operation: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below `AB_BASE_URL` (`/platform/admin/...`), or for `http` its URL with path and query redacted (`https://hooks.example/[redacted]`). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** JSON body, if any. */
  readonly body?: unknown;
  /** Extra headers (secret-looking ones shown `[redacted]` in plans). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What an action sees while it plans or runs. */
export interface ActionContext {
  /** The decoded event. */
  readonly event: DecodedEvent;
  /** The event name (`userLoggedIn`). */
  readonly eventName: string;
  /** `AB_NAMESPACE`: the default namespace of every AGS call. */
  readonly namespace: string;
  /** Name of the rule running this action. */
  readonly rule: string;
  /** Stable idempotency key of this execution (event id + rule + action position). */
  readonly idempotencyKey: string;
  /** The AGS operations (no credentials: no `login()` or `token()`); absent in dry run. */
  readonly ags?: AgsApi;
  readonly logger: Logger;
  /** Aborted when the per-event deadline passes, the caller cancels or shutdown begins: no new request, no retry. */
  readonly signal?: AbortSignal;
  /**
   * Aborts a request already sent: only when shutdown's grace period is over. A request in flight
   * when `signal` aborts completes, so its outcome is known and recorded. Default: none.
   */
  readonly inFlightSignal?: AbortSignal;
  /** Clock (ms since epoch) for actions that compute dates (`banUser` `duration`). Default: `Date.now`. */
  readonly now?: () => number;
}

/** Result of a successful execution (logged, traced, kept in dead letters for context). */
export interface ActionResult {
  /** Short human summary, e.g. `granted 1 x item 3f2a... to user 9c1b...`. */
  readonly summary?: string;
  /** The response body or other detail worth keeping. */
  readonly detail?: unknown;
}

export interface ActionDefinition<P extends Record<string, unknown> = Record<string, unknown>> {
  /** Name used in `rules.yaml` (`grantItem`). */
  readonly name: string;
  /** One line for the schema and README. */
  readonly description: string;
  /** JSON Schema of the parameters as written in `rules.yaml` (before defaults). */
  readonly params: JsonSchema;
  /** The AGS permission the IAM client needs, or `undefined` for local actions (`log`, `http`). */
  readonly permission?: string;
  /**
   * The AGS permission its lookup ({@link ActionDefinition.reconcile}) needs, when it differs from
   * {@link ActionDefinition.permission}: named when the lookup is refused. Default: none.
   */
  readonly lookupPermission?: string;
  /** Does the action call AGS (needs a client / token)? */
  readonly usesAgs: boolean;
  /**
   * Fill defaults from the event (user id, namespace...) and check what the
   * schema cannot. Throws ActionParamError. Also run at load on values known
   * then, with a stand-in event holding only `userId` (see
   * `src/rules/action-params.ts`): no side effects.
   */
  normalize(params: Record<string, unknown>, ctx: ActionContext): P;
  /** The exact request(s) `execute` would send. Pure. */
  plan(params: P, ctx: ActionContext): PlannedRequest[];
  /**
   * The params as displayed (explain, test, logs), secrets out: e.g. `http`
   * shows its URL as `origin/[redacted]` and secret-looking headers as
   * `[redacted]`. Default: as they are (registered secret values are redacted
   * everywhere anyway).
   */
  display?(params: P): Record<string, unknown>;
  /** Perform the action. Throws AgsError / ActionError; `retriable` on the error decides redelivery. */
  execute(params: P, ctx: ActionContext): Promise<ActionResult>;
  /**
   * After an attempt whose outcome is unknown (sent, answer lost: `outcomeUnknown` on the error),
   * find out whether it was applied, by `ctx.idempotencyKey` which `execute` carried to AGS.
   * `sentAt` (ms since epoch) is when that attempt started. Answers true when applied (it is then
   * not run again), false when not (it runs again). Absent: the action is run at most once: an
   * unknown outcome is dead-lettered as `unknown-outcome`.
   */
  reconcile?(params: P, ctx: ActionContext, sentAt: number): Promise<boolean>;
}
