import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog } from '../../src/events/types.js';
import { fileDescriptorSet, listServices, reflect, startHost } from './support.js';
import type { ReflectionVersion, RunningHost } from './support.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';

const LOGGED_IN = 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService';
const ACCOUNT_FILE = 'accelbyte/iam/account/v1/account.proto';
const INFRA = ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

const require = (await import('node:module')).createRequire(import.meta.url);
const descriptorRoot = protobuf.Root.fromJSON(require('protobufjs/google/protobuf/descriptor.json') as protobuf.INamespace);
const FileDescriptorProto = descriptorRoot.lookupType('google.protobuf.FileDescriptorProto');

interface Fdp {
  name: string;
  package?: string;
  dependency?: string[];
  syntax?: string;
  messageType?: { name: string; field?: { name: string; jsonName?: string; typeName?: string; number: number }[] }[];
  service?: { name: string; method: { name: string; inputType: string; outputType: string }[] }[];
}

function decodeFiles(buffers: readonly Buffer[]): Fdp[] {
  return buffers.map((b) => FileDescriptorProto.toObject(FileDescriptorProto.decode(b), { defaults: false }) as Fdp);
}

let catalog: Catalog;
let h: RunningHost;

beforeAll(async () => {
  catalog = await loadCatalog({ dirs: [FIXTURE_PROTO_DIR] });
  h = await startHost({ catalog, served: new Set([LOGGED_IN]) });
});
afterAll(async () => {
  await h.host.shutdown(0);
});

describe.each<ReflectionVersion>(['v1', 'v1alpha'])('reflection %s', (version) => {
  it('lists exactly the served services plus health and reflection', async () => {
    expect(await listServices(h.address, version)).toEqual([LOGGED_IN, ...INFRA].sort());
  });

  it('returns the file of a service symbol with its dependency closure, json_names preserved', async () => {
    const [answer] = await reflect(h.address, version, [{ file_containing_symbol: LOGGED_IN }]);
    const files = decodeFiles(answer?.file_descriptor_response?.file_descriptor_proto ?? []);
    expect(files.map((f) => f.name)).toEqual([ACCOUNT_FILE, 'google/protobuf/empty.proto']);
    const account = files[0]!;
    expect(account.package).toBe('accelbyte.iam.account.v1');
    expect(account.syntax).toBe('proto3');
    expect(account.dependency).toContain('google/protobuf/empty.proto');
    const service = account.service?.find((s) => s.name === 'UserAuthenticationUserLoggedInService');
    expect(service?.method).toEqual([
      expect.objectContaining({
        name: 'OnMessage',
        inputType: '.accelbyte.iam.account.v1.UserLoggedIn',
        outputType: '.google.protobuf.Empty',
      }),
    ]);
    const event = account.messageType?.find((m) => m.name === 'UserLoggedIn');
    expect(event?.field?.find((f) => f.name === 'parent_namespace')).toMatchObject({ number: 6, jsonName: 'parentNamespace' });
    expect(event?.field?.find((f) => f.name === 'payload')?.typeName).toMatch(/^\.accelbyte\.iam\.account\.v1\./);
    const permissions = account.messageType?.find((m) => m.name === 'Permissions');
    if (permissions) {
      // a json_name that is not the default camelCase survives
      expect(permissions.field?.find((f) => f.name === 'sched_action')?.jsonName).toBe('SchedAction');
    }
  });

  it('answers file_by_filename, methods and messages; unknown names get error 5', async () => {
    const answers = await reflect(h.address, version, [
      { file_by_filename: ACCOUNT_FILE },
      { file_by_filename: 'google/protobuf/empty.proto' },
      { file_containing_symbol: `${LOGGED_IN}.OnMessage` },
      { file_containing_symbol: 'accelbyte.iam.account.v1.UserLoggedIn' },
      { file_containing_symbol: 'grpc.health.v1.Health' },
      { file_containing_symbol: 'accelbyte.iam.account.v1.NoSuchThing' },
      { file_by_filename: 'no/such/file.proto' },
      { file_containing_extension: { containing_type: 'accelbyte.iam.account.v1.UserLoggedIn', extension_number: 100 } },
      { all_extension_numbers_of_type: 'accelbyte.iam.account.v1.UserLoggedIn' },
      { all_extension_numbers_of_type: 'accelbyte.iam.account.v1.NoSuchThing' },
    ]);
    const names = (i: number): string[] =>
      decodeFiles(answers[i]?.file_descriptor_response?.file_descriptor_proto ?? []).map((f) => f.name);
    expect(names(0)[0]).toBe(ACCOUNT_FILE);
    expect(names(1)).toEqual(['google/protobuf/empty.proto']);
    expect(names(2)[0]).toBe(ACCOUNT_FILE);
    expect(names(3)[0]).toBe(ACCOUNT_FILE);
    expect(names(4)).toEqual(['grpc/health/v1/health.proto']);
    for (const i of [5, 6, 7, 9]) {
      expect(answers[i]?.message_response).toBe('error_response');
      expect(answers[i]?.error_response?.error_code).toBe(grpc.status.NOT_FOUND);
    }
    expect(answers[8]?.message_response).toBe('all_extension_numbers_response');
    expect(answers[8]?.all_extension_numbers_response?.base_type_name).toBe('accelbyte.iam.account.v1.UserLoggedIn');
    expect(answers[8]?.all_extension_numbers_response?.extension_number ?? []).toEqual([]);
  });

  it('gives descriptors a client can be built from alone, and that client is served (what Postman does)', async () => {
    const [answer] = await reflect(h.address, version, [{ file_containing_symbol: LOGGED_IN }]);
    const set = fileDescriptorSet(answer?.file_descriptor_response?.file_descriptor_proto ?? []);
    // proto-loader keeps the descriptor's field names (proto names) for descriptor sets
    const definition = protoLoader.loadFileDescriptorSetFromBuffer(set, { keepCase: true, longs: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      accelbyte: { iam: { account: { v1: Record<string, grpc.ServiceClientConstructor> } } };
    };
    const Ctor = pkg.accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService!;
    const client = new Ctor(h.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      OnMessage(req: unknown, cb: (err: grpc.ServiceError | null, res?: unknown) => void): void;
    };
    try {
      const before = h.seen.length;
      const reply = await new Promise<unknown>((done, fail) => {
        client.OnMessage(
          {
            id: `reflected-${version}`,
            parent_namespace: 'studio',
            user_id: 'user-9',
            payload: { user_account: { user_id: 'user-9', namespace: 'mygame' } },
          },
          (err, res) => (err ? fail(err) : done(res)),
        );
      });
      expect(reply).toEqual({});
      expect(h.seen).toHaveLength(before + 1);
      expect(h.seen.at(-1)?.event).toMatchObject({
        id: `reflected-${version}`,
        parentNamespace: 'studio',
        payload: { userAccount: { userId: 'user-9', namespace: 'mygame' } },
      });
    } finally {
      client.close();
    }
  });
});
