/**
 * `publishMessage` against a real gRPC publisher stand-in (built from the
 * product's own wire-compatible proto; the e2e test uses AccelByte's): the
 * message id is the effect id of the execution, a call that never reached the
 * sidecar is retriable, an answer lost after sending is an unknown outcome,
 * and validate-time checks refuse what AGS refuses.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { publishMessageAction } from '../../src/actions/builtins/publish-message.js';
import type { ActionContext } from '../../src/actions/index.js';
import { effectId } from '../../src/actions/index.js';
import { configurePublisher, customProtoFiles, PUBLISHER_PATH } from '../../src/custom-events/index.js';
import { startPublisherStandIn } from '../support/publisher-stand-in.js';
import type { PublisherStandIn } from '../support/publisher-stand-in.js';

let sidecar: PublisherStandIn;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eer-publisher-proto-'));
  for (const [rel, text] of customProtoFiles()) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  sidecar = await startPublisherStandIn(join(dir, 'accelbyte/extend/async_messaging/publisher_service.proto'), [dir]);
});
afterAll(async () => {
  await sidecar.close();
  rmSync(dir, { recursive: true, force: true });
});

const ctx = (key: string): ActionContext => ({ event: { userId: 'u' }, eventName: 'userLoggedIn', namespace: 'mygame', rule: 'r', idempotencyKey: key, logger: pino({ level: 'silent' }) });

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('publishMessage', () => {
  it('publishes the JSON body with messageId = the effect id of the execution (the same for every attempt of it)', async () => {
    configurePublisher({ port: sidecar.port });
    const p = publishMessageAction.normalize({ topic: 'player-activity', body: { kind: 'login' }, metadata: { source: 'rules' } }, ctx('k'));
    const result = await publishMessageAction.execute(p, ctx('evt-1:r:publishMessage#0'));
    const sent = sidecar.published.at(-1)!;
    expect(sent).toMatchObject({ topic: 'player-activity', body: '{"kind":"login"}', metadata: { source: 'rules', messageId: effectId('evt-1:r:publishMessage#0') } });
    expect(result.summary).toContain(`published message ${effectId('evt-1:r:publishMessage#0')} to topic player-activity`);
    // a string body is sent as is
    await publishMessageAction.execute(publishMessageAction.normalize({ topic: 't', body: 'plain' }, ctx('k')), ctx('evt-2:r:publishMessage#0'));
    expect(sidecar.published.at(-1)!.body).toBe('plain');
  });

  it('the plan (dry run) says what would be published, where', () => {
    configurePublisher({ port: 7474 });
    const p = publishMessageAction.normalize({ topic: 'weekly-reset', body: { week: 'w' } }, ctx('k'));
    expect(publishMessageAction.plan(p, ctx('k'))).toEqual([{ operation: 'PublishMessage', method: 'POST', path: `grpc://localhost:7474${PUBLISHER_PATH}`, body: { topic: 'weekly-reset', body: '{"week":"w"}' } }]);
  });

  it('no sidecar listening: retriable, not an unknown outcome (nothing was sent)', async () => {
    configurePublisher({ port: await closedPort() });
    const error = await publishMessageAction.execute(publishMessageAction.normalize({ topic: 't', body: {} }, ctx('k')), ctx('k2')).then(
      () => undefined,
      (e: unknown) => e as { retriable: boolean; outcomeUnknown: boolean },
    );
    expect(error).toMatchObject({ retriable: true, outcomeUnknown: false });
  });

  it('published, answer lost: an unknown outcome, not retriable', async () => {
    configurePublisher({ port: sidecar.port });
    sidecar.loseAnswers(1);
    const before = sidecar.published.length;
    const error = await publishMessageAction.execute(publishMessageAction.normalize({ topic: 't', body: {} }, ctx('k')), ctx('k3')).then(
      () => undefined,
      (e: unknown) => e as { retriable: boolean; outcomeUnknown: boolean; message: string },
    );
    expect(sidecar.published.length).toBe(before + 1);
    expect(error).toMatchObject({ retriable: false, outcomeUnknown: true });
    expect(error?.message).toContain('whether it was published is unknown');
  });

  it.each([
    [{ topic: 'a b', body: {} }, 'topic name "a b" has characters other than ASCII letters'],
    [{ topic: 'x'.repeat(257), body: {} }, 'topic name is 257 characters'],
    [{ topic: 't', body: 'x'.repeat(262_145) }, 'the body is 262145 bytes'],
    [{ topic: 't' }, 'body'],
  ])('%j is refused: %s', (params, message) => {
    expect(() => publishMessageAction.normalize(params as Record<string, unknown>, ctx('k'))).toThrow(message);
  });
});
