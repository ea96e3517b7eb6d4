/** Helpers of the delivery tests: polling, captured logs, test actions (Redis: test/support/redis.ts). */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { ActionDefinition, ActionContext, ActionResult } from '../../src/actions/types.js';
import { ActionRegistry } from '../../src/actions/registry.js';

export { waitFor } from '../support/wait.js';
import { fileRandom } from '../support/seed.js';

/**
 * The sidecar's pause before it redelivers an event answered UNAVAILABLE (5 to 45 ms, jitter from the file's seed):
 * a backoff, not a wait for a condition (the redelivery after it is what checks).
 */
export function redeliveryPause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(fileRandom() * 40)));
}

/** A pino logger whose lines are kept as parsed objects. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** What a test action does on one call: succeed, or throw an error. */
export type Behaviour = (call: { params: Record<string, unknown>; ctx: ActionContext }) => Promise<ActionResult> | ActionResult;

export class TransientError extends Error {
  override readonly name = 'TransientError';
  readonly retriable = true;
}
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  readonly retriable = false;
  constructor(
    message: string,
    readonly status = 400,
    readonly errorCode: number | string = 20002,
  ) {
    super(message);
  }
}

/**
 * A recording action: every execute is pushed to `calls`; `next` behaviours are
 * consumed in order (then it succeeds).
 */
export function recordingAction(name: string): ActionDefinition & { calls: { key: string; params: Record<string, unknown> }[]; next: Behaviour[] } {
  const calls: { key: string; params: Record<string, unknown> }[] = [];
  const next: Behaviour[] = [];
  return {
    name,
    description: `test action ${name}`,
    params: { type: 'object' },
    usesAgs: false,
    calls,
    next,
    normalize(params) {
      if (params.required === '') throw new PermanentError('parameter "required" is empty');
      return params;
    },
    plan(params) {
      return [{ operation: name, method: 'POST', path: `/test/${name}`, body: params }];
    },
    async execute(params, ctx) {
      calls.push({ key: ctx.idempotencyKey, params });
      const behaviour = next.shift();
      if (behaviour) return behaviour({ params, ctx });
      return { summary: `${name} done` };
    },
  };
}

export function registryOf(...actions: ActionDefinition[]): ActionRegistry {
  const registry = new ActionRegistry();
  for (const a of actions) registry.register(a);
  return registry;
}
