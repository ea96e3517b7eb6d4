/**
 * `limit.key` and a cooldown's `key`: firings counted under something other
 * than the event's player (a party, a country, one game-wide counter), on the
 * key's own record in the state store; exactly once per event there too.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import type { RuleProblem } from '../../src/rules/types.js';
import { StateKeyUnresolvedError } from '../../src/rules/errors.js';
import { evaluateOnDocuments, evaluateWithState, keyPartition, partitionOf } from '../../src/pipeline/evaluate.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import type { Change, Partition, StateDocument, StateStore } from '../../src/store/state-store.js';
import { LOGIN, fixtureCatalog, loginEvent, testRegistry } from '../rules/support/fixtures.js';

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: testRegistry(), env: { PARTY_FIELD: 'x' }, unsetEnv: 'error' };
});

function compile(rules: string): RuleSet {
  const r = compileRulesText(`version: 1\nrules:\n${rules}`, 'rules.yaml', opts);
  if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
  return r.rules;
}

function problems(rules: string): RuleProblem[] {
  const r = compileRulesText(`version: 1\nrules:\n${rules}`, 'rules.yaml', opts);
  if (r.ok) throw new Error('expected problems');
  return [...r.problems];
}

const at = (iso: string): number => Date.parse(iso);
const U1 = '0123456789abcdef0123456789abcdef';
const U2 = 'fedcba9876543210fedcba9876543210';
const U3 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

/** A login of `user` from `country` (the fixture's `payload.loginLocation.country` stands for a party id). */
function login(id: string, user: string, country: string | undefined): Record<string, unknown> {
  const base = loginEvent({ id, userId: user });
  const payload = { ...(base.payload as Record<string, unknown>), loginLocation: country === undefined ? {} : { country, city: 'x' } };
  return { ...base, payload };
}

function deliverer(rules: RuleSet, store: StateStore = new MemoryStateStore()) {
  return async (id: string, iso: string, user: string, country: string | undefined) => {
    const event = login(id, user, country);
    const r = await evaluateWithState(store, partitionOf(event, 'ns'), { rules, serviceFullName: LOGIN, event, eventKey: id, now: at(iso) });
    return {
      fired: [...new Set(r.plan.filter((p) => !p.failure).map((p) => p.rule))],
      suppressed: Object.fromEntries(r.outcomes.filter((o) => o.outcome === 'suppressed').map((o) => [o.rule, o.firing?.suppressedBy])),
      result: r,
    };
  };
}

const PARTY_DAILY = `
  - name: party-daily
    on: userLoggedIn
    limit: { count: 1, per: day, timeZone: Asia/Tokyo, key: "\${event.payload.loginLocation.country}" }
    do: [ { log: { message: party } } ]
`;

describe('limit.key', () => {
  it('counts per key value, not per player: the second player of a party is refused the same day; another party is not', async () => {
    const store = new MemoryStateStore();
    const send = deliverer(compile(PARTY_DAILY), store);
    expect((await send('e1', '2026-03-01T01:00:00Z', U1, 'FR')).fired).toEqual(['party-daily']);
    expect((await send('e2', '2026-03-01T02:00:00Z', U2, 'FR')).suppressed).toEqual({ 'party-daily': 'limit' });
    expect((await send('e3', '2026-03-01T02:00:00Z', U3, 'DE')).fired).toEqual(['party-daily']);
    // the next Tokyo day (15:00Z) the party may fire again
    expect((await send('e4', '2026-03-01T15:00:00Z', U2, 'FR')).fired).toEqual(['party-daily']);
    // the firings are in the key's record, none in the players' records
    const fr = await store.read(keyPartition('ns', 'FR'));
    expect(Object.keys((fr?.rules ?? {}))).toEqual(['party-daily']);
    expect(await store.read({ namespace: 'ns', userId: U1 })).toBeUndefined();
  });

  it('a redelivered event finds its own firing on the key\'s record and proceeds, never counted twice', async () => {
    const store = new MemoryStateStore();
    const rules = compile(PARTY_DAILY.replace('count: 1', 'count: 2'));
    const send = deliverer(rules, store);
    const first = await send('e1', '2026-03-01T01:00:00Z', U1, 'FR');
    expect(first.fired).toEqual(['party-daily']);
    const again = await send('e1', '2026-03-01T03:00:00Z', U1, 'FR');
    expect(again.fired).toEqual(['party-daily']);
    expect(again.result.outcomes[0]?.firing?.decision).toBe('again');
    // still one firing recorded: a second event of the party is allowed (count 2), a third is not
    expect((await send('e2', '2026-03-01T04:00:00Z', U2, 'FR')).fired).toEqual(['party-daily']);
    expect((await send('e3', '2026-03-01T05:00:00Z', U3, 'FR')).suppressed).toEqual({ 'party-daily': 'limit' });
  });

  it('a constant key is one game-wide counter: the first two players ever', async () => {
    const send = deliverer(
      compile(`
  - name: first-two
    on: userLoggedIn
    limit: { count: 2, per: lifetime, key: everyone }
    do: [ { log: { message: early } } ]
`),
    );
    expect((await send('e1', '2026-03-01T01:00:00Z', U1, 'FR')).fired).toEqual(['first-two']);
    expect((await send('e2', '2026-03-02T01:00:00Z', U2, 'DE')).fired).toEqual(['first-two']);
    expect((await send('e3', '2026-04-01T01:00:00Z', U3, 'IT')).suppressed).toEqual({ 'first-two': 'limit' });
  });

  it('a cooldown with a key: { duration, key }; limit and cooldown of one rule share their key', async () => {
    const send = deliverer(
      compile(`
  - name: party-gift
    on: userLoggedIn
    cooldown: { duration: 6h, key: "\${event.payload.loginLocation.country}" }
    do: [ { log: { message: gift } } ]
  - name: both
    on: userLoggedIn
    limit: { count: 5, per: day, key: "\${event.payload.loginLocation.country}" }
    cooldown: { duration: 1h, key: "\${event.payload.loginLocation.country}" }
    do: [ { log: { message: both } } ]
`),
    );
    expect((await send('e1', '2026-03-01T00:00:00Z', U1, 'FR')).fired).toEqual(['party-gift', 'both']);
    expect((await send('e2', '2026-03-01T00:30:00Z', U2, 'FR')).suppressed).toEqual({ 'party-gift': 'cooldown', both: 'cooldown' });
    expect((await send('e3', '2026-03-01T01:00:00Z', U2, 'FR')).fired).toEqual(['both']);
    expect((await send('e4', '2026-03-01T06:00:00Z', U3, 'FR')).fired).toEqual(['party-gift', 'both']);
  });

  it('a key that does not resolve for an event: the rule is an error and its actions fail permanently (dead letter with the reason), nothing counted', async () => {
    const store = new MemoryStateStore();
    const send = deliverer(compile(PARTY_DAILY), store);
    const r = (await send('e1', '2026-03-01T01:00:00Z', U1, undefined)).result;
    expect(r.outcomes[0]).toMatchObject({ rule: 'party-daily', outcome: 'error' });
    expect(r.outcomes[0]?.error).toMatch(/key \$\{event\.payload\.loginLocation\.country\}/);
    expect(r.plan).toHaveLength(1);
    expect(r.plan[0]?.failure).toBeInstanceOf(StateKeyUnresolvedError);
    expect(r.keyed).toBeUndefined();
  });

  it('${event.userId} as the key is the player (the default): counted in the player\'s record', async () => {
    const store = new MemoryStateStore();
    const rules = compile(PARTY_DAILY.replace('${event.payload.loginLocation.country}', '${event.userId}'));
    expect(rules.rules[0]?.stateKey).toBeUndefined();
    const send = deliverer(rules, store);
    expect((await send('e1', '2026-03-01T01:00:00Z', U1, 'FR')).fired).toEqual(['party-daily']);
    expect((await send('e2', '2026-03-01T02:00:00Z', U2, 'FR')).fired).toEqual(['party-daily']);
    expect(await store.read({ namespace: 'ns', userId: U1 })).toBeDefined();
  });

  it('two players of one party handled at once never both pass a count-1 limit (the key\'s record is written optimistically)', async () => {
    const inner = new MemoryStateStore();
    // every transaction on the key's record first sees the record as it was before the other's write (a forced conflict)
    let gate: (() => void) | undefined;
    const both = new Promise<void>((resolve) => {
      let n = 0;
      gate = () => {
        if (++n === 2) resolve();
      };
    });
    const store: StateStore = {
      kind: 'memory',
      read: (p, o) => inner.read(p, o),
      close: () => inner.close(),
      async transact<T>(p: Partition, update: (doc: StateDocument | undefined) => Change<T>, o?: { signal?: AbortSignal }): Promise<T> {
        if (p.key === undefined) return inner.transact(p, update, o);
        const seen = await inner.read(p);
        gate!();
        await both; // both replicas have read the same (empty) record
        let first = true;
        return inner.transact(
          p,
          (doc) => {
            const c = update(first ? seen : doc);
            if (first && JSON.stringify(doc) !== JSON.stringify(seen)) {
              first = false;
              return update(doc); // the store saw a change since our read: re-run on the current record
            }
            first = false;
            return c;
          },
          o,
        );
      },
    };
    const send = deliverer(compile(PARTY_DAILY), store);
    const [a, b] = await Promise.all([send('e1', '2026-03-01T01:00:00Z', U1, 'FR'), send('e2', '2026-03-01T01:00:00Z', U2, 'FR')]);
    expect([...a.fired, ...b.fired]).toEqual(['party-daily']);
    expect({ ...a.suppressed, ...b.suppressed }).toEqual({ 'party-daily': 'limit' });
  });

  it('rule tests and explain read a key\'s record from the same documents, by the key\'s value', () => {
    const rules = compile(PARTY_DAILY);
    const e = login('e9', U2, 'FR');
    const fired = { rules: { 'party-daily': { n: 1, h: [[at('2026-03-01T00:30:00Z'), 'history-1', 1]] } } };
    const r = evaluateOnDocuments((who) => (who.key === 'FR' ? fired : undefined), U2, { rules, serviceFullName: LOGIN, event: e, eventKey: 'e9', now: at('2026-03-01T01:00:00Z') });
    expect(r.outcomes[0]).toMatchObject({ outcome: 'suppressed', firing: { suppressedBy: 'limit', limit: { fired: 1, count: 1 } } });
    expect(r.plan).toEqual([]);
  });
});

describe('limit.key validation', () => {
  const codes = (ps: RuleProblem[]) => ps.map((p) => `${p.line}:${p.column} ${p.code}`);

  it('different keys for limit and cooldown, and fired on a keyed rule, are refused with line, column and a fix', () => {
    const ps = problems(`
  - name: a
    on: userLoggedIn
    limit: { count: 1, per: day, key: "\${event.payload.loginLocation.country}" }
    cooldown: { duration: 1h, key: "\${event.payload.loginLocation.city}" }
    do: [ { log: { message: a } } ]
  - name: k
    on: userLoggedIn
    limit: { count: 1, per: day, key: "\${event.payload.loginLocation.country}" }
    do: [ { log: { message: k } } ]
  - name: b
    on: userLoggedIn
    when: { "<": [ { fired: [k, day] }, 1 ] }
    do: [ { log: { message: b } } ]
`);
    expect(codes(ps)).toEqual(['7:36 state-key', '15:30 state-key']);
    expect(ps[0]?.fix).toMatch(/same key/);
    expect(ps[1]?.message).toMatch(/counts its firings under/);
  });

  it('a key reading a field the event does not have, or an unknown env, is refused like an action parameter', () => {
    const ps = problems(`
  - name: a
    on: userLoggedIn
    limit: { count: 1, per: day, key: "\${event.payload.partyId}" }
    do: [ { log: { message: a } } ]
  - name: b
    on: userLoggedIn
    cooldown: { duration: 1h, key: "\${env.NO_SUCH_VAR}" }
    do: [ { log: { message: b } } ]
  - name: c
    on: userLoggedIn
    cooldown: { duration: 1h, kee: x }
    do: [ { log: { message: c } } ]
`);
    expect(ps.map((p) => p.line)).toEqual([6, 10, 14]);
    expect(ps[0]?.message).toMatch(/partyId/);
    expect(ps[1]?.message).toMatch(/NO_SUCH_VAR/);
  });
});
