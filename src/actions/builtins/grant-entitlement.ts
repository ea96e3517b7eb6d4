/**
 * `grantEntitlement`: grant an entitlement directly (`grantUserEntitlement`,
 * body an array). AGS "will skip un-supported item types" (only the types its
 * spec lists: APP, INGAMEITEM, CODE, SUBSCRIPTION, MEDIA, OPTIONBOX, LOOTBOX)
 * and still answers 201: an answer without an entitlement of the item is a
 * permanent failure naming the reason.
 */
import { ops } from '../../ags/index.js';
import { specField, specIntegerRange, specSupportedItemTypes } from '../../ags/index.js';
import type { EntitlementGrant } from '../../ags/index.js';
import { ActionError } from '../errors.js';
import type { ActionDefinition } from '../types.js';
import {
  compact,
  integer,
  namespaceOf,
  namespaceSchema,
  optionalDateTime,
  optionalObject,
  optionalString,
  planned,
  requireString,
  sendOp,
  short,
  specParam,
  specString,
  userIdOf,
  userIdSchema,
} from './common.js';

const NAME = 'grantEntitlement';
const OP = 'grantUserEntitlement';
const QUANTITY = specIntegerRange(OP, 'quantity', 1);
const SUPPORTED = specSupportedItemTypes(OP) ?? [];

export type GrantEntitlementParams = {
  namespace: string;
  userId: string;
  grant: EntitlementGrant;
};

const plainStrings = ['storeId', 'region', 'grantedCode'] as const;
const specStrings = ['source', 'language', 'origin'] as const;
const dates = ['startDate', 'endDate'] as const;

/** The granted entitlements of the answer (`StackableEntitlementInfo[]`) for `itemId`. */
function grantedOf(result: unknown, itemId: string): unknown[] {
  return Array.isArray(result) ? result.filter((e) => e !== null && typeof e === 'object' && (e as { itemId?: unknown }).itemId === itemId) : [];
}

export const grantEntitlement: ActionDefinition<GrantEntitlementParams> = {
  name: NAME,
  description: `Grant an entitlement to a user without a fulfillment (no store lookup; item types ${SUPPORTED.join(', ')} only).`,
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['itemId'],
    properties: {
      itemId: { type: 'string', description: 'Item id of the entitlement.' },
      itemNamespace: { type: 'string', description: 'Namespace of the item. Default: the namespace.' },
      quantity: specParam(specField(OP, 'quantity'), { description: `How many (${QUANTITY.minimum} to ${QUANTITY.maximum}).`, default: 1 }, QUANTITY),
      source: specParam(specField(OP, 'source'), { description: 'Entitlement source (AGS EntitlementGrant.source).' }),
      storeId: { type: 'string', description: 'Store id.' },
      region: { type: 'string', description: 'Region.' },
      language: specParam(specField(OP, 'language'), { description: 'Language (en, en-US, zh-Hans-CN...).' }),
      startDate: { type: 'string', description: 'Start of validity (RFC 3339 with offset).' },
      endDate: { type: 'string', description: 'End of validity (RFC 3339 with offset).' },
      grantedCode: { type: 'string', description: 'Code the entitlement was granted by.' },
      origin: specParam(specField(OP, 'origin'), { description: 'Platform origin.' }),
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
    for (const k of plainStrings) extra[k] = optionalString(NAME, params, k);
    for (const k of specStrings) extra[k] = specString(NAME, params, k, specField(OP, k));
    for (const k of dates) extra[k] = optionalDateTime(NAME, params, k);
    return {
      namespace,
      userId: userIdOf(NAME, params, ctx),
      grant: compact({
        itemId: requireString(NAME, params, 'itemId'),
        itemNamespace: optionalString(NAME, params, 'itemNamespace') ?? namespace,
        quantity: integer(NAME, params, 'quantity', 1, QUANTITY),
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
    if (grantedOf(result, p.grant.itemId).length === 0) {
      throw new ActionError(
        NAME,
        `AGS answered but granted no entitlement of item ${p.grant.itemId}: it skips items of types other than ${SUPPORTED.join(', ')} (use grantItem for coins, bundles and the rest)`,
        false,
        result,
      );
    }
    return { summary: `granted entitlement ${p.grant.quantity} x item ${short(p.grant.itemId)} to user ${short(p.userId)}`, detail: result };
  },
};
