/**
 * The AGS client writes a request's URL from its base URL parsed once when the path is plain (client.ts `#url`):
 * every request must still go to the URL `new URL(baseUrl + path)` with the query set makes, whatever the base
 * and the path (dot segments, percent-encoding, spaces, non-ASCII, a base with a path, port or upper-case host).
 */
import { describe, expect, it } from 'vitest';
import { AgsClient } from '../../src/ags/client.js';
import { HttpTransport } from '../../src/ags/transport.js';
import type { RawRequest, RawResponse } from '../../src/ags/transport.js';

class Recording extends HttpTransport {
  readonly seen: RawRequest[] = [];
  override send(req: RawRequest): Promise<RawResponse> {
    this.seen.push(req);
    const token = req.body === 'grant_type=client_credentials';
    return Promise.resolve({ status: 200, headers: { 'content-type': 'application/json' }, text: token ? '{"access_token":"t","expires_in":3600}' : '{}' });
  }
}

const BASES = ['http://127.0.0.1:8080', 'https://test.accelbyte.io', 'https://test.accelbyte.io/', 'https://TEST.accelbyte.io', 'https://test.accelbyte.io:443', 'http://h/prefix', 'http://h/a%20b', 'http://h/x/../y', 'http://u:p@h', 'http://h?q=1', 'http://[::1]:9'];
const PATHS = [
  '/platform/admin/namespaces/ns/users/0123456789abcdef0123456789abcdef/fulfillment',
  '/cloudsave/v1/admin/namespaces/ns/users/0123456789abcdef0123456789abcdef/adminrecords/a.b_c~d-e',
  '/x/./y',
  '/x/../y',
  '/x/.',
  '/x/..',
  '/x/.../y',
  '/x//y',
  '/x/%2e%2E/y',
  '/x/a%2Fb',
  '/x/a b',
  '/x/é',
  '/x/a\\b',
  '/x/a?b',
  '/x/a#b',
];
const QUERIES: (Record<string, string> | undefined)[] = [undefined, {}, { limit: '10', offset: '0' }, { q: 'a b&c=d/é?' }];

function expected(base: string, path: string, query: Record<string, string> | undefined): string {
  const url = new URL(base.replace(/\/+$/, '') + path);
  if (query) for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url.href;
}

describe('AGS request URL', () => {
  it('is the URL new URL(baseUrl + path) makes, query set, for every base and path', async () => {
    for (const base of BASES) {
      const transport = new Recording();
      const client = new AgsClient({ baseUrl: base, clientId: 'id', clientSecret: 'request-url-secret', transport });
      for (const path of PATHS) {
        for (const query of QUERIES) {
          await client.request({ operation: 'customOperation', method: 'GET', path, ...(query ? { query } : {}), idempotent: true });
          const url = transport.seen.at(-1)!.url;
          const want = new URL(expected(base, path, query));
          expect({ base, path, query, href: url.href }).toEqual({ base, path, query, href: want.href });
          expect([url.origin, url.protocol, url.hostname, url.pathname, url.search]).toEqual([want.origin, want.protocol, want.hostname, want.pathname, want.search]);
        }
      }
      client.close();
    }
  });
});
