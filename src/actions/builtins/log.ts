/** `log`: write one structured log line (no network; plans nothing). */
import { ActionParamError } from '../errors.js';
import { redactAndCut } from '../../telemetry/index.js';
import type { ActionDefinition } from '../types.js';
import { oneOf, optionalObject } from './common.js';

const NAME = 'log';
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

export type LogParams = { level: (typeof LEVELS)[number]; message: string; fields: Record<string, unknown> };

export const logAction: ActionDefinition<LogParams> = {
  name: NAME,
  description: 'Write a structured log line (with the rule and event names).',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['message'],
    properties: {
      message: { type: 'string', description: 'The message.' },
      level: { enum: LEVELS, description: 'Log level.', default: 'info' },
      fields: { type: 'object', description: 'Extra fields of the line (e.g. userId: "${event.userId}").' },
    },
  },
  usesAgs: false,
  normalize(params) {
    const message = params.message;
    if (typeof message !== 'string' || message === '') throw new ActionParamError(NAME, 'message', 'is required');
    return { level: oneOf(NAME, params, 'level', LEVELS, 'info'), message, fields: optionalObject(NAME, params, 'fields') ?? {} };
  },
  plan() {
    return [];
  },
  execute(p, ctx) {
    ctx.logger[p.level]({ ...p.fields, rule: ctx.rule, event: ctx.eventName }, p.message);
    return Promise.resolve({ summary: `logged "${redactAndCut(p.message, 60, '...')}"` }); // redacted before the cut: a secret across it is not shown in part
  },
};
