/**
 * Rule tests compare requests as README.md ("Test it") and rules.test.schema.json
 * say (issue 27, row 1): in `body`, `query`, `headers` and every object under
 * them only the keys written are compared; `exact: true` asks for equality.
 * The `test` command in-process on files in a temp dir.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { testCommand } from '../../src/cli/test.js';
import { FIXTURE_PROTO_DIR, FIXTURE_RULES_FILE } from '../support/app-fixture.js';
import { workspace } from '../support/workspace.js';
import type { Workspace } from '../support/workspace.js';

const USER = '0123456789abcdef0123456789abcdef';
const PATH = `/platform/admin/namespaces/mygame/users/${USER}/fulfillment`;

function capture() {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        append(chunk.toString());
        cb();
      },
    });
  return { io: { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) }, out: () => out, err: () => err };
}

let ws: Workspace | undefined;
afterEach(() => ws?.remove());

async function runTests(request: string): Promise<{ code: number; out: string; err: string }> {
  ws = workspace('eer-request-compare-');
  const file = ws.write(
    'rules.test.yaml',
    `version: 1
rules: ${FIXTURE_RULES_FILE}
env: { AB_NAMESPACE: mygame, ITEM_ID_TO_GRANT: item-1 }
cases:
  - name: the grant
    event: userLoggedIn
    data: { namespace: mygame, userId: ${USER} }
    expect:
      actions:
        - rule: grant-item-on-login
          action: grantItem
          requests:
            - ${request}
`,
  );
  const c = capture();
  const code = await testCommand([file], c.io, { rulesFile: FIXTURE_RULES_FILE, protoDirs: [FIXTURE_PROTO_DIR], env: {} });
  return { code, out: c.out(), err: c.err() };
}

describe('rule tests: requests compare the keys written', () => {
  it('a partial body (only itemId, as the README writes it) passes: quantity, source and orderNo are not compared', async () => {
    const r = await runTests(`{ method: POST, path: ${PATH}, body: { itemId: item-1 } }`);
    expect(r.err).toBe('');
    expect(r.out).toBe('✓ the grant\n1 passed, 0 failed\n');
    expect(r.code).toBe(0);
  });

  it('a key written with another value still fails, with its diff line', async () => {
    const r = await runTests(`{ body: { itemId: item-2 } }`);
    expect(r.out).toContain('    - actions[0].requests[0].body.itemId: "item-2"\n    + actions[0].requests[0].body.itemId: "item-1"\n');
    expect(r.out).not.toContain('quantity');
    expect(r.code).toBe(1);
  });

  it('a key written that the request lacks fails', async () => {
    const r = await runTests(`{ body: { itemId: item-1, region: eu } }`);
    expect(r.out).toContain('    - actions[0].requests[0].body.region: "eu"\n');
    expect(r.code).toBe(1);
  });

  it('exact: true compares the body whole: the keys not written are reported', async () => {
    const r = await runTests(`{ exact: true, body: { itemId: item-1 } }`);
    expect(r.out).toContain('    + actions[0].requests[0].body.quantity: 1\n');
    expect(r.out).toContain('    + actions[0].requests[0].body.source: "REWARD"\n');
    expect(r.code).toBe(1);
  });

  it('exact: true with the whole body passes', async () => {
    const r = await runTests(`{ exact: true, body: { itemId: item-1, quantity: 1, source: REWARD } }`);
    expect(r.out).toBe('✓ the grant\n1 passed, 0 failed\n');
    expect(r.code).toBe(0);
  });

  it('exact must be a boolean (a format error, exit 2)', async () => {
    const r = await runTests(`{ exact: yes please, body: { itemId: item-1 } }`);
    expect(r.err).toMatch(/rules\.test\.yaml:\d+:\d+: exact must be true/);
    expect(r.code).toBe(2);
  });
});
