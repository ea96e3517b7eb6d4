/**
 * A dead letter keeps its event as it came, so that `replay` sends that event again: text of the event that
 * merely looks like an HTTP credential (a player's display name or chat line "Bearer ..." / "Basic ...") is
 * not rewritten to "[redacted]", or the replay would send another event (another notification text, another
 * condition outcome; another id, so another idempotency key, for an event whose id is derived from its body).
 * The error, which may echo the app's own request headers (AGS's 400 "request headers: Authorization: Bearer
 * ..."), is still redacted, and so are registered secrets anywhere.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonlDeadLetterSink } from '../../src/delivery/dead-letters.js';
import type { DeadLetterRecord } from '../../src/delivery/dead-letters.js';
import { StoreDeadLetterSink } from '../../src/delivery/store-dead-letters.js';
import { listStoredDeadLetters } from '../../src/delivery/store-dead-letter-listing.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { clearSecrets, registerSecret } from '../../src/telemetry/redact.js';

const HOSTILE = 'Bearer hostileplayername42';
const ECHOED = 'Bearer eyJhbGciOiJSUzI1NiJ9.app-token-4711';
const SECRET = 'registered-secret-4711';

function record(): DeadLetterRecord {
  return {
    version: 1,
    timestamp: '2026-12-06T19:00:00.000Z',
    eventName: 'userLoggedIn',
    service: 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService',
    eventId: 'e-1',
    idempotencyKey: 'e-1:r:notify#0',
    rule: 'r',
    index: 0,
    action: 'notify',
    error: { name: 'AgsError', message: `400 validation error; request headers: Authorization: ${ECHOED}; ${SECRET}`, status: 400 },
    attempts: 1,
    event: { id: 'e-1', userId: '0123456789abcdef0123456789abcdef', payload: { displayName: HOSTILE, note: `Basic\tdGhpc2lzYWNoYXRsaW5l`, leaked: SECRET } },
  };
}

afterEach(() => clearSecrets());

function expectKept(stored: { error: { message: string }; event: unknown }): void {
  expect(stored.error.message).not.toContain('app-token-4711');
  expect(stored.error.message).toContain('Bearer [redacted]');
  expect(JSON.stringify(stored)).not.toContain(SECRET);
  expect(stored.event).toEqual({ ...record().event, payload: { displayName: HOSTILE, note: 'Basic\tdGhpc2lzYWNoYXRsaW5l', leaked: '[redacted]' } });
}

describe('a dead letter keeps its event as it came (replay sends that event)', () => {
  it('the JSONL file', async () => {
    registerSecret(SECRET);
    const path = join(mkdtempSync(join(tmpdir(), 'eer-dl-event-')), 'dead-letters.jsonl');
    const sink = new JsonlDeadLetterSink({ path });
    await sink.write(record());
    await sink.close();
    expectKept(JSON.parse(readFileSync(path, 'utf8').trim()) as DeadLetterRecord);
  });

  it('the state store', async () => {
    registerSecret(SECRET);
    const store = new MemoryStateStore();
    const sink = new StoreDeadLetterSink({ store, namespace: 'mygame', retentionMs: 3_600_000 });
    await sink.write(record());
    const listed = (await listStoredDeadLetters({ store, namespace: 'mygame' })).records;
    expect(listed).toHaveLength(1);
    expectKept(listed[0]!);
  });
});
