/**
 * The AGS operations as request builders: one pure function per operation id
 * returning the exact method, path, query and body. `operation` is the
 * operation id exactly as AccelByte's OpenAPI specs write it (the label of
 * plans, logs, metrics and errors); the builder's name is its camelCase form.
 * The client sends them; actions' `plan` shows them. Path segments are
 * URL-encoded, one value one segment (dot segments and empty values refused:
 * see {@link agsPath}).
 *
 * Idempotency (may a 500 be retried?), decided per operation:
 * - yes: `fulfillItemsV3` (transaction id), `AdminUnlockAchievement`,
 *   `adminPutPlayerRecordHandlerV1` (replace with the same value),
 *   `adminPostPlayerRecordHandlerV1` (merging the same keys again gives the
 *   same record), `updateUserStatItemValue` with OVERRIDE / MAX / MIN;
 * - no: `fulfillItem`, `grantUserEntitlement`, `creditUserWallet`,
 *   `updateUserStatItemValue` with INCREMENT, both notifications,
 *   `AdminBanUserV3`, `grantUserExp` (each repeat adds again).
 */
import type {
  AgsRequest,
  BanCreate,
  CreditRequest,
  EntitlementGrant,
  FreeFormNotification,
  FulfillmentRequest,
  FulfillmentV3Request,
  StatItemUpdate,
  TemplatedNotification,
  UserExpGrant,
  ConcurrentRecordRequest,
} from './types.js';
import { AgsPathSegmentError, pathSegmentProblem } from './errors.js';
import type { JsonText } from './http-caller.js';

/**
 * Tagged template: each interpolated value becomes exactly one URL path
 * segment, percent-encoded (`/`, `?`, `#`, `%` included). Values that cannot
 * stay one segment (empty, `.`, `..`: URL resolution drops dot segments, even
 * encoded as `%2e`) throw {@link AgsPathSegmentError} (permanent).
 */
export function agsPath(strings: TemplateStringsArray, ...values: string[]): string {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    if (pathSegmentProblem(v) !== undefined) throw new AgsPathSegmentError(v);
    out += encodeURIComponent(v) + (strings[i + 1] ?? '');
  });
  return out;
}

/** Most user ids `bulkGetAdminPlayerRecordByUserIdsV1` takes in one call (cloudsave.json: "max allowed 20 at a time"). */
export const BULK_USER_IDS_MAX = 20;

export const ops = {
  fulfillItem(ns: string, userId: string, body: FulfillmentRequest): AgsRequest {
    return {
      operation: 'fulfillItem',
      method: 'POST',
      path: agsPath`/platform/admin/namespaces/${ns}/users/${userId}/fulfillment`,
      body,
      idempotent: false,
    };
  },
  fulfillItemsV3(ns: string, userId: string, transactionId: string, body: FulfillmentV3Request): AgsRequest {
    return {
      operation: 'fulfillItemsV3',
      method: 'PUT',
      path: agsPath`/platform/v3/admin/namespaces/${ns}/users/${userId}/fulfillments/${transactionId}`,
      body,
      idempotent: true,
    };
  },
  grantUserEntitlement(ns: string, userId: string, entitlements: EntitlementGrant[]): AgsRequest {
    return {
      operation: 'grantUserEntitlement',
      method: 'POST',
      path: agsPath`/platform/admin/namespaces/${ns}/users/${userId}/entitlements`,
      body: entitlements,
      idempotent: false,
    };
  },
  creditUserWallet(ns: string, userId: string, currencyCode: string, body: CreditRequest): AgsRequest {
    return {
      operation: 'creditUserWallet',
      method: 'PUT',
      path: agsPath`/platform/admin/namespaces/${ns}/users/${userId}/wallets/${currencyCode}/credit`,
      body,
      idempotent: false,
    };
  },
  updateUserStatItemValue(ns: string, userId: string, statCode: string, body: StatItemUpdate, additionalKey?: string): AgsRequest {
    return {
      operation: 'updateUserStatItemValue',
      method: 'PUT',
      path: agsPath`/social/v2/admin/namespaces/${ns}/users/${userId}/stats/${statCode}/statitems/value`,
      ...(additionalKey ? { query: { additionalKey } } : {}),
      body,
      idempotent: body.updateStrategy !== 'INCREMENT',
    };
  },
  adminUnlockAchievement(ns: string, userId: string, achievementCode: string): AgsRequest {
    return {
      operation: 'AdminUnlockAchievement',
      method: 'PUT',
      path: agsPath`/achievement/v1/admin/namespaces/${ns}/users/${userId}/achievements/${achievementCode}/unlock`,
      idempotent: true,
    };
  },
  sendSpecificUserFreeformNotificationV1Admin(ns: string, userId: string, body: FreeFormNotification): AgsRequest {
    return {
      operation: 'sendSpecificUserFreeformNotificationV1Admin',
      method: 'POST',
      path: agsPath`/lobby/v1/admin/notification/namespaces/${ns}/users/${userId}/freeform/notify`,
      body,
      idempotent: false,
    };
  },
  sendSpecificUserTemplatedNotificationV1Admin(ns: string, userId: string, body: TemplatedNotification): AgsRequest {
    return {
      operation: 'sendSpecificUserTemplatedNotificationV1Admin',
      method: 'POST',
      path: agsPath`/lobby/v1/admin/notification/namespaces/${ns}/users/${userId}/templates/notify`,
      body,
      idempotent: false,
    };
  },
  adminBanUserV3(ns: string, userId: string, body: BanCreate): AgsRequest {
    return {
      operation: 'AdminBanUserV3',
      method: 'POST',
      path: agsPath`/iam/v3/admin/namespaces/${ns}/users/${userId}/bans`,
      body,
      idempotent: false,
    };
  },
  grantUserExp(ns: string, userId: string, body: UserExpGrant): AgsRequest {
    return {
      operation: 'grantUserExp',
      method: 'POST',
      path: agsPath`/seasonpass/admin/namespaces/${ns}/users/${userId}/seasons/current/exp`,
      body,
      idempotent: false,
    };
  },
  adminPutPlayerRecordHandlerV1(ns: string, userId: string, key: string, value: Record<string, unknown>): AgsRequest {
    return {
      operation: 'adminPutPlayerRecordHandlerV1',
      method: 'PUT',
      path: agsPath`/cloudsave/v1/admin/namespaces/${ns}/users/${userId}/records/${key}`,
      body: value,
      idempotent: true,
    };
  },
  adminPostPlayerRecordHandlerV1(ns: string, userId: string, key: string, value: Record<string, unknown>): AgsRequest {
    return {
      operation: 'adminPostPlayerRecordHandlerV1',
      method: 'POST',
      path: agsPath`/cloudsave/v1/admin/namespaces/${ns}/users/${userId}/records/${key}`,
      body: value,
      idempotent: true,
    };
  },

  // ---- Cloud Save admin records (the state store) and the reconciliation reads ----

  /** `GET .../users/{userId}/adminrecords/{key}`: 404 (errorCode 18152) when absent. */
  adminGetAdminPlayerRecordV1(ns: string, userId: string, key: string): AgsRequest {
    return { operation: 'adminGetAdminPlayerRecordV1', method: 'GET', path: agsPath`/cloudsave/v1/admin/namespaces/${ns}/users/${userId}/adminrecords/${key}`, idempotent: true };
  },
  /**
   * `POST .../users/adminrecords/{key}/bulk` body `{userIds}`: the admin player records of up to
   * {@link BULK_USER_IDS_MAX} players in one call (cloudsave.json: "max allowed 20 at a time"); answers
   * `{data: AdminPlayerRecordResponse[]}`, a record absent from `data` being absent. A read: idempotent.
   */
  bulkGetAdminPlayerRecordByUserIdsV1(ns: string, key: string, userIds: readonly string[]): AgsRequest {
    return {
      operation: 'bulkGetAdminPlayerRecordByUserIdsV1',
      method: 'POST',
      path: agsPath`/cloudsave/v1/admin/namespaces/${ns}/users/adminrecords/${key}/bulk`,
      body: { userIds: [...userIds] },
      idempotent: true,
    };
  },
  /**
   * `PUT .../users/{userId}/concurrent/adminrecords/{key}?responseBody=true`: creates the record, or
   * replaces it if its `updated_at` still equals `body.updatedAt` (else 412, errorCode 18183). Answers
   * `{updated_at}`. Retried on 5xx: a repeat of an applied write answers 412 (the record changed).
   */
  adminPutAdminPlayerRecordConcurrentHandlerV1(ns: string, userId: string, key: string, body: ConcurrentRecordRequest | JsonText): AgsRequest {
    return {
      operation: 'adminPutAdminPlayerRecordConcurrentHandlerV1',
      method: 'PUT',
      path: agsPath`/cloudsave/v1/admin/namespaces/${ns}/users/${userId}/concurrent/adminrecords/${key}`,
      query: { responseBody: 'true' },
      body,
      idempotent: true,
    };
  },
  adminDeleteAdminPlayerRecordV1(ns: string, userId: string, key: string): AgsRequest {
    return { operation: 'adminDeleteAdminPlayerRecordV1', method: 'DELETE', path: agsPath`/cloudsave/v1/admin/namespaces/${ns}/users/${userId}/adminrecords/${key}`, idempotent: true };
  },
  /** `GET .../adminrecords/{key}` (game, namespace-level): 404 (errorCode 18140) when absent. */
  adminGetAdminGameRecordV1(ns: string, key: string): AgsRequest {
    return { operation: 'adminGetAdminGameRecordV1', method: 'GET', path: agsPath`/cloudsave/v1/admin/namespaces/${ns}/adminrecords/${key}`, idempotent: true };
  },
  /** `PUT .../concurrent/adminrecords/{key}` (game): as the player one, 412 errorCode 18180; answers 204 (no `updated_at`). */
  adminPutAdminGameRecordConcurrentHandlerV1(ns: string, key: string, body: ConcurrentRecordRequest | JsonText): AgsRequest {
    return {
      operation: 'adminPutAdminGameRecordConcurrentHandlerV1',
      method: 'PUT',
      path: agsPath`/cloudsave/v1/admin/namespaces/${ns}/concurrent/adminrecords/${key}`,
      body,
      idempotent: true,
    };
  },
  adminDeleteAdminGameRecordV1(ns: string, key: string): AgsRequest {
    return { operation: 'adminDeleteAdminGameRecordV1', method: 'DELETE', path: agsPath`/cloudsave/v1/admin/namespaces/${ns}/adminrecords/${key}`, idempotent: true };
  },
  /** `GET /platform/admin/namespaces/{ns}/fulfillment/history?userId=&limit=&offset=`: a user's fulfillments (with `orderNo`), newest first. */
  queryFulfillmentHistories(ns: string, userId: string, limit: number, offset: number): AgsRequest {
    return {
      operation: 'queryFulfillmentHistories',
      method: 'GET',
      path: agsPath`/platform/admin/namespaces/${ns}/fulfillment/history`,
      query: { userId, limit: String(limit), offset: String(offset) },
      idempotent: true,
    };
  },
  /** `GET .../users/{userId}/wallets/currencies/{currencyCode}/transactions?limit=&offset=`: newest first, with each credit's `metadata`. */
  listUserCurrencyTransactions(ns: string, userId: string, currencyCode: string, limit: number, offset: number): AgsRequest {
    return {
      operation: 'listUserCurrencyTransactions',
      method: 'GET',
      path: agsPath`/platform/admin/namespaces/${ns}/users/${userId}/wallets/currencies/${currencyCode}/transactions`,
      query: { limit: String(limit), offset: String(offset) },
      idempotent: true,
    };
  },
} as const;
