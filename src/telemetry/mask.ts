/**
 * Masks personal fields of an event before it is logged (only with
 * LOG_PAYLOADS=true): emails, names, addresses, birth dates, IPs, phone
 * numbers, display names, secrets. Two rules, applied at any depth:
 * - a key that names personal data (case-insensitive, singular or plural:
 *   `email`, `emails`, `clientIps`, `ipAddresses`, `displayName`...) has its
 *   whole value masked: a string or number becomes `***`, an array or object
 *   keeps its shape with every leaf masked;
 * - a string that looks like an email address or an IP address (v4 or v6) is
 *   masked under any key.
 */
const PERSONAL = /(e_?mails?|display_?names?|user_?names?|first_?names?|last_?names?|full_?names?|address(es)?|phones?|birth|dob|countr(y|ies)|passwords?|secrets?|tokens?)/i;
/** IP keys, case-sensitive so `zip`, `ship` or `tips` are not: `ip`, `ips`, `clientIp(s)`, `client_ip`, `IP`, `ipv4`, `ipAddress`... */
const IP_KEY = /(?:^|[_-])(?:ip|IP)(?:s|v[46])?$|[a-z0-9](?:Ip|IP)(?:s|v[46])?$|(?:^|[_-])ips?[_-]|^ips?[A-Z]|(?:ip|Ip|IP)_?[Aa]ddr/;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV6 = /^[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}$/i;

const MASK = '***';

function looksPersonal(value: string): boolean {
  return EMAIL.test(value) || IPV4.test(value) || (value.includes(':') && IPV6.test(value));
}

/** Does this key name personal data? (Exported for tests.) */
export function isPersonalKey(key: string): boolean {
  return PERSONAL.test(key) || IP_KEY.test(key);
}

export function maskPersonalFields(value: unknown, depth = 0, personal = false): unknown {
  if (depth > 32) return '[depth]';
  if (typeof value === 'string') return value !== '' && (personal || looksPersonal(value)) ? MASK : value;
  if (typeof value === 'number' || typeof value === 'bigint') return personal ? MASK : value;
  if (Array.isArray(value)) return value.map((v) => maskPersonalFields(v, depth + 1, personal));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskPersonalFields(v, depth + 1, personal || isPersonalKey(k));
    return out;
  }
  return value;
}
