/**
 * A .proto added to PROTO_DIR while the server runs: `validate` (which reads
 * proto/ afresh) says the rules are valid, the running server's reload rejects
 * them as an unknown event, and its log says why (protos load at start-up:
 * restart). The message of `validate` for an event not loaded says the same.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_PROTO_DIR, FIXTURE_RULES_FILE } from '../support/app-fixture.js';
import { assertBuilt, runCommand, startServer, waitFor, workspace } from './support.js';
import type { RunningServer, Workspace } from './support.js';

const QUEST_PROTO = `syntax = "proto3";
package acme.quest.v1;
import "google/protobuf/empty.proto";
message QuestCompleted { string id = 1; string namespace = 2; string user_id = 3 [json_name = "userId"]; }
service QuestCompletedService { rpc OnMessage(QuestCompleted) returns (google.protobuf.Empty); }
`;
const QUEST_RULES = `version: 1
rules:
  - name: quest-done
    on: questCompleted
    do:
      - log: { message: quest done }
`;

let ws: Workspace;
let server: RunningServer | undefined;
beforeAll(() => assertBuilt());
afterEach(async () => {
  await server?.stop();
  server = undefined;
  ws?.remove();
});

describe('a .proto added while the server runs', () => {
  it('validate: valid; the reload: rejected with the reason (restart to load new protos)', async () => {
    ws = workspace();
    const proto = join(ws.dir, 'proto');
    cpSync(FIXTURE_PROTO_DIR, proto, { recursive: true });
    cpSync(FIXTURE_RULES_FILE, join(ws.dir, 'rules.yaml'));
    const env = { PROTO_DIR: proto, RULES_FILE: join(ws.dir, 'rules.yaml') };

    // before the .proto: validate names the fix
    writeFileSync(join(ws.dir, 'quest.yaml'), QUEST_RULES);
    const before = await runCommand(['validate', 'quest.yaml'], { cwd: ws.dir, env });
    expect(before.code).toBe(1);
    expect(before.stderr + before.stdout).toContain(`quest.yaml:4:9: error [unknown-event] rule "quest-done": unknown event "questCompleted"\n    fix: run "extend-event-rules samples --list" for the loaded events; for another AGS event, download its .proto`);

    server = await startServer(ws.dir, { ...env, RULES_WATCH: 'true' });
    mkdirSync(join(proto, 'acme', 'quest', 'v1'), { recursive: true });
    writeFileSync(join(proto, 'acme', 'quest', 'v1', 'quest.proto'), QUEST_PROTO);
    const after = await runCommand(['validate'], { cwd: ws.dir, env });
    expect(after.stdout).toBe(`${join(ws.dir, 'rules.yaml')}: valid: 2 rules on 2 events\n`);

    writeFileSync(join(ws.dir, 'rules.yaml'), QUEST_RULES);
    expect((await runCommand(['validate'], { cwd: ws.dir, env })).code).toBe(0);
    const rejected = await waitFor('the reload to be rejected', () => server!.lines().find((l) => l.msg?.startsWith('rules reload rejected')));
    expect(rejected.msg).toContain('unknown event "questCompleted"');
    expect(rejected.note).toBe(
      'the running server loaded the .proto files of PROTO_DIR at start-up: an event whose .proto was added since is unknown to it until a restart (validate reads proto/ afresh and may say valid)',
    );
    expect(rejected.msg).toContain(String(rejected.note));
  });
});
