/**
 * An independent client: Debian's python3 with grpcio, stubs generated from our
 * proto/ by grpc_tools.protoc, the event built from JSON with json_format.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadCatalog } from '../../src/events/catalog.js';
import { debianPython, describeWith } from '../support/prereq.js';
import { startHost } from './support.js';
import type { RunningHost } from './support.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const LOGGED_IN = 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService';

const SCRIPT = String.raw`
import json, os, sys
import grpc_tools
from grpc_tools import protoc
out, proto_dir, address = sys.argv[1], sys.argv[2], sys.argv[3]
include = os.path.join(os.path.dirname(grpc_tools.__file__), '_proto')
rc = protoc.main(['protoc', '-I' + proto_dir, '-I' + include, '--python_out=' + out, '--grpc_python_out=' + out,
                  'accelbyte/iam/account/v1/account.proto'])
if rc != 0:
    print('PROTOC_FAILED', rc); sys.exit(1)
sys.path.insert(0, out)
import grpc
from google.protobuf import json_format
from accelbyte.iam.account.v1 import account_pb2, account_pb2_grpc
event = json_format.ParseDict({
    'id': 'py-1', 'version': 7, 'namespace': 'mygame', 'parentNamespace': 'studio', 'userId': 'user-py',
    'payload': {'userAccount': {'userId': 'user-py', 'namespace': 'mygame', 'emailAddress': 'py@example.com'},
                'userAuthentication': {'platformId': 'steam', 'refresh': True}},
}, account_pb2.UserLoggedIn())
with grpc.insecure_channel(address) as channel:
    stub = account_pb2_grpc.UserAuthenticationUserLoggedInServiceStub(channel)
    try:
        stub.OnMessage(event, timeout=30)
        print('STATUS OK')
    except grpc.RpcError as e:
        print('STATUS', e.code().name, e.details())
`;

describeWith(debianPython('grpc_tools', 'python3-grpc-tools'), 'python grpcio client', () => {
  let h: RunningHost;
  let dir: string;

  beforeAll(async () => {
    const catalog = await loadCatalog({ dirs: [FIXTURE_PROTO_DIR] });
    h = await startHost({ catalog, served: new Set([LOGGED_IN]) });
    dir = await mkdtemp(join(tmpdir(), 'server-py-'));
  });
  afterAll(async () => {
    await h.host.shutdown(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('sends UserLoggedIn built from JSON and gets OK; the handler sees the camelCase event', async () => {
    const script = join(dir, 'client.py');
    await writeFile(script, SCRIPT);
    const { stdout } = await run(PYTHON, [script, dir, FIXTURE_PROTO_DIR, h.address], {
      timeout: 60_000,
      env: { PATH: '/usr/bin:/bin', HOME: dir, PYTHONDONTWRITEBYTECODE: '1' },
    });
    expect(stdout.trim().split('\n').at(-1)).toBe('STATUS OK');
    expect(h.seen).toHaveLength(1);
    expect(h.seen[0]?.event).toMatchObject({
      id: 'py-1',
      version: 7,
      parentNamespace: 'studio',
      userId: 'user-py',
      payload: {
        userAccount: { userId: 'user-py', namespace: 'mygame', emailAddress: 'py@example.com' },
        userAuthentication: { platformId: 'steam', refresh: true },
      },
    });
  });
});
