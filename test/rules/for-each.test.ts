/**
 * `forEach` on an action: one action per item of a list of the event, keyed by
 * the item's value (stable when the list is reordered), bounded (default 100)
 * past which the rule ends in a dead letter with the reason; on the real
 * session and matchmaking protos of ../shared.
 */
import { resolve } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { planSteps } from '../../src/authoring/workbench.js';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog, EventService } from '../../src/events/types.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import type { RuleProblem } from '../../src/rules/types.js';
import { REPO_ROOT, describeWith, sharedSpecs } from '../support/prereq.js';

const SPECS = resolve(REPO_ROOT, '../shared/ags-event-specs/accelbyte');
const ENDED = 'accelbyte.session.session.v1.Mpv2SessionHistoryGameSessionEndedEventService';
const REQUESTED = 'accelbyte.matchmaking.matchmaking.v1.MatchmakingMatchmakingRequestedService';
const U = (n: number): string => n.toString(16).padStart(32, '0');

const specs = sharedSpecs();
let catalog: Catalog;
beforeAll(async () => {
  if (!specs.ok) return;
  catalog = await loadCatalog({ dirs: [resolve(SPECS, 'session'), resolve(SPECS, 'matchmaking')] });
  for (const s of [ENDED, REQUESTED]) if (!catalog.services.some((x) => x.fullName === s)) throw new Error(`${s} is not in ${SPECS}`);
});

function compileResult(rules: string) {
  return compileRulesText(`version: 1\nrules:\n${rules}`, 'rules.yaml', { catalog, registry: createDefaultRegistry(), env: {}, unsetEnv: 'error' });
}
function compile(rules: string): RuleSet {
  const r = compileResult(rules);
  if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
  return r.rules;
}
function problems(rules: string): RuleProblem[] {
  const r = compileResult(rules);
  if (r.ok) throw new Error('expected problems');
  return [...r.problems];
}

export const MATCH_XP = `
  - name: match-xp-for-everyone
    on: gameSessionEndedEvent
    do:
      - forEach: "\${event.payload.userIds}"
        grantSeasonExp: { exp: 100, userId: "\${item}" }
`;

export const PARTY_REWARD = `
  - name: party-reward
    on: matchmakingRequested
    do:
      - forEach: "\${event.payload.matchmakingRequest.partyMembers}"
        as: member
        grantItem: { itemId: party-chest, userId: "\${member.userId}" }
`;

function ended(userIds: string[]) {
  return { id: 'e1', namespace: 'ns', payload: { userIds, namespace: 'ns' } };
}

describeWith(specs, 'forEach: one action per item, keyed by the item', () => {
  it('match-xp-for-everyone: one grantSeasonExp per player of the session, each with its own idempotency key', () => {
    const rules = compile(MATCH_XP);
    const r = rules.evaluate(ENDED, ended([U(1), U(2), U(3)]));
    expect(r.outcomes[0]!.outcome).toBe('matched');
    expect(r.plan.map((p) => [p.params.userId, p.key])).toEqual([1, 2, 3].map((n) => [U(n), `grantSeasonExp#0[${U(n)}]`]));
  });

  it('the keys follow the items, not their positions: a reordered list plans the same keys for the same players', () => {
    const rules = compile(MATCH_XP);
    const a = rules.evaluate(ENDED, ended([U(1), U(2), U(3)]) as never).plan.map((p) => `${p.key}=${String(p.params.userId)}`);
    const b = rules.evaluate(ENDED, ended([U(3), U(1), U(2)]) as never).plan.map((p) => `${p.key}=${String(p.params.userId)}`);
    expect(new Set(b)).toEqual(new Set(a));
  });

  it('a player listed twice gets one action; an empty or absent list plans none', () => {
    const rules = compile(MATCH_XP);
    expect(rules.evaluate(ENDED, ended([U(1), U(1), U(2)]) as never).plan).toHaveLength(2);
    expect(rules.evaluate(ENDED, ended([]) as never).plan).toEqual([]);
    expect(rules.evaluate(ENDED, { id: 'e1', namespace: 'ns' }).plan).toEqual([]);
  });

  it('as: member reads objects of the list: party-reward grants each party member', () => {
    const rules = compile(PARTY_REWARD);
    const event = { id: 'm1', namespace: 'ns', payload: { matchmakingRequest: { partyMembers: [{ userId: U(7) }, { userId: U(8), extraAttributes: { role: 'tank' } }] } } };
    const r = rules.evaluate(REQUESTED, event);
    expect(r.plan.map((p) => p.params.userId)).toEqual([U(7), U(8)]);
    expect(r.plan.map((p) => p.key)).toEqual([expect.stringMatching(/^grantItem#0\[#[\w-]{16}\]$/), expect.stringMatching(/^grantItem#0\[#[\w-]{16}\]$/)]);
    expect(new Set(r.plan.map((p) => p.key)).size).toBe(2);
    // explain and rule tests plan every item (the workbench's dry run)
    const service = catalog.services.find((s) => s.fullName === REQUESTED) as EventService;
    const steps = planSteps(createDefaultRegistry(), service, event, r.plan, 'ns', new Date('2026-03-01T00:00:00Z'));
    expect(steps.map((s) => [s.action, s.error, JSON.stringify(s.requests)])).toEqual([
      ['grantItem', undefined, expect.stringContaining(U(7))],
      ['grantItem', undefined, expect.stringContaining(U(8))],
    ]);
  });

  it('past its bound (default 100) the rule is an error: none of its actions run, each carries the reason (a dead letter)', () => {
    const rules = compile(MATCH_XP);
    const r = rules.evaluate(ENDED, ended(Array.from({ length: 101 }, (_, i) => U(i + 1))));
    expect(r.outcomes[0]).toMatchObject({ outcome: 'error', error: expect.stringMatching(/has 101 items, more than its bound of 100 \(max\)/) });
    expect(r.plan).toHaveLength(1);
    expect(r.plan[0]!.failure?.name).toBe('ForEachListError');
    expect(rules.evaluate(ENDED, ended(Array.from({ length: 100 }, (_, i) => U(i + 1))) as never).plan).toHaveLength(100);
    const raised = compile(MATCH_XP.replace('forEach:', 'max: 200\n        forEach:'));
    expect(raised.evaluate(ENDED, ended(Array.from({ length: 150 }, (_, i) => U(i + 1))) as never).plan).toHaveLength(150);
  });

  it('a member whose field is missing fails its own action only (dead letter), the others run', () => {
    const rules = compile(PARTY_REWARD);
    const event = { id: 'm1', namespace: 'ns', payload: { matchmakingRequest: { partyMembers: [{ userId: U(7) }, { extraAttributes: { role: 'tank' } }] } } };
    const r = rules.evaluate(REQUESTED, event);
    expect(r.plan.map((p) => p.failure === undefined)).toEqual([true, false]);
    expect(r.outcomes[0]!.outcome).toBe('error');
  });
});

describeWith(specs, 'forEach: every mistake with its place and a fix', () => {
  it('not a list, not a reference, a bad as, as without forEach, an unknown field of an item is not checked against the event', () => {
    const p = problems(`
  - name: a
    on: gameSessionEndedEvent
    do:
      - forEach: "\${event.payload.namespace}"
        grantSeasonExp: { exp: 100, userId: "\${item}" }
  - name: b
    on: gameSessionEndedEvent
    do:
      - forEach: "players"
        grantSeasonExp: { exp: 100, userId: "\${item}" }
  - name: c
    on: gameSessionEndedEvent
    do:
      - forEach: "\${event.payload.userIds}"
        as: payload
        grantSeasonExp: { exp: 100, userId: "\${payload}" }
  - name: d
    on: gameSessionEndedEvent
    do:
      - as: member
        grantSeasonExp: { exp: 100, userId: "\${event.userId}" }
  - name: e
    on: gameSessionEndedEvent
    do:
      - forEach: "\${event.payload.userIdz}"
        grantSeasonExp: { exp: 100, userId: "\${item}" }
`);
    const text = p.map((x) => `${x.line} ${x.code} ${x.message} | ${x.fix ?? ''}`);
    expect(text).toHaveLength(5);
    expect(text).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^7 for-each forEach reads \$\{event\.payload\.namespace\}, a string field: only a list/),
        expect.stringMatching(/^12 schema forEach does not match/),
        expect.stringMatching(/^18 for-each as: "payload" is a field of the event/),
        expect.stringMatching(/^23 for-each "as" belongs to a fan-out/),
        expect.stringMatching(/^28 unknown-path .*userIdz.*userIds/),
      ]),
    );
  });
});
