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
 * The requests themselves go out whole.
 */

/** What replaces a secret. */
export const REDACTED = '[redacted]';

/** Values shorter than this are not registered (redacting "1" or "on" everywhere would garble the output, and they are no secret). */
const MIN_SECRET_LENGTH = 6;

const secrets = new Set<string>();
let pattern: RegExp | undefined;

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
  const forms = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
  let added = false;
  for (const f of forms) {
    if (!secrets.has(f)) {
      secrets.add(f);
      added = true;
    }
  }
  if (added) pattern = new RegExp([...secrets].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
}

/** `text` with every registered secret value replaced by `[redacted]`. */
export function redactText(text: string): string {
  return pattern === undefined ? text : text.replace(pattern, REDACTED);
}

/** A deep copy of `value` whose strings (and keys) have registered secrets redacted. Non-JSON values (functions) are kept as they are. */
export function redactValue<T>(value: T): T {
  if (pattern === undefined) return value;
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
  pattern = undefined;
}
