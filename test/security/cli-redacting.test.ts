/**
 * The CLI's last line of defence (src/cli/io.ts `redacting`, around the bin's
 * stdout and stderr: src/cli/index.ts): whatever a command writes, as text or
 * as bytes, leaves with every registered secret and any bearer or basic
 * credential redacted. test/security/secrets.test.ts shows the commands mask
 * their own output before this layer sees it, so it alone would not notice
 * this layer switched off (found while cutting that file's process count).
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { redacting } from '../../src/cli/io.js';
import { clearSecrets, REDACTED, registerSecret } from '../../src/telemetry/redact.js';

const SECRET = 'cli-client-secret-0123456789';

/** A stream collecting what reaches it. */
function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      callback();
    },
  });
  return { stream, text: () => text };
}

/** Writes `chunk` through `out` and resolves once it was handed on. */
function write(out: NodeJS.WritableStream, chunk: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => out.write(chunk, (err) => (err ? reject(err) : resolve())));
}

describe("the CLI's output streams redact secrets (src/cli/io.ts)", () => {
  afterEach(() => clearSecrets());

  it('a registered secret written as text or as bytes, alone or inside JSON, never reaches the terminal', async () => {
    registerSecret(SECRET);
    const { stream, text } = capture();
    const out = redacting(stream);
    await write(out, `error: AGS refused client ${SECRET}\n`);
    await write(out, Buffer.from(`${JSON.stringify({ secret: SECRET })}\n`, 'utf8'));
    expect(text()).not.toContain(SECRET);
    expect(text()).toBe(`error: AGS refused client ${REDACTED}\n{"secret":"${REDACTED}"}\n`);
  });

  it('a bearer or basic credential is redacted even when nobody registered it', async () => {
    const { stream, text } = capture();
    const out = redacting(stream);
    await write(out, 'sent Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig and Basic dXNlcjpwYXNzd29yZA==\n');
    expect(text()).not.toMatch(/eyJhbGci|dXNlcjpw/);
  });

  it('text without a secret passes unchanged', async () => {
    registerSecret(SECRET);
    const { stream, text } = capture();
    await write(redacting(stream), 'validate: rules.yaml is valid (3 rules)\n');
    expect(text()).toBe('validate: rules.yaml is valid (3 rules)\n');
  });
});
