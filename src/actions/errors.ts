/**
 * Errors of actions other than AGS call failures (those are `AgsError` from
 * `src/ags/errors.ts`). Every error out of an action's `execute` carries
 * `retriable`: it decides whether the event is redelivered or dead-lettered.
 */

/** A parameter resolved to nothing or to an invalid value. Permanent. */
export class ActionParamError extends Error {
  override readonly name = 'ActionParamError';
  readonly retriable = false;
  constructor(
    /** The action (`grantItem`). */
    readonly action: string,
    /** The parameter concerned (`userId`), or '' for the combination. */
    readonly param: string,
    /** What is wrong, e.g. `is empty (the event has no userId)`. */
    readonly reason: string,
    /** How to fix it in rules.yaml, e.g. `write a whole number >= 1, e.g. quantity: 1`; reported by validate. */
    readonly fix?: string,
  ) {
    super(`${action}: ${param ? `parameter "${param}" ` : ''}${reason}`);
  }
}

/** An action failed for a reason that is not an HTTP error (empty fulfillment, no client). */
export class ActionError extends Error {
  override readonly name = 'ActionError';
  constructor(
    readonly action: string,
    message: string,
    /** Would redelivering the event plausibly succeed? */
    readonly retriable: boolean,
    /** The answer or detail worth keeping in the dead letter. */
    readonly detail?: unknown,
  ) {
    super(`${action}: ${message}`);
  }
}
