/**
 * Request and answer bodies of the AGS operations the client calls, after
 * `/work/shared/docs/ags-rest.md` (AccelByte's OpenAPI specs). Only the fields
 * the actions use are typed strictly; AGS accepts more.
 */
import type { Logger } from 'pino';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** `FulfillmentRequest` of `fulfillItem`. */
export interface FulfillmentRequest {
  quantity: number;
  itemId?: string;
  itemSku?: string;
  /** `REWARD`, `ACHIEVEMENT`, `PROMOTION`, `GIFT`, `OTHER`... */
  source?: string;
  storeId?: string;
  region?: string;
  language?: string;
  orderNo?: string;
  metadata?: Record<string, unknown>;
  duration?: number;
  startDate?: string;
  endDate?: string;
  origin?: string;
}

/** `fulfillItem`'s answer (fields beyond the summaries not typed). */
export interface FulfillmentResult {
  entitlementSummaries?: unknown[];
  creditSummaries?: unknown[];
  subscriptionSummaries?: unknown[];
  [key: string]: unknown;
}

/** One entry of `FulfillmentStateInfo.failedList` / `successList` (`FulfillItemResult`). */
export interface FulfillItemResult {
  itemId?: string;
  itemSku?: string;
  error?: string;
  [key: string]: unknown;
}

/** `fulfillItemsV3`'s answer (`FulfillmentV2Result`): `state` and `stateInfo` are required by the spec. */
export interface FulfillmentV3Result extends FulfillmentResult {
  transactionId?: string;
  /** FULFILLED, FULFILL_FAILED, REVOKED or REVOKE_FAILED. */
  state?: string;
  stateReason?: string;
  stateInfo?: { failedList?: FulfillItemResult[]; successList?: FulfillItemResult[] };
}

/** Body of `fulfillItemsV3` (`PUT .../fulfillments/{transactionId}`). */
export interface FulfillmentV3Request {
  items: Array<Omit<FulfillmentRequest, 'orderNo'>>;
  [key: string]: unknown;
}

/** One element of `grantUserEntitlement`'s array body. */
export interface EntitlementGrant {
  itemId: string;
  itemNamespace: string;
  quantity: number;
  source?: string;
  storeId?: string;
  region?: string;
  language?: string;
  startDate?: string;
  endDate?: string;
  grantedCode?: string;
  origin?: string;
  metadata?: Record<string, unknown>;
}

/** Body of `creditUserWallet`. */
export interface CreditRequest {
  amount: number;
  source?: string;
  /** At most 127 characters. */
  reason?: string;
  origin?: string;
  expireAt?: string;
  metadata?: Record<string, unknown>;
}

export type StatUpdateStrategy = 'INCREMENT' | 'MAX' | 'MIN' | 'OVERRIDE';

/** Body of `updateUserStatItemValue`. */
export interface StatItemUpdate {
  updateStrategy: StatUpdateStrategy;
  value: number;
  additionalData?: Record<string, unknown>;
}

/** Body of `sendSpecificUserFreeformNotificationV1Admin` (`model.FreeFormNotificationRequestV1`). */
export interface FreeFormNotification {
  topicName: string;
  message: string;
}

/** Body of `sendSpecificUserTemplatedNotificationV1Admin` (`model.NotificationWithTemplateRequestV1`: every field required). */
export interface TemplatedNotification {
  templateSlug: string;
  templateLanguage: string;
  templateContext: Record<string, string>;
  topicName: string;
}

/** Body of `AdminBanUserV3` (all fields required by AGS). */
export interface BanCreate {
  ban: string;
  comment: string;
  /** RFC 3339. */
  endDate: string;
  reason: string;
  skipNotif: boolean;
}

/** Body of `grantUserExp` (season pass). */
export interface UserExpGrant {
  exp: number;
  source?: 'PAID_FOR' | 'SWEAT';
  tags?: string[];
}

/** The generic request every typed method goes through. */
export interface AgsRequest {
  /** AGS operation id, for errors, logs and metrics. */
  readonly operation: string;
  readonly method: HttpMethod;
  /** Path below the base URL, segments already encoded (use {@link agsPath}). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** JSON body; none when undefined. */
  readonly body?: unknown;
  /** May a 500 be retried: does repeating the call have the same effect? */
  readonly idempotent: boolean;
  /** Aborts the call and its retries (event deadline, shutdown). */
  readonly signal?: AbortSignal;
  /** Where this call's lines (retries, re-login) go, e.g. the action's logger carrying the event and rule; resolved only when a line is written. Default: the client's logger. */
  readonly logTo?: () => Logger;
}
