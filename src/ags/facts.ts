/**
 * Read-only AGS lookups a rule may name under `facts` (src/rules): one entry
 * per AGS operation id, as AccelByte's OpenAPI specs write it
 * (../shared/ags-openapi), with the request it sends, the parameters a rule
 * gives, and the permission the app's IAM client needs (the spec's
 * `x-security`). Each request is a GET: repeating it changes nothing
 * (`idempotent: true`). The answer is read as AGS sends it (the spec's
 * response schema), under `facts.<name>` in the rule's condition.
 */
import { agsPath } from './operations.js';
import type { AgsRequest } from './types.js';

/** One fact operation. */
export interface FactOperation {
  /** AGS operation id (the spec's `operationId`). */
  readonly operation: string;
  /** The spec file (../shared/ags-openapi/<service>.json). */
  readonly service: string;
  /** Parameters a rule gives (required ones first). */
  readonly params: readonly string[];
  readonly required: readonly string[];
  /** The permission the app's IAM client needs (the spec's `x-security.userPermissions`). */
  readonly permission: string;
  /** What the answer holds (the spec's response schema), for docs and hovers. */
  readonly answer: string;
  /** The request for the event's player `userId` in namespace `ns`. Throws AgsPathSegmentError (permanent) for a value that cannot be a path segment. */
  build(ns: string, userId: string, params: Readonly<Record<string, string>>): AgsRequest;
}

const get = (operation: string, path: string, query?: Record<string, string>): AgsRequest => ({ operation, method: 'GET', path, ...(query && Object.keys(query).length > 0 ? { query } : {}), idempotent: true });

/** The fact operations, by operation id. */
export const FACT_OPERATIONS: Readonly<Record<string, FactOperation>> = {
  getUserEntitlementOwnershipByItemId: {
    operation: 'getUserEntitlementOwnershipByItemId',
    service: 'platform',
    params: ['itemId', 'entitlementClazz', 'platform'],
    required: ['itemId'],
    permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:ENTITLEMENT [READ]',
    answer: 'TimedOwnership: { owned: boolean, endDate?: date-time }',
    build: (ns, userId, p) => get('getUserEntitlementOwnershipByItemId', agsPath`/platform/admin/namespaces/${ns}/users/${userId}/entitlements/ownership/byItemId`, pick(p, ['itemId', 'entitlementClazz', 'platform'])),
  },
  queryUserCurrencyWallets: {
    operation: 'queryUserCurrencyWallets',
    service: 'platform',
    params: [],
    required: [],
    permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:WALLET [READ]',
    answer: 'CurrencyWallet[]: [{ currencyCode, balance, currencySymbol, namespace, userId, ... }] (one per currency the player holds)',
    build: (ns, userId) => get('queryUserCurrencyWallets', agsPath`/platform/admin/namespaces/${ns}/users/${userId}/wallets/currencies/summary`),
  },
  getUserStatItems: {
    operation: 'getUserStatItems',
    service: 'social',
    params: ['statCodes', 'tags'],
    required: [],
    permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:STATITEM [READ]',
    answer: 'UserStatItemPagingSlicedResult: { data: [{ statCode, value, ... }], paging }',
    build: (ns, userId, p) => get('getUserStatItems', agsPath`/social/v1/admin/namespaces/${ns}/users/${userId}/statitems`, pick(p, ['statCodes', 'tags'])),
  },
  getUserProfileInfo: {
    operation: 'getUserProfileInfo',
    service: 'basic',
    params: [],
    required: [],
    permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:PROFILE [READ]',
    answer: 'UserProfilePrivateInfo: { language, timeZone, dateOfBirth, customAttributes, status, ... }',
    build: (ns, userId) => get('getUserProfileInfo', agsPath`/basic/v1/admin/namespaces/${ns}/users/${userId}/profiles`),
  },
  AdminGetUserByUserIdV3: {
    operation: 'AdminGetUserByUserIdV3',
    service: 'iam',
    params: [],
    required: [],
    permission: 'ADMIN:NAMESPACE:{namespace}:USER:{userId} [READ]',
    answer: 'UserResponseV3: { country, displayName, emailVerified, createdAt, bans, ... } (the account: its country)',
    build: (ns, userId) => get('AdminGetUserByUserIdV3', agsPath`/iam/v3/admin/namespaces/${ns}/users/${userId}`),
  },
};

function pick(p: Readonly<Record<string, string>>, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) if (p[k] !== undefined && p[k] !== '') out[k] = p[k];
  return out;
}

/** A fact to fetch (as `RuleSet.factRequests` lists them). */
export interface FactLookup {
  readonly rule: string;
  readonly name: string;
  readonly operation: string;
  readonly params: Readonly<Record<string, string>>;
  readonly problem?: string;
}

/** A fetched fact: AGS's answer, or why it cannot be had (a permanent failure). */
export type FetchedFact = { readonly value: unknown } | { readonly error: string };

/**
 * The event handler's fact fetcher over `request` (the AGS client's generic
 * call, with its retries and re-login): each distinct request sent once per
 * event, for the event's player in `namespace` (the app's, else the event's).
 * A permanent failure (a 4xx, a value that cannot be a path segment, an event
 * without a player) is the fact's `error` (the rule reading it ends in
 * `error`); a transient one (retriable: 429, 5xx, network) rejects the whole
 * fetch, so the event is answered UNAVAILABLE and redelivered: a lookup that
 * failed is never read as false.
 */
export function factFetcher(request: (op: AgsRequest) => Promise<unknown>, namespace: string) {
  return async (lookups: readonly FactLookup[], event: { readonly userId?: unknown; readonly namespace?: unknown }, signal?: AbortSignal): Promise<Map<string, Record<string, FetchedFact>>> => {
    const ns = namespace !== '' ? namespace : typeof event.namespace === 'string' ? event.namespace : '';
    const userId = typeof event.userId === 'string' ? event.userId : '';
    const sent = new Map<string, Promise<FetchedFact>>();
    const fetchOne = (l: FactLookup): Promise<FetchedFact> => {
      if (l.problem !== undefined) return Promise.resolve({ error: l.problem });
      const def = FACT_OPERATIONS[l.operation];
      if (!def) return Promise.resolve({ error: `no lookup ${l.operation}` });
      if (userId === '') return Promise.resolve({ error: 'the event has no player (userId) to look up' });
      const key = JSON.stringify([l.operation, l.params]);
      let p = sent.get(key);
      if (!p) {
        let req: AgsRequest;
        try {
          req = { ...def.build(ns, userId, l.params), ...(signal ? { signal } : {}) };
        } catch (err) {
          return Promise.resolve({ error: err instanceof Error ? err.message : String(err) });
        }
        p = request(req).then(
          (value): FetchedFact => ({ value }),
          (err: unknown): FetchedFact => {
            if (err instanceof Error && (err as { retriable?: unknown }).retriable === false) return { error: err.message };
            throw err;
          },
        );
        sent.set(key, p);
      }
      return p;
    };
    const out = new Map<string, Record<string, FetchedFact>>();
    const values = await Promise.all(lookups.map(fetchOne));
    lookups.forEach((l, i) => {
      const mine = out.get(l.rule) ?? {};
      mine[l.name] = values[i]!;
      out.set(l.rule, mine);
    });
    return out;
  };
}
