/**
 * `facts` in rules: checked at load, read only by the rules whose condition
 * names them, a permanent lookup failure dead-letters the rule's actions
 * (never read as false), fixtures in rule tests.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FACT_OPERATIONS } from '../../src/ags/index.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import { LOGIN, fixtureCatalog, loginEvent, testRegistry } from './support/fixtures.js';

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: testRegistry(), env: {}, unsetEnv: 'error', facts: FACT_OPERATIONS };
});
const compileResult = (rules: string) => compileRulesText(`version: 1\nrules:\n${rules}`, 'rules.yaml', opts);
function compile(rules: string): RuleSet {
  const r = compileResult(rules);
  if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
  return r.rules;
}

const HOLDERS = `
  - name: holders
    on: userLoggedIn
    facts:
      pass: { getUserEntitlementOwnershipByItemId: { itemId: season-pass-2027 } }
      unread: { queryUserCurrencyWallets: {} }
    when: { "==": [ { var: facts.pass.owned }, true ] }
    do: [ { log: { message: chest } } ]
  - name: plain
    on: userLoggedIn
    do: [ { log: { message: hi } } ]
`;

describe('facts in rules', () => {
  it('only the facts a condition reads are requested, with their parameters', () => {
    const rules = compile(HOLDERS);
    expect(rules.factRequests(LOGIN, loginEvent() as never, Date.now())).toEqual([{ rule: 'holders', name: 'pass', operation: 'getUserEntitlementOwnershipByItemId', params: { itemId: 'season-pass-2027' } }]);
  });

  it('owned: matched; not owned: not matched; missing: error; refused by AGS: error with every action dead-lettered', () => {
    const rules = compile(HOLDERS);
    const run = (v: unknown) => rules.evaluate(LOGIN, loginEvent(), v === undefined ? {} : { facts: new Map([['holders', { pass: v as never }]]) });
    expect(run({ value: { owned: true } }).outcomes[0]!.outcome).toBe('matched');
    expect(run({ value: { owned: false } }).outcomes[0]!.outcome).toBe('notMatched');
    expect(run(undefined).outcomes[0]!).toMatchObject({ outcome: 'error', error: expect.stringMatching(/was not fetched/) });
    const refused = run({ error: 'getUserEntitlementOwnershipByItemId failed: 403 insufficient permission' });
    expect(refused.outcomes[0]).toMatchObject({ outcome: 'error', error: expect.stringMatching(/fact pass .*403/) });
    expect(refused.plan.filter((p) => p.rule === 'holders').map((p) => p.failure?.name)).toEqual(['FactLookupError']);
    expect(refused.outcomes[1]!.outcome).toBe('matched');
  });

  it('mistakes: an unknown operation, a parameter it does not take, a missing one, a condition reading an undeclared fact', () => {
    const r = compileResult(`
  - name: a
    on: userLoggedIn
    facts:
      pass: { getUserEntitlementOwnership: { itemId: x } }
      wallet: { queryUserCurrencyWallets: { currency: GEMS } }
      owns: { getUserEntitlementOwnershipByItemId: {} }
    when: { "==": [ { var: facts.pas.owned }, true ] }
    do: [ { log: { message: x } } ]
`);
    expect(r.ok).toBe(false);
    const text = r.ok ? [] : r.problems.map((p) => `${p.line} ${p.code} ${p.message} | ${p.fix ?? ''}`);
    expect(text).toEqual([
      expect.stringMatching(/^7 fact .*"getUserEntitlementOwnership" is not an AGS lookup.*did you mean "getUserEntitlementOwnershipByItemId"/),
      expect.stringMatching(/^8 fact .*takes no parameter "currency"/),
      expect.stringMatching(/^9 fact .*needs "itemId"/),
      expect.stringMatching(/^10 fact .*no fact "pas".*its facts: pass, wallet, owns/),
    ]);
  });
  it('group membership: the groupId parameter (a template over the event) is required; member matched, not a member notMatched, refused by AGS an error', () => {
    const rules = compile(`
  - name: guild
    on: userLoggedIn
    facts:
      guild: { AdminGetUserGroupStatusInformationV2: { groupId: "guild-\${event.namespace}" } }
    when: { "==": [ { var: facts.guild.member }, true ] }
    do: [ { log: { message: raid } } ]
`);
    expect(rules.factRequests(LOGIN, loginEvent() as never, Date.now())).toEqual([{ rule: 'guild', name: 'guild', operation: 'AdminGetUserGroupStatusInformationV2', params: { groupId: `guild-${loginEvent().namespace as string}` } }]);
    const run = (v: unknown) => rules.evaluate(LOGIN, loginEvent(), { facts: new Map([['guild', { guild: v as never }]]) }).outcomes[0]!;
    expect(run({ value: { member: true, groupId: 'g', userId: 'u', status: 'JOINED', memberRoleId: [], joinedAt: '2026-01-01T00:00:00Z' } }).outcome).toBe('matched');
    expect(run({ value: { member: false } }).outcome).toBe('notMatched');
    expect(run({ error: 'AdminGetUserGroupStatusInformationV2 (AGS Group) failed: 403 errorCode 73036' })).toMatchObject({ outcome: 'error', error: expect.stringMatching(/fact guild .*73036/) });
    const missing = compileResult(`
  - name: g
    on: userLoggedIn
    facts:
      guild: { AdminGetUserGroupStatusInformationV2: {} }
    when: { "==": [ { var: facts.guild.member }, true ] }
    do: [ { log: { message: x } } ]
`);
    expect(missing.ok ? [] : missing.problems.map((p) => `${p.code} ${p.message}`)).toEqual([expect.stringMatching(/^fact .*needs "groupId"/)]);
  });
  it('a templated parameter empty for this event (proto3 default "") is the fact\'s error, never a lookup without it (statCodes "" would read every stat)', () => {
    const rules = compile(`
  - name: stat-100
    on: userLoggedIn
    facts:
      stats: { getUserStatItems: { statCodes: "\${event.payload.platform}" } }
      pass: { getUserEntitlementOwnershipByItemId: { itemId: "pass-\${event.payload.platform}" } }
    when: { "and": [ { ">=": [ { var: facts.stats.data.0.value }, 100 ] }, { var: facts.pass.owned } ] }
    do: [ { log: { message: x } } ]
`);
    // set: sent as written
    expect(rules.factRequests(LOGIN, loginEvent() as never, Date.now())).toEqual([
      { rule: 'stat-100', name: 'stats', operation: 'getUserStatItems', params: { statCodes: 'STEAM' } },
      { rule: 'stat-100', name: 'pass', operation: 'getUserEntitlementOwnershipByItemId', params: { itemId: 'pass-STEAM' } },
    ]);
    // empty: the first fact names its parameter and is never sent; the second resolves to a non-empty text and is sent
    const empty = loginEvent({ payload: { ...(loginEvent().payload as object), platform: '' } });
    const requests = rules.factRequests(LOGIN, empty, Date.now());
    expect(requests[0]).toMatchObject({ name: 'stats', problem: expect.stringMatching(/statCodes .*is empty for this event/) });
    expect(requests[1]).toEqual({ rule: 'stat-100', name: 'pass', operation: 'getUserEntitlementOwnershipByItemId', params: { itemId: 'pass-' } });
  });
});
