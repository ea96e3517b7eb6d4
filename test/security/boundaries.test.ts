/**
 * Issue 16, secrets at the process's other exits: the gRPC status details the
 * sidecar receives (and logs), and trace spans (exported to Zipkin/OTLP).
 * A registered secret value (from a secret-looking variable a rule reads)
 * echoed in an error message is redacted there as in log lines.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { loadCatalog } from '../../src/events/catalog.js';
import { recordError } from '../../src/telemetry/tracing.js';
import type { Span } from '@opentelemetry/api';
import { registerSecret, redactText, redactUrl } from '../../src/telemetry/redact.js';
import { REPO_ROOT } from '../support/prereq.js';
import { callRaw, rawClient, startHost } from '../server/support.js';
import type { RunningHost } from '../server/support.js';

const SECRET = `echoed-secret-${randomUUID()}`;
const LOGGED_IN = 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService';

describe('secrets at the gRPC boundary and in spans (issue 16)', () => {
  let h: RunningHost;
  beforeAll(async () => {
    registerSecret(SECRET);
    const catalog = await loadCatalog({ dirs: [resolve(REPO_ROOT, 'proto')] });
    h = await startHost({ catalog });
  });
  afterAll(async () => {
    await h.host.shutdown(100);
  });

  it('a retry reason echoing a secret reaches the sidecar redacted', async () => {
    h.respond = () => ({ kind: 'retry', message: `http failed: 503 "bad token ${SECRET}"` });
    const c = rawClient(h.address);
    try {
      const path = (await loadCatalog({ dirs: [resolve(REPO_ROOT, 'proto')] })).services.find((s) => s.fullName === LOGGED_IN)!.path;
      const r = await callRaw(c, path, new Uint8Array());
      expect(r.code).toBe(grpc.status.UNAVAILABLE);
      expect(r.details).toBe('http failed: 503 "bad token [redacted]"');
    } finally {
      c.close();
    }
  });

  it('an error recorded on a span is redacted (message, status, stack)', () => {
    const calls: unknown[] = [];
    const span = { recordException: (e: unknown) => calls.push(e), setStatus: (s: unknown) => calls.push(s) } as unknown as Span;
    recordError(span, new Error(`failed with ${SECRET}`));
    expect(JSON.stringify(calls)).not.toContain(SECRET);
    expect(JSON.stringify(calls)).toContain('failed with [redacted]');
  });

  it('redaction forms: JSON-escaped and percent-encoded values too; URLs keep only their origin', () => {
    registerSecret('pa"ss/wo rd');
    expect(redactText(JSON.stringify({ a: 'pa"ss/wo rd' }))).toBe('{"a":"[redacted]"}');
    expect(redactText(`https://x.example/?p=${encodeURIComponent('pa"ss/wo rd')}`)).toBe('https://x.example/?p=[redacted]');
    expect(redactUrl('https://discord.com/api/webhooks/1/abc?wait=true')).toBe('https://discord.com/[redacted]');
    expect(redactUrl('https://user:pw@hooks.example/')).toBe('https://hooks.example/');
    expect(redactUrl('https://hooks.example')).toBe('https://hooks.example/');
    registerSecret('short');
    expect(redactText('short')).toBe('short'); // under 6 characters: not a secret worth garbling output for
  });
});
