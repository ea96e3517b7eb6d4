/**
 * What is displayed never shows a secret. Two kinds of secret:
 * - known values: the AGS client secret, the Redis password, and the value of
 *   every secret-looking environment variable a rule reads (`${env.X}` whose
 *   name contains SECRET, TOKEN, PASSWORD, KEY, WEBHOOK...: see
 *   {@link isSecretEnvName}). They are registered once ({@link registerSecret})
 *   and replaced by `[redacted]` in every log line (the logger's last step),
 *   dead letter, explain/test/send/replay output ({@link redactText},
 *   {@link redactValue}), wherever they appear, JSON-escaped or
 *   percent-encoded included;
 * - `http` URLs, whose path and query often are the credential (Discord and
 *   Slack webhooks): shown as `origin/[redacted]` ({@link redactUrl}).
 * Derived credentials are registered as they are made: the AGS client's Basic
 * credential (`base64(id:secret)`) once, each access token on login (only the
 * last few of a slot are kept: {@link registerRotatingSecret}). And any
 * `Bearer <token>` or `Basic <credential>` in a text (AGS echoing a request's
 * headers in an error body) is redacted whoever's it is ({@link AUTH_SCHEME}).
 * The requests themselves go out whole.
 */

/** What replaces a secret. */
export const REDACTED = '[redacted]';

/** Values shorter than this are not registered (redacting "1" or "on" everywhere would garble the output, and they are no secret). */
const MIN_SECRET_LENGTH = 6;

const secrets = new Set<string>();
/** Rotating secrets (access tokens) by slot, newest last: their forms are in `secrets` too. */
const rotating = new Map<string, string[]>();
/** How many values of one rotating slot stay redacted (an old token may still be echoed for a while). */
const ROTATING_KEPT = 3;
let pattern: RegExp | undefined;

/**
 * An HTTP credential in any text: `Bearer` or `Basic` (any case), spaces, then at least 8
 * characters of a token68 (RFC 7235) such as a JWT or base64(id:secret), its `/` possibly escaped
 * (`\/`: PHP's `json_encode`, at any depth of JSON quoting). The scheme stays, the
 * credential becomes `[redacted]`. Fewer than 8 characters ("Basic auth") is prose.
 */
export const AUTH_SCHEME = /\b(Bearer|Basic)(\s+|%20)(?:[A-Za-z0-9\-._~+/]|\\+\/){8,}=*/gi;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Remember a secret value: from now on it is redacted wherever displayed.
 * Also registers its JSON-escaped and percent-encoded forms (how it appears
 * inside a JSON line or a URL). Short values (< 6 characters) are ignored.
 */
export function registerSecret(value: string | undefined): void {
  if (value === undefined || value.length < MIN_SECRET_LENGTH) return;
  let added = false;
  for (const f of formsOf(value)) {
    if (!secrets.has(f)) {
      secrets.add(f);
      added = true;
    }
  }
  if (added) rebuild();
}

/**
 * Remember a secret that replaces earlier ones of the same `slot` (each new AGS access token):
 * redacted like {@link registerSecret}'s, and only the last {@link ROTATING_KEPT} of a slot are
 * kept, so a process refreshing its token for months does not grow its redaction pattern.
 */
export function registerRotatingSecret(slot: string, value: string | undefined): void {
  if (value === undefined || value.length < MIN_SECRET_LENGTH) return;
  const values = rotating.get(slot) ?? [];
  if (values.includes(value)) return;
  values.push(value);
  for (const old of values.splice(0, Math.max(0, values.length - ROTATING_KEPT))) for (const f of formsOf(old)) secrets.delete(f);
  rotating.set(slot, values);
  for (const f of formsOf(value)) secrets.add(f);
  rebuild();
}

/** How many times a secret may have been quoted into JSON strings (a target's body quoted in an error message, in a dead letter, in a log line). */
const JSON_DEPTH = 3;

/** `value` inside a JSON string. */
function jsonEscaped(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

/**
 * Go's `encoding/json` (the AGS services' encoder: their specs are go-swagger's, `x-omitempty`,
 * definitions named after Go packages such as `rest.ErrorResponse`) escapes `<`, `>`, `&`, U+2028 and U+2029 inside
 * strings as `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`; `JSON.stringify` does not.
 */
function goEscaped(jsonText: string): string {
  return jsonText.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The value as it appears raw; percent-encoded (upper- and lower-case hex, and as a form field:
 * `URLSearchParams`, which also encodes `!'()~` and writes a space as `+`); and inside JSON
 * strings quoted up to {@link JSON_DEPTH} times, each with its `/` as is and escaped as `\/` (PHP's
 * `json_encode`), and with Go's escapes of `<>&` (a body the app keeps unparsed, cut short; an AGS
 * service quoting another's JSON answer in its message: the inner escapes survive the outer parse).
 */
function formsOf(value: string): string[] {
  const percent = encodeURIComponent(value);
  const forms = new Set([value, percent, percent.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()), new URLSearchParams([['', value]]).toString().slice(1)]);
  let plain = value;
  let slashed = value;
  let go = value;
  for (let depth = 1; depth <= JSON_DEPTH; depth++) {
    plain = jsonEscaped(plain);
    slashed = depth === 1 ? plain.replaceAll('/', '\\/') : jsonEscaped(slashed);
    go = depth === 1 ? goEscaped(plain) : jsonEscaped(go); // Go's answer, then quoted by anyone
    forms.add(plain).add(slashed).add(go);
  }
  return [...forms];
}

function rebuild(): void {
  pattern = secrets.size === 0 ? undefined : new RegExp([...secrets].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
}

/**
 * `text` with every registered secret value, and every `Bearer`/`Basic` credential ({@link AUTH_SCHEME}), replaced by `[redacted]`.
 * Text that is cut to a length is redacted before it is cut (a secret cut in two is matched by neither part): see {@link redactAndCut}.
 */
export function redactText(text: string): string {
  const known = pattern === undefined ? text : text.replace(pattern, REDACTED);
  return known.replace(AUTH_SCHEME, `$1$2${REDACTED}`);
}

/**
 * `text` with every registered secret value replaced by `[redacted]`, and nothing else: for text that is
 * kept to be sent again as it came (a dead letter's event, which `replay` sends), where a player's own
 * "Bearer ..." is data, not a credential of this app ({@link redactText} redacts those too).
 */
export function redactKnownText(text: string): string {
  return pattern === undefined ? text : text.replace(pattern, REDACTED);
}

/** `text` redacted ({@link redactText}), then cut to `max` characters (with `suffix` when cut): never part of a secret. */
export function redactAndCut(text: string, max: number, suffix = ''): string {
  if (text.length <= max) return text;
  const redacted = redactText(text);
  return redacted.length > max ? `${redacted.slice(0, max)}${suffix}` : redacted;
}

/** A deep copy of `value` whose strings (and keys) have registered secrets redacted. Non-JSON values (functions) are kept as they are. */
export function redactValue<T>(value: T): T {
  return walk(value, 0) as T;
}

function walk(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 64 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[redactText(k)] = walk(v, depth + 1);
  return out;
}

/** `scheme://host[:port]/[redacted]` when the URL has a path or query; as is when it has neither or does not parse. Credentials in the authority (`user:pass@`) are dropped. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return redactText(url);
  }
  if ((u.pathname === '/' || u.pathname === '') && u.search === '' && u.hash === '') return `${u.origin}/`;
  return `${u.origin}/${REDACTED}`;
}

/**
 * Does an environment variable's name say it holds a secret? Its name (any
 * case) contains SECRET, TOKEN, PASSWORD, PASSWD, PASS, KEY, WEBHOOK,
 * CREDENTIAL, AUTH, PRIVATE, SIGNATURE, SIGNING, COOKIE, SESSION or DSN.
 */
export function isSecretEnvName(name: string): boolean {
  return /SECRET|TOKEN|PASS|KEY|WEBHOOK|CREDENTIAL|AUTH|PRIVATE|SIGNATURE|SIGNING|COOKIE|SESSION|DSN/i.test(name);
}

/** Forget every registered secret (tests). */
export function clearSecrets(): void {
  secrets.clear();
  rotating.clear();
  pattern = undefined;
}
