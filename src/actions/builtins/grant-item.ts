/** `grantItem`: fulfill a store item to a user (`fulfillItem`, or `fulfillItemsV3` with `useTransactionId`). */
import { ops } from '../../ags/index.js';
import { specEnum, specField, specIntegerRange } from '../../ags/index.js';
import type { FulfillmentRequest, FulfillmentResult, FulfillmentV3Result } from '../../ags/index.js';
import { ActionError, ActionParamError } from '../errors.js';
import { effectId, findInHistory } from '../reconcile.js';
import type { ActionContext, ActionDefinition } from '../types.js';
import { bool, clientOf, compact, integer, namespaceOf, namespaceSchema, optionalObject, optionalString, planned, sendOp, short, specParam, specString, userIdOf, userIdSchema } from './common.js';

const NAME = 'grantItem';
/** Sources both fulfillment operations accept (`FulfillmentRequest.source`, `FulfillmentV2RequestItem.source`). */
const SOURCES = specEnum('fulfillItem', 'source').filter((s) => specEnum('fulfillItemsV3', 'items.source').includes(s));
const SOURCE_FIELD = { ...specField('fulfillItem', 'source'), enum: SOURCES };
const QUANTITY = specIntegerRange('fulfillItem', 'quantity', 1);

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
  // the body built once (fulfillItem's orderNo: the rule's, else the effect id's, in the same last place)
  const item: FulfillmentRequest = compact({
    itemId: p.itemId,
    itemSku: p.itemSku,
    quantity: p.quantity,
    source: p.source,
    storeId: p.storeId,
    region: p.region,
    language: p.language,
    metadata: p.metadata,
    orderNo: p.useTransactionId ? p.orderNo : orderNoOf(p, ctx),
  });
  if (p.useTransactionId) return ops.fulfillItemsV3(p.namespace, p.userId, ctx.idempotencyKey, { items: [item] });
  return ops.fulfillItem(p.namespace, p.userId, item);
}

/**
 * The fulfillment's `orderNo`: the rule's, else, when it really runs (an AGS client is there),
 * `eer-<effect id>`: the lookup key after a lost answer. Offline plans (explain, test, dry run) leave it out.
 */
function orderNoOf(p: GrantItemParams, ctx: ActionContext): string | undefined {
  return p.orderNo ?? (ctx.ags ? `eer-${effectId(ctx.idempotencyKey)}` : undefined);
}

/**
 * What a v3 answer (`FulfillmentV2Result`) says went wrong, or undefined: a
 * `state` other than FULFILLED, or items in `stateInfo.failedList` (a partial
 * failure: some items granted, others not).
 */
export function fulfillmentV3Failure(result: FulfillmentV3Result | undefined): string | undefined {
  if (!result || typeof result !== 'object') return 'the answer is empty';
  const failed = Array.isArray(result.stateInfo?.failedList) ? result.stateInfo.failedList : [];
  const items = failed.map((f) => `${f.itemId ?? f.itemSku ?? '?'}${f.error ? ` (${f.error})` : ''}`).join(', ');
  if (result.state !== 'FULFILLED') {
    return `fulfillment ${result.transactionId ?? ''} is ${String(result.state)}${result.stateReason ? `: ${result.stateReason}` : ''}${items ? `; failed items: ${items}` : ''}`;
  }
  if (failed.length > 0) return `fulfillment ${result.transactionId ?? ''} partially failed; failed items: ${items}`;
  return undefined;
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
      quantity: specParam(specField('fulfillItem', 'quantity'), { description: `How many (${QUANTITY.minimum} to ${QUANTITY.maximum}).`, default: 1 }, QUANTITY),
      source: specParam(SOURCE_FIELD, { description: 'Fulfillment source (AGS FulfillmentRequest.source).', default: 'REWARD' }),
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
        description:
          'Use the idempotent v3 fulfillment (fulfillItemsV3) with the execution\'s idempotency key as transaction id; needs FULFILLMENT [UPDATE] instead of [CREATE] (AGS private cloud only: not supported in Shared Cloud).',
        default: false,
      },
      userId: userIdSchema,
      namespace: namespaceSchema,
    },
  },
  // fulfillItem needs CREATE, fulfillItemsV3 (useTransactionId) UPDATE; after a lost answer
  // queryFulfillmentHistories (ADMIN:NAMESPACE:{namespace}:FULFILLMENT [READ]) finds it by orderNo
  permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:FULFILLMENT [CREATE,UPDATE]',
  lookupPermission: 'ADMIN:NAMESPACE:{namespace}:FULFILLMENT [READ]', // queryFulfillmentHistories' x-security (../shared/ags-openapi/platform.json)
  usesAgs: true,
  normalize(params, ctx) {
    const itemId = optionalString(NAME, params, 'itemId');
    const itemSku = optionalString(NAME, params, 'itemSku');
    if ((itemId === undefined) === (itemSku === undefined)) {
      throw new ActionParamError(
        NAME,
        '',
        itemId === undefined ? 'needs itemId or itemSku (both are empty)' : 'takes itemId or itemSku, not both',
        itemId === undefined ? 'add itemId: <item id> (or itemSku: <sku>)' : 'keep one of itemId, itemSku',
      );
    }
    return compact({
      namespace: namespaceOf(NAME, params, ctx),
      userId: userIdOf(NAME, params, ctx),
      itemId,
      itemSku,
      quantity: integer(NAME, params, 'quantity', 1, QUANTITY),
      source: specString(NAME, params, 'source', SOURCE_FIELD) ?? 'REWARD',
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
    const failure = p.useTransactionId ? fulfillmentV3Failure(result) : undefined;
    if (failure !== undefined) throw new ActionError(NAME, `AGS did not grant everything: ${failure}`, false, result);
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
      { scope: `fulfillment ${p.namespace} ${p.userId}`, idOf: (h) => (h.status !== 'FAIL' ? h.orderNo : undefined), id: orderNo, ...(ctx.signal ? { signal: ctx.signal } : {}) },
    );
  },
};
