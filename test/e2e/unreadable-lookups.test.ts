/**
 * Issue 22, checked from outside after it was declared done: siblings of its
 * rows, end to end on real processes (`node dist/main.js`, the AGS stand-in,
 * a gRPC sender), default store (Cloud Save).
 *
 * - 22.1's sibling: the lookup's own answer in a shape it does not declare. A
 *   history page whose entries lack the fields the spec requires of them
 *   (`FulfillmentHistoryInfo`, `WalletTransactionInfo`: `createdAt`, `id`...)
 *   cannot be read: it is no "not applied" (that would send the effect again).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { describeWith } from '../support/prereq.js';
import { LOGIN_SERVICE, builtApp, clientPool, deliverUntilOk, encode, loginEvent, startApp, stopAll, tempDir, userId } from './support.js';

describeWith(builtApp(), 'e2e: siblings of issue 22 (checked from outside)', () => {
  let ags: AgsStandIn;
  const clients = clientPool();
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    AB_BASE_URL: ags.url,
    AB_CLIENT_ID: ags.clientId,
    AB_CLIENT_SECRET: ags.clientSecret,
    AB_NAMESPACE: 'mygame',
    ITEM_ID_TO_GRANT: 'item-1',
    ...extra,
  });

  beforeAll(async () => {
    ags = await startAgsStandIn();
  });
  afterEach(async () => {
    clients.closeAll();
    await stopAll();
    ags.reset();
  });
  afterAll(async () => {
    await ags.close();
  });

  const rulesFor = (action: string): Record<string, string> => {
    if (action === 'grantItem') return {};
    const rules = join(tempDir('eer-e2e-lookup-rules-'), 'rules.yaml');
    writeFileSync(rules, 'version: 1\nrules:\n  - name: coins\n    on: userLoggedIn\n    do:\n      - creditWallet: { currencyCode: COINS, amount: 5 }\n');
    return { RULES_FILE: rules };
  };

  it.each([
    ['grantItem', /\/users\/[0-9a-f]{32}\/fulfillment$/, /\/fulfillment\/history$/],
    ['creditWallet', /\/credit$/, /\/transactions$/],
  ])('%s: answer lost, then the lookup answers a page whose entries lack their declared fields: not read as "not applied", one effect', async (action, effectPath, lookupPath) => {
    const app = await startApp({ env: env(rulesFor(action)) });
    const user = userId();
    const event = await encode(LOGIN_SERVICE, loginEvent({ id: `lookup-${action}`, userId: user }));
    ags.fail(effectPath, [{ reset: true, afterEffect: true }]);
    ags.fail(lookupPath, [{ status: 200, body: { data: [{}, { note: 'an entry without its declared fields' }], paging: {} } }]);
    await deliverUntilOk(() => clients.connect(app), event);
    const effects = action === 'grantItem' ? ags.fulfillments.filter((f) => f.userId === user).length : ags.walletTransactions.filter((t) => t.userId === user).length;
    expect(ags.serviceRequests().filter((r) => lookupPath.test(r.path)).length).toBeGreaterThan(0);
    expect(effects).toBe(1);
  });
});
