/**
 * The AGS REST client: a client-credentials token (one shared login, refreshed
 * at 80% of its lifetime, renewed once on a 401), typed methods named after the
 * AGS operation ids, and retries with backoff (see `retry.ts`, `http-caller.ts`).
 *
 * ```ts
 * const ags = new AgsClient({ baseUrl, clientId, clientSecret, logger, metrics });
 * await ags.login();               // fail fast at start
 * await ags.fulfillItem(ns, userId, { itemId, quantity: 1, source: 'REWARD' });
 * ags.close();
 * ```
 */
import type { Logger } from 'pino';
import type { Metrics } from '../telemetry/index.js';
import { AgsError, AgsLoginError, agsServiceOf, loginHint } from './errors.js';
import { HttpCaller, errorFields, jsonBody, parseBody } from './http-caller.js';
import type { CallResult, HttpCallerOptions, JsonText } from './http-caller.js';
import { ops } from './operations.js';
import { readAnswer } from './answers.js';
import { identifierError } from './identifiers.js';
import { registerRotatingSecret, registerSecret } from '../telemetry/index.js';
import { TransportError } from './transport.js';
import type { RawRequest, RequestUrl } from './transport.js';
import type {
  AdminRecord,
  ConcurrentRecordRequest,
  FulfillmentHistoryInfo,
  PagedResult,
  WalletTransactionInfo,
  AgsRequest,
  BanCreate,
  CreditRequest,
  EntitlementGrant,
  FreeFormNotification,
  FulfillmentRequest,
  FulfillmentResult,
  FulfillmentV3Request,
  StatItemUpdate,
  TemplatedNotification,
  UserExpGrant,
} from './types.js';

/**
 * The client's options: where and who, plus the retry loop's options
 * ({@link HttpCallerOptions}: timeouts, attempts, backoff, clock, logger,
 * metrics, connection pool), passed to its {@link HttpCaller} as they are.
 */
export interface AgsClientOptions extends HttpCallerOptions {
  /** AGS base URL (`AB_BASE_URL`), e.g. `https://test.accelbyte.io`. Required. A trailing `/` is ignored. */
  readonly baseUrl: string;
  /** Confidential IAM client id (`AB_CLIENT_ID`). Required. */
  readonly clientId: string;
  /** Its secret (`AB_CLIENT_SECRET`). Required; never logged nor put in errors. */
  readonly clientSecret: string;
  /** Token refresh point as a fraction of `expires_in`. Default: 0.8 (as the official SDKs). */
  readonly refreshRatio?: number;
}

export type LoginReason = 'initial' | 'refresh' | 'unauthorized';

interface CachedToken {
  readonly value: string;
  readonly refreshAt: number;
  readonly expiresAt: number;
}

/** What `login()` learned (never the token itself). */
export interface LoginInfo {
  readonly expiresInSeconds: number;
  readonly namespace?: string;
}

/**
 * What an action may do with AGS: every operation of {@link AgsClient}
 * (`request`, `send`, the typed operations, the shared `http` retry loop),
 * without its credentials (`login()`, `token()`) or its lifecycle (`close()`).
 * Actions, built-in and custom, receive this (`ActionContext.ags`).
 */
export type AgsApi = Omit<AgsClient, 'login' | 'token' | 'close'>;

export class AgsClient {
  readonly baseUrl: string;
  /** The retry loop (shared with the `http` action so webhooks follow the same rules). */
  readonly http: HttpCaller;
  readonly #clientId: string;
  readonly #clientSecret: string;
  readonly #refreshRatio: number;
  readonly #logger: Logger | undefined;
  readonly #metrics: Metrics | undefined;
  #token: CachedToken | undefined;
  #pending: Promise<string> | undefined;
  #lastInfo: LoginInfo | undefined;
  /** The base URL's parts (see {@link plainBase}), parsed at the first request; null: requests parse their URL. */
  #base: PlainBase | null | undefined;

  constructor(options: AgsClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#clientId = options.clientId;
    this.#clientSecret = options.clientSecret;
    // derived credentials are secrets too: IAM may echo the Basic header back in an error body
    registerSecret(options.clientSecret);
    registerSecret(Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64'));
    this.#refreshRatio = options.refreshRatio ?? 0.8;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    const { baseUrl: _baseUrl, clientId: _clientId, clientSecret: _clientSecret, refreshRatio: _refreshRatio, ...callerOptions } = options;
    this.http = new HttpCaller(callerOptions);
  }

  // ---- token -------------------------------------------------------------

  /**
   * Log in now (client credentials) and cache the token. Call at start to fail
   * fast. Throws {@link AgsLoginError} with a hint. One attempt, no retries.
   */
  async login(): Promise<LoginInfo> {
    await this.#login(this.#token ? 'refresh' : 'initial');
    return this.#lastInfo ?? { expiresInSeconds: 0 };
  }

  /**
   * A valid token: cached, or from the one login in flight, or a new login.
   * `signal` (the event's deadline or shutdown) bounds only this caller's
   * wait: when it aborts, this call throws an `aborted` {@link AgsError}
   * (retriable) at once, while the shared login goes on for the other events
   * waiting on it, bounded by its own timeout (`timeoutMs`, one attempt).
   */
  async token(signal?: AbortSignal, deadlineAt?: number): Promise<string> {
    const t = this.#token;
    const now = this.http.now();
    if (t && now < t.refreshAt) return t.value;
    if (t) {
      try {
        return await this.#waitLogin(this.#login('refresh'), signal, deadlineAt);
      } catch (err) {
        if (err instanceof AgsError && (err.kind === 'aborted' || err.kind === 'deadline')) throw err;
        if (now < t.expiresAt) {
          this.#logger?.warn({ err: describeErr(err) }, 'AGS token refresh failed; the current token is still valid');
          return t.value;
        }
        throw err;
      }
    }
    return this.#waitLogin(this.#login('initial'), signal, deadlineAt);
  }

  /** Waits for a login, no longer than `signal` and `deadlineAt` allow (see {@link token}). */
  #waitLogin(login: Promise<string>, signal: AbortSignal | undefined, deadlineAt: number | undefined): Promise<string> {
    const bounded = untilAborted(login, signal);
    if (deadlineAt === undefined) return bounded;
    const waitMs = deadlineAt - this.http.now();
    const slow = (): AgsLoginError =>
      new AgsLoginError(
        { retriable: true, attempts: 0, kind: 'deadline', errorMessage: `no token within the request's remaining ${Math.max(0, Math.round(waitMs))} ms` },
        'IAM (the AGS token endpoint) is too slow to answer within the deadline: the event is redelivered',
      );
    if (waitMs <= 0) return Promise.reject(slow());
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(slow()), waitMs);
      timer.unref?.();
      bounded.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  #login(reason: LoginReason): Promise<string> {
    if (this.#pending) return this.#pending;
    const p = this.#doLogin(reason).finally(() => {
      if (this.#pending === p) this.#pending = undefined;
    });
    this.#pending = p;
    return p;
  }

  async #doLogin(reason: LoginReason): Promise<string> {
    const basic = Buffer.from(`${this.#clientId}:${this.#clientSecret}`).toString('base64');
    let url: URL;
    try {
      url = new URL(`${this.baseUrl}/iam/v3/oauth/token`);
    } catch {
      this.#metrics?.agsLogins.inc({ reason, result: 'failed' });
      throw new AgsLoginError({ retriable: false, attempts: 0, kind: 'network', code: 'ERR_INVALID_URL' }, 'AB_BASE_URL is not a valid URL');
    }
    const started = this.http.now();
    let status: number;
    let body: unknown;
    try {
      const res = await this.http.transport.send({
        url,
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: 'grant_type=client_credentials',
        timeoutMs: this.http.timeoutMs,
      });
      status = res.status;
      body = parseBody(res.text);
      this.#metrics?.agsRequests.inc({ operation: 'login', status: String(status) });
    } catch (err) {
      this.#metrics?.agsLogins.inc({ reason, result: 'failed' });
      const kind = err instanceof TransportError ? err.kind : 'network';
      const code = err instanceof TransportError ? err.code : undefined;
      const fields = {
        retriable: kind !== 'invalid',
        attempts: 1,
        kind,
        ...(code ? { code } : {}),
        errorMessage: err instanceof Error ? err.message : String(err),
      } as const;
      this.#metrics?.agsRequests.inc({ operation: 'login', status: kind });
      const e = new AgsLoginError(fields, loginHint(fields));
      this.#logger?.error({ reason, kind, code }, e.message);
      throw e;
    }
    const b = (body !== null && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const accessToken = b.access_token;
    if (status < 200 || status >= 300 || typeof accessToken !== 'string' || accessToken === '') {
      this.#metrics?.agsLogins.inc({ reason, result: 'failed' });
      const fields = {
        status,
        ...errorFields(body),
        ...(status >= 200 && status < 300 ? { errorMessage: 'the token answer has no access_token' } : {}),
        retriable: status === 429 || status >= 500,
        attempts: 1,
        kind: 'http',
      } as const;
      const e = new AgsLoginError(fields, loginHint(fields));
      this.#logger?.error({ reason, status, errorCode: fields.errorCode }, e.message);
      throw e;
    }
    // redacted wherever text leaves the process (AGS may echo it back in an error body)
    registerRotatingSecret('ags-access-token', accessToken);
    const expiresIn = typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in : 3600;
    this.#token = {
      value: accessToken,
      refreshAt: started + expiresIn * 1000 * this.#refreshRatio,
      expiresAt: started + expiresIn * 1000,
    };
    this.#lastInfo = { expiresInSeconds: expiresIn, ...(typeof b.namespace === 'string' ? { namespace: b.namespace } : {}) };
    this.#metrics?.agsLogins.inc({ reason, result: 'ok' });
    this.#logger?.info({ reason, expiresInSeconds: expiresIn }, 'logged in to AGS (client credentials)');
    return accessToken;
  }

  // ---- generic request ---------------------------------------------------

  /**
   * Send one AGS operation with the bearer token, retries and the one re-login
   * on 401. Resolves with the parsed JSON answer (undefined for 204 / empty).
   * Throws {@link AgsError} (or {@link AgsLoginError}).
   */
  async request<T = unknown>(op: AgsRequest): Promise<T> {
    const result = await this.send(op);
    return result.body as T;
  }

  /** As {@link request}, with the status and attempt count. */
  async send(op: AgsRequest): Promise<CallResult> {
    // what AGS would refuse (a user id with CR/LF, a namespace with spaces) is refused here, for good
    const refused = identifierError(op.operation, op.path, op.query);
    if (refused) throw refused;
    const url = this.#url(op.path, op.query);
    const body = op.body === undefined ? undefined : jsonBody(op.operation, op.body);
    let used: string | undefined;
    const service = agsServiceOf(op.path);
    // the request's deadline bounds its login waits too (tokens revoked and IAM slow)
    const deadlineAt = this.http.now() + this.http.deadlineMs;
    return this.http.call({
      // one literal (an absent option is undefined, as the caller reads it), not a copy per optional field
      operation: op.operation,
      service,
      idempotent: op.idempotent,
      signal: op.signal,
      inFlightSignal: op.inFlightSignal,
      logTo: op.logTo,
      // the operation's declared success answer: another shape reached AGS with an unknown effect
      readAnswer: (status, headers, text) => readAnswer(op.operation, status, headers, text),
      prepare: () => {
        const attempt = (token: string): Omit<RawRequest, 'timeoutMs' | 'signal'> => {
          used = token;
          const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
          if (body !== undefined) headers['content-type'] = 'application/json';
          return { url, method: op.method, headers, ...(body !== undefined ? { body } : {}) };
        };
        // a token that needs no refresh (the usual case): no promise, no wait
        const t = this.#token;
        if (t && this.http.now() < t.refreshAt) return attempt(t.value);
        return this.token(op.signal, deadlineAt).catch(loginDuringEvents).then(attempt);
      },
      onUnauthorized: async () => {
        if (this.#token && this.#token.value === used) this.#token = undefined;
        if (!this.#token) await this.#waitLogin(this.#login('unauthorized'), op.signal, deadlineAt).catch(loginDuringEvents);
      },
    });
  }

  /**
   * The request's URL: `new URL(baseUrl + path)` with the query set, or, when the base URL is plain and the
   * path has nothing a `URL` would rewrite ({@link PLAIN_PATH}), the same strings written from the base URL
   * parsed once (no `URL` parsed per request).
   */
  #url(path: string, query: Readonly<Record<string, string>> | undefined): RequestUrl {
    const base = this.#base === undefined ? (this.#base = plainBase(this.baseUrl)) : this.#base;
    if (base === null || !PLAIN_PATH.test(path)) {
      const url = new URL(this.baseUrl + path);
      if (query) for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      return url;
    }
    const params = query ? new URLSearchParams(query).toString() : '';
    const search = params === '' ? '' : `?${params}`;
    const pathname = base.path + path;
    return { href: `${base.origin}${pathname}${search}`, origin: base.origin, protocol: base.protocol, hostname: base.hostname, pathname, search };
  }

  // ---- operations (AGS operation ids) ------------------------------------


  /** Grant an item (`POST /platform/admin/namespaces/{ns}/users/{userId}/fulfillment`). */
  fulfillItem(ns: string, userId: string, body: FulfillmentRequest, signal?: AbortSignal): Promise<FulfillmentResult> {
    return this.request<FulfillmentResult>(withSignal(ops.fulfillItem(ns, userId, body), signal));
  }

  /** Idempotent grant under a transaction id (AGS private cloud only). */
  fulfillItemsV3(ns: string, userId: string, transactionId: string, body: FulfillmentV3Request, signal?: AbortSignal): Promise<FulfillmentResult> {
    return this.request<FulfillmentResult>(withSignal(ops.fulfillItemsV3(ns, userId, transactionId, body), signal));
  }

  grantUserEntitlement(ns: string, userId: string, entitlements: EntitlementGrant[], signal?: AbortSignal): Promise<unknown> {
    return this.request(withSignal(ops.grantUserEntitlement(ns, userId, entitlements), signal));
  }

  creditUserWallet(ns: string, userId: string, currencyCode: string, body: CreditRequest, signal?: AbortSignal): Promise<unknown> {
    return this.request(withSignal(ops.creditUserWallet(ns, userId, currencyCode, body), signal));
  }

  updateUserStatItemValue(
    ns: string,
    userId: string,
    statCode: string,
    body: StatItemUpdate,
    additionalKey?: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    return this.request(withSignal(ops.updateUserStatItemValue(ns, userId, statCode, body, additionalKey), signal));
  }

  adminUnlockAchievement(ns: string, userId: string, achievementCode: string, signal?: AbortSignal): Promise<void> {
    return this.request<void>(withSignal(ops.adminUnlockAchievement(ns, userId, achievementCode), signal));
  }

  /** Free-form lobby notification to one user (`sendSpecificUserFreeformNotificationV1Admin`, answers 204). */
  sendSpecificUserFreeformNotificationV1Admin(ns: string, userId: string, body: FreeFormNotification, signal?: AbortSignal): Promise<void> {
    return this.request<void>(withSignal(ops.sendSpecificUserFreeformNotificationV1Admin(ns, userId, body), signal));
  }

  /** Templated lobby notification to one user (`sendSpecificUserTemplatedNotificationV1Admin`, answers 204). */
  sendSpecificUserTemplatedNotificationV1Admin(ns: string, userId: string, body: TemplatedNotification, signal?: AbortSignal): Promise<void> {
    return this.request<void>(withSignal(ops.sendSpecificUserTemplatedNotificationV1Admin(ns, userId, body), signal));
  }

  adminBanUserV3(ns: string, userId: string, body: BanCreate, signal?: AbortSignal): Promise<unknown> {
    return this.request(withSignal(ops.adminBanUserV3(ns, userId, body), signal));
  }

  grantUserExp(ns: string, userId: string, body: UserExpGrant, signal?: AbortSignal): Promise<unknown> {
    return this.request(withSignal(ops.grantUserExp(ns, userId, body), signal));
  }

  /** Replace a player record (`PUT .../records/{key}`). */
  adminPutPlayerRecordHandlerV1(ns: string, userId: string, key: string, value: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    return this.request(withSignal(ops.adminPutPlayerRecordHandlerV1(ns, userId, key, value), signal));
  }

  /** Merge into a player record (`POST .../records/{key}`). */
  adminPostPlayerRecordHandlerV1(ns: string, userId: string, key: string, value: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    return this.request(withSignal(ops.adminPostPlayerRecordHandlerV1(ns, userId, key, value), signal));
  }

  // ---- Cloud Save admin records (the state store) and reconciliation reads ----

  adminGetAdminPlayerRecordV1(ns: string, userId: string, key: string, signal?: AbortSignal): Promise<AdminRecord> {
    return this.request<AdminRecord>(withSignal(ops.adminGetAdminPlayerRecordV1(ns, userId, key), signal));
  }

  /** Admin player records of up to 20 players (`bulkGetAdminPlayerRecordByUserIdsV1`): `{data}`, absent records left out. */
  bulkGetAdminPlayerRecordByUserIdsV1(ns: string, key: string, userIds: readonly string[], signal?: AbortSignal): Promise<{ data: AdminRecord[] }> {
    return this.request<{ data: AdminRecord[] }>(withSignal(ops.bulkGetAdminPlayerRecordByUserIdsV1(ns, key, userIds), signal));
  }

  adminPutAdminPlayerRecordConcurrentHandlerV1(ns: string, userId: string, key: string, body: ConcurrentRecordRequest | JsonText, signal?: AbortSignal): Promise<{ updated_at?: string } | undefined> {
    return this.request(withSignal(ops.adminPutAdminPlayerRecordConcurrentHandlerV1(ns, userId, key, body), signal));
  }

  adminDeleteAdminPlayerRecordV1(ns: string, userId: string, key: string, signal?: AbortSignal): Promise<void> {
    return this.request<void>(withSignal(ops.adminDeleteAdminPlayerRecordV1(ns, userId, key), signal));
  }

  adminGetAdminGameRecordV1(ns: string, key: string, signal?: AbortSignal): Promise<AdminRecord> {
    return this.request<AdminRecord>(withSignal(ops.adminGetAdminGameRecordV1(ns, key), signal));
  }

  adminPutAdminGameRecordConcurrentHandlerV1(ns: string, key: string, body: ConcurrentRecordRequest | JsonText, signal?: AbortSignal): Promise<void> {
    return this.request<void>(withSignal(ops.adminPutAdminGameRecordConcurrentHandlerV1(ns, key, body), signal));
  }

  adminDeleteAdminGameRecordV1(ns: string, key: string, signal?: AbortSignal): Promise<void> {
    return this.request<void>(withSignal(ops.adminDeleteAdminGameRecordV1(ns, key), signal));
  }

  queryFulfillmentHistories(ns: string, userId: string, limit: number, offset: number, signal?: AbortSignal): Promise<PagedResult<FulfillmentHistoryInfo>> {
    return this.request<PagedResult<FulfillmentHistoryInfo>>(withSignal(ops.queryFulfillmentHistories(ns, userId, limit, offset), signal));
  }

  listUserCurrencyTransactions(ns: string, userId: string, currencyCode: string, limit: number, offset: number, signal?: AbortSignal): Promise<PagedResult<WalletTransactionInfo>> {
    return this.request<PagedResult<WalletTransactionInfo>>(withSignal(ops.listUserCurrencyTransactions(ns, userId, currencyCode, limit, offset), signal));
  }

  /** Close pooled connections. */
  close(): void {
    this.http.close();
  }
}

/** A path a `URL` keeps as written after a plain base: `/`-led segments of unreserved characters, none `.` or `..`. */
const PLAIN_PATH = /^(?:\/(?!\.\.?(?:\/|$))[\w.~-]*)+$/;

interface PlainBase {
  readonly origin: string;
  readonly protocol: string;
  readonly hostname: string;
  /** The base URL's path, without a trailing `/` (`''` for none). */
  readonly path: string;
}

/**
 * `baseUrl`'s parts when `URL` writes it back as it is (http or https, no credentials, query or fragment,
 * host and port already in their canonical form): a plain path appended to it then makes the URL `new URL`
 * would. Null otherwise (or when it does not parse: each request then fails as before).
 */
function plainBase(baseUrl: string): PlainBase | null {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    return null;
  }
  const path = u.pathname === '/' ? '' : u.pathname;
  const plain = (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '' && u.search === '' && u.hash === '' && `${u.origin}${path}` === baseUrl;
  return plain ? { origin: u.origin, protocol: u.protocol, hostname: u.hostname, path } : null;
}

function withSignal(op: AgsRequest, signal: AbortSignal | undefined): AgsRequest {
  return signal ? { ...op, signal } : op;
}

/**
 * `promise`, or an `aborted` {@link AgsError} (retriable) as soon as `signal`
 * aborts. The listener is removed when either settles, so callers waiting on
 * one shared login leave no listener behind on their signals.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  const aborted = (): AgsError =>
    new AgsError({ operation: 'login', service: 'IAM', retriable: true, attempts: 0, kind: 'aborted', errorMessage: 'aborted while waiting for the AGS login (IAM): event deadline or shutdown' });
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function describeErr(err: unknown): string {
  return err instanceof AgsError || err instanceof Error ? err.message : String(err);
}

/**
 * A login refused while events are handled (credentials revoked or rotated,
 * the client's grant removed) is the deployment's problem, not the event's:
 * it fails the call as retriable, so the event is redelivered instead of
 * dead-lettered and nothing is lost while the settings are fixed (usually a
 * redeploy, which starts a container without the old one's dead-letter file).
 * At start-up, `login()` still fails fast.
 */
function loginDuringEvents(error: unknown): never {
  if (error instanceof AgsLoginError && !error.retriable && error.kind !== 'aborted') throw error.asRetriable();
  throw error;
}
