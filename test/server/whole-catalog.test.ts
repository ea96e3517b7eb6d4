/**
 * The whole published AGS catalog (../shared/ags-event-specs), every service
 * served: reflection lists them all, events across files are decoded and
 * answered, and every reflected descriptor is accepted by protobuf's own C++
 * DescriptorPool (Debian's python3-protobuf) when that is available.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog, EventService } from '../../src/events/types.js';
import { AGS_SPECS_DIR, debianPython, describeWith, sharedSpecs } from '../support/prereq.js';
import { callRaw, listServices, rawClient, reflect, startHost } from './support.js';
import type { RunningHost } from './support.js';

const run = promisify(execFile);

describeWith(sharedSpecs(), 'whole AGS catalog', () => {
  let catalog: Catalog;
  let h: RunningHost;
  let client: grpc.Client;
  let startupMs = 0;

  beforeAll(async () => {
    const t0 = performance.now();
    catalog = await loadCatalog({ dirs: [AGS_SPECS_DIR] });
    const loaded = performance.now();
    h = await startHost({ catalog });
    h.host.setServing(true);
    startupMs = performance.now() - t0;
    process.stderr.write(
      `[server] whole catalog: load ${(loaded - t0).toFixed(0)} ms, to listening+serving ${startupMs.toFixed(0)} ms\n`,
    );
    client = rawClient(h.address);
  });
  afterAll(async () => {
    client?.close();
    await h?.host.shutdown(0);
  });

  it('lists every one of the 442 event services (plus health and reflection) on v1 and v1alpha, not ScheduledTaskHandler (it answers a ScheduledTaskResponse)', async () => {
    const expected = [...new Set(catalog.services.map((s) => s.fullName))];
    expect(expected.length).toBe(442);
    expect(catalog.skipped).toEqual([{ path: '/accelbyte.extend.task_scheduler.v1.ScheduledTaskHandler/RunScheduledTask', reason: expect.stringContaining('ScheduledTaskResponse') as string }]);
    const t0 = performance.now();
    const v1 = await listServices(h.address, 'v1');
    process.stderr.write(`[server] first list_services: ${(performance.now() - t0).toFixed(0)} ms\n`);
    const infra = ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];
    expect(v1).toEqual([...expected, ...infra].sort());
    expect(await listServices(h.address, 'v1alpha')).toEqual(v1);
  });

  it('decodes and answers a sample event on ten services across different files', async () => {
    const byFile = new Map<string, EventService>();
    for (const s of catalog.services) if (!byFile.has(s.file)) byFile.set(s.file, s);
    const picked = [...byFile.values()].slice(0, 10);
    expect(new Set(picked.map((s) => s.file)).size).toBe(10);
    for (const [i, service] of picked.entries()) {
      const event: Record<string, unknown> = 'id' in service.requestType.fields ? { id: `evt-${String(i)}` } : {};
      const before = h.seen.length;
      const r = await callRaw(client, service.path, catalog.codec(service).encode(event));
      expect(r, service.path).toMatchObject({ code: grpc.status.OK });
      expect(h.seen).toHaveLength(before + 1);
      expect(h.seen.at(-1)?.service.fullName).toBe(service.fullName);
      if ('id' in event) expect(h.seen.at(-1)?.event.id).toBe(event.id);
    }
  });

  it('reflects every file with its dependencies, fast', async () => {
    const t0 = performance.now();
    const answers = await reflect(
      h.address,
      'v1',
      catalog.files.map((f) => ({ file_by_filename: f })),
    );
    process.stderr.write(`[server] all ${String(catalog.files.length)} files reflected in ${(performance.now() - t0).toFixed(0)} ms\n`);
    expect(answers).toHaveLength(catalog.files.length);
    for (const a of answers) expect(a.message_response).toBe('file_descriptor_response');
  });

  describeWith(debianPython('google.protobuf.descriptor_pool', 'python3-protobuf'), 'protobuf C++ descriptor pool', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'server-fds-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('accepts every reflected descriptor (types resolve, json_names kept)', async () => {
      const symbols = [...new Set(catalog.services.map((s) => s.fullName))];
      const answers = await reflect(
        h.address,
        'v1alpha',
        symbols.map((s) => ({ file_containing_symbol: s })),
      );
      const files = new Map<string, Buffer>();
      const { default: protobuf } = await import('protobufjs');
      const { createRequire } = await import('node:module');
      const root = protobuf.Root.fromJSON(
        createRequire(import.meta.url)('protobufjs/google/protobuf/descriptor.json') as protobuf.INamespace,
      );
      const Fdp = root.lookupType('google.protobuf.FileDescriptorProto');
      for (const a of answers) {
        for (const b of a.file_descriptor_response?.file_descriptor_proto ?? []) {
          const name = (Fdp.decode(b) as unknown as { name: string }).name;
          files.set(name, b);
        }
      }
      const framed = Buffer.concat(
        [...files.values()].map((b) => {
          const len = Buffer.alloc(4);
          len.writeUInt32BE(b.length);
          return Buffer.concat([len, b]);
        }),
      );
      await writeFile(join(dir, 'fds.bin'), framed);
      await writeFile(join(dir, 'check.py'), CHECK);
      const { stdout } = await run('/usr/bin/python3', [join(dir, 'check.py'), join(dir, 'fds.bin')], {
        timeout: 60_000,
        env: { PATH: '/usr/bin:/bin', HOME: dir, PYTHONDONTWRITEBYTECODE: '1' },
      });
      const [ok, count, json] = stdout.trim().split('\n');
      expect(ok).toBe('OK');
      expect(Number(count)).toBe(files.size);
      expect(JSON.parse(json ?? '{}')).toEqual({ parent_namespace: 'parentNamespace', sched_action: 'SchedAction' });
    });
  });
});

const CHECK = String.raw`
import json, struct, sys
from google.protobuf import descriptor_pb2, descriptor_pool
data = open(sys.argv[1], 'rb').read()
files, i = {}, 0
while i < len(data):
    n = struct.unpack('>I', data[i:i+4])[0]; i += 4
    fd = descriptor_pb2.FileDescriptorProto(); fd.ParseFromString(data[i:i+n]); i += n
    files[fd.name] = data[i-n:i]
    files[fd.name] = (fd, data[i-n:i])
pool = descriptor_pool.DescriptorPool()
done = set()
def add(name):
    if name in done: return
    for dep in files[name][0].dependency: add(dep)
    pool.AddSerializedFile(files[name][1]); done.add(name)
for name in files: add(name)
print('OK'); print(len(done))
m = pool.FindMessageTypeByName('accelbyte.iam.account.v1.UserLoggedIn')
p = pool.FindMessageTypeByName('accelbyte.iam.account.v1.Permissions')
print(json.dumps({'parent_namespace': m.fields_by_name['parent_namespace'].json_name,
                  'sched_action': p.fields_by_name['sched_action'].json_name}))
`;
