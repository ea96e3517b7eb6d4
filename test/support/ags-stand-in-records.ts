/**
 * The AGS stand-in's Cloud Save admin records (player and game, with the
 * concurrent compare-and-set PUTs) and the platform reads the reconciliation
 * uses (fulfillment history, wallet transactions), after
 * `../shared/ags-openapi/cloudsave.json` and `platform.json`:
 * - `GET .../adminrecords/{key}`: 200 `{key, namespace, user_id?, value, created_at, updated_at, tags}`,
 *   404 errorCode 18152 (player) / 18140 (game) when absent;
 * - `PUT .../concurrent/adminrecords/{key}` body `{value (object), updatedAt (RFC 3339), tags?}`:
 *   creates an absent record (no precondition), replaces an existing one only if `updatedAt`
 *   equals its `updated_at`, else 412 errorCode 18183 (player) / 18180 (game); answers 204, or for
 *   player records with `?responseBody=true` 200 `{updated_at}`; `__META` in the value is ignored;
 * - `POST .../users/adminrecords/{key}/bulk` (bulkGetAdminPlayerRecordByUserIdsV1) body `{userIds}`:
 *   200 `{data: AdminPlayerRecordResponse[]}`, the records that exist (an absent one is left out);
 *   more than 20 user ids ("max allowed 20 at a time") or a body of another shape: 400 errorCode 18184;
 * - `DELETE .../adminrecords/{key}`: 204 / 404;
 * - `GET /platform/admin/namespaces/{ns}/fulfillment/history?userId=` (required), `limit`, `offset`,
 *   `status`: `{data: FulfillmentHistoryInfo[], paging}`, newest first;
 * - `GET .../users/{userId}/wallets/currencies/{currencyCode}/transactions?limit&offset`:
 *   `{data: WalletTransactionInfo[], paging}`, newest first; 404 errorCode 35141 ("Wallet [...] does
 *   not exist", as the spec documents) when the player has no wallet in that currency (no credit yet).
 * Kept in its own file: other work edits the stand-in's main file.
 */

/** What the routes need from the stand-in (its route factory and checks). */
export interface RecordRouteDeps<Route> {
  route(operation: string, method: string, template: string, hasBody: boolean, handle: (ctx: RouteCtx) => RouteAnswer, allowedQuery?: readonly string[]): Route;
  /** Fulfillments that took effect (fulfillItem pushes `orderNo` and `createdAt`). */
  readonly fulfillments: ReadonlyArray<{ readonly userId: string; readonly itemId: string; readonly quantity: number; readonly orderNo?: string; readonly createdAt?: string }>;
  readonly walletTransactions: readonly WalletTransaction[];
}

export interface RouteCtx {
  readonly req: { readonly body: unknown; readonly query: Record<string, string> };
  readonly params: Record<string, string>;
  readonly problems: string[];
}

export interface RouteAnswer {
  readonly status: number;
  readonly body?: unknown;
}

export interface WalletTransaction {
  readonly userId: string;
  readonly currencyCode: string;
  readonly amount: number;
  readonly metadata?: Record<string, unknown>;
  readonly createdAt: string;
}

export interface StoredRecord {
  value: Record<string, unknown>;
  readonly created_at: string;
  updated_at: string;
  tags: string[];
}

/** The Cloud Save state of the stand-in, for tests. */
export interface CloudSaveStandIn {
  /** An admin record (`userId` undefined: the game record), or undefined. */
  adminRecord(userId: string | undefined, key: string): StoredRecord | undefined;
  /** Every admin record key, `<userId or ->/<key>`. */
  adminRecordIds(): string[];
  /** Successful concurrent PUTs so far. */
  writes(): number;
  /** 412 answers so far. */
  preconditionFailures(): number;
  /** Single GETs of admin records (player and game) answered so far, 404s included. */
  reads(): number;
  /** Bulk reads (bulkGetAdminPlayerRecordByUserIdsV1) answered 200 so far, and the user ids they asked for. */
  bulkReads(): number;
  bulkReadRecords(): number;
  /**
   * Simulates a second first writer: right after the next creation of this record, another
   * writer's create replaces it with `value` (Cloud Save has no precondition on a create).
   */
  overwriteAfterNextCreate(userId: string | undefined, key: string, value: Record<string, unknown>): void;
  /** Overwrites (or creates) an admin record with `value`, as another client of Cloud Save would: a new `updated_at`. */
  putAdminRecord(userId: string | undefined, key: string, value: Record<string, unknown>): void;
  clear(): void;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** One page of `items` (`limit`, `offset` from the query), each entry of the page shaped by `shape` (only the page's: a long history costs one page). */
function page<T>(items: readonly T[], query: Record<string, string>, problems: string[], shape: (item: T) => unknown = (item) => item): RouteAnswer {
  const limit = query.limit === undefined ? 20 : Number(query.limit);
  const offset = query.offset === undefined ? 0 : Number(query.offset);
  if (!Number.isInteger(limit) || limit < 1) problems.push(`query limit: expected a positive integer, got ${query.limit}`);
  if (!Number.isInteger(offset) || offset < 0) problems.push(`query offset: expected an integer >= 0, got ${query.offset}`);
  if (problems.length) return { status: 400 };
  const data = items.slice(offset, offset + limit).map(shape);
  const more = offset + limit < items.length;
  return { status: 200, body: { data, paging: more ? { next: `?offset=${offset + limit}&limit=${limit}` } : {} } };
}

export function recordRoutes<Route>(deps: RecordRouteDeps<Route>, namespace: string): { routes: Route[]; api: CloudSaveStandIn } {
  const records = new Map<string, StoredRecord>();
  const overwrites = new Map<string, Record<string, unknown>>();
  let writes = 0;
  let preconditionFailures = 0;
  let reads = 0;
  let bulkReads = 0;
  let bulkReadRecords = 0;
  let lastMs = 0;
  /** Strictly increasing instants: two writes never share an `updated_at`. */
  const stamp = (): string => {
    lastMs = Math.max(Date.now(), lastMs + 1);
    return new Date(lastMs).toISOString();
  };
  const id = (userId: string | undefined, key: string): string => `${userId ?? '-'}/${key}`;
  // positions of each player's fulfillments with a createdAt, oldest first, kept up to date as fulfillments grow (a
  // player's history is read page by page, thousands of times in the heavy-player tests); rebuilt when the list was
  // emptied meanwhile (reset: the last fulfillment indexed is no longer where it was)
  const byUser = new Map<string, number[]>();
  let indexed = 0;
  let last: unknown;
  const fulfillmentsOf = (userId: string): readonly number[] => {
    if (indexed > 0 && deps.fulfillments[indexed - 1] !== last) {
      byUser.clear();
      indexed = 0;
    }
    for (; indexed < deps.fulfillments.length; indexed++) {
      const f = deps.fulfillments[indexed]!;
      last = f;
      if (f.createdAt === undefined) continue;
      let list = byUser.get(f.userId);
      if (!list) byUser.set(f.userId, (list = []));
      list.push(indexed);
    }
    return byUser.get(userId) ?? [];
  };

  const get = (player: boolean) => ({ params }: RouteCtx): RouteAnswer => {
    reads++;
    const r = records.get(id(player ? params.userId : undefined, params.key!));
    if (!r) return { status: 404, body: { errorCode: player ? 18152 : 18140, errorMessage: 'record not found' } };
    return { status: 200, body: { key: params.key, namespace: params.ns, ...(player ? { user_id: params.userId } : {}), value: r.value, created_at: r.created_at, updated_at: r.updated_at, tags: r.tags } };
  };
  const del = (player: boolean) => ({ params }: RouteCtx): RouteAnswer => {
    const k = id(player ? params.userId : undefined, params.key!);
    if (!records.delete(k)) return { status: 404, body: { errorCode: player ? 18152 : 18140, errorMessage: 'record not found' } };
    return { status: 204 };
  };
  const put = (player: boolean) => ({ req, params, problems }: RouteCtx): RouteAnswer => {
    const b = req.body;
    if (!isObject(b)) {
      problems.push('body: expected {value, updatedAt, tags?}');
      return { status: 400 };
    }
    for (const k of Object.keys(b)) if (!['value', 'updatedAt', 'tags', ...(player ? [] : ['ttl_config'])].includes(k)) problems.push(`body: unknown field "${k}"`);
    if (!isObject(b.value)) problems.push('body.value: required, a JSON object');
    if (typeof b.updatedAt !== 'string' || !RFC3339.test(b.updatedAt)) problems.push(`body.updatedAt: required, RFC 3339, got ${JSON.stringify(b.updatedAt)}`);
    if (b.tags !== undefined && (!Array.isArray(b.tags) || b.tags.some((t) => typeof t !== 'string'))) problems.push('body.tags: expected an array of strings');
    if (req.query.responseBody !== undefined && !['true', 'false'].includes(req.query.responseBody)) problems.push('query responseBody: expected true or false');
    if (problems.length) return { status: 400 };
    const k = id(player ? params.userId : undefined, params.key!);
    const existing = records.get(k);
    if (existing && Date.parse(existing.updated_at) !== Date.parse(b.updatedAt as string)) {
      preconditionFailures++;
      return { status: 412, body: { errorCode: player ? 18183 : 18180, errorMessage: 'precondition failed: record has changed' } };
    }
    const { __META: _meta, ...value } = b.value as Record<string, unknown>;
    const now = stamp();
    const stored: StoredRecord = { value, created_at: existing?.created_at ?? now, updated_at: now, tags: (b.tags as string[] | undefined) ?? existing?.tags ?? [] };
    records.set(k, stored);
    writes++;
    const other = existing ? undefined : overwrites.get(k);
    if (other) {
      overwrites.delete(k);
      records.set(k, { ...stored, value: other, updated_at: stamp() });
    }
    if (player && req.query.responseBody === 'true') return { status: 200, body: { updated_at: stored.updated_at } };
    return { status: 204 };
  };

  const bulkGet = ({ req, params, problems }: RouteCtx): RouteAnswer => {
    const b = req.body;
    const invalid = { status: 400, body: { errorCode: 18184, errorMessage: 'invalid request body' } };
    if (!isObject(b) || !Array.isArray(b.userIds) || b.userIds.some((u) => typeof u !== 'string')) {
      problems.push('body: expected {userIds: string[]}');
      return invalid;
    }
    for (const k of Object.keys(b)) if (k !== 'userIds') problems.push(`body: unknown field "${k}"`);
    if (b.userIds.length > 20) problems.push(`body.userIds: ${b.userIds.length} user ids, the spec allows 20 at a time`);
    if (problems.length) return invalid;
    bulkReads++;
    bulkReadRecords += b.userIds.length;
    const data = [...new Set(b.userIds as string[])].flatMap((u) => {
      const r = records.get(id(u, params.key!));
      return r ? [{ key: params.key, namespace: params.ns, user_id: u, value: r.value, created_at: r.created_at, updated_at: r.updated_at, tags: r.tags }] : [];
    });
    return { status: 200, body: { data } };
  };

  const base = '/cloudsave/v1/admin/namespaces/{ns}';
  const routes = [
    deps.route('adminGetAdminPlayerRecordV1', 'GET', `${base}/users/{userId}/adminrecords/{key}`, false, get(true)),
    deps.route('bulkGetAdminPlayerRecordByUserIdsV1', 'POST', `${base}/users/adminrecords/{key}/bulk`, true, bulkGet),
    deps.route('adminDeleteAdminPlayerRecordV1', 'DELETE', `${base}/users/{userId}/adminrecords/{key}`, false, del(true)),
    deps.route('adminPutAdminPlayerRecordConcurrentHandlerV1', 'PUT', `${base}/users/{userId}/concurrent/adminrecords/{key}`, true, put(true), ['responseBody']),
    deps.route('adminGetAdminGameRecordV1', 'GET', `${base}/adminrecords/{key}`, false, get(false)),
    deps.route('adminDeleteAdminGameRecordV1', 'DELETE', `${base}/adminrecords/{key}`, false, del(false)),
    deps.route('adminPutAdminGameRecordConcurrentHandlerV1', 'PUT', `${base}/concurrent/adminrecords/{key}`, true, put(false)),
    deps.route(
      'queryFulfillmentHistories',
      'GET',
      '/platform/admin/namespaces/{ns}/fulfillment/history',
      false,
      ({ req, problems }) => {
        const userId = req.query.userId;
        if (!userId) problems.push('query userId: required');
        if (req.query.status !== undefined && !['FAIL', 'SUCCESS'].includes(req.query.status)) problems.push('query status: FAIL or SUCCESS');
        if (problems.length) return { status: 400 };
        if (req.query.status === 'FAIL') return page([], req.query, problems);
        // the player's fulfillments, newest first (indices: only the page asked for is shaped)
        const mine = [...fulfillmentsOf(userId!)].reverse();
        return page(mine, req.query, problems, (i) => {
          const f = deps.fulfillments[i]!;
          return {
            id: `fulfillment-${i + 1}`,
            namespace,
            userId: f.userId,
            status: 'SUCCESS',
            ...(f.orderNo !== undefined ? { orderNo: f.orderNo } : {}),
            fulfillItems: [{ itemId: f.itemId, quantity: f.quantity }],
            createdAt: f.createdAt,
            updatedAt: f.createdAt,
          };
        });
      },
      ['userId', 'limit', 'offset', 'status'],
    ),
    deps.route(
      'listUserCurrencyTransactions',
      'GET',
      '/platform/admin/namespaces/{ns}/users/{userId}/wallets/currencies/{currencyCode}/transactions',
      false,
      ({ req, params, problems }) => {
        const items = deps.walletTransactions.filter((t) => t.userId === params.userId && t.currencyCode === params.currencyCode).reverse();
        // the spec's documented 404: the player has no wallet in that currency (creditUserWallet creates it)
        if (items.length === 0) return { status: 404, body: { errorCode: 35141, errorMessage: `Wallet [${params.userId}-${params.currencyCode}] does not exist` } };
        return page(items, req.query, problems, (t) => ({ amount: t.amount, currencyCode: t.currencyCode, namespace, userId: t.userId, operator: 'stand-in-client', walletAction: 'CREDIT', ...(t.metadata ? { metadata: t.metadata } : {}), createdAt: t.createdAt, updatedAt: t.createdAt }));
      },
      ['limit', 'offset'],
    ),
  ];

  const api: CloudSaveStandIn = {
    adminRecord: (userId, key) => records.get(id(userId, key)),
    adminRecordIds: () => [...records.keys()],
    writes: () => writes,
    preconditionFailures: () => preconditionFailures,
    reads: () => reads,
    bulkReads: () => bulkReads,
    bulkReadRecords: () => bulkReadRecords,
    overwriteAfterNextCreate: (userId, key, value) => void overwrites.set(id(userId, key), value),
    putAdminRecord: (userId, key, value) => {
      const k = id(userId, key);
      const now = stamp();
      records.set(k, { value, created_at: records.get(k)?.created_at ?? now, updated_at: now, tags: records.get(k)?.tags ?? [] });
    },
    clear: () => {
      records.clear();
      overwrites.clear();
      writes = 0;
      preconditionFailures = 0;
      reads = 0;
      bulkReads = 0;
      bulkReadRecords = 0;
    },
  };
  return { routes, api };
}
