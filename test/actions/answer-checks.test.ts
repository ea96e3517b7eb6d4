/**
 * What actions make of AGS's answers: a 2xx is not success when the answer
 * says nothing (or not everything) was granted, and success paths read only
 * fields AccelByte's specs promise in the operation's response schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgsClient } from '../../src/ags/client.js';
import type { AgsRequest } from '../../src/ags/types.js';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { ActionError } from '../../src/actions/errors.js';
import type { ActionContext } from '../../src/actions/types.js';
import { ACTION_FORMS } from '../support/action-forms.js';
import { fulfillmentV2Result, entitlementSummary } from '../support/ags-answers.js';
import { AgsOpenApi } from '../support/ags-openapi.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { describeWith, itWith, sharedFile } from '../support/prereq.js';
import { USER, captureLogger } from '../ags/helpers.js';

const registry = createDefaultRegistry();
const { logger } = captureLogger();
let ags: AgsStandIn;
let client: AgsClient;

function ctx(key = 'evt-1:answers:0', c: AgsClient = client): ActionContext {
  return { event: { userId: USER }, eventName: 'userLoggedIn', namespace: 'mygame', rule: 'answers', idempotencyKey: key, ags: c, logger, now: () => Date.parse('2026-03-01T12:00:00Z') };
}

async function run(action: string, params: Record<string, unknown>, c: ActionContext = ctx()) {
  const def = registry.get(action)!;
  return def.execute(def.normalize(params, c), c);
}

beforeAll(async () => {
  ags = await startAgsStandIn({
    items: [
      { id: 'item-1', sku: 'SKU-1' },
      { id: 'coins-100', sku: 'COINS-100', type: 'COINS' },
      { id: 'bundle-1', sku: 'BUNDLE-1', type: 'BUNDLE' },
    ],
  });
  client = new AgsClient({ baseUrl: ags.url, clientId: ags.clientId, clientSecret: ags.clientSecret, sleep: () => Promise.resolve() });
});
afterAll(async () => {
  client.close();
  await ags.close();
});

describe('grantEntitlement: AGS skips unsupported item types and still answers 201', () => {
  it.each(['coins-100', 'bundle-1'])('%s: a permanent failure with the reason, not success', async (itemId) => {
    const err = await run('grantEntitlement', { itemId }).catch((e: unknown) => e);
    expect(ags.serviceRequests().at(-1)!.outcome).toBe(201);
    expect(err).toBeInstanceOf(ActionError);
    expect(err).toMatchObject({ action: 'grantEntitlement', retriable: false, detail: [] });
    expect((err as Error).message).toMatch(/granted no entitlement of item .*skips items of types other than APP, INGAMEITEM.*use grantItem/);
  });

  it('a supported item is granted', async () => {
    const result = await run('grantEntitlement', { itemId: 'item-1' });
    expect(result.summary).toMatch(/granted entitlement 1 x item item-1/);
  });
});

describe('grantItem with useTransactionId reads the v3 answer\'s state and stateInfo.failedList', () => {
  const item = { id: 'item-1', sku: 'SKU-1' };
  const granted = [{ item, quantity: 1, summary: entitlementSummary('e1', item, 1, 'mygame', USER) }];

  it('FULFILL_FAILED: a permanent failure naming the failed items', async () => {
    const body = fulfillmentV2Result('mygame', USER, 'tx', [], [{ itemId: 'item-1', error: 'item is not purchasable' }]);
    ags.fail('/fulfillments/', [{ status: 200, body }]);
    const err = await run('grantItem', { itemId: 'item-1', useTransactionId: true }, ctx('evt-2:answers:0')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionError);
    expect(err).toMatchObject({ retriable: false, detail: body });
    expect((err as Error).message).toMatch(/FULFILL_FAILED.*item-1 \(item is not purchasable\)/);
  });

  it('FULFILLED with a non-empty failedList (a partial failure) is not logged as granted', async () => {
    const body = { ...fulfillmentV2Result('mygame', USER, 'tx', granted, [{ itemSku: 'SKU-2', error: 'out of stock' }]), state: 'FULFILLED' };
    ags.fail('/fulfillments/', [{ status: 200, body }]);
    const err = await run('grantItem', { itemId: 'item-1', useTransactionId: true }, ctx('evt-3:answers:0')).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ActionError', retriable: false });
    expect((err as Error).message).toMatch(/partially failed.*SKU-2 \(out of stock\)/);
  });

  it('FULFILLED with an empty failedList is success', async () => {
    const result = await run('grantItem', { itemId: 'item-1', useTransactionId: true }, ctx('evt-4:answers:0'));
    expect(result.summary).toMatch(/granted 1 x item item-1/);
  });

  itWith(sharedFile('ags-openapi/platform.json'), 'the scripted answers above fit the spec', () => {
    const spec = new AgsOpenApi();
    expect(spec.checkResponse('fulfillItemsV3', 200, fulfillmentV2Result('mygame', USER, 'tx', [], [{ itemId: 'item-1', error: 'x' }]))).toEqual([]);
    expect(spec.checkResponse('fulfillItemsV3', 200, fulfillmentV2Result('mygame', USER, 'tx', granted, [{ itemSku: 'SKU-2', error: 'y' }]))).toEqual([]);
  });
});

/** A client whose answers record every property read by the action (paths like `stateInfo.failedList`). */
class ReadRecordingClient extends AgsClient {
  readonly reads: Array<{ operation: string; path: string[] }> = [];
  override async request<T = unknown>(op: AgsRequest): Promise<T> {
    const body = await super.request<unknown>(op);
    return this.#watch(body, op.operation, []) as T;
  }
  #watch(value: unknown, operation: string, path: string[]): unknown {
    if (value === null || typeof value !== 'object') return value;
    return new Proxy(value, {
      get: (target, key, receiver) => {
        const v = Reflect.get(target, key, receiver) as unknown;
        // `then` (await's thenable probe) and `toJSON` (JSON.stringify) are the runtime's reads, not the action's
        if (typeof key !== 'string' || key === 'then' || key === 'toJSON' || (Array.isArray(target) && (/^\d+$/.test(key) || key === 'length')) || typeof v === 'function') {
          return typeof key === 'string' && /^\d+$/.test(key) ? this.#watch(v, operation, path) : v;
        }
        this.reads.push({ operation, path: [...path, key] });
        return this.#watch(v, operation, [...path, key]);
      },
    });
  }
}

describeWith(sharedFile('ags-openapi/platform.json'), 'success paths read only fields the specs promise', () => {
  it('every action form, against spec-shaped answers', async () => {
    const spec = new AgsOpenApi();
    const reader = new ReadRecordingClient({ baseUrl: ags.url, clientId: ags.clientId, clientSecret: ags.clientSecret });
    try {
      let n = 0;
      for (const [action, params] of ACTION_FORMS) await run(action, params, ctx(`evt-read-${n++}:answers:0`, reader));
      // the checks above read what they claim to read
      const read = reader.reads.map((r) => `${r.operation}:${r.path.join('.')}`);
      expect(read).toEqual(expect.arrayContaining(['fulfillItem:entitlementSummaries', 'fulfillItemsV3:state', 'fulfillItemsV3:stateInfo.failedList', 'grantUserEntitlement:itemId']));
      const undeclared = reader.reads.filter(({ operation, path }) => {
        const status = Number(Object.keys(spec.byId(operation)!.responses).find((s) => s.startsWith('2')));
        return !spec.declaredProperties(operation, status, path.slice(0, -1))?.has(path.at(-1)!);
      });
      expect(undeclared).toEqual([]);
    } finally {
      reader.close();
    }
  });
});
