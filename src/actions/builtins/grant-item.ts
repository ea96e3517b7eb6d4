/** `grantItem`: fulfill a store item to a user (`fulfillItem`, or `fulfillItemsV3` with `useTransactionId`). */
import { ops } from '../../ags/operations.js';
import type { FulfillmentRequest, FulfillmentResult } from '../../ags/types.js';
import { ActionError, ActionParamError } from '../errors.js';
import { effectId, findInHistory } from '../reconcile.js';
import type { ActionContext, ActionDefinition } from '../types.js';
import { bool, clientOf, compact, integer, namespaceOf, namespaceSchema, optionalObject, optionalString, planned, sendOp, short, userIdOf, userIdSchema } from './common.js';

const NAME = 'grantItem';

export type GrantItemParams = {
  namespace: string;
  userId: string;
  itemId?: string;
  itemSku?: string;
  quantity: number;
  source: string;
  storeId?: string;
  region?: string;
  language?: string;
  metadata?: Record<string, unknown>;
  orderNo?: string;
  useTransactionId: boolean;
};

function request(p: GrantItemParams, ctx: ActionContext) {
  const item: FulfillmentRequest = compact({
    itemId: p.itemId,
    itemSku: p.itemSku,
    quantity: p.quantity,
    source: p.source,
    storeId: p.storeId,
    region: p.region,
    language: p.language,
    metadata: p.metadata,
  });
  if (p.useTransactionId) return ops.fulfillItemsV3(p.namespace, p.userId, ctx.idempotencyKey, { items: [item] });
  return ops.fulfillItem(p.namespace, p.userId, compact({ ...item, orderNo: orderNoOf(p, ctx) }));
}

/**
 * The fulfillment's `orderNo`: the rule's, else, when it really runs (an AGS client is there),
 * `eer-<effect id>`: the lookup key after a lost answer. Offline plans (explain, test, dry run) leave it out.
 */
function orderNoOf(p: GrantItemParams, ctx: ActionContext): string | undefined {
  return p.orderNo ?? (ctx.ags ? `eer-${effectId(ctx.idempotencyKey)}` : undefined);
}

/** The templates' check: an answer with no entitlement, credit or subscription granted nothing. */
export function grantedNothing(result: FulfillmentResult | undefined): boolean {
  const empty = (v: unknown): boolean => !Array.isArray(v) || v.length === 0;
  return !result || (empty(result.entitlementSummaries) && empty(result.creditSummaries) && empty(result.subscriptionSummaries));
}

export const grantItem: ActionDefinition<GrantItemParams> = {
  name: NAME,
  description: 'Grant a store item to a user (AGS fulfillment).',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      itemId: { type: 'string', description: 'Item id to grant. Give exactly one of itemId, itemSku.' },
      itemSku: { type: 'string', description: 'Item SKU to grant. Give exactly one of itemId, itemSku.' },
      quantity: { type: ['integer', 'string'], description: 'How many.', default: 1 },
      source: { type: 'string', description: 'Fulfillment source: REWARD, ACHIEVEMENT, PROMOTION, GIFT, OTHER...', default: 'REWARD' },
      storeId: { type: 'string', description: 'Store to take the item from. Default: the published store.' },
      region: { type: 'string', description: 'Region (pricing).' },
      language: { type: 'string', description: 'Language.' },
      metadata: { type: 'object', description: 'Free metadata kept with the fulfillment.' },
      orderNo: {
        type: 'string',
        description: 'Order number to attach (fulfillItem only). Default: eer-<effect id of this execution>, looked up in the fulfillment history after a lost answer. Your own must be unique per event (e.g. ${event.id}).',
      },
      useTransactionId: {
        type: 'boolean',
        description: 'Use the idempotent v3 fulfillment with the execution\'s idempotency key as transaction id (AGS private cloud only: not supported in Shared Cloud).',
        default: false,
      },
      userId: userIdSchema,
      namespace: namespaceSchema,
    },
  },
  permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:FULFILLMENT [CREATE]',
  // after a lost answer: queryFulfillmentHistories (ADMIN:NAMESPACE:{namespace}:FULFILLMENT [READ]) by orderNo
  usesAgs: true,
  normalize(params, ctx) {
    const itemId = optionalString(NAME, params, 'itemId');
    const itemSku = optionalString(NAME, params, 'itemSku');
    if ((itemId === undefined) === (itemSku === undefined)) {
      throw new ActionParamError(NAME, '', itemId === undefined ? 'needs itemId or itemSku (both are empty)' : 'takes itemId or itemSku, not both');
    }
    return compact({
      namespace: namespaceOf(NAME, params, ctx),
      userId: userIdOf(NAME, params, ctx),
      itemId,
      itemSku,
      quantity: integer(NAME, params, 'quantity', 1),
      source: optionalString(NAME, params, 'source') ?? 'REWARD',
      storeId: optionalString(NAME, params, 'storeId'),
      region: optionalString(NAME, params, 'region'),
      language: optionalString(NAME, params, 'language'),
      metadata: optionalObject(NAME, params, 'metadata'),
      orderNo: optionalString(NAME, params, 'orderNo'),
      useTransactionId: bool(NAME, params, 'useTransactionId', false),
    });
  },
  plan(p, ctx) {
    return [planned(request(p, ctx))];
  },
  async execute(p, ctx) {
    const result = await sendOp<FulfillmentResult>(NAME, ctx, request(p, ctx));
    if (grantedNothing(result)) {
      throw new ActionError(NAME, 'AGS answered but granted nothing (no entitlement, credit or subscription summary)', false, result);
    }
    return {
      summary: `granted ${p.quantity} x ${p.itemId ? `item ${short(p.itemId)}` : `sku ${p.itemSku}`} to user ${short(p.userId)}`,
      detail: result,
    };
  },
  async reconcile(p, ctx, sentAt) {
    if (p.useTransactionId) return false; // fulfillItemsV3 is idempotent: sending it again is the reconciliation
    const ags = clientOf(NAME, ctx);
    const orderNo = orderNoOf(p, ctx);
    if (orderNo === undefined) return false;
    return findInHistory(
      (limit, offset) => ags.queryFulfillmentHistories(p.namespace, p.userId, limit, offset, ctx.signal),
      (h) => h.orderNo === orderNo && h.status !== 'FAIL',
      sentAt,
    );
  },
};
