/**
 * Issue 22's "a transient failure is never dead-lettered", for `publishMessage`: the call's deadline passing
 * before grpc-js committed it to a connection (name resolution, a connection still being made: grpc-js says
 * "waiting for ..." and names no `remote_addr`) sent nothing. That is retriable (redelivered), not an unknown
 * outcome (an `unknown-outcome` dead letter that `replay` skips). Real grpc-js against the publisher stand-in.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { closePublishers, configurePublisher, customProtoFiles, publishErrorOf, publishMessage } from '../../src/custom-events/index.js';
import { startPublisherStandIn } from '../support/publisher-stand-in.js';
import type { PublisherStandIn } from '../support/publisher-stand-in.js';

let sidecar: PublisherStandIn;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eer-publish-deadline-'));
  for (const [rel, text] of customProtoFiles()) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  sidecar = await startPublisherStandIn(join(dir, 'accelbyte/extend/async_messaging/publisher_service.proto'), [dir]);
});
afterAll(async () => {
  closePublishers();
  await sidecar.close();
  rmSync(dir, { recursive: true, force: true });
});

it('the deadline passes before the call reached the sidecar: retriable, not an unknown outcome, nothing published', async () => {
  configurePublisher({ port: sidecar.port });
  closePublishers(); // a fresh channel: the call waits for name resolution and a connection
  const error = (await publishMessage('t', '{}', {}, { timeoutMs: 0 }).then(
    () => undefined,
    (e: unknown) => e,
  )) as { retriable: boolean; outcomeUnknown: boolean; message: string } | undefined;
  expect(error?.message).toMatch(/DEADLINE_EXCEEDED/);
  expect(error).toMatchObject({ retriable: true, outcomeUnknown: false });
  expect(sidecar.published).toHaveLength(0);
});

it('a deadline once the call was on a connection (grpc-js names its remote_addr) is still an unknown outcome', () => {
  const sent = publishErrorOf(Object.assign(new Error('x'), { code: grpc.status.DEADLINE_EXCEEDED, details: 'Deadline exceeded after 10.001s,LB pick: 0.001s,remote_addr=127.0.0.1:7474', metadata: new grpc.Metadata() }));
  expect(sent).toMatchObject({ retriable: false, outcomeUnknown: true });
  const unsent = publishErrorOf(Object.assign(new Error('x'), { code: grpc.status.DEADLINE_EXCEEDED, details: 'Deadline exceeded after 10.001s,waiting for LB pick', metadata: new grpc.Metadata() }));
  expect(unsent).toMatchObject({ retriable: true, outcomeUnknown: false });
});
