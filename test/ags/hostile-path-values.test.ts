/**
 * Hostile values from events and rules in an AGS path (statCode, achievementCode, currencyCode, record key,
 * namespace, userId, a query value), through the operation builders and the client's URL written from its base
 * URL parsed once (client.ts `#url`), over bases with a path prefix, a trailing slash, a port, an IPv6 host:
 * the request sent goes to the URL `new URL(baseUrl + path)` makes, with as many segments as the operation's
 * template (one value, one segment), or is refused before sending with a permanent error naming the value,
 * bounded (a lone surrogate, which percent-encoding cannot write, included: it threw `URI malformed`).
 */
import { describe, expect, it } from 'vitest';
import { AgsClient } from '../../src/ags/client.js';
import { ops } from '../../src/ags/operations.js';
import { HttpTransport } from '../../src/ags/transport.js';
import type { RawRequest, RawResponse } from '../../src/ags/transport.js';
import type { AgsRequest } from '../../src/ags/types.js';

class Recording extends HttpTransport {
  readonly seen: RawRequest[] = [];
  override send(req: RawRequest): Promise<RawResponse> {
    this.seen.push(req);
    const token = req.body === 'grant_type=client_credentials';
    return Promise.resolve({ status: 200, headers: { 'content-type': 'application/json' }, text: token ? '{"access_token":"hostile-path-token","expires_in":3600}' : '{}' });
  }
}

const USER = '0123456789abcdef0123456789abcdef';
const VALUES = ['/', '..', '.', '%2F', '%2e%2e', '.%2e', '..%2F', '%252F', 'a/../b', '?', '#', '\\', ' ', 'é', '\u0000', '\r\n', '\t', '%', '%zz', '\u2028', '\uFEFF', '\u3002', '．．', 'A:B', '@', ';', "'", '(', '*', 'users', 'namespaces', 'x'.repeat(5000)];
const BASES = ['http://127.0.0.1:8080', 'http://h/prefix', 'http://h/prefix/', 'http://h:81/p/q', 'http://[::1]:9/x', 'https://test.accelbyte.io', 'http://h/p%7e'];

const builders: Record<string, (v: string) => AgsRequest> = {
  statCode: (v) => ops.updateUserStatItemValue('mygame', USER, v, { updateStrategy: 'OVERRIDE', value: 1 }),
  achievementCode: (v) => ops.adminUnlockAchievement('mygame', USER, v),
  currencyCode: (v) => ops.creditUserWallet('mygame', USER, v, { amount: 1, source: 'REWARD' }),
  recordKey: (v) => ops.adminGetAdminPlayerRecordV1('mygame', USER, v),
  namespace: (v) => ops.fulfillItem(v, USER, { itemId: 'item', quantity: 1 }),
  userId: (v) => ops.fulfillItem('mygame', v, { itemId: 'item', quantity: 1 }),
  additionalKey: (v) => ops.updateUserStatItemValue('mygame', USER, 'kills', { updateStrategy: 'OVERRIDE', value: 1 }, v),
};

/** The request or the error, as the client sees it. */
async function sent(client: AgsClient, transport: Recording, build: () => AgsRequest): Promise<{ op: AgsRequest; req: RawRequest } | { error: Error & { retriable?: boolean } }> {
  let op: AgsRequest;
  try {
    op = build();
  } catch (error) {
    return { error: error as Error };
  }
  const before = transport.seen.length;
  try {
    await client.send(op);
  } catch (error) {
    if (transport.seen.length === before) return { error: error as Error };
  }
  return { op, req: transport.seen.at(-1)! };
}

describe('hostile values in AGS paths', () => {
  it('go to the path new URL makes, one value one segment, or are refused for good with the value shown bounded', async () => {
    for (const base of BASES) {
      const transport = new Recording();
      const client = new AgsClient({ baseUrl: base, clientId: 'id', clientSecret: 'hostile-path-secret', transport, maxAttempts: 1 });
      const basePath = new URL(client.baseUrl).pathname.replace(/\/$/, '');
      for (const [param, build] of Object.entries(builders)) {
        for (const value of [...VALUES, `a\uD800b`]) {
          const r = await sent(client, transport, () => build(value));
          const what = { base, param, value: JSON.stringify(value).slice(0, 40) };
          if ('error' in r) {
            expect({ ...what, retriable: r.error.retriable }).toEqual({ ...what, retriable: false });
            expect({ ...what, message: r.error.message.length < 600 }).toEqual({ ...what, message: true });
            expect({ ...what, named: /path segment|not an AGS (user id|namespace)/.test(r.error.message) }).toEqual({ ...what, named: true });
            continue;
          }
          const want = new URL(client.baseUrl + r.op.path);
          for (const [k, v] of Object.entries(r.op.query ?? {})) want.searchParams.set(k, v);
          expect({ ...what, href: r.req.url.href, pathname: r.req.url.pathname, search: r.req.url.search }).toEqual({ ...what, href: want.href, pathname: want.pathname, search: want.search });
          expect({ ...what, segments: r.req.url.pathname.slice(basePath.length).split('/').length }).toEqual({ ...what, segments: r.op.path.split('/').length });
        }
      }
      client.close();
    }
  });
});
