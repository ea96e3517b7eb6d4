import http from 'node:http';
import { EFFECT_METADATA_KEY, effectId } from '../../src/actions/reconcile.js';
import type { AddressInfo } from 'node:net';
import { Ajv } from 'ajv';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgsClient } from '../../src/ags/client.js';
import { AgsError } from '../../src/ags/errors.js';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { ActionError, ActionParamError } from '../../src/actions/errors.js';
import type { ActionContext } from '../../src/actions/types.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { USER, captureLogger, clientFor } from '../ags/helpers.js';
import { testSeed } from '../support/seed.js';

const registry = createDefaultRegistry();
const NOW = Date.parse('2026-03-01T12:00:00Z');
let ags: AgsStandIn;
let client: AgsClient;
const { logger, lines } = captureLogger();

function ctx(extra: Partial<ActionContext> = {}): ActionContext {
  return {
    event: { userId: USER, namespace: 'mygame' },
    eventName: 'userLoggedIn',
    namespace: 'mygame',
    rule: 'welcome',
    idempotencyKey: 'evt-1:welcome:0',
    ags: client,
    logger,
    now: () => NOW,
    ...extra,
  };
}

async function run(action: string, params: Record<string, unknown>, c: ActionContext = ctx()) {
  const def = registry.get(action)!;
  const p = def.normalize(params, c);
  const plan = def.plan(p, c);
  const result = await def.execute(p, c);
  return { plan, result };
}

/** Runs `attempt` again while it fails retriably (at most 50 times), as the sidecar redelivers an UNAVAILABLE event. */
async function untilNotRetriable<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (i >= 50 || (error as { retriable?: unknown }).retriable !== true) throw error;
    }
  }
}

beforeAll(async () => {
  ags = await startAgsStandIn();
  client = clientFor(ags).client;
  await client.login();
});
afterAll(async () => {
  client.close();
  await ags.close();
});
afterEach(() => {
  expect(ags.violations).toEqual([]);
  ags.reset();
});

const U = `/namespaces/mygame/users/${USER}`;
const cases: Array<[string, Record<string, unknown>, { method: string; path: string; query?: Record<string, string>; body?: unknown }]> = [
  // the default orderNo is the execution's effect id: looked up in the fulfillment history after a lost answer
  ['grantItem', { itemId: 'item-1' }, { method: 'POST', path: `/platform/admin${U}/fulfillment`, body: { itemId: 'item-1', quantity: 1, source: 'REWARD', orderNo: `eer-${effectId('evt-1:welcome:0')}` } }],
  [
    'grantItem',
    { itemSku: 'SKU-1', quantity: '3', source: 'PROMOTION', storeId: 's1', region: 'US', language: 'en', metadata: { a: 1 }, orderNo: 'o-1' },
    { method: 'POST', path: `/platform/admin${U}/fulfillment`, body: { itemSku: 'SKU-1', quantity: 3, source: 'PROMOTION', storeId: 's1', region: 'US', language: 'en', metadata: { a: 1 }, orderNo: 'o-1' } },
  ],
  [
    'grantItem',
    { itemId: 'item-1', useTransactionId: true },
    { method: 'PUT', path: `/platform/v3/admin${U}/fulfillments/evt-1%3Awelcome%3A0`, body: { items: [{ itemId: 'item-1', quantity: 1, source: 'REWARD' }] } },
  ],
  ['grantEntitlement', { itemId: 'item-1', quantity: 2 }, { method: 'POST', path: `/platform/admin${U}/entitlements`, body: [{ itemId: 'item-1', itemNamespace: 'mygame', quantity: 2 }] }],
  [
    'creditWallet',
    { currencyCode: 'COINS', amount: 100, reason: 'welcome gift' },
    { method: 'PUT', path: `/platform/admin${U}/wallets/COINS/credit`, body: { amount: 100, source: 'REWARD', reason: 'welcome gift', metadata: { [EFFECT_METADATA_KEY]: effectId('evt-1:welcome:0') } } },
  ],
  ['updateStat', { statCode: 'logins', value: 1 }, { method: 'PUT', path: `/social/v2/admin${U}/stats/logins/statitems/value`, body: { updateStrategy: 'INCREMENT', value: 1 } }],
  [
    'updateStat',
    { statCode: 'best', value: '42.5', updateStrategy: 'MAX', additionalKey: 'season-1' },
    { method: 'PUT', path: `/social/v2/admin${U}/stats/best/statitems/value`, query: { additionalKey: 'season-1' }, body: { updateStrategy: 'MAX', value: 42.5 } },
  ],
  // the stat value is a double (social.json StatItemUpdate.value, format double): a big one is a valid value, sent as the double it is
  ['updateStat', { statCode: 'xp', value: 1e20, updateStrategy: 'OVERRIDE' }, { method: 'PUT', path: `/social/v2/admin${U}/stats/xp/statitems/value`, body: { updateStrategy: 'OVERRIDE', value: 1e20 } }],
  ['updateStat', { statCode: 'xp', value: String(2 ** 60) }, { method: 'PUT', path: `/social/v2/admin${U}/stats/xp/statitems/value`, body: { updateStrategy: 'INCREMENT', value: 2 ** 60 } }],
  ['updateStat', { statCode: 'xp', value: -1.5e300, updateStrategy: 'MIN' }, { method: 'PUT', path: `/social/v2/admin${U}/stats/xp/statitems/value`, body: { updateStrategy: 'MIN', value: -1.5e300 } }],
  ['unlockAchievement', { achievementCode: 'first-login' }, { method: 'PUT', path: `/achievement/v1/admin${U}/achievements/first-login/unlock` }],
  ['notifyUser', { topicName: 'REWARD', message: 'hello' }, { method: 'POST', path: `/lobby/v1/admin/notification${U}/freeform/notify`, body: { topicName: 'REWARD', message: 'hello' } }],
  [
    'notifyUser',
    { templateSlug: 'welcome', templateContext: { level: 5, name: 'x' }, topicName: 'LEVEL_UP' },
    {
      method: 'POST',
      path: `/lobby/v1/admin/notification${U}/templates/notify`,
      body: { templateSlug: 'welcome', templateLanguage: 'en', templateContext: { level: '5', name: 'x' }, topicName: 'LEVEL_UP' },
    },
  ],
  [
    'banUser',
    { ban: 'CHAT_SEND', reason: 'HARASSMENT', duration: 'P7D' },
    { method: 'POST', path: `/iam/v3/admin${U}/bans`, body: { ban: 'CHAT_SEND', comment: 'Banned by rule "welcome"', endDate: '2026-03-08T12:00:00.000Z', reason: 'HARASSMENT', skipNotif: false } },
  ],
  [
    'banUser',
    { ban: 'LOGIN', reason: 'CHEATING', endDate: '2026-04-01T00:00:00Z', comment: 'aimbot', skipNotif: true },
    { method: 'POST', path: `/iam/v3/admin${U}/bans`, body: { ban: 'LOGIN', comment: 'aimbot', endDate: '2026-04-01T00:00:00.000Z', reason: 'CHEATING', skipNotif: true } },
  ],
  ['grantSeasonExp', { exp: 50, tags: ['login'] }, { method: 'POST', path: `/seasonpass/admin${U}/seasons/current/exp`, body: { exp: 50, source: 'SWEAT', tags: ['login'] } }],
  ['writePlayerRecord', { key: 'progress', value: { level: 2 } }, { method: 'PUT', path: `/cloudsave/v1/admin${U}/records/progress`, body: { level: 2 } }],
  ['writePlayerRecord', { key: 'progress', value: { xp: 9 }, merge: true }, { method: 'POST', path: `/cloudsave/v1/admin${U}/records/progress`, body: { xp: 9 } }],
];

describe('every AGS action sends exactly what it plans, as the contract says', () => {
  it.each(cases)('%s %j', async (action, params, expected) => {
    const { plan, result } = await run(action, params);
    expect(plan).toEqual([{ operation: expect.any(String), ...expected }]);
    const sent = ags.serviceRequests();
    expect(sent).toHaveLength(1);
    const req = sent[0]!;
    expect(req.operation).toBe(plan[0]!.operation);
    expect(req.method).toBe(expected.method);
    expect(req.path).toBe(expected.path);
    expect(req.query).toEqual(expected.query ?? {});
    expect(req.body).toEqual(expected.body);
    expect(req.headers.authorization).toMatch(/^Bearer stand-in-token-/);
    expect(req.headers['content-type']).toBe(expected.body === undefined ? undefined : 'application/json');
    expect(req.outcome).toBeGreaterThanOrEqual(200);
    expect(req.outcome).toBeLessThan(300);
    expect(result.summary).toBeTruthy();
  });
});

describe('action behaviour', () => {
  it('grantItem with useTransactionId grants once however often it runs', async () => {
    await run('grantItem', { itemId: 'item-1', useTransactionId: true });
    await run('grantItem', { itemId: 'item-1', useTransactionId: true });
    expect(ags.grants()).toBe(1);
  });

  it('random faults (lost answers included): v3 grants stay exactly one per key', async () => {
    const { random } = testSeed('builtins: random faults on v3 grants');
    const standIn = await startAgsStandIn({ random });
    const c = clientFor(standIn, { maxAttempts: 10 }).client;
    try {
      standIn.fail('/fulfillments/', [{ reset: true, afterEffect: true }]); // one lost answer for certain, the rest drawn
      standIn.setFaultRate(0.4, ['503', '429', 'reset', 'resetAfterEffect']);
      for (let i = 0; i < 20; i++) {
        // redelivered while retriable, as the sidecar does (10 faults in a row are drawn about once in 10,000 calls)
        await untilNotRetriable(() => run('grantItem', { itemId: 'item-1', useTransactionId: true }, ctx({ ags: c, idempotencyKey: `evt-${i % 5}:r:0` })));
      }
      expect(standIn.grants()).toBe(5);
      expect(standIn.serviceRequests().some((r) => r.outcome === 'reset')).toBe(true);
      expect(standIn.violations).toEqual([]);
    } finally {
      c.close();
      await standIn.close();
    }
  });

  it('grantItem: an answer of the declared shape with all summaries empty is a permanent failure', async () => {
    ags.fail('/fulfillment', [{ status: 200, body: { namespace: 'mygame', userId: USER, entitlementSummaries: [], creditSummaries: [], subscriptionSummaries: [] } }]);
    const err = await run('grantItem', { itemId: 'item-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionError);
    expect(err).toMatchObject({ action: 'grantItem', retriable: false });
  });

  it('grantItem: unknown item is a non-retriable AgsError 30341', async () => {
    const err = await run('grantItem', { itemId: 'missing' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgsError);
    expect(err).toMatchObject({ status: 404, errorCode: 30341, retriable: false });
  });

  it('writePlayerRecord merge keeps the other keys; replace drops them', async () => {
    await run('writePlayerRecord', { key: 'k', value: { a: 1 } });
    await run('writePlayerRecord', { key: 'k', value: { b: 2 }, merge: true });
    expect(ags.record(USER, 'k')).toEqual({ a: 1, b: 2 });
    await run('writePlayerRecord', { key: 'k', value: { c: 3 } });
    expect(ags.record(USER, 'k')).toEqual({ c: 3 });
  });

  it('userId and namespace can be set explicitly', async () => {
    const other = 'fedcba9876543210fedcba9876543210';
    await run('unlockAchievement', { achievementCode: 'a', userId: other, namespace: 'mygame' }, ctx({ event: {} }));
    expect(ags.serviceRequests()[0]!.path).toBe(`/achievement/v1/admin/namespaces/mygame/users/${other}/achievements/a/unlock`);
  });

  it('without a client, execute fails permanently', async () => {
    const c = ctx({ ags: undefined });
    const def = registry.get('unlockAchievement')!;
    const err = await def.execute(def.normalize({ achievementCode: 'a' }, c), c).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ActionError', retriable: false });
  });

  it.each([
    ['grantItem', {}, ctx(), ''],
    ['grantItem', { itemId: 'a', itemSku: 'b' }, ctx(), ''],
    ['grantItem', { itemId: 'a', quantity: 0 }, ctx(), 'quantity'],
    ['grantItem', { itemId: 'a' }, ctx({ event: { userId: '' } }), 'userId'],
    ['grantItem', { itemId: 'a' }, ctx({ event: {} }), 'userId'],
    ['grantItem', { itemId: 'a' }, ctx({ namespace: '' }), 'namespace'],
    ['creditWallet', { currencyCode: 'C', amount: 'ten' }, ctx(), 'amount'],
    ['creditWallet', { currencyCode: 'C', amount: 1, reason: 'x'.repeat(128) }, ctx(), 'reason'],
    ['updateStat', { statCode: 's', value: 1, updateStrategy: 'ADD' }, ctx(), 'updateStrategy'],
    ['notifyUser', { message: 'hi' }, ctx(), 'topicName'],
    ['notifyUser', { message: 'hi', topicName: 't', templateSlug: 's' }, ctx(), ''],
    // AGS's spec and both SDKs require topicName with a template too
    ['notifyUser', { templateSlug: 'level-up', templateContext: { level: 3 } }, ctx(), 'topicName'],
    ['creditWallet', { currencyCode: 'C', amount: 1, source: 'EXPIRATION' }, ctx(), 'source'],
    ['creditWallet', { currencyCode: 'C', amount: -5 }, ctx(), 'amount'],
    ['creditWallet', { currencyCode: 'C', amount: '9007199254740993' }, ctx(), 'amount'],
    ['creditWallet', { currencyCode: 'C', amount: '0x10' }, ctx(), 'amount'],
    ['creditWallet', { currencyCode: 'C', amount: 1, expireAt: '2026-02-30T00:00:00Z' }, ctx(), 'expireAt'],
    ['grantItem', { itemId: 'a', quantity: 'one' }, ctx(), 'quantity'],
    ['grantItem', { itemId: 'a', quantity: 2 ** 31 }, ctx(), 'quantity'],
    ['grantItem', { itemId: 'a', source: 'reward' }, ctx(), 'source'],
    ['grantEntitlement', { itemId: 'a', language: 'english!' }, ctx(), 'language'],
    ['grantEntitlement', { itemId: 'a', origin: 'steam' }, ctx(), 'origin'],
    ['grantEntitlement', { itemId: 'a', startDate: 'tomorrow' }, ctx(), 'startDate'],
    ['grantSeasonExp', { exp: 0 }, ctx(), 'exp'],
    ['updateStat', { statCode: 's', value: 'ten' }, ctx(), 'value'],
    ['updateStat', { statCode: 's', value: '1e400' }, ctx(), 'value'],
    ['banUser', { ban: 'LOGIN', reason: 'CHEATING', endDate: 'next week' }, ctx(), 'endDate'],
    ['banUser', { ban: 'LOGIN', reason: 'CHEATING' }, ctx(), ''],
    ['banUser', { ban: 'LOGIN', reason: 'CHEATING', duration: 'forever' }, ctx(), 'duration'],
    ['writePlayerRecord', { key: 'k', value: [1] }, ctx(), 'value'],
    ['http', { url: '/relative' }, ctx(), 'url'],
    ['http', { url: 'http://x', method: 'GET', body: {} }, ctx(), 'body'],
    ['log', { message: '' }, ctx(), 'message'],
  ])('%s %j: ActionParamError', (action, params, c, param) => {
    let err: unknown;
    try {
      registry.get(action)!.normalize(params, c);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ActionParamError);
    expect(err).toMatchObject({ action, param, retriable: false });
  });

  it('banUser.duration takes the rule language one duration grammar (as cooldown does)', () => {
    const endOf = (duration: unknown) => (registry.get('banUser')!.normalize({ ban: 'LOGIN', reason: 'CHEATING', duration }, ctx()) as { ban: { endDate: string } }).ban.endDate;
    const at = (ms: number) => new Date(NOW + ms).toISOString();
    expect(endOf('1d12h')).toBe(at(36 * 3_600_000)); // refused by banUser's own parser before
    expect(endOf('90m')).toBe(at(90 * 60_000));
    expect(endOf('P1DT2H30M')).toBe(at(86_400_000 + 2 * 3_600_000 + 30 * 60_000));
    expect(endOf('PT1H30M')).toBe(at(5_400_000));
    expect(endOf('24h')).toBe(at(86_400_000));
    expect(endOf('2w')).toBe(at(14 * 86_400_000));
    for (const bad of ['P', '0s', 'PT0S', 'forever', 'P1M', '-1h']) {
      expect(() => endOf(bad), bad).toThrow(ActionParamError);
    }
  });
});

describe('http action', () => {
  let server: http.Server;
  let url: string;
  const seen: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const answers: number[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(answers.shift() ?? 200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?x=1`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });
  afterEach(() => {
    seen.length = 0;
    answers.length = 0;
  });

  it('posts JSON with the headers; the plan redacts secret-looking header values', async () => {
    const headers = { Authorization: 'Bearer hook-secret', 'X-Api-Key': 'k-secret', 'X-Trace': 'visible' };
    const { plan, result } = await run('http', { url, headers, body: { userId: USER } });
    expect(plan).toEqual([
      { operation: 'http', method: 'POST', path: `${new URL(url).origin}/[redacted]`, headers: { Authorization: '[redacted]', 'X-Api-Key': '[redacted]', 'X-Trace': 'visible' }, body: { userId: USER } },
    ]);
    expect(JSON.stringify(plan)).not.toContain('secret');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/hook?x=1', body: JSON.stringify({ userId: USER }) });
    expect(seen[0]!.headers).toMatchObject({ authorization: 'Bearer hook-secret', 'x-api-key': 'k-secret', 'content-type': 'application/json' });
    expect(result.detail).toEqual({ ok: true });
  });

  it('retries 503, does not retry 400 (retriable flag on the error)', async () => {
    answers.push(503);
    await run('http', { url, body: {} });
    expect(seen).toHaveLength(2);
    answers.push(400);
    const err = await run('http', { url, body: {} }).catch((e: unknown) => e);
    expect(err).toMatchObject({ operation: 'http', status: 400, retriable: false, attempts: 1 });
  });

  it('works without an AGS client (webhooks need no token)', async () => {
    await run('http', { url, method: 'PUT', body: [1] }, ctx({ ags: undefined }));
    expect(seen[0]).toMatchObject({ method: 'PUT', body: '[1]' });
  });
});

describe('log action and the registry', () => {
  it('log writes one structured line and plans nothing', async () => {
    lines.length = 0;
    const { plan } = await run('log', { message: 'player logged in', level: 'warn', fields: { userId: USER } });
    expect(plan).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', msg: 'player logged in', userId: USER, rule: 'welcome', event: 'userLoggedIn' });
  });

  it('has every built-in, each with a compilable closed schema and the right permission', () => {
    expect(registry.names()).toEqual([
      'grantItem',
      'grantEntitlement',
      'creditWallet',
      'updateStat',
      'unlockAchievement',
      'notifyUser',
      'banUser',
      'grantSeasonExp',
      'writePlayerRecord',
      'http',
      'publishMessage',
      'log',
    ]);
    const ajv = new Ajv({ strict: false });
    for (const def of registry.list()) {
      expect(def.params.additionalProperties, def.name).toBe(false);
      expect(() => ajv.compile(def.params), def.name).not.toThrow();
      if (def.usesAgs) expect(def.permission, def.name).toMatch(/^ADMIN:NAMESPACE:\{namespace\}:.* \[[A-Z,]+\]$/);
      else expect(def.permission).toBeUndefined();
      for (const [name, prop] of Object.entries(def.params.properties as Record<string, Record<string, unknown>>)) {
        expect(prop.description, `${def.name}.${name}`).toBeTruthy();
      }
    }
    const validate = ajv.compile(registry.get('grantItem')!.params);
    expect(validate({ itemId: 'a', quantity: 1 })).toBe(true);
    expect(validate({ itemId: 'a', quantityy: 1 })).toBe(false);
  });
});
