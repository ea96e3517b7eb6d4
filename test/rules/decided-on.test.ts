/**
 * Issue 23 (no-match events): `RuleSet.decidedOn` names the top-level fields that decide every
 * enabled rule of a service when nothing else does; the server then decodes only those of an event
 * (and its id). It must say undefined whenever a rule reads anything else: a nested path, an
 * iteration, a stateful, time or fact operator, state, or a rule without `when`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import { LOGIN, MATCH, fixtureCatalog, loginEvent, testRegistry } from './support/fixtures.js';

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: testRegistry(), env: { ITEM: 'item-42', NS: 'mygame' }, unsetEnv: 'error' };
});

function compile(yaml: string): RuleSet {
  const r = compileRulesText(yaml, 'rules.yaml', opts);
  if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
  return r.rules;
}

/** One rule on userLoggedIn with this `when` (YAML flow), plus `extra` YAML lines of the rule. */
const oneRule = (when: string, extra = ''): string => `version: 1
rules:
  - name: r
    on: userLoggedIn
    when: ${when}
${extra}    do:
      - grant: { itemId: x, quantity: 1 }
`;

describe('the fields that decide the rules of a service', () => {
  it('the shipped shape: namespace compared with the deployment namespace; several rules: the union, sorted', () => {
    expect(compile(oneRule('{ "==": [{ var: namespace }, "${env.NS}"] }')).decidedOn(LOGIN)).toEqual(['namespace']);
    const two = compile(`version: 1
rules:
  - name: a
    on: userLoggedIn
    when: { and: [{ "==": [{ var: namespace }, mygame] }, { in: [{ var: [userId, ""] }, [u1, u2]] }] }
    do: [{ grant: { itemId: x, quantity: 1 } }]
  - name: b
    on: userLoggedIn
    when: { "!": { var: id } }
    do: [{ grant: { itemId: x, quantity: 1 } }]
`);
    expect(two.decidedOn(LOGIN)).toEqual(['id', 'namespace', 'userId']);
    expect(two.decidedOn(MATCH)).toEqual([]); // no rule listens on it: nothing decides (only the id is read)
  });

  it('undefined when a rule reads more than plain top-level fields, or more than its condition', () => {
    const not = [
      oneRule('{ "==": [{ var: payload.platform }, STEAM] }'), // nested
      oneRule('{ "==": [{ var: "" }, x] }'), // the whole event
      oneRule('{ some: [{ var: payload.tags }, { "==": [{ var: "" }, vip] }] }'), // an iteration
      oneRule('{ missing: [namespace] }'),
      oneRule('{ "<": [{ var: timestamp }, { now: [] }] }'), // the clock
      oneRule('{ "==": [{ var: namespace }, mygame] }', '    limit: { count: 1, per: day }\n'), // state
      `version: 1\nrules:\n  - name: r\n    on: userLoggedIn\n    do: [{ grant: { itemId: x, quantity: 1 } }]\n`, // no when: always matches
    ];
    for (const yaml of not) expect(compile(yaml).decidedOn(LOGIN), yaml).toBeUndefined();
    // no rule on userLoggedIn, but another rule counts its events: each is recorded in the player's history
    const counted = compile(`version: 1\nrules:\n  - name: r\n    on: matchEnded\n    when: { ">=": [{ count: [userLoggedIn, 24h] }, 3] }\n    do: [{ grant: { itemId: x, quantity: 1 } }]\n`);
    expect(counted.decidedOn(LOGIN)).toBeUndefined();
  });

  it('a rule decided on those fields alone decides the same on them as on the whole event', () => {
    const rules = compile(oneRule('{ and: [{ "==": [{ var: namespace }, mygame] }, { "!=": [{ var: userId }, banned] }] }'));
    for (const over of [{}, { namespace: 'other' }, { userId: 'banned' }, { namespace: '' }]) {
      const whole = loginEvent(over);
      const fields = Object.fromEntries(['id', ...rules.decidedOn(LOGIN)!].map((k) => [k, whole[k]]));
      expect(rules.evaluate(LOGIN, fields).outcomes).toEqual(rules.evaluate(LOGIN, whole).outcomes);
    }
  });

  it('conditionsOnly: on the decided-on fields a match is "matched" with nothing planned, never an error of a parameter reading another field', () => {
    // the shipped rule's shape: the condition reads namespace, the action userId (not decoded in a partial event)
    const rules = compile(`version: 1
rules:
  - name: r
    on: userLoggedIn
    when: { "==": [{ var: namespace }, mygame] }
    do:
      - grant: { itemId: x, quantity: 1, userId: "\${event.userId}" }
`);
    const whole = loginEvent({ namespace: 'mygame' });
    const fields = Object.fromEntries(['id', ...rules.decidedOn(LOGIN)!].map((k) => [k, whole[k]]));
    // planned on the fields, the parameter fails (an error thrown and caught per granted event before the fix)
    expect(rules.evaluate(LOGIN, fields).outcomes[0]!.outcome).toBe('error');
    const decided = rules.evaluate(LOGIN, fields, { conditionsOnly: true });
    expect(decided.outcomes).toEqual([{ rule: 'r', outcome: 'matched' }]);
    expect(decided.plan).toEqual([]);
    // not matched: the same outcome either way
    const other = Object.fromEntries(Object.entries(loginEvent({ namespace: 'other' })).filter(([k]) => k === 'id' || k === 'namespace'));
    expect(rules.evaluate(LOGIN, other, { conditionsOnly: true }).outcomes).toEqual(rules.evaluate(LOGIN, other).outcomes);
    // the whole event plans the action as before
    expect(rules.evaluate(LOGIN, whole).plan[0]!.params).toEqual({ itemId: 'x', quantity: 1, userId: whole.userId });
  });
});
