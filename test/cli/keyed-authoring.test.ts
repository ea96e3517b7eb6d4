/**
 * `limit.key` written, tested and explained without code, on AGS's own party
 * event (lobby protos): `explain --history` shows the key's state and the key
 * it counted under; rule tests read the key's record from `history:` under the
 * key's value, `expect.suppressed` holds, a failing case names the key, and
 * an event without a party id is an error naming the key, not a count.
 */
import { resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect } from 'vitest';
import { REPO_ROOT, itWith, sharedSpecs } from '../support/prereq.js';
import { assertBuilt, runCommand, workspace } from './support.js';
import type { Workspace } from './support.js';

const LOBBY = resolve(REPO_ROOT, '../shared/ags-event-specs/accelbyte/lobby');
const USER = '0123456789abcdef0123456789abcdef';
const RULES = `version: 1
rules:
  - name: party-bonus
    on: partyUserJoined
    limit: { count: 1, per: day, timeZone: Asia/Tokyo, key: "party-\${event.payload.party.partyId}" }
    do: [ { grantItem: { itemId: party-chest, userId: "\${event.userId}" } } ]
`;
const ENV = { PROTO_DIR: LOBBY };

let ws: Workspace;
beforeAll(() => assertBuilt());
afterEach(() => ws?.remove());

describe('limit.key without code (lobby partyUserJoined)', () => {
  itWith(sharedSpecs(), 'explain --history: the key\'s firings decide, the key is named; without a party id the rule is an error naming the field', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    ws.write('event.json', JSON.stringify({ namespace: 'mygame', userId: USER, payload: { party: { partyId: 'P1' } } }));
    ws.write('alone.json', JSON.stringify({ namespace: 'mygame', userId: USER, payload: { party: { partyId: '' } } }));
    ws.write('history.yaml', 'firings: [ { rule: party-bonus, at: 2026-03-01T01:00:00Z } ]\n');
    const explain = (...args: string[]) => runCommand(['explain', 'partyUserJoined', '--rules', 'rules.yaml', '--now', '2026-03-01T05:00:00Z', ...args], { cwd: ws.dir, env: ENV });

    const refused = await explain('--data', 'event.json', '--history', 'history.yaml');
    expect(refused.stdout).toMatch(/✗ party-bonus {2}suppressed by its limit/);
    expect(refused.stdout).toMatch(/✗ limit: 1 of 1 firing per day Asia\/Tokyo under key "party-P1" before this event/);
    // the next Tokyo day (15:00Z) the same history no longer counts
    const nextDay = await runCommand(['explain', 'partyUserJoined', '--rules', 'rules.yaml', '--now', '2026-03-01T15:00:00Z', '--data', 'event.json', '--history', 'history.yaml'], { cwd: ws.dir, env: ENV });
    expect(nextDay.stdout).toMatch(/✓ limit: 0 of 1 firing per day Asia\/Tokyo under key "party-P1"/);
    const alone = await explain('--data', 'alone.json', '--history', 'history.yaml');
    expect(alone.stdout).toMatch(/party-bonus {2}error: key party-\$\{event\.payload\.party\.partyId\}: \$\{event\.payload\.party\.partyId\} is empty for this event/);
    expect(alone.stdout).not.toMatch(/under key "party-"/);
  });

  itWith(sharedSpecs(), 'rule tests: history under the key\'s value, expect.suppressed; a failing case shows the key\'s state', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    const kase = (name: string, party: string, expect: string): string => `  - name: "${name}"
    event: partyUserJoined
    now: 2026-03-01T05:00:00Z
    data: { namespace: mygame, userId: ${USER}, payload: { party: { partyId: ${party} } } }
    history:
      party-P1:
        firings: [ { rule: party-bonus, at: 2026-03-01T01:00:00Z } ]
    expect: ${expect}
`;
    ws.write('rules.test.yaml', `version: 1\nenv: { AB_NAMESPACE: mygame }\ncases:\n${kase('the party had its bonus today', 'P1', '{ matched: [], suppressed: [party-bonus] }')}${kase('another party has not', 'P2', '{ matched: [party-bonus] }')}${kase('no party id: an error, not a count', '""', '{ matched: [], errors: [party-bonus] }')}`);
    const ok = await runCommand(['test'], { cwd: ws.dir, env: { ...ENV, RULES_FILE: `${ws.dir}/rules.yaml` } });
    expect(ok.stdout + ok.stderr).toMatch(/3 passed/);
    expect(ok.code).toBe(0);

    ws.write('rules.test.yaml', `version: 1\nenv: { AB_NAMESPACE: mygame }\ncases:\n${kase('wrongly expected to fire', 'P1', '{ matched: [party-bonus] }')}`);
    const failed = await runCommand(['test'], { cwd: ws.dir, env: { ...ENV, RULES_FILE: `${ws.dir}/rules.yaml` } });
    expect(failed.code).toBe(1);
    expect(failed.stdout + failed.stderr).toMatch(/party-bonus: suppressed \(limit: 1 of 1 per day Asia\/Tokyo under key "party-P1"/);
  });
});
