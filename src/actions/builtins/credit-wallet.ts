/** `creditWallet`: add virtual currency to a user's wallet (`creditUserWallet`). */
import { AgsError, ops } from '../../ags/index.js';
import { specField, specIntegerRange } from '../../ags/index.js';
import type { CreditRequest } from '../../ags/index.js';
import type { ActionContext, ActionDefinition } from '../types.js';
import { EFFECT_METADATA_KEY, effectId, findInHistory } from '../reconcile.js';
import {
  clientOf,
  compact,
  integer,
  namespaceOf,
  namespaceSchema,
  optionalDateTime,
  optionalObject,
  pathParam,
  planned,
  sendOp,
  short,
  specParam,
  specString,
  userIdOf,
  userIdSchema,
} from './common.js';

const NAME = 'creditWallet';
const OP = 'creditUserWallet';
const AMOUNT = specIntegerRange(OP, 'amount', 1);
/** The spec sets no length; AGS refuses reasons over 127 characters (../shared/docs/ags-rest.md). */
const REASON = { ...specField(OP, 'reason'), maxLength: 127 };

export type CreditWalletParams = {
  namespace: string;
  userId: string;
  currencyCode: string;
  credit: CreditRequest;
};

export const creditWallet: ActionDefinition<CreditWalletParams> = {
  name: NAME,
  description: 'Credit virtual currency to a user\'s wallet.',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['currencyCode', 'amount'],
    properties: {
      currencyCode: { type: 'string', description: 'Currency code, e.g. COINS.' },
      amount: specParam(specField(OP, 'amount'), { description: `Amount to add (${AMOUNT.minimum} to ${AMOUNT.maximum}).` }, AMOUNT),
      source: specParam(specField(OP, 'source'), { description: 'Credit source (AGS CreditRequest.source).', default: 'REWARD' }),
      reason: specParam(REASON, { description: 'Reason shown in the wallet history (at most 127 characters).' }),
      origin: specParam(specField(OP, 'origin'), { description: 'Wallet platform origin. Default: AGS\'s.' }),
      expireAt: { type: 'string', description: 'When the credited amount expires (RFC 3339 with offset).' },
      metadata: { type: 'object', description: 'Free metadata.' },
      userId: userIdSchema,
      namespace: namespaceSchema,
    },
  },
  permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:WALLET [UPDATE]',
  lookupPermission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:WALLET [READ]', // listUserCurrencyTransactions' x-security (../shared/ags-openapi/platform.json)
  usesAgs: true,
  normalize(params, ctx) {
    return {
      namespace: namespaceOf(NAME, params, ctx),
      userId: userIdOf(NAME, params, ctx),
      currencyCode: pathParam(NAME, params, 'currencyCode'),
      credit: compact({
        amount: integer(NAME, params, 'amount', undefined, AMOUNT),
        source: specString(NAME, params, 'source', specField(OP, 'source')) ?? 'REWARD',
        reason: specString(NAME, params, 'reason', REASON),
        origin: specString(NAME, params, 'origin', specField(OP, 'origin')),
        expireAt: optionalDateTime(NAME, params, 'expireAt'),
        metadata: optionalObject(NAME, params, 'metadata'),
      }),
    };
  },
  plan(p, ctx) {
    return [planned(ops.creditUserWallet(p.namespace, p.userId, p.currencyCode, withEffect(p, ctx)))];
  },
  async execute(p, ctx) {
    const result = await sendOp(NAME, ctx, ops.creditUserWallet(p.namespace, p.userId, p.currencyCode, withEffect(p, ctx)));
    return { summary: `credited ${p.credit.amount} ${p.currencyCode} to user ${short(p.userId)}`, detail: result };
  },
  // after a lost answer: listUserCurrencyTransactions (ADMIN:NAMESPACE:{namespace}:USER:{userId}:WALLET [READ]) by metadata
  async reconcile(p, ctx, sentAt) {
    const ags = clientOf(NAME, ctx);
    const id = effectId(ctx.idempotencyKey);
    try {
      return await findInHistory(
        (limit, offset) => ags.listUserCurrencyTransactions(p.namespace, p.userId, p.currencyCode, limit, offset, ctx.signal),
        (t) => t.metadata?.[EFFECT_METADATA_KEY] === id,
        sentAt,
        { scope: `wallet ${p.namespace} ${p.userId} ${p.currencyCode}`, idOf: (t) => effectOf(t.metadata?.[EFFECT_METADATA_KEY]), id, ...(ctx.signal ? { signal: ctx.signal } : {}) },
      );
    } catch (error) {
      // the player has no wallet in that currency: no credit was ever applied (creditUserWallet creates
      // the wallet), so this one was not; before, the 404 dead-lettered it, and every replay again
      if (walletDoesNotExist(error)) return false;
      throw error;
    }
  },
};

/**
 * `listUserCurrencyTransactions`' documented 404, errorCode 35141 "Wallet [{walletId}] does not exist"
 * (`../shared/ags-openapi/platform.json`), read by shape (the AgsError's fields).
 */
function walletDoesNotExist(error: unknown): boolean {
  if (!(error instanceof AgsError) || error.status !== 404) return false;
  return error.errorCode === WALLET_NOT_FOUND || error.errorCode === String(WALLET_NOT_FOUND);
}

/** A wallet transaction's effect id (its metadata value), when it is one. */
function effectOf(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** AGS errorCode of a wallet that does not exist. */
const WALLET_NOT_FOUND = 35141;

/**
 * When it really runs (an AGS client is there), the credit with this execution's effect id in its
 * `metadata`: the lookup key after a lost answer. Offline plans (explain, test, dry run) leave it out.
 */
function withEffect(p: CreditWalletParams, ctx: ActionContext): CreditWalletParams['credit'] {
  if (!ctx.ags) return p.credit;
  return { ...p.credit, metadata: { ...(p.credit.metadata ?? {}), [EFFECT_METADATA_KEY]: effectId(ctx.idempotencyKey) } };
}
