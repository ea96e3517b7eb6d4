/**
 * `notifyUser`: send a lobby notification to a user. One action, two forms:
 * free-form (`topicName` + `message`,
 * `sendSpecificUserFreeformNotificationV1Admin`) or templated (`topicName` +
 * `templateSlug` + `templateLanguage` + `templateContext`,
 * `sendSpecificUserTemplatedNotificationV1Admin`). `topicName` is required in
 * both forms, as AGS's spec and both SDKs require it (no default: a topic the
 * game client does not listen on would lose the notification silently).
 * Giving both `message` and `templateSlug` is an error.
 */
import { ops } from '../../ags/index.js';
import type { AgsRequest } from '../../ags/index.js';
import { ActionParamError } from '../errors.js';
import type { ActionDefinition } from '../types.js';
import { namespaceOf, namespaceSchema, optionalObject, optionalString, planned, requireString, sendOp, short, userIdOf, userIdSchema } from './common.js';

const NAME = 'notifyUser';

export type NotifyUserParams =
  | { form: 'freeform'; namespace: string; userId: string; topicName: string; message: string }
  | {
      form: 'template';
      namespace: string;
      userId: string;
      templateSlug: string;
      templateLanguage: string;
      templateContext: Record<string, string>;
      topicName: string;
    };

function op(p: NotifyUserParams): AgsRequest {
  if (p.form === 'freeform') return ops.sendSpecificUserFreeformNotificationV1Admin(p.namespace, p.userId, { topicName: p.topicName, message: p.message });
  return ops.sendSpecificUserTemplatedNotificationV1Admin(p.namespace, p.userId, {
    templateSlug: p.templateSlug,
    templateLanguage: p.templateLanguage,
    templateContext: p.templateContext,
    topicName: p.topicName,
  });
}

export const notifyUser: ActionDefinition<NotifyUserParams> = {
  name: NAME,
  description: 'Send a lobby notification to a user: free-form (topicName + message) or from a template (templateSlug).',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['topicName'],
    properties: {
      topicName: { type: 'string', description: 'Notification topic the game client listens on (both forms).' },
      message: { type: 'string', description: 'Free-form message. Give message or templateSlug.' },
      templateSlug: { type: 'string', description: 'Notification template slug. Give message or templateSlug.' },
      templateLanguage: { type: 'string', description: 'Template language.', default: 'en' },
      templateContext: {
        type: 'object',
        additionalProperties: { type: ['string', 'number', 'boolean'] },
        description: 'Values of the template\'s placeholders (sent as strings).',
        default: {},
      },
      userId: userIdSchema,
      namespace: namespaceSchema,
    },
  },
  permission: 'ADMIN:NAMESPACE:{namespace}:NOTIFICATION [CREATE]',
  usesAgs: true,
  normalize(params, ctx) {
    const namespace = namespaceOf(NAME, params, ctx);
    const userId = userIdOf(NAME, params, ctx);
    const message = params.message;
    const templateSlug = optionalString(NAME, params, 'templateSlug');
    if (message !== undefined && templateSlug !== undefined) throw new ActionParamError(NAME, '', 'takes message (free-form) or templateSlug (templated), not both');
    if (templateSlug === undefined) {
      if (message === undefined) throw new ActionParamError(NAME, '', 'needs message (with topicName) or templateSlug');
      if (params.templateContext !== undefined || params.templateLanguage !== undefined) {
        throw new ActionParamError(NAME, '', 'templateLanguage/templateContext need templateSlug');
      }
      if (typeof message !== 'string') throw new ActionParamError(NAME, 'message', 'must be a string');
      return { form: 'freeform', namespace, userId, topicName: requireString(NAME, params, 'topicName'), message };
    }
    const context: Record<string, string> = {};
    for (const [k, v] of Object.entries(optionalObject(NAME, params, 'templateContext') ?? {})) {
      if (typeof v === 'object' && v !== null) throw new ActionParamError(NAME, `templateContext.${k}`, 'must be a string, number or boolean');
      context[k] = String(v);
    }
    return {
      form: 'template',
      namespace,
      userId,
      templateSlug,
      templateLanguage: optionalString(NAME, params, 'templateLanguage') ?? 'en',
      templateContext: context,
      topicName: requireString(NAME, params, 'topicName'),
    };
  },
  plan(p) {
    return [planned(op(p))];
  },
  async execute(p, ctx) {
    await sendOp(NAME, ctx, op(p));
    const what = p.form === 'freeform' ? `topic ${p.topicName}` : `template ${p.templateSlug}`;
    return { summary: `notified user ${short(p.userId)} (${what})` };
  },
};
