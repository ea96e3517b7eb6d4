/**
 * A custom action, the worked example: copy this file into `actions/`, run
 * `npm run build` (npm start and npm test do), and rules can use it:
 *
 *   do:
 *     - setProfileAttributes: { attributes: { lastLoginCountry: "${event.payload.loginLocation.country}" } }
 *
 * It updates custom attributes of the user's profile (AGS Basic
 * `updateCustomAttributesPartially`,
 * `PUT /basic/v1/admin/namespaces/{namespace}/users/{userId}/profiles/customAttributes`;
 * permission `ADMIN:NAMESPACE:{namespace}:USER:{userId}:PROFILE [UPDATE]`).
 */
import { ActionError, ActionParamError, agsPath, defineAction } from 'extend-event-rules';
import type { AgsRequest } from 'extend-event-rules';

type Params = { namespace: string; userId: string; attributes: Record<string, unknown> };

const request = (p: Params): AgsRequest => ({
  operation: 'updateCustomAttributesPartially',
  method: 'PUT',
  path: agsPath`/basic/v1/admin/namespaces/${p.namespace}/users/${p.userId}/profiles/customAttributes`,
  body: p.attributes,
  idempotent: true, // the same attributes again: the same profile, so a 500 may be retried
});

export default defineAction<Params>({
  name: 'setProfileAttributes',
  description: 'Update custom attributes of the user profile.',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['attributes'],
    properties: {
      attributes: { type: 'object', description: 'Attributes to set.' },
      userId: { type: 'string', description: 'Default: the event userId.' },
    },
  },
  permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:PROFILE [UPDATE]',
  usesAgs: true,
  normalize(params, ctx) {
    const userId = (params.userId ?? ctx.event.userId) as string | undefined;
    if (!userId) throw new ActionParamError('setProfileAttributes', 'userId', 'is empty (the event has no userId)');
    return { namespace: ctx.namespace, userId, attributes: params.attributes as Record<string, unknown> };
  },
  plan: (p) => {
    const { operation, method, path, body } = request(p);
    return [{ operation, method, path, body }];
  },
  async execute(p, ctx) {
    if (!ctx.ags) throw new ActionError('setProfileAttributes', 'no AGS client (AB_CLIENT_ID/AB_CLIENT_SECRET unset)', false);
    await ctx.ags.request({ ...request(p), ...(ctx.signal ? { signal: ctx.signal } : {}) });
    return { summary: `updated the profile attributes of ${p.userId}` };
  },
});
