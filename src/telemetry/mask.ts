/**
 * Masks personal fields of an event before it is logged (only with
 * LOG_PAYLOADS=true): emails, names, addresses, birth dates, IPs, phone numbers,
 * display names. Keys are matched case-insensitively anywhere in the object.
 */
const PERSONAL = /(email|e_mail|displayname|username|firstname|lastname|fullname|address|phone|birth|dob|ip$|ipaddress|country|password|secret|token)/i;

export function maskPersonalFields(value: unknown, depth = 0): unknown {
  if (depth > 32) return '[depth]';
  if (Array.isArray(value)) return value.map((v) => maskPersonalFields(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = PERSONAL.test(k) && (typeof v === 'string' || typeof v === 'number') && v !== '' ? '***' : maskPersonalFields(v, depth + 1);
    }
    return out;
  }
  return value;
}
