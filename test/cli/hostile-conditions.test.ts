/**
 * Issue 16, "Time and CPU": the real server (dry run) on the real AGS event
 * catalog, a real gRPC client (`send`), and events built to stall condition
 * evaluation: a catastrophic-backtracking regex, a pattern chosen by the
 * event, and a condition quadratic over a 20k-item list. Each is answered
 * promptly with the rule's outcome (`notMatched`, or `error` logged) while
 * health checks keep answering.
 */
import { afterEach, beforeAll, expect, it } from 'vitest';
import { AGS_SPECS_DIR, describeWith, sharedSpecs } from '../support/prereq.js';
import { healthCheck, healthClient } from '../server/support.js';
import { assertBuilt, runCommand, startServer, waitFor, workspace } from './support.js';
import type { RunningServer, Workspace } from './support.js';

const RULES = `version: 1
rules:
  - name: backtracking
    on: partyCreated
    when: { matches: [{ var: payload.party.partyCode }, "^(x+x+)+y$"] }
    do:
      - log: { message: backtracking matched }
  - name: pattern-from-event
    on: partyCreated
    when: { matches: [{ var: payload.party.leaderId }, { var: payload.party.invitationToken }] }
    do:
      - log: { message: pattern matched }
  - name: quadratic
    on: partyCreated
    when:
      some:
        - { var: payload.party.members }
        - some: [{ var: "../payload.party.members" }, { "==": [{ var: "" }, "nobody"] }]
    do:
      - log: { message: quadratic matched }
  - name: still-runs
    on: partyCreated
    do:
      - log: { message: "party \${event.payload.party.partyId}" }
`;

let ws: Workspace;
let server: RunningServer | undefined;
beforeAll(() => assertBuilt());
afterEach(async () => {
  await server?.stop();
  server = undefined;
  ws?.remove();
});

describeWith(sharedSpecs(), 'hostile events against conditions (real server, real client)', () => {
  it('a backtracking regex, an event-chosen pattern and a quadratic condition end promptly; health checks answer meanwhile', async () => {
    ws = workspace();
    const rulesFile = ws.write('rules.yaml', RULES);
    server = await startServer(ws.dir, { PROTO_DIR: AGS_SPECS_DIR, RULES_FILE: rulesFile });
    const target = `127.0.0.1:${server.port}`;
    const members = Array.from({ length: 20_000 }, (_, i) => `member-${i}`);
    const event = {
      id: 'hostile-1',
      namespace: 'mygame',
      payload: { party: { partyId: 'p-1', partyCode: 'x'.repeat(30), leaderId: 'a'.repeat(5000), invitationToken: `(a)\\1|${'(a*)*'.repeat(300)}b`, members } },
    };
    const sent = runCommand(['send', 'partyCreated', '--data', '-', '--target', target, '--timeout', '60000'], { cwd: ws.dir, env: { PROTO_DIR: AGS_SPECS_DIR }, stdin: JSON.stringify(event) });
    const health = healthClient(target);
    try {
      expect(await healthCheck(health)).toBe('SERVING');
    } finally {
      health.close();
    }
    const r = await sent;
    expect(r.code, r.stderr).toBe(0);
    const summary = await waitFor('the event summary', () => server!.lines().find((l) => l.eventId === 'hostile-1' && typeof l.rules === 'object'));
    expect(summary.rules).toEqual({ backtracking: 'notMatched', 'pattern-from-event': 'error', quadratic: 'error', 'still-runs': 'matched' });
    const failures = server.lines().filter((l) => l.msg === 'rule quadratic failed to evaluate' || l.msg === 'rule pattern-from-event failed to evaluate');
    expect(failures.map((l) => l.error)).toEqual(
      expect.arrayContaining([expect.stringMatching(/more than 1000000 operations/), expect.stringMatching(/^matches: the pattern is longer than 1000 characters/)]),
    );
  });
});
