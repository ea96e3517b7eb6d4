/**
 * Numbers in event data given to explain, send and rule tests are read exactly
 * (issue 15, "Numbers from the wire"): an int64 beyond 2^53 written as a JSON
 * or YAML number is not rounded, and 2^63-1 is accepted.
 */

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import { startHost } from '../server/support.js';
import type { RunningHost } from '../server/support.js';
import { PROTO_DIR, assertBuilt, runCommand, workspace } from './support.js';
import type { Workspace } from './support.js';

const RULES = `version: 1
rules:
  - name: exact-version
    on: userLoggedIn
    when: { "==": [ { var: version }, "9007199254740993" ] }
    do: [ { log: { message: "version \${event.version}" } } ]
`;

let ws: Workspace | undefined;
let host: RunningHost | undefined;
beforeAll(() => assertBuilt());
afterEach(async () => {
  ws?.remove();
  ws = undefined;
  await host?.host.shutdown(0);
  host = undefined;
});

describe('exact integers in event data', () => {
  it('explain --data (file and stdin): 2^53+1 stays 2^53+1, so the rule matches', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    ws.write('event.json', '{ "version": 9007199254740993 }');
    const fromFile = await runCommand(['explain', 'userLoggedIn', '--data', 'event.json', '--json'], { cwd: ws.dir });
    expect(fromFile.stderr).toBe('');
    expect(fromFile.stdout).toContain('"outcome": "matched"');
    expect(fromFile.stdout).toContain('version 9007199254740993');
    const fromStdin = await runCommand(['explain', 'userLoggedIn', '--data', '-'], { cwd: ws.dir, stdin: '{"version": 9007199254740993}' });
    expect(fromStdin.stdout).toContain('✓ exact-version  matched');
  });

  it('explain accepts 2^63-1 and -2^63, and still refuses 2^63 with the field path', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    for (const v of ['9223372036854775807', '-9223372036854775808']) {
      const r = await runCommand(['explain', 'userLoggedIn', '--data', '-', '--json'], { cwd: ws.dir, stdin: `{"version": ${v}}` });
      expect([v, r.code, r.stderr]).toEqual([v, 0, '']);
      expect(r.stdout).toContain(`"version": "${v}"`);
    }
    const over = await runCommand(['explain', 'userLoggedIn', '--data', '-'], { cwd: ws.dir, stdin: '{"version": 9223372036854775808}' });
    expect(over.code).toBe(2);
    expect(over.stderr).toContain('version');
  });

  it('a top-level "__proto__" key in --data is reported as an unknown field, not dropped silently', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    const r = await runCommand(['explain', 'userLoggedIn', '--data', '-'], { cwd: ws.dir, stdin: '{"__proto__": {"namespace": "vip"}}' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('__proto__');
  });

  it('send puts the exact value on the wire', async () => {
    ws = workspace();
    const catalog = await loadCatalog({ dirs: [PROTO_DIR] });
    host = await startHost({ catalog });
    ws.write('event.json', '{ "version": 9223372036854775807, "userId": "u1" }');
    const r = await runCommand(['send', 'userLoggedIn', '--data', 'event.json', '--target', host.address], { cwd: ws.dir });
    expect([r.code, r.stderr]).toEqual([0, expect.not.stringContaining('rror')]);
    expect(host.seen.map((s) => s.event.version)).toEqual(['9223372036854775807']);
  });

  it('rule tests read YAML integers in data exactly', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    ws.write(
      'rules.test.yaml',
      `version: 1
cases:
  - name: exact
    event: userLoggedIn
    data: { version: 9007199254740993 }
    expect: { matched: [exact-version] }
  - name: rounded neighbour does not match
    event: userLoggedIn
    data: { version: 9007199254740992 }
    expect: { nothing: true }
`,
    );
    const r = await runCommand(['test', 'rules.test.yaml'], { cwd: ws.dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('✓ exact');
    expect(r.code).toBe(0);
  });
});


