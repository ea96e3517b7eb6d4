/** `grantEntitlement`: grant an entitlement directly (`grantUserEntitlement`, body an array). */
import { ops } from '../../ags/operations.js';
import type { EntitlementGrant } from '../../ags/types.js';
import type { ActionDefinition } from '../types.js';
import { compact, integer, namespaceOf, namespaceSchema, optionalObject, optionalString, planned, requireString, sendOp, short, userIdOf, userIdSchema } from './common.js';

const NAME = 'grantEntitlement';

export type GrantEntitlementParams = {
  namespace: string;
  userId: string;
  grant: EntitlementGrant;
};

const optionalStrings = ['source', 'storeId', 'region', 'language', 'startDate', 'endDate', 'grantedCode', 'origin'] as const;

export const grantEntitlement: ActionDefinition<GrantEntitlementParams> = {
  name: NAME,
  description: 'Grant an entitlement to a user without a fulfillment (no store lookup).',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['itemId'],
    properties: {
      itemId: { type: 'string', description: 'Item id of the entitlement.' },
      itemNamespace: { type: 'string', description: 'Namespace of the item. Default: the namespace.' },
      quantity: { type: ['integer', 'string'], description: 'How many.', default: 1 },
      source: { type: 'string', description: 'Entitlement source (REWARD, ACHIEVEMENT, PROMOTION, GIFT, OTHER...).' },
      storeId: { type: 'string', description: 'Store id.' },
      region: { type: 'string', description: 'Region.' },
      language: { type: 'string', description: 'Language.' },
      startDate: { type: 'string', description: 'Start of validity (RFC 3339).' },
      endDate: { type: 'string', description: 'End of validity (RFC 3339).' },
      grantedCode: { type: 'string', description: 'Code the entitlement was granted by.' },
      origin: { type: 'string', description: 'Platform origin (Steam, Playstation, ... System).' },
      metadata: { type: 'object', description: 'Free metadata.' },
      userId: userIdSchema,
      namespace: namespaceSchema,
    },
  },
  permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:ENTITLEMENT [CREATE]',
  usesAgs: true,
  normalize(params, ctx) {
    const namespace = namespaceOf(NAME, params, ctx);
    const extra: Record<string, unknown> = {};
    for (const k of optionalStrings) extra[k] = optionalString(NAME, params, k);
    return {
      namespace,
      userId: userIdOf(NAME, params, ctx),
      grant: compact({
        itemId: requireString(NAME, params, 'itemId'),
        itemNamespace: optionalString(NAME, params, 'itemNamespace') ?? namespace,
        quantity: integer(NAME, params, 'quantity', 1),
        ...extra,
        metadata: optionalObject(NAME, params, 'metadata'),
      }),
    };
  },
  plan(p) {
    return [planned(ops.grantUserEntitlement(p.namespace, p.userId, [p.grant]))];
  },
  async execute(p, ctx) {
    const result = await sendOp(NAME, ctx, ops.grantUserEntitlement(p.namespace, p.userId, [p.grant]));
    return { summary: `granted entitlement ${p.grant.quantity} x item ${short(p.grant.itemId)} to user ${short(p.userId)}`, detail: result };
  },
};
