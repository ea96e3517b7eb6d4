/**
 * The errors of AGS calls. One type, {@link AgsError}, for every failed call
 * (HTTP status, timeout, network, abort), and its subclass
 * {@link AgsLoginError} for a failed client-credentials login, which adds a
 * hint naming the setting to fix. Messages never contain tokens, secrets or
 * headers: only the operation id, status, AGS error code and AGS message.
 */

/**
 * What went wrong at the transport level (`invalid`: the request could not be sent as built, e.g. a
 * header value with CR/LF: permanent; `unreadable`: a 2xx answer that is not the operation's declared
 * success shape, see `answers.ts`: the request reached AGS, its effect is unknown; `busy`: refused before sending,
 * too many requests in flight to the service or the service held after a 429, see `service-gate.ts`: retriable).
 */
export type AgsFailureKind = 'http' | 'timeout' | 'network' | 'aborted' | 'deadline' | 'invalid' | 'unreadable' | 'busy';

export interface AgsErrorFields {
  /** AGS operation id (`fulfillItem`), `login`, or `http` for webhooks. */
  readonly operation: string;
  /** The AGS service that failed or was slow, as the error names it (`Platform`, `Cloud Save`, `IAM`...): see {@link agsServiceOf}. */
  readonly service?: string;
  /** HTTP status of the last attempt; undefined for timeouts, network errors and aborts. */
  readonly status?: number;
  /** AGS `errorCode` (or the OAuth `error` string of the token endpoint). */
  readonly errorCode?: number | string;
  /** AGS `errorMessage` (or the OAuth `error_description`), or the network error's description. */
  readonly errorMessage?: string;
  /** Would trying again later (redelivering the event) plausibly succeed? */
  readonly retriable: boolean;
  /** HTTP attempts made (including the one that failed). */
  readonly attempts: number;
  readonly kind: AgsFailureKind;
  /** Network error code (`ECONNRESET`, `ECONNREFUSED`, `ENOTFOUND`...), when there is one. */
  readonly code?: string;
  /** The response body of the last attempt (parsed JSON or text, truncated), for dead letters. */
  readonly body?: unknown;
  /**
   * A non-idempotent request was sent and its answer lost (timeout, reset, abort in flight): it may
   * have been applied. It is not repeated blindly: the action reconciles first, or gives up (at most once).
   */
  readonly outcomeUnknown?: boolean;
}

function describe(f: AgsErrorFields): string {
  const parts: string[] = [];
  if (f.status !== undefined) parts.push(String(f.status));
  else if (f.kind === 'timeout') parts.push('timeout');
  else if (f.kind === 'aborted') parts.push('aborted');
  else if (f.kind === 'deadline') parts.push('deadline exceeded');
  else if (f.kind === 'busy') parts.push('busy');
  else if (f.kind === 'invalid') parts.push(`invalid request${f.code ? ` ${f.code}` : ''}`);
  else parts.push(`network error${f.code ? ` ${f.code}` : ''}`);
  if (f.errorCode !== undefined && f.errorCode !== '') parts.push(`errorCode ${f.errorCode}`);
  if (f.errorMessage) parts.push(JSON.stringify(f.errorMessage));
  const tries = `${f.attempts} attempt${f.attempts === 1 ? '' : 's'}`;
  return `${f.operation}${f.service ? ` (AGS ${f.service})` : ''} failed: ${parts.join(' ')} (${f.retriable ? 'retriable' : 'not retriable'}, ${tries})`;
}

const SERVICES: Readonly<Record<string, string>> = {
  platform: 'Platform',
  cloudsave: 'Cloud Save',
  iam: 'IAM',
  social: 'Statistics',
  achievement: 'Achievement',
  lobby: 'Lobby',
  seasonpass: 'Season Pass',
  group: 'Group',
};

/** The AGS service of a request path (`/cloudsave/v1/...` -> `Cloud Save`), so that an error names what failed or was slow; undefined for other paths. */
export function agsServiceOf(path: string): string | undefined {
  // the segment after the first `/` (as `path.split('/', 2)[1]`), without the array
  const start = path.indexOf('/');
  if (start < 0) return undefined;
  const end = path.indexOf('/', start + 1);
  return SERVICES[path.slice(start + 1, end < 0 ? undefined : end)];
}

/** A failed AGS (or webhook) call, after the client's own retries. */
export class AgsError extends Error implements AgsErrorFields {
  override readonly name: string = 'AgsError';
  readonly operation: string;
  readonly service?: string;
  readonly status?: number;
  readonly errorCode?: number | string;
  readonly errorMessage?: string;
  readonly retriable: boolean;
  readonly attempts: number;
  readonly kind: AgsFailureKind;
  readonly code?: string;
  readonly body?: unknown;
  readonly outcomeUnknown?: boolean;

  constructor(fields: AgsErrorFields, message?: string) {
    super(message ?? describe(fields));
    this.operation = fields.operation;
    if (fields.service !== undefined) this.service = fields.service;
    if (fields.status !== undefined) this.status = fields.status;
    if (fields.errorCode !== undefined) this.errorCode = fields.errorCode;
    if (fields.errorMessage !== undefined) this.errorMessage = fields.errorMessage;
    this.retriable = fields.retriable;
    this.attempts = fields.attempts;
    this.kind = fields.kind;
    if (fields.code !== undefined) this.code = fields.code;
    if (fields.body !== undefined) this.body = fields.body;
    if (fields.outcomeUnknown) this.outcomeUnknown = true;
  }
}

/** The client-credentials login failed. `hint` says which setting to check. */
export class AgsLoginError extends AgsError {
  override readonly name = 'AgsLoginError';
  /** What to fix, e.g. `wrong AB_CLIENT_ID/AB_CLIENT_SECRET`. */
  readonly hint: string;

  constructor(fields: Omit<AgsErrorFields, 'operation'>, hint: string) {
    const all: AgsErrorFields = { ...fields, operation: 'login', service: 'IAM' };
    super(all, `AGS login (IAM) failed: ${describe(all).replace(/^login \(AGS IAM\) failed: /, '')}: ${hint}`);
    this.hint = hint;
  }

  /** The same failure marked retriable (the event is redelivered rather than dead-lettered). */
  asRetriable(): AgsLoginError {
    return new AgsLoginError(
      {
        retriable: true,
        attempts: this.attempts,
        kind: this.kind,
        ...(this.status !== undefined ? { status: this.status } : {}),
        ...(this.errorCode !== undefined ? { errorCode: this.errorCode } : {}),
        ...(this.errorMessage !== undefined ? { errorMessage: this.errorMessage } : {}),
        ...(this.code !== undefined ? { code: this.code } : {}),
        ...(this.body !== undefined ? { body: this.body } : {}),
      },
      this.hint,
    );
  }
}

/** The hint of a failed login, from its status / OAuth error / network code. */
export function loginHint(f: { status?: number; errorCode?: number | string; code?: string; kind: AgsFailureKind }): string {
  if (f.kind === 'network') {
    if (f.code === 'ECONNREFUSED' || f.code === 'ENOTFOUND' || f.code === 'EAI_AGAIN' || f.code === 'ERR_INVALID_URL') {
      return 'check AB_BASE_URL (the AGS host could not be reached)';
    }
    return 'check AB_BASE_URL and the network';
  }
  if (f.kind === 'timeout') return 'IAM (the AGS token endpoint) did not answer in time: check AB_BASE_URL and the network, or IAM is slow';
  if (f.status === 401 || (f.status === 400 && (f.errorCode === 'invalid_client' || f.errorCode === 'unauthorized_client'))) {
    return 'wrong AB_CLIENT_ID/AB_CLIENT_SECRET';
  }
  if (f.status === 403) return 'the IAM client is not allowed the client_credentials grant or lacks a permission: check its settings in the Admin Portal';
  if (f.status === 404) return 'no token endpoint at AB_BASE_URL/iam/v3/oauth/token: check AB_BASE_URL';
  if (f.status === 429) return 'too many login attempts: wait and retry';
  if (f.status !== undefined && f.status >= 500) return 'AGS IAM is unavailable: retry later';
  return 'check AB_BASE_URL, AB_CLIENT_ID and AB_CLIENT_SECRET';
}

/** A value as shown in a reason: JSON-quoted (control characters and lone surrogates escaped), at most 80 characters. */
export function shownValue(value: string): string {
  const quoted = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}` : value);
  return value.length > 80 ? `${quoted}... (${value.length} characters)` : quoted;
}

/**
 * A value cannot be one URL path segment of an AGS operation: empty, `.` or
 * `..` (URL resolution removes dot segments, even percent-encoded ones, so the
 * request would reach another operation, e.g. a namespace-wide one), or text
 * that percent-encoding cannot write (a lone UTF-16 surrogate, e.g. from a JSON
 * body's `"\ud800"`). Permanent: the event carries the value, redelivering it
 * changes nothing. The value is shown bounded ({@link shownValue}).
 */
export class AgsPathSegmentError extends Error {
  override readonly name = 'AgsPathSegmentError';
  readonly retriable = false;
  constructor(
    /** The value refused (never a secret: path values are ids and codes). */
    readonly value: string,
  ) {
    super(`${shownValue(value)} cannot be a URL path segment (${value === '' ? 'empty' : value === '.' || value === '..' ? 'a dot segment, which URL resolution removes' : 'not well-formed Unicode: a lone surrogate cannot be percent-encoded'})`);
  }
}

/** Why `value` cannot be one path segment (empty, `.`, `..`, a lone surrogate), or undefined when it can (encoded). */
export function pathSegmentProblem(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (value === '.' || value === '..') return `is ${JSON.stringify(value)}: a dot segment would be removed from the URL and the request would reach another AGS operation`;
  if (/\p{Cs}/u.test(value)) return 'is not well-formed Unicode (a lone surrogate): it cannot be percent-encoded';
  return undefined;
}
