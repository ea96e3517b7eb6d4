/**
 * Issue 22.1: an AGS answer that cannot be read is an unknown outcome. A 2xx
 * that is not the operation's declared success shape (JSON cut short, declared
 * fields missing, another content type) reached AGS, so its effect is unknown:
 * a non-idempotent call is never sent again and never read as "granted
 * nothing" (outcome unknown, for the action's lookup); an idempotent one
 * (lookups, fulfillItemsV3, Cloud Save) is retried; a lookup that cannot be
 * read never answers "not found".
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readAnswer } from '../../src/ags/answers.js';
import { AgsError } from '../../src/ags/errors.js';
import { SPEC_ANSWERS } from '../../src/ags/spec.js';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { UnreadableHistoryError, findInHistory } from '../../src/actions/reconcile.js';
import type { ActionContext } from '../../src/actions/types.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn, GarbleKind } from '../support/ags-stand-in.js';
import { USER, clientFor } from './helpers.js';
import type { AgsClient } from '../../src/ags/client.js';
import type { PagedResult } from '../../src/ags/index.js';
import { randomUUID } from 'node:crypto';

const JSON_TYPE = { 'content-type': 'application/json' };
const GARBLES: readonly GarbleKind[] = ['truncated', 'fieldsMissing', 'wrongContentType'];

describe('readAnswer: the declared success shapes of the specs', () => {
  const full = JSON.stringify({ namespace: 'mygame', userId: USER, entitlementSummaries: [] });
  it.each([
    ['a declared object with its required fields', 'fulfillItem', 200, JSON_TYPE, full, true],
    ['JSON cut short', 'fulfillItem', 200, JSON_TYPE, full.slice(0, 20), false],
    ['a declared field missing', 'fulfillItem', 200, JSON_TYPE, '{"namespace":"mygame"}', false],
    ['an empty body where one is declared', 'fulfillItem', 200, JSON_TYPE, '', false],
    ['an array where an object is declared', 'fulfillItem', 200, JSON_TYPE, '[]', false],
    ['an HTML page', 'fulfillItem', 200, { 'content-type': 'text/html' }, '<html></html>', false],
    ['JSON under +json', 'fulfillItem', 200, { 'content-type': 'application/problem+json; charset=utf-8' }, full, true],
    ['an array of entitlements', 'grantUserEntitlement', 201, JSON_TYPE, '[]', true],
    ['an object where an array is declared', 'grantUserEntitlement', 201, JSON_TYPE, '{}', false],
    ['an entitlement without its declared fields', 'grantUserEntitlement', 201, JSON_TYPE, '[{"itemId":"x"}]', false],
    ['a page without data', 'queryFulfillmentHistories', 200, JSON_TYPE, '{"paging":{}}', false],
    ['a page with data', 'queryFulfillmentHistories', 200, JSON_TYPE, '{"data":[]}', true],
    ['a page whose entries lack their declared fields (a lookup would read "not applied")', 'queryFulfillmentHistories', 200, JSON_TYPE, '{"data":[{"orderNo":"x"}]}', false],
    ['a page whose data is no array', 'listUserCurrencyTransactions', 200, JSON_TYPE, '{"data":{}}', false],
    ['a wallet page whose entries lack their declared fields', 'listUserCurrencyTransactions', 200, JSON_TYPE, '{"data":[{}]}', false],
    ['no body declared (204), whatever comes', 'AdminUnlockAchievement', 204, {}, '', true],
    ['an operation without a declaration (custom), not JSON', 'myCustomOperation', 200, {}, 'plain text', true],
    ['another 2xx than declared still needs the declared body', 'creditUserWallet', 201, JSON_TYPE, '{}', false],
    // a declared field of another JSON type than the spec's cannot be read as that field ("false" is truthy)
    ['an ownership whose owned is a string', 'getUserEntitlementOwnershipByItemId', 200, JSON_TYPE, '{"owned":"false"}', false],
    ['an ownership whose owned is a boolean', 'getUserEntitlementOwnershipByItemId', 200, JSON_TYPE, '{"owned":false}', true],
    ['a stat update whose currentValue is text', 'updateUserStatItemValue', 200, JSON_TYPE, '{"currentValue":"12"}', false],
    ['a stat update whose currentValue is a big number', 'updateUserStatItemValue', 200, JSON_TYPE, '{"currentValue":1e300}', true],
    ['a page whose data is a string', 'getUserStatItems', 200, JSON_TYPE, '{"data":"none"}', false],
    ['a wallet whose balance is text', 'creditUserWallet', 200, JSON_TYPE, JSON.stringify({ balance: '5', balanceOrigin: 'System', createdAt: 't', currencyCode: 'C', currencySymbol: 'c', id: 'i', namespace: 'n', status: 'ACTIVE', updatedAt: 't', userId: USER }), false],
    ['an entitlement whose itemId is a number', 'grantUserEntitlement', 201, JSON_TYPE, JSON.stringify([{ clazz: 'APP', createdAt: 't', id: 'i', itemId: 7, itemNamespace: 'n', namespace: 'n', status: 'ACTIVE', updatedAt: 't' }]), false],
    // an AGS error body under a 2xx (a proxy or a gateway rewriting the status) is no success, declared body or not
    ['a profile that is an AGS error body', 'getUserProfileInfo', 200, JSON_TYPE, '{"errorCode":20008,"errorMessage":"user not found"}', false],
    ['an unlock answered 200 with an AGS error body', 'AdminUnlockAchievement', 200, JSON_TYPE, '{"errorCode":20000,"errorMessage":"internal server error"}', false],
    ['an unlock answered 200 with another body', 'AdminUnlockAchievement', 200, JSON_TYPE, '{"achievementCode":"a"}', true],
    ['a profile with an errorCode attribute of its own', 'getUserProfileInfo', 200, JSON_TYPE, '{"customAttributes":{"errorCode":1,"errorMessage":"x"}}', true],
    // null is Go's nil (an empty slice, a pointer): left to the reader
    ['a profile whose customAttributes are null (a nil map)', 'getUserProfileInfo', 200, JSON_TYPE, '{"customAttributes":null}', true],
  ])('%s', (_what, operation, status, headers, text, ok) => {
    expect(readAnswer(operation, status, headers, text).ok).toBe(ok);
  });

  it('every operation the actions, the lookups and the state store call declares its success answers', () => {
    expect(Object.keys(SPEC_ANSWERS)).toEqual(
      expect.arrayContaining(['fulfillItem', 'fulfillItemsV3', 'grantUserEntitlement', 'creditUserWallet', 'queryFulfillmentHistories', 'listUserCurrencyTransactions', 'adminGetAdminPlayerRecordV1', 'adminPutAdminPlayerRecordConcurrentHandlerV1']),
    );
  });
});

describe('the client: an unreadable 2xx is an unknown outcome, never "did nothing"', () => {
  let ags: AgsStandIn;
  let client: AgsClient;
  beforeAll(async () => {
    ags = await startAgsStandIn();
    client = clientFor(ags).client;
  });
  afterEach(() => {
    expect(ags.violations).toEqual([]);
    ags.reset();
  });
  afterAll(async () => {
    client.close();
    await ags.close();
  });

  it.each(GARBLES)('fulfillItem applied, answered %s: outcome unknown, sent once, the grant counted', async (garble) => {
    ags.fail('/fulfillment', [{ garble }]);
    const err = await client.fulfillItem('mygame', USER, { itemId: 'item-1', quantity: 1, orderNo: 'o-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgsError);
    expect(err).toMatchObject({ operation: 'fulfillItem', status: 200, kind: 'unreadable', outcomeUnknown: true, retriable: true, attempts: 1 });
    expect((err as Error).message).toMatch(/cannot be read/);
    expect(ags.serviceRequests().filter((r) => r.operation === 'fulfillItem')).toHaveLength(1);
    expect(ags.grants()).toBe(1);
  });

  it.each(GARBLES)('creditUserWallet applied, answered %s: outcome unknown, sent once', async (garble) => {
    ags.fail('/credit', [{ garble }]);
    const err = await client.creditUserWallet('mygame', USER, 'COINS', { amount: 5 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ operation: 'creditUserWallet', kind: 'unreadable', outcomeUnknown: true });
    expect(ags.walletTransactions).toHaveLength(1);
  });

  it('an idempotent lookup answered unreadable is retried, then read', async () => {
    ags.fail('/fulfillment/history', [{ garble: 'truncated' }]);
    const page = await client.queryFulfillmentHistories('mygame', USER, 10, 0);
    expect(page.data).toEqual([]);
    expect(ags.serviceRequests().filter((r) => r.operation === 'queryFulfillmentHistories')).toHaveLength(2);
  });

  it('a lookup that stays unreadable is a retriable failure, not an empty history', async () => {
    ags.fail('/fulfillment/history', [{ garble: 'fieldsMissing' }, { garble: 'fieldsMissing' }, { garble: 'truncated' }, { garble: 'wrongContentType' }]);
    const err = await client.queryFulfillmentHistories('mygame', USER, 10, 0).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unreadable', retriable: true, attempts: 4 });
    expect((err as AgsError).outcomeUnknown).toBeUndefined();
  });

  it.each([
    ['grantItem', { itemId: 'item-1' }, '/fulfillment/history'],
    ['creditWallet', { currencyCode: 'COINS', amount: 5 }, '/transactions'],
  ])('%s: its lookup unreadable throws (retriable), never "not applied"', async (action, params, lookupPath) => {
    const registry = createDefaultRegistry();
    const def = registry.get(action)!;
    const ctx: ActionContext = { event: { userId: USER }, eventName: 'userLoggedIn', namespace: 'mygame', rule: 'r', idempotencyKey: `evt-${action}:r:0`, ags: client, logger: createLogger({ level: 'silent' }) };
    if (action === 'creditWallet') await client.creditUserWallet('mygame', USER, 'COINS', { amount: 1 }); // a wallet that exists: its history answers 200 (none: 404 35141)
    ags.fail(lookupPath, Array.from({ length: 4 }, () => ({ garble: 'fieldsMissing' as const })));
    const err = await def.reconcile!(def.normalize(params, ctx), ctx, Date.now()).catch((e: unknown) => e);
    expect(err).toMatchObject({ retriable: true });
    expect(err).not.toBe(false);
  });

  it.each([
    ['grantItem', { itemId: 'item-1' }, 'queryFulfillmentHistories'],
    ['creditWallet', { currencyCode: 'COINS', amount: 5 }, 'listUserCurrencyTransactions'],
  ])('%s: a burst of lookups of one player reads the history about once (positive answers shared); a miss reads it afresh', async (action, params, lookupOp) => {
    const def = createDefaultRegistry().get(action)!;
    const user = randomUUID().replace(/-/g, '');
    const ctxOf = (key: string): ActionContext => ({ event: { userId: user }, eventName: 'userLoggedIn', namespace: 'mygame', rule: 'r', idempotencyKey: key, ags: client, logger: createLogger({ level: 'silent' }) });
    const p = (key: string): Record<string, unknown> => def.normalize({ ...params, userId: user }, ctxOf(key));
    for (let i = 0; i < 250; i++) await def.execute(p(`burst-${i}:r:0`), ctxOf(`burst-${i}:r:0`));
    const lookups = (): number => ags.serviceRequests().filter((r) => r.operation === lookupOp).length;
    const since = Date.now() - 3_600_000;
    const look = (key: string): Promise<boolean> => def.reconcile!(p(key), ctxOf(key), since);
    // the oldest first (250 entries: 3 pages of 100); the others wait for it and are answered by what it read
    expect(await Promise.all(['burst-0:r:0', 'burst-1:r:0', 'burst-100:r:0', 'burst-249:r:0'].map(look))).toEqual([true, true, true, true]);
    expect(lookups()).toBe(3);
    expect(await look('never-sent:r:0')).toBe(false);
    expect(lookups()).toBe(6);
    expect(await look('never-sent:r:0')).toBe(false);
    expect(lookups()).toBe(9);
  });

  it('findInHistory: a page without a data list throws, never answers "not found"', async () => {
    await expect(findInHistory(() => Promise.resolve({} as never), () => true, Date.now())).rejects.toBeInstanceOf(UnreadableHistoryError);
  });

  it('findInHistory with a cache: lookups of one history run one after the other and share positive answers; a negative answer reads AGS afresh', async () => {
    const history: { orderNo: string; createdAt: string }[] = []; // newest first
    const add = (orderNo: string): void => void history.unshift({ orderNo, createdAt: new Date().toISOString() });
    for (let i = 0; i < 250; i++) add(`o-${i}`);
    let reads = 0;
    const readPage = (limit: number, offset: number): Promise<PagedResult<{ orderNo: string; createdAt: string }>> => {
      reads++;
      const data = history.slice(offset, offset + limit);
      return Promise.resolve({ data, paging: offset + limit < history.length ? { next: 'more' } : {} });
    };
    const scope = `fulfillment mygame ${randomUUID()}`;
    const look = (id: string): Promise<boolean> => findInHistory(readPage, (h) => h.orderNo === id, Date.now() - 1000, { scope, idOf: (h) => h.orderNo, id });
    // a burst: the oldest first; the ones waiting behind it are answered by the pages it read
    expect(await Promise.all(['o-0', 'o-1', 'o-100', 'o-249'].map(look))).toEqual([true, true, true, true]);
    expect(reads).toBe(3);
    // not there: read afresh each time, never remembered
    expect(await look('o-250')).toBe(false);
    expect(reads).toBe(6);
    add('o-250'); // applied since: found by the next lookup
    expect(await look('o-250')).toBe(true);
    expect(reads).toBe(7);
    // another history shares nothing
    expect(await findInHistory(readPage, (h) => h.orderNo === 'o-0', Date.now() - 1000, { scope: `${scope}-other`, idOf: (h) => h.orderNo, id: 'o-0' })).toBe(true);
    expect(reads).toBe(10);
  });
});
