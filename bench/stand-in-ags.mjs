/**
 * A minimal, FAST stand-in for AGS (node:http) for the bench: the token
 * endpoint, item fulfillment (counting grants), the fulfillment history that
 * grantItem's lookup reads (`queryFulfillmentHistories`: an event the ledger
 * may have settled before, such as a false positive of a player's horizon at
 * the bound, is looked up, never granted blindly), Cloud Save admin records. The strict stand-in
 * used by the tests is test/support/ags-stand-in.ts; this one checks just
 * enough (auth headers, path) to prove the server really sent each grant.
 */
import http from 'node:http';

export const STAND_IN_CLIENT_ID = 'bench-client';
export const STAND_IN_CLIENT_SECRET = 'bench-secret';
const TOKEN = 'bench-access-token';
const FULFILL = /^\/platform\/admin\/namespaces\/([^/]+)\/users\/([^/]+)\/fulfillment$/;
/** fulfillItem's 200 answer (`FulfillmentResult`: `namespace` and `userId` required, ../shared/ags-openapi/platform.json). */
const fulfillAnswer = (namespace, userId) =>
  JSON.stringify({ namespace, userId, entitlementSummaries: [{ id: 'x' }], creditSummaries: [], subscriptionSummaries: [] });
const TOKEN_ANSWER = JSON.stringify({ access_token: TOKEN, expires_in: 3600, token_type: 'Bearer' });
const RECORD = /^\/cloudsave\/v1\/admin\/namespaces\/([^/]+)\/(?:users\/([^/]+)\/)?(concurrent\/)?adminrecords\/([^/?]+)/;
const HEX32 = /^[0-9a-f]{32}$/;
/** queryFulfillmentHistories (platform.json): `userId` (required), `limit`, `offset`; answers `{data, paging}`, newest first. */
const HISTORY = /^\/platform\/admin\/namespaces\/([^/]+)\/fulfillment\/history\?/;
/** bulkGetAdminPlayerRecordByUserIdsV1 (cloudsave.json): body `{userIds}` (at most 20, else 400 18184), answers `{data}` with the records that exist. */
const BULK = /^\/cloudsave\/v1\/admin\/namespaces\/([^/]+)\/users\/adminrecords\/([^/?]+)\/bulk$/;
const BASIC = `Basic ${Buffer.from(`${STAND_IN_CLIENT_ID}:${STAND_IN_CLIENT_SECRET}`).toString('base64')}`;

/**
 * @param {{ namespace: string, userId: string }} expected what every grant must target
 * @returns {Promise<{ url: string, stats: { logins: number, grants: number, lookups: number, rejected: number }, setLatency(ms: number): void, close(): Promise<void> }>}
 */
export async function startStandInAgs(expected) {
  const stats = { logins: 0, grants: 0, lookups: 0, rejected: 0, storeCalls: 0, storeReads: 0, storeBulkReads: 0, storeWrites: 0, conflicts: 0 };
  /** Each player's fulfillments, oldest first: { orderNo?, itemId, quantity, createdAt }. */
  const fulfillments = new Map();
  /** Cloud Save admin records (the state store): id -> { value, updated_at }; compare-and-set as cloudsave.json. */
  const records = new Map();
  let lastMs = 0;
  /** Every answer is held this long, ms (`setLatency`): AGS's round trip as a player's region sees it. */
  let latencyMs = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => (latencyMs > 0 ? setTimeout(handle, latencyMs) : handle()));
    function handle() {
      const answer = (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (req.method === 'POST' && req.url === '/iam/v3/oauth/token') {
        if (req.headers.authorization !== BASIC) {
          stats.rejected++;
          return answer(401, JSON.stringify({ error: 'invalid_client' }));
        }
        stats.logins++;
        return answer(200, TOKEN_ANSWER);
      }
      const bulk = req.method === 'POST' ? BULK.exec(req.url ?? '') : null;
      if (bulk) {
        stats.storeCalls++;
        stats.storeBulkReads++;
        if (req.headers.authorization !== `Bearer ${TOKEN}`) return answer(401, JSON.stringify({ errorCode: 20001, errorMessage: 'unauthorized' }));
        let userIds;
        try {
          userIds = JSON.parse(Buffer.concat(chunks).toString('utf8')).userIds;
        } catch {
          userIds = undefined;
        }
        if (!Array.isArray(userIds) || userIds.length > 20 || userIds.some((u) => typeof u !== 'string')) {
          stats.rejected++;
          return answer(400, JSON.stringify({ errorCode: 18184, errorMessage: 'invalid request body' }));
        }
        const data = [...new Set(userIds)].flatMap((u) => {
          const existing = records.get(`${u}/${bulk[2]}`);
          return existing ? [{ key: bulk[2], namespace: bulk[1], user_id: u, value: existing.value, created_at: existing.created_at, updated_at: existing.updated_at, tags: [] }] : [];
        });
        return answer(200, JSON.stringify({ data }));
      }
      const h = req.method === 'GET' ? HISTORY.exec(req.url ?? '') : null;
      if (h) {
        stats.lookups++;
        if (req.headers.authorization !== `Bearer ${TOKEN}`) return answer(401, JSON.stringify({ errorCode: 20001, errorMessage: 'unauthorized' }));
        const q = new URL(req.url ?? '', 'http://stand-in').searchParams;
        const userId = q.get('userId');
        const limit = Number(q.get('limit') ?? 20);
        const offset = Number(q.get('offset') ?? 0);
        if (!userId || !Number.isInteger(limit) || limit < 1 || !Number.isInteger(offset) || offset < 0) {
          stats.rejected++;
          return answer(400, JSON.stringify({ errorCode: 20002, errorMessage: 'bench stand-in: unexpected query' }));
        }
        const mine = fulfillments.get(userId) ?? [];
        const data = [];
        for (let i = mine.length - 1 - offset; i >= 0 && data.length < limit; i--) {
          const f = mine[i];
          data.push({ id: `fulfillment-${userId}-${i + 1}`, namespace: h[1], userId, status: 'SUCCESS', ...(f.orderNo !== undefined ? { orderNo: f.orderNo } : {}), fulfillItems: [{ itemId: f.itemId, quantity: f.quantity }], createdAt: f.createdAt, updatedAt: f.createdAt });
        }
        const more = offset + limit < mine.length;
        return answer(200, JSON.stringify({ data, paging: more ? { next: `?offset=${offset + limit}&limit=${limit}` } : {} }));
      }
      const r = RECORD.exec(req.url ?? '');
      if (r) {
        stats.storeCalls++;
        if (req.headers.authorization !== `Bearer ${TOKEN}`) return answer(401, JSON.stringify({ errorCode: 20001, errorMessage: 'unauthorized' }));
        const id = `${r[2] ?? '-'}/${r[4]}`;
        const existing = records.get(id);
        if (req.method === 'GET') {
          stats.storeReads++;
          if (!existing) return answer(404, JSON.stringify({ errorCode: 18152, errorMessage: 'record not found' }));
          return answer(200, JSON.stringify({ key: r[4], namespace: r[1], ...(r[2] ? { user_id: r[2] } : {}), value: existing.value, created_at: existing.created_at, updated_at: existing.updated_at, tags: [] }));
        }
        if (req.method === 'DELETE') {
          records.delete(id);
          res.writeHead(204).end();
          return;
        }
        if (req.method === 'PUT' && r[3]) {
          stats.storeWrites++;
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (existing && Date.parse(existing.updated_at) !== Date.parse(body.updatedAt)) {
            stats.conflicts++;
            return answer(412, JSON.stringify({ errorCode: 18183, errorMessage: 'precondition failed: record has changed' }));
          }
          lastMs = Math.max(Date.now(), lastMs + 1);
          const updatedAt = new Date(lastMs).toISOString();
          records.set(id, { value: body.value, created_at: existing?.created_at ?? updatedAt, updated_at: updatedAt });
          if (r[2] && (req.url ?? '').includes('responseBody=true')) return answer(200, JSON.stringify({ updated_at: updatedAt }));
          res.writeHead(204).end();
          return;
        }
      }
      const m = req.method === 'POST' ? FULFILL.exec(req.url ?? '') : null;
      if (m) {
        let body;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        if (
          req.headers.authorization !== `Bearer ${TOKEN}` ||
          m[1] !== expected.namespace ||
          !(m[2] === expected.userId || HEX32.test(m[2])) ||
          typeof body?.itemId !== 'string'
        ) {
          stats.rejected++;
          return answer(400, JSON.stringify({ errorCode: 20002, errorMessage: 'bench stand-in: unexpected request' }));
        }
        stats.grants++;
        let mine = fulfillments.get(m[2]);
        if (!mine) fulfillments.set(m[2], (mine = []));
        mine.push({ orderNo: typeof body.orderNo === 'string' ? body.orderNo : undefined, itemId: body.itemId, quantity: body.quantity, createdAt: new Date().toISOString() });
        return answer(200, fulfillAnswer(m[1], m[2]));
      }
      stats.rejected++;
      answer(404, JSON.stringify({ errorCode: 404, errorMessage: `bench stand-in: no ${req.method} ${req.url}` }));
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    /** Holds every answer `ms` milliseconds from now on (0: at once). */
    setLatency(ms) {
      latencyMs = ms;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
