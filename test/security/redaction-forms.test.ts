/**
 * Issue 22.8, checked from outside: a credential echoed back in forms the
 * redactor did not know. A target (AGS, or an `http` action's webhook) that
 * echoes the request inside a JSON string that is itself JSON (a body quoted
 * in an error message, the message in a log line, the log line in a dead
 * letter), a JSON encoder that escapes `/` as `\/` (PHP's default) in a
 * base64 credential, and a secret cut in two by a length bound (the breaker's
 * 200-character AGS message, a 2,000-character non-JSON body): no part of a
 * secret leaves the process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { clearSecrets, redactText, registerRotatingSecret, registerSecret } from '../../src/telemetry/redact.js';
import { systemicFailureOf } from '../../src/delivery/breaker.js';
import { parseBody } from '../../src/ags/http-caller.js';

const QUOTED = 'k"e\\y-0f-the-hook';
const BASIC = Buffer.from('0123456789abcdef0123456789abcdef:?>??>??>?sec0').toString('base64'); // holds '/' three times

/** Every fragment of `secret` of `n` characters or more. */
function fragments(secret: string, n = 8): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= secret.length; i++) out.push(secret.slice(i, i + n));
  return out;
}

describe('redaction forms (issue 22.8, checked from outside)', () => {
  afterEach(() => clearSecrets());

  it('a secret with quotes and backslashes, JSON-escaped twice and three times (a quoted body in a message, in a log line, in a dead letter), is redacted', () => {
    registerSecret(QUOTED);
    const message = `http failed: 400 ${JSON.stringify(`bad key ${QUOTED}`)}`; // the error message quotes the target's answer
    const deadLetter = JSON.stringify({ error: { message } }); // the dead letter (a JSON line)
    const nested = JSON.stringify({ line: deadLetter }); // that line quoted once more (a log line carrying it)
    for (const text of [message, deadLetter, nested]) {
      const out = redactText(text);
      expect(out).toContain('[redacted]');
      for (const f of fragments('e\\y-0f-the-hook', 6)) expect(out).not.toContain(f);
    }
  });

  it('a Basic credential echoed with its slashes escaped (`\\/`, PHP\'s json_encode) is redacted whole, registered or not', () => {
    expect(BASIC.split('/').length).toBe(4);
    const echoed = `{"error":"unauthorized","headers":{"Authorization":"Basic ${BASIC.replaceAll('/', '\\/')}"}}`;
    const unregistered = redactText(echoed);
    expect(unregistered).toContain('Basic [redacted]');
    expect(unregistered).not.toMatch(/\\\/[A-Za-z0-9+]{4,}/); // no tail after an escaped slash
    registerSecret(BASIC);
    const bare = redactText(`credential ${BASIC.replaceAll('/', '\\/')} refused`);
    expect(bare).toBe('credential [redacted] refused');
  });

  it('a secret cut by the breaker\'s 200-character bound on AGS\'s message is not shown in part', () => {
    const token = `eyJ${'a'.repeat(40)}.${'b'.repeat(60)}.${'c'.repeat(40)}`;
    registerRotatingSecret('ags-access-token', token);
    const errorMessage = `${'x'.repeat(150)} echoed token=${token} end`;
    const failure = systemicFailureOf({ operation: 'fulfillItem', status: 403, errorCode: 20013, errorMessage, retriable: false });
    expect(failure?.errorMessage).toBeDefined();
    for (const f of fragments(token, 12)) expect(failure!.errorMessage).not.toContain(f);
  });

  it('a secret cut by the 2,000-character bound of a non-JSON body is not kept in part', () => {
    const token = `eyJ${'d'.repeat(40)}.${'e'.repeat(80)}.${'f'.repeat(40)}`;
    registerRotatingSecret('ags-access-token', token);
    const body = `<html>${'y'.repeat(1_940)} token=${token} </html>`;
    const parsed = parseBody(body);
    expect(typeof parsed).toBe('string');
    for (const f of fragments(token, 12)) expect(parsed as string).not.toContain(f);
  });

  it('a secret as an AGS (Go) service or a form echoes it: Go\'s \\u0026 escapes (an answer quoting another service\'s JSON answer), lower-case percent-encoding, form encoding', () => {
    const secret = 'Sec<ret>&x~y!z(1)';
    registerSecret(secret);
    const goJson = JSON.stringify(secret).slice(1, -1).replace(/&/g, '\\u0026').replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
    const inner = `{"errorCode":20002,"errorMessage":"bad value ${goJson}"}`; // IAM's answer, as Go wrote it
    const outer = JSON.parse(JSON.stringify({ errorMessage: `iam answered 400: ${inner}` })) as { errorMessage: string }; // quoted by the calling service, parsed by the app
    const forms = [
      outer.errorMessage,
      JSON.stringify({ error: outer.errorMessage }), // then in a dead letter (JSON line)
      `GET /hook?k=${encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())}`,
      `GET /hook?${new URLSearchParams({ k: secret }).toString()}`,
    ];
    for (const text of forms) {
      const out = redactText(text);
      expect(out).toContain('[redacted]');
      expect(out).not.toMatch(/x~y|x%7Ey|%21z|\\u0026x/i);
    }
  });
});
