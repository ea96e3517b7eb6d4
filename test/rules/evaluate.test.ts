import { beforeAll, describe, expect, it } from 'vitest';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import { LOGIN, MATCH, fixtureCatalog, loginEvent, testRegistry } from './support/fixtures.js';

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: testRegistry(), env: { ITEM: 'item-42', NS: 'mygame', QTY: '5' }, unsetEnv: 'error' };
});

function compile(yaml: string, env?: Record<string, string>): RuleSet {
  const r = compileRulesText(yaml, 'rules.yaml', env ? { ...opts, env } : opts);
  if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
  return r.rules;
}

describe('templating', () => {
  it('keeps the type of a whole-string reference and makes text of embedded ones', () => {
    const rules = compile(`version: 1
rules:
  - name: r
    on: userLoggedIn
    do:
      - grant:
          itemId: \${env.ITEM}
          quantity: \${event.payload.count}
          userId: user-\${event.userId}
          metadata:
            location: \${event.payload.loginLocation}
            text: "at \${event.payload.loginLocation}"
            literal: "$\${event.userId}"
            fallback: \${env.MISSING:-dflt}
            count: \${event.payload.items.0.count}
          tags: ["\${event.payload.tags.1}", fixed]
`);
    const { plan, outcomes } = rules.evaluate(LOGIN, loginEvent());
    expect(outcomes).toEqual([{ rule: 'r', outcome: 'matched' }]);
    expect(plan).toHaveLength(1);
    expect(plan[0]!.params).toEqual({
      itemId: 'item-42',
      quantity: 3,
      userId: 'user-user-1',
      metadata: {
        location: { country: 'FR', city: 'Paris' },
        text: 'at {"country":"FR","city":"Paris"}',
        literal: '${event.userId}',
        fallback: 'dflt',
        count: 2,
      },
      tags: ['steam:123', 'fixed'],
    });
    expect(plan[0]).toMatchObject({ rule: 'r', index: 0, action: 'grant', mode: 'live', onFailure: 'deadLetter' });
  });

  it('computes $logic values per event and converts env strings where the action wants numbers', () => {
    const rules = compile(`version: 1
rules:
  - name: computed
    on: userLoggedIn
    do:
      - grant: { itemId: x, quantity: { $logic: { "*": [{ var: payload.count }, 2] } } }
  - name: from-env
    on: userLoggedIn
    do:
      - grant: { itemId: x, quantity: "\${env.QTY}" }
`);
    const { plan } = rules.evaluate(LOGIN, loginEvent());
    expect(plan.map((p) => p.params.quantity)).toEqual([6, 5]);
  });

  it('a reference the event lacks is an error of that rule only; an empty string is a value', () => {
    const rules = compile(`version: 1
rules:
  - name: needs-user
    on: userLoggedIn
    do:
      - grant: { itemId: x, userId: "\${event.payload.attributes.missing}" }
  - name: empty-ok
    on: userLoggedIn
    do:
      - grant: { itemId: x, userId: "\${event.userId}" }
`);
    const { plan, outcomes } = rules.evaluate(LOGIN, loginEvent({ userId: '' }));
    expect(outcomes[0]).toEqual({ rule: 'needs-user', outcome: 'error', error: 'do[0] grant: ${event.payload.attributes.missing} is not in the event' });
    expect(outcomes[1]).toEqual({ rule: 'empty-ok', outcome: 'matched' });
    // the failing action stays in the plan with its failure (the executor dead-letters it), never dropped silently
    expect(plan.map((p) => [p.rule, p.failure?.message])).toEqual([
      ['needs-user', '${event.payload.attributes.missing} is not in the event'],
      ['empty-ok', undefined],
    ]);
    expect(plan[1]!.params).toEqual({ itemId: 'x', userId: '' });
  });

  it('values computed per event are checked against the action schema', () => {
    const rules = compile(`version: 1
rules:
  - name: bad-qty
    on: userLoggedIn
    do:
      - grant: { itemId: x, quantity: "\${event.payload.loginLocation.city}" }
`);
    const { outcomes, plan } = rules.evaluate(LOGIN, loginEvent());
    expect(plan.map((p) => [p.action, p.params, p.failure?.name])).toEqual([['grant', {}, 'ActionParamsInvalidError']]);
    expect(outcomes[0]!.outcome).toBe('error');
    expect(outcomes[0]!.error).toMatch(/quantity must be integer/);
  });

  it('constant params are frozen and shared (no per-event allocation)', () => {
    const rules = compile(`version: 1
rules:
  - name: r
    on: userLoggedIn
    do: [{ grant: { itemId: "\${env.ITEM}", metadata: { a: 1 } } }]
`);
    const a = rules.evaluate(LOGIN, loginEvent()).plan[0]!.params;
    const b = rules.evaluate(LOGIN, loginEvent()).plan[0]!.params;
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.metadata)).toBe(true);
  });
});

describe('evaluation', () => {
  const yaml = `version: 1
rules:
  - name: first
    on: userLoggedIn
    when: { "==": [{ var: namespace }, "\${env.NS}"] }
    do:
      - log: { message: one }
      - log: { message: two }
  - name: december
    on: userLoggedIn
    activeFrom: 2026-12-01T00:00:00+00:00
    activeUntil: 2026-12-24T00:00:00+01:00
    mode: shadow
    onFailure: retry
    do: [{ log: { message: xmas } }]
  - name: throws
    on: userLoggedIn
    when: { before: [{ var: payload.loginLocation.city }, 5] }
    do: [{ log: { message: never } }]
  - name: other-namespace
    on: userLoggedIn
    when: { "==": [{ var: namespace }, other] }
    do: [{ log: { message: never } }]
  - name: off
    on: userLoggedIn
    enabled: false
    do: [{ log: { message: never } }]
  - name: last
    on: userLoggedIn
    do: [{ log: { message: three } }]
  - name: match
    on: MatchEndedService
    when: { and: [{ var: won }, { ">=": [{ var: score }, 100] }] }
    do: [{ log: { message: "won \${event.score}" } }]
`;

  it('indexes by service, evaluates in file order, isolates errors, respects windows with a fixed clock', () => {
    const rules = compile(yaml);
    expect([...rules.services].sort()).toEqual([MATCH, LOGIN].sort());
    expect(rules.ruleCount).toBe(7);
    expect(rules.rulesFor(LOGIN).map((r) => r.name)).toEqual(['first', 'december', 'throws', 'other-namespace', 'last']);

    const inside = rules.evaluate(LOGIN, loginEvent(), { now: new Date('2026-12-10T00:00:00Z') });
    expect(inside.outcomes.map((o) => [o.rule, o.outcome])).toEqual([
      ['first', 'matched'],
      ['december', 'matched'],
      ['throws', 'error'],
      ['other-namespace', 'notMatched'],
      ['last', 'matched'],
    ]);
    expect(inside.outcomes[2]!.error).toMatch(/before: "Paris" is not an instant/);
    expect(inside.plan.map((p) => [p.rule, p.index, p.params.message, p.mode, p.onFailure])).toEqual([
      ['first', 0, 'one', 'live', 'deadLetter'],
      ['first', 1, 'two', 'live', 'deadLetter'],
      ['december', 0, 'xmas', 'shadow', 'retry'],
      ['last', 0, 'three', 'live', 'deadLetter'],
    ]);

    const before = rules.evaluate(LOGIN, loginEvent(), { now: new Date('2026-11-30T23:59:59.999Z') });
    expect(before.outcomes[1]).toEqual({ rule: 'december', outcome: 'inactive' });
    // activeUntil is exclusive: 2026-12-24T00:00:00+01:00 = 2026-12-23T23:00:00Z
    expect(rules.evaluate(LOGIN, loginEvent(), { now: new Date('2026-12-23T22:59:59Z') }).outcomes[1]!.outcome).toBe('matched');
    expect(rules.evaluate(LOGIN, loginEvent(), { now: new Date('2026-12-23T23:00:00Z') }).outcomes[1]!.outcome).toBe('inactive');
  });

  it('an event of another service costs only its own rules; unknown services get nothing', () => {
    const rules = compile(yaml);
    const r = rules.evaluate(MATCH, { id: 'm', namespace: 'mygame', userId: 'u', score: 120, won: true });
    expect(r.outcomes).toEqual([{ rule: 'match', outcome: 'matched' }]);
    expect(r.plan[0]!.params).toEqual({ message: 'won 120' });
    expect(rules.evaluate(MATCH, { score: 120, won: false }).plan).toEqual([]);
    expect(rules.evaluate('no.such.Service', {})).toEqual({ outcomes: [], plan: [] });
  });

  it('time operators read the evaluation clock', () => {
    const rules = compile(`version: 1
rules:
  - name: recent
    on: userLoggedIn
    when: { within: [{ var: timestamp }, "PT1H"] }
    do: [{ log: { message: recent } }]
`);
    expect(rules.evaluate(LOGIN, loginEvent(), { now: new Date('2026-12-01T10:30:00Z') }).outcomes[0]!.outcome).toBe('matched');
    expect(rules.evaluate(LOGIN, loginEvent(), { now: new Date('2026-12-01T12:00:00Z') }).outcomes[0]!.outcome).toBe('notMatched');
  });

  it('the RuleSet is immutable', () => {
    const rules = compile(yaml);
    expect(Object.isFrozen(rules)).toBe(true);
    expect(Object.isFrozen(rules.rulesFor(LOGIN))).toBe(true);
  });
});
