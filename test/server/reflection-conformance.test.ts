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
import type { ReflectionVersion, RunningHost } from './support.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const pyEnv = (dir: string) => ({ PATH: '/usr/bin:/bin', HOME: dir, PYTHONDONTWRITEBYTECODE: '1' });
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

  it.each(['v1', 'v1alpha'] as ReflectionVersion[])('%s: a reflection-only client builds and sends every served event, Struct fields filled, and gets OK', async (version) => {
    await writeFile(join(dir, 'reflection.proto'), REFLECTION_PROTO);
    await writeFile(join(dir, 'client.py'), CLIENT);
    const before = h.seen.length;
    const { stdout } = await run(PYTHON, [join(dir, 'client.py'), dir, h.address, version], { env: pyEnv(dir), timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { services: number; ok: number; failures: string[]; structs: number };
    expect(report.failures).toEqual([]);
    expect(report.services).toBe(catalog.services.length);
    expect(report.ok).toBe(catalog.services.length);
    expect(report.structs).toBeGreaterThanOrEqual(37);
    expect(h.seen.length - before).toBe(catalog.services.length);
    // what the client put in a Struct arrives decoded, under the names the AGS docs use
    const withStruct = h.seen.slice(before).find((s) => JSON.stringify(s.event).includes('"struct-string"'));
    expect(JSON.stringify(withStruct?.event)).toContain('"nested":{"k":"v"}');
  }, 300_000);

  it('the sample of every event (`samples <event>`) parses strictly with protobuf json_format over the reflected descriptors', async () => {
    const samples = Object.fromEntries(catalog.services.map((s) => [s.requestTypeName, sampleEvent(s)]));
    await writeFile(join(dir, 'reflection.proto'), REFLECTION_PROTO);
    await writeFile(join(dir, 'samples.json'), JSON.stringify(samples));
    await writeFile(join(dir, 'samples.py'), CLIENT.replace(/^ok, failures = 0, \[\][\s\S]*$/m, SAMPLES_TAIL));
    const { stdout } = await run(PYTHON, [join(dir, 'samples.py'), dir, h.address, 'v1'], { env: pyEnv(dir), timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { parsed: number; failures: string[] };
    expect(report.failures).toEqual([]);
    expect(report.parsed).toBe(Object.keys(samples).length);
  }, 300_000);
});

/** Replaces the client's sending loop: parse every sample strictly (unknown fields refused). */
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

/** grpc.reflection.v1's messages (identical on the wire for v1alpha). */
const REFLECTION_PROTO = String.raw`
syntax = "proto3";
package grpc.reflection.v1;
service ServerReflection { rpc ServerReflectionInfo(stream ServerReflectionRequest) returns (stream ServerReflectionResponse); }
message ServerReflectionRequest {
  string host = 1;
  oneof message_request { string file_by_filename = 3; string file_containing_symbol = 4; string all_extension_numbers_of_type = 6; string list_services = 7; }
}
message ServerReflectionResponse {
  string valid_host = 1;
  ServerReflectionRequest original_request = 2;
  oneof message_response { FileDescriptorResponse file_descriptor_response = 4; ListServiceResponse list_services_response = 6; ErrorResponse error_response = 7; }
}
message FileDescriptorResponse { repeated bytes file_descriptor_proto = 1; }
message ListServiceResponse { repeated ServiceResponse service = 1; }
message ServiceResponse { string name = 1; }
message ErrorResponse { int32 error_code = 1; string error_message = 2; }
`;

/** The reflection-only client: prints one JSON line {services, ok, failures, structs}. */
const CLIENT = String.raw`
import json, os, sys
from grpc_tools import protoc
work, address, version = sys.argv[1], sys.argv[2], sys.argv[3]
if protoc.main(['protoc', '-I' + work, '--python_out=' + work, 'reflection.proto']) != 0: sys.exit('protoc failed')
sys.path.insert(0, work)
import grpc
import reflection_pb2 as r
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, descriptor

channel = grpc.insecure_channel(address)
info = channel.stream_stream('/grpc.reflection.%s.ServerReflection/ServerReflectionInfo' % version,
    request_serializer=r.ServerReflectionRequest.SerializeToString, response_deserializer=r.ServerReflectionResponse.FromString)
def ask(**kw):
    return list(info(iter([r.ServerReflectionRequest(**kw)]), timeout=60))[0]
services = [s.name for s in ask(list_services='').list_services_response.service if not s.name.startswith('grpc.')]
pool = descriptor_pool.DescriptorPool()
protos = {}
for name in services:
    for b in ask(file_containing_symbol=name).file_descriptor_response.file_descriptor_proto:
        fd = descriptor_pb2.FileDescriptorProto(); fd.ParseFromString(b); protos[fd.name] = fd
added = set()
def add(name):
    if name in added: return
    for dep in protos[name].dependency: add(dep)
    pool.Add(protos[name]); added.add(name)
for name in protos: add(name)
factory = message_factory.MessageFactory(pool)
F = descriptor.FieldDescriptor
structs = 0
def scalar(f):
    if f.type == F.TYPE_STRING: return 'x'
    if f.type == F.TYPE_BYTES: return b'x'
    if f.type == F.TYPE_BOOL: return True
    if f.type == F.TYPE_ENUM: return f.enum_type.values[-1].number
    if f.type in (F.TYPE_FLOAT, F.TYPE_DOUBLE): return 1.5
    return 7
def fill_struct(s):
    s.fields['s'].string_value = 'struct-string'
    s.fields['n'].number_value = 2.5
    s.fields['b'].bool_value = True
    s.fields['z'].null_value = 0
    s.fields['l'].list_value.values.add().string_value = 'item'
    s.fields['nested'].struct_value.fields['k'].string_value = 'v'
def fill(m, depth=0):
    global structs
    d = m.DESCRIPTOR
    if d.full_name == 'google.protobuf.Struct':
        structs += 1; fill_struct(m); return
    if d.full_name == 'google.protobuf.Value':
        structs += 1; fill_struct(m.struct_value); return
    if d.full_name == 'google.protobuf.ListValue':
        structs += 1; m.values.add().string_value = 'listed'; return
    if d.full_name == 'google.protobuf.Any':
        m.type_url = 'type.googleapis.com/google.protobuf.Empty'; m.value = b''; return
    if depth > 5: return
    oneofs = set()
    for f in d.fields:
        if f.containing_oneof is not None:
            if f.containing_oneof.name in oneofs: continue
            oneofs.add(f.containing_oneof.name)
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            key, val = f.message_type.fields_by_name['key'], f.message_type.fields_by_name['value']
            target = getattr(m, f.name)
            if val.message_type is not None: fill(target[scalar(key)], depth + 1)
            else: target[scalar(key)] = scalar(val)
        elif f.label == F.LABEL_REPEATED:
            if f.message_type is not None: fill(getattr(m, f.name).add(), depth + 1)
            else: getattr(m, f.name).append(scalar(f))
        elif f.message_type is not None:
            getattr(m, f.name).SetInParent(); fill(getattr(m, f.name), depth + 1)
        else:
            setattr(m, f.name, scalar(f))
ok, failures = 0, []
for name in services:
    sd = pool.FindServiceByName(name)
    for method in sd.methods:
        try:
            cls = factory.GetPrototype(method.input_type)
            msg = cls(); fill(msg)
            call = channel.unary_unary('/%s/%s' % (name, method.name), request_serializer=lambda x: x.SerializeToString(), response_deserializer=lambda b: b)
            call(msg, timeout=30); ok += 1
        except Exception as e:
            failures.append('%s/%s: %s' % (name, method.name, str(e)[:300]))
print(json.dumps({'services': len(services), 'ok': ok, 'failures': failures[:20], 'structs': structs}))
`;
