/**
 * Reflection as protoc describes the files, and usable by a client that knows
 * nothing but reflection (Postman's way), over the whole AGS catalog:
 * - every file served by reflection (v1 and v1alpha) is byte-for-byte the
 *   FileDescriptorProto protoc writes for it (Debian's python3-grpc-tools), the
 *   well-known types included (google.protobuf.Value's fields are `null_value`...,
 *   not protobufjs' camelCase names);
 * - a Python client that builds every message from reflected descriptors alone
 *   (protobuf's strict descriptor pool, no generated code), fills every field
 *   (Struct, Value, ListValue, Any, maps, oneofs, enums) and sends every served
 *   event over v1 and v1alpha gets OK for each, and the server decodes them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import protobuf from 'protobufjs';
import { createRequire } from 'node:module';
import { loadCatalog } from '../../src/events/catalog.js';
import { sampleEvent } from '../../src/events/samples.js';
import type { Catalog } from '../../src/events/types.js';
import { WKT_DESCRIPTORS } from '../../src/server/generated/wkt-descriptors.js';
import { AGS_SPECS_DIR, REPO_ROOT, debianPython, describeWith, sharedSpecs } from '../support/prereq.js';
import { reflect, startHost } from './support.js';
import { CLIENT, REFLECTION_PROTO, pyEnv } from './reflection-client.js';
import type { ReflectionVersion, RunningHost } from './support.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const descriptorRoot = protobuf.Root.fromJSON(createRequire(import.meta.url)('protobufjs/google/protobuf/descriptor.json') as protobuf.INamespace);
const FileDescriptorSet = descriptorRoot.lookupType('google.protobuf.FileDescriptorSet');
const FileDescriptorProto = descriptorRoot.lookupType('google.protobuf.FileDescriptorProto');

describeWith([sharedSpecs(), debianPython('grpc_tools', 'python3-grpc-tools')], 'reflection conforms to protoc over the whole AGS catalog', () => {
  let catalog: Catalog;
  let h: RunningHost;
  let dir: string;
  /** protoc's descriptor of every file of the catalog and of the well-known types it imports. */
  const protoc = new Map<string, Buffer>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reflect-protoc-'));
    catalog = await loadCatalog({ dirs: [AGS_SPECS_DIR] });
    const { stdout: include } = await run(PYTHON, ['-c', 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))'], { env: pyEnv(dir) });
    const set = join(dir, 'all.pb');
    await run(PYTHON, ['-m', 'grpc_tools.protoc', `-I${AGS_SPECS_DIR}`, `-I${include.trim()}`, '--include_imports', `--descriptor_set_out=${set}`, ...catalog.files], { env: pyEnv(dir), timeout: 120_000 });
    const decoded = FileDescriptorSet.decode(await readFile(set)) as unknown as { file: protobuf.Message[] };
    for (const f of decoded.file) protoc.set((f as unknown as { name: string }).name, Buffer.from(FileDescriptorProto.encode(f).finish()));
    h = await startHost({ catalog });
    h.host.setServing(true);
  }, 180_000);
  afterAll(async () => {
    await h?.host.shutdown(0);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(['v1', 'v1alpha'] as ReflectionVersion[])('%s: every file (and every dependency) is byte-for-byte what protoc writes', async (version) => {
    const answers = await reflect(h.address, version, catalog.files.map((f) => ({ file_by_filename: f })));
    const served = new Map<string, Buffer>();
    for (const a of answers) {
      expect(a.message_response).toBe('file_descriptor_response');
      for (const b of a.file_descriptor_response?.file_descriptor_proto ?? []) served.set((FileDescriptorProto.decode(b) as unknown as { name: string }).name, Buffer.from(b));
    }
    expect([...served.keys()].sort()).toEqual([...protoc.keys()].sort());
    const different = [...served].filter(([name, bytes]) => !bytes.equals(protoc.get(name)!)).map(([name]) => name);
    expect(different).toEqual([]);
    expect(served.get('google/protobuf/struct.proto')?.toString('latin1')).toContain('null_value');
  });

  it('the committed well-known-type descriptors are what protoc writes now (scripts/gen-wkt-descriptors.mjs)', async () => {
    const { generate } = (await import(resolve(REPO_ROOT, 'scripts/gen-wkt-descriptors.mjs'))) as { generate: () => string };
    const fresh = generate();
    for (const [file, b64] of Object.entries(WKT_DESCRIPTORS)) expect(fresh, file).toContain(`'${file}': '${b64}'`);
  });

  /**
   * One run of the reflection-only client per version; over v1 the same Python process then parses every sample
   * (`client-v1.py`: the client, then SAMPLES_TAIL over the descriptors it reflected), which spares a Python start,
   * its protoc run and the whole catalog's reflection again. Its stdout's last two lines: the client's report, then
   * the samples'. Started by the first test that needs it.
   */
  const runs = new Map<ReflectionVersion, Promise<ClientRun>>();
  const runClient = (version: ReflectionVersion): Promise<ClientRun> => {
    let started = runs.get(version);
    if (!started) {
      started = (async () => {
        const samples = Object.fromEntries(catalog.services.map((s) => [s.requestTypeName, sampleEvent(s)]));
        await writeFile(join(dir, 'reflection.proto'), REFLECTION_PROTO);
        await writeFile(join(dir, 'samples.json'), JSON.stringify(samples));
        const script = join(dir, `client-${version}.py`);
        await writeFile(script, version === 'v1' ? `${CLIENT}\n${SAMPLES_TAIL}` : CLIENT);
        const before = h.seen.length;
        const { stdout } = await run(PYTHON, [script, dir, h.address, version], { env: pyEnv(dir), timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
        const seen = h.seen.slice(before); // what the server decoded during this run (the tests run one at a time)
        const lines = stdout.trim().split('\n');
        if (version !== 'v1') return { client: JSON.parse(lines.at(-1)!) as ClientReport, seen, samplesSent: Object.keys(samples).length };
        return { client: JSON.parse(lines.at(-2)!) as ClientReport, samples: JSON.parse(lines.at(-1)!) as SamplesReport, seen, samplesSent: Object.keys(samples).length };
      })();
      runs.set(version, started);
    }
    return started;
  };

  it.each(['v1', 'v1alpha'] as ReflectionVersion[])('%s: a reflection-only client builds and sends every served event, Struct fields filled, and gets OK', async (version) => {
    const { client: report, seen } = await runClient(version);
    expect(report.failures).toEqual([]);
    expect(report.services).toBe(catalog.services.length);
    expect(report.ok).toBe(catalog.services.length);
    expect(report.structs).toBeGreaterThanOrEqual(37);
    expect(seen).toHaveLength(catalog.services.length);
    // what the client put in a Struct arrives decoded, under the names the AGS docs use
    const withStruct = seen.find((s) => JSON.stringify(s.event).includes('"struct-string"'));
    expect(JSON.stringify(withStruct?.event)).toContain('"nested":{"k":"v"}');
  }, 300_000);

  it('the sample of every event (`samples <event>`) parses strictly with protobuf json_format over the reflected descriptors', async () => {
    const { samples: report, samplesSent } = await runClient('v1');
    expect(report!.failures).toEqual([]);
    expect(report!.parsed).toBe(samplesSent);
  }, 300_000);
});

interface ClientRun {
  readonly client: ClientReport;
  /** Over v1 only: the samples' report. */
  readonly samples?: SamplesReport;
  /** The events the server decoded during the run. */
  readonly seen: readonly { readonly event: unknown }[];
  readonly samplesSent: number;
}

interface ClientReport {
  readonly services: number;
  readonly ok: number;
  readonly failures: string[];
  readonly structs: number;
}

interface SamplesReport {
  readonly parsed: number;
  readonly failures: string[];
}

/** After the client's sending loop: parse every sample strictly (unknown fields refused) over the pool it reflected. */
const SAMPLES_TAIL = String.raw`
from google.protobuf import json_format
samples = json.load(open(os.path.join(work, 'samples.json')))
parsed, failures = 0, []
for type_name, sample in samples.items():
    try:
        json_format.ParseDict(sample, factory.GetPrototype(pool.FindMessageTypeByName(type_name))(), ignore_unknown_fields=False); parsed += 1
    except Exception as e:
        failures.append('%s: %s' % (type_name, str(e)[:300]))
print(json.dumps({'parsed': parsed, 'failures': failures[:20]}))
`;
