/**
 * Issue 25: the custom events' wire services (`AsyncMessagingConsumerService`,
 * `ScheduledTaskHandler`) are built into the product, not in PROTO_DIR; server
 * reflection lists them and must describe them too, so a user can invoke a
 * topic message or a scheduled run from Postman or grpcurl. Two clients that
 * know nothing but reflection: grpc-js over the reflected descriptors
 * (@grpc/proto-loader's `loadFileDescriptorSetFromBuffer`, what grpcurl does),
 * and Debian's python3 with protobuf's strict descriptor pool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { loadCatalog } from '../../src/events/catalog.js';
import { CONSUMER_SERVICE, SCHEDULER_SERVICE, scheduledTaskReply, withCustomEvents } from '../../src/custom-events/index.js';
import { debianPython, describeWith } from '../support/prereq.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';
import { fileDescriptorSet, listServices, reflect, startHost } from './support.js';
import type { ReflectionVersion, RunningHost } from './support.js';
import { CLIENT, REFLECTION_PROTO, pyEnv } from './reflection-client.js';

const run = promisify(execFile);
const LOGGED_IN = 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService';

let h: RunningHost;

beforeAll(async () => {
  const catalog = withCustomEvents(await loadCatalog({ dirs: [FIXTURE_PROTO_DIR] }));
  h = await startHost({ catalog, served: new Set([LOGGED_IN, CONSUMER_SERVICE, SCHEDULER_SERVICE]) });
  h.respond = ({ service, event }) => (service.fullName === SCHEDULER_SERVICE ? scheduledTaskReply(event, { kind: 'ok' }) : { kind: 'ok' });
});
afterAll(async () => {
  await h.host.shutdown(0);
});

type Method = { path: string; requestSerialize: (v: object) => Buffer; responseDeserialize: (b: Buffer) => Record<string, unknown> };

/** The service's methods as a reflection-only client builds them: the file containing the symbol, its dependencies, nothing else. */
async function describeService(version: ReflectionVersion, service: string): Promise<Record<string, Method>> {
  const [answer] = await reflect(h.address, version, [{ file_containing_symbol: service }]);
  expect(answer?.message_response, JSON.stringify(answer?.error_response)).toBe('file_descriptor_response');
  const defs = protoLoader.loadFileDescriptorSetFromBuffer(fileDescriptorSet(answer!.file_descriptor_response!.file_descriptor_proto), { keepCase: true, defaults: true });
  return defs[service] as unknown as Record<string, Method>;
}

function call(m: Method, request: object): Promise<Record<string, unknown>> {
  const client = new grpc.Client(h.address, grpc.credentials.createInsecure());
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, new grpc.Metadata(), { deadline: Date.now() + 30_000 }, (err, reply) => {
      client.close();
      if (err) reject(err);
      else resolve(reply!);
    });
  });
}

describe.each<ReflectionVersion>(['v1', 'v1alpha'])('reflection %s describes the custom-event services', (version) => {
  it('lists both wire services', async () => {
    expect(await listServices(h.address, version)).toEqual(expect.arrayContaining([CONSUMER_SERVICE, SCHEDULER_SERVICE]));
  });

  it('AsyncMessagingConsumerService/onMessage: described, and a message built from the descriptors alone arrives decoded', async () => {
    const service = await describeService(version, CONSUMER_SERVICE);
    expect(Object.keys(service)).toEqual(['onMessage']);
    const before = h.seen.length;
    // protobufjs' descriptor import reads a map field (map_entry, as protoc writes it) as its wire form: repeated key/value entries
    await call(service.onMessage!, { topic: 'weekly-reset', body: '{"userId":"u-1"}', metadata: [{ key: 'messageId', value: 'm-1' }] });
    expect(h.seen.slice(before).map((s) => s.event)).toEqual([expect.objectContaining({ topic: 'weekly-reset', body: { userId: 'u-1' }, metadata: { messageId: 'm-1' } })]);
  });

  it('ScheduledTaskHandler/RunScheduledTask: described, a run built from the descriptors alone gets a ScheduledTaskResponse', async () => {
    const service = await describeService(version, SCHEDULER_SERVICE);
    expect(Object.keys(service)).toEqual(['RunScheduledTask']);
    const reply = await call(service.RunScheduledTask!, { run_id: 'r-1', task_name: 'weekly-reset-task', attempt_number: 1, payload: '{"week":"2026-W49"}' });
    expect(reply).toMatchObject({ success: true, http_status_code: 200, message: 'done' });
    expect(h.seen.at(-1)?.event).toMatchObject({ runId: 'r-1', taskName: 'weekly-reset-task', payload: { week: '2026-W49' } });
  });

  it('the built-in file names resolve by file_by_filename too', async () => {
    const [answer] = await reflect(h.address, version, [{ file_by_filename: 'accelbyte/extend/task_scheduler/v1/task_scheduler.proto' }]);
    expect(answer?.message_response).toBe('file_descriptor_response');
  });
});

describeWith(debianPython('grpc_tools', 'python3-grpc-tools'), 'a Python reflection-only client (Postman\'s way) calls every listed service', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'custom-reflect-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('builds and sends onMessage and RunScheduledTask from reflection alone: no failure', async () => {
    await writeFile(join(dir, 'reflection.proto'), REFLECTION_PROTO);
    await writeFile(join(dir, 'client.py'), CLIENT);
    const before = h.seen.length;
    const { stdout } = await run('/usr/bin/python3', [join(dir, 'client.py'), dir, h.address, 'v1'], { env: pyEnv(dir), timeout: 120_000 });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { services: number; ok: number; failures: string[] };
    expect(report.failures).toEqual([]);
    expect(report).toMatchObject({ services: 3, ok: 3 });
    expect(h.seen.slice(before).map((s) => s.service.fullName).sort()).toEqual([CONSUMER_SERVICE, LOGGED_IN, SCHEDULER_SERVICE].sort());
  }, 180_000);
});
