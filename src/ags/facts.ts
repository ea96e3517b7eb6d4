/**
 * Read-only AGS lookups a rule may name under `facts` (src/rules): one entry
 * per AGS operation id, as AccelByte's OpenAPI specs write it
 * (../shared/ags-openapi), with the request it sends, the parameters a rule
 * gives, and the permission the app's IAM client needs (the spec's
 * `x-security`). Each request is a GET: repeating it changes nothing
 * (`idempotent: true`). The answer is read as AGS sends it (the spec's
 * response schema), under `facts.<name>` in the rule's condition; a lookup
 * may also read a documented refusal as a definite answer (group membership:
 * 404 "user not belong to any group" is "not a member", see
 * {@link FactOperation.definite}).
 *
 * The Group service's spec is not among ../shared/ags-openapi: its operation
 * is checked against an unchanged excerpt of AccelByte's own `spec/group.json`
 * vendored in test/fixtures/ags-openapi (README there: source, commit,
 * licence).
 */
import { AgsError } from './errors.js';
import { agsPath } from './operations.js';
import type { AgsRequest } from './types.js';

/** One fact operation. */
export interface FactOperation {
  /** AGS operation id (the spec's `operationId`). */
  readonly operation: string;
  /** The spec file (../shared/ags-openapi/<service>.json; `group`: test/fixtures/ags-openapi/group.json, an excerpt). */
  readonly service: string;
  /** Parameters a rule gives (required ones first). */
  readonly params: readonly string[];
  readonly required: readonly string[];
  /** The permission the app's IAM client needs (the spec's `x-security.userPermissions`); '' when the spec lists none. */
  readonly permission: string;
  /** The IAM client scopes the spec's `x-security.iamClientScopes` lists (default: none listed). */
  readonly clientScopes?: readonly string[];
  /** What the answer holds (the spec's response schema), for docs and hovers. */
  readonly answer: string;
  /** The request for the event's player `userId` in namespace `ns`. Throws AgsPathSegmentError (permanent) for a value that cannot be a path segment. */
  build(ns: string, userId: string, params: Readonly<Record<string, string>>): AgsRequest;
  /** The fact's value from AGS's 2xx answer (default: the answer as AGS sent it). Throws a retriable AgsError for an answer it cannot read (redelivered, never read as false). */
  read?(answer: unknown): unknown;
  /**
   * AGS refusals the spec documents as a definite answer rather than a
   * failure: an HTTP `status` with one of the spec's `errorCodes` is the
   * fact's `value`. Any other refusal (the same status without one of these
   * codes included) stays a failure.
   */
  readonly definite?: readonly DefiniteAnswer[];
}

/** A documented refusal read as a value (see {@link FactOperation.definite}). */
export interface DefiniteAnswer {
  readonly status: number;
  /** AGS `errorCode`s of that status, as the spec's `x-errorCodes` list them. */
  readonly errorCodes: readonly number[];
  readonly value: unknown;
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
  // group.json (an excerpt in test/fixtures/ags-openapi): 200 GetUserGroupInformationResponseV1; 404 73034 "user not belong to any group", 73433 "member group not found"
  AdminGetUserGroupStatusInformationV2: {
    operation: 'AdminGetUserGroupStatusInformationV2',
    service: 'group',
    params: ['groupId'],
    required: ['groupId'],
    permission: '',
    clientScopes: ['social'],
    answer: '{ member: boolean } and, when AGS answers 200, GetUserGroupInformationResponseV1: { groupId, userId, status, memberRoleId: [...], joinedAt }',
    build: (ns, userId, p) => get('AdminGetUserGroupStatusInformationV2', agsPath`/group/v2/admin/namespaces/${ns}/users/${userId}/groups/${p.groupId ?? ''}/status`),
    read: readGroupStatus,
    definite: [{ status: 404, errorCodes: [73034, 73433], value: { member: false } }],
  },
};

/** The group statuses the spec documents (group.json): `JOINED` a member, `JOIN` a request to join, `INVITE` an invitation. */
export const GROUP_MEMBER_STATUS = 'JOINED';

/** The fields group.json's `models.GetUserGroupInformationResponseV1` requires. */
export const GROUP_INFORMATION_REQUIRED = ['groupId', 'joinedAt', 'memberRoleId', 'userId'] as const;

/**
 * AdminGetUserGroupStatusInformationV2's 200 as the fact's value: AGS's
 * answer with `member`, true when its `status` is `JOINED` or absent (the
 * spec declares `status` optional and `joinedAt` required); `JOIN` (a
 * request) and `INVITE` (an invitation) are not a membership. An answer
 * without the spec's required fields cannot be read: a retriable AgsError
 * (`unreadable`), so the event is redelivered rather than read as "not a
 * member".
 */
function readGroupStatus(answer: unknown): unknown {
  const gone = isRecord(answer) ? GROUP_INFORMATION_REQUIRED.filter((k) => answer[k] === undefined) : [...GROUP_INFORMATION_REQUIRED];
  if (!isRecord(answer) || gone.length > 0) {
    throw new AgsError({ operation: 'AdminGetUserGroupStatusInformationV2', service: 'Group', status: 200, retriable: true, attempts: 1, kind: 'unreadable', errorMessage: `the answer lacks the declared field(s) ${gone.join(', ')}: it cannot be read` });
  }
  return { ...answer, member: answer.status === undefined || answer.status === GROUP_MEMBER_STATUS };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value a documented refusal stands for, if `err` is one of `definite`. */
function definiteValue(definite: readonly DefiniteAnswer[] | undefined, err: unknown): { value: unknown } | undefined {
  if (!definite || !isRecord(err) || err.retriable !== false) return undefined;
  const code = Number(err.errorCode);
  const hit = definite.find((d) => d.status === err.status && d.errorCodes.includes(code));
  return hit ? { value: hit.value } : undefined;
}

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
 * A refusal the operation documents as an answer (its `definite` list) is
 * the fact's value. Another permanent failure (a 4xx, a value that cannot be
 * a path segment, an event without a player) is the fact's `error` (the rule reading it ends in
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
      const key = JSON.stringify([l.operation, Object.entries(l.params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]); // the parameters' order as written is no other lookup
      let p = sent.get(key);
      if (!p) {
        let req: AgsRequest;
        try {
          req = { ...def.build(ns, userId, l.params), ...(signal ? { signal } : {}) };
        } catch (err) {
          return Promise.resolve({ error: err instanceof Error ? err.message : String(err) });
        }
        p = request(req).then(
          (value): FetchedFact => ({ value: def.read ? def.read(value) : value }),
          (err: unknown): FetchedFact => {
            const definite = definiteValue(def.definite, err);
            if (definite) return definite;
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
