/**
 * `limit.key` / a cooldown's `key` against odd inputs, on the real lobby party
 * protos (`partyUserJoined`, `payload.party.partyId`) decoded from the wire as
 * the server does: an unset proto3 string arrives as "" and must never be
 * counted (under an empty key, or as the text around it); keys of any text
 * (unicode, long, shaped like a user id, numbers from int64 fields, `${env}`);
 * a keyed firing refused by its limit while an action's parameters fail; a
 * rule gaining or losing its key across a reload.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog, DecodedEvent, EventService } from '../../src/events/types.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import type { RuleProblem } from '../../src/rules/types.js';
import { StateKeyUnresolvedError } from '../../src/rules/errors.js';
import { evaluateWithState, keyPartition, partitionOf } from '../../src/pipeline/evaluate.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { StateStoreUnavailableError, documentKey } from '../../src/store/state-store.js';
import type { Change, Partition, StateDocument, StateStore, StoreCallOptions } from '../../src/store/state-store.js';
import { REPO_ROOT, describeWith, sharedSpecs } from '../support/prereq.js';
import { testRegistry } from '../rules/support/fixtures.js';

const LOBBY = resolve(REPO_ROOT, '../shared/ags-event-specs/accelbyte/lobby');
const JOINED = 'accelbyte.lobby.party.v1.PartyPartyUserJoinedService';
const U1 = '0123456789abcdef0123456789abcdef';
const U2 = 'fedcba9876543210fedcba9876543210';
const U3 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const T0 = Date.parse('2026-03-01T01:00:00Z');

let catalog: Catalog;
let joined: EventService;
/** The lobby protos are in ../shared (beside the checkout in CI); without them these suites are skipped with the reason. */
const lobby = sharedSpecs();
beforeAll(async () => {
  if (!lobby.ok) return;
  catalog = await loadCatalog({ dirs: [LOBBY] });
  const s = catalog.services.find((x) => x.fullName === JOINED);
  if (!s) throw new Error(`${JOINED} is not in ${LOBBY}`);
  joined = s;
});

const ENV = { PARTY_PREFIX: 'season-7', EMPTY_VAR: '', LONG_VAR: 'x'.repeat(600) };

function compileResult(rules: string) {
  return compileRulesText(`version: 1\nrules:\n${rules}`, 'rules.yaml', { catalog, registry: testRegistry(), env: ENV, unsetEnv: 'error' });
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

/** A partyUserJoined of `user` in `partyId` (undefined: the field unset), through the wire and back as the server decodes it. */
function joinedEvent(id: string, user: string, partyId: string | undefined, extra: Record<string, unknown> = {}): DecodedEvent {
  const event = {
    id,
    version: 7,
    name: 'partyUserJoined',
    namespace: 'mygame',
    userId: user,
    payload: { party: { ...(partyId !== undefined ? { partyId } : {}), leaderId: U3, ...extra } },
  };
  const codec = catalog.codec(joined);
  return codec.decode(codec.encode(event));
}

function limitRule(key: string, count = 1, name = 'party-bonus'): string {
  return `
  - name: ${name}
    on: partyUserJoined
    limit: { count: ${count}, per: lifetime, key: ${JSON.stringify(key)} }
    do: [ { log: { message: joined } } ]
`;
}

function sender(rules: () => RuleSet, store: StateStore = new MemoryStateStore()) {
  return async (id: string, user: string, partyId: string | undefined, extra: Record<string, unknown> = {}, now = T0) => {
    const event = joinedEvent(id, user, partyId, extra);
    const result = await evaluateWithState(store, partitionOf(event, ''), { rules: rules(), serviceFullName: JOINED, event, eventKey: id, now });
    return {
      result,
      fired: [...new Set(result.plan.filter((p) => !p.failure).map((p) => p.rule))],
      failed: result.plan.filter((p) => p.failure).map((p) => p.failure),
      suppressed: result.outcomes.filter((o) => o.outcome === 'suppressed').map((o) => o.rule),
    };
  };
}

describeWith(lobby, 'limit.key on partyUserJoined (lobby protos, decoded from the wire)', () => {
  it('the party id counts: the second member of a party is refused, another party is not', async () => {
    const send = sender(() => compile(limitRule('${event.payload.party.partyId}')));
    expect((await send('e1', U1, 'party-A')).fired).toEqual(['party-bonus']);
    expect((await send('e2', U2, 'party-A')).suppressed).toEqual(['party-bonus']);
    expect((await send('e3', U2, 'party-B')).fired).toEqual(['party-bonus']);
  });

  it('an unset partyId (proto3 default "") is never counted: a permanent failure naming the key, for every member', async () => {
    const store = new MemoryStateStore();
    const send = sender(() => compile(limitRule('${event.payload.party.partyId}')), store);
    for (const [id, user] of [['e1', U1], ['e2', U2]] as const) {
      const r = await send(id, user, undefined);
      expect(r.fired).toEqual([]);
      expect(r.failed).toHaveLength(1);
      expect(r.failed[0]).toBeInstanceOf(StateKeyUnresolvedError);
      expect(r.failed[0]?.message).toMatch(/key \$\{event\.payload\.party\.partyId\} is empty/);
      expect(r.result.outcomes[0]).toMatchObject({ outcome: 'error' });
    }
    expect(await store.read(keyPartition('mygame', ''))).toBeUndefined();
  });

  it('a key mixing text and a field (party-${...}) is refused when the field is empty: never one "party-" counter for every partyless event', async () => {
    const store = new MemoryStateStore();
    const send = sender(() => compile(limitRule('party-${event.payload.party.partyId}')), store);
    const a = await send('e1', U1, undefined);
    expect(a.fired).toEqual([]);
    expect(a.failed[0]).toBeInstanceOf(StateKeyUnresolvedError);
    expect(a.failed[0]?.message).toMatch(/\$\{event\.payload\.party\.partyId\} is empty/);
    expect(await store.read(keyPartition('mygame', 'party-'))).toBeUndefined();
    // with a party id it is one counter per party, under the whole text
    expect((await send('e2', U1, 'X1')).fired).toEqual(['party-bonus']);
    expect((await send('e3', U2, 'X1')).suppressed).toEqual(['party-bonus']);
    expect((await store.read(keyPartition('mygame', 'party-X1')))?.rules).toBeDefined();
  });

  it('unicode keys are their own counters (NFC and NFD spellings are different texts)', async () => {
    const store = new MemoryStateStore();
    const send = sender(() => compile(limitRule('${event.payload.party.partyId}')), store);
    const nfc = 'パーティー-é-🎉';
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);
    expect((await send('e1', U1, nfc)).fired).toEqual(['party-bonus']);
    expect((await send('e2', U2, nfc)).suppressed).toEqual(['party-bonus']);
    expect((await send('e3', U2, nfd)).fired).toEqual(['party-bonus']);
    expect(documentKey('k', nfc)).toMatch(/^k-[A-Za-z0-9_-]+$/);
  });

  it('a key over 512 characters is refused per event with its length; 512 is accepted', async () => {
    const send = sender(() => compile(limitRule('${event.payload.party.partyId}', 2)));
    const long = await send('e1', U1, 'p'.repeat(513));
    expect(long.fired).toEqual([]);
    expect(long.failed[0]).toBeInstanceOf(StateKeyUnresolvedError);
    expect(long.failed[0]?.message).toMatch(/513 characters long \(at most 512\)/);
    expect(long.failed[0]?.message).not.toContain('p'.repeat(40)); // the value itself is not in the reason
    expect((await send('e2', U1, 'p'.repeat(512))).fired).toEqual(['party-bonus']);
  });

  it('a key value shaped like a user id is a counter of its own, not that player\'s record', async () => {
    const store = new MemoryStateStore();
    const both = `${limitRule('${event.payload.party.partyId}')}
  - name: own-limit
    on: partyUserJoined
    limit: { count: 1, per: lifetime }
    do: [ { log: { message: own } } ]
`;
    const send = sender(() => compile(both), store);
    // the party id is U1 (the same text as player U1's id): player U1's own rule is not affected
    expect((await send('e1', U2, U1)).fired).toEqual(['party-bonus', 'own-limit']);
    expect((await send('e2', U1, 'other')).fired).toEqual(['party-bonus', 'own-limit']);
    const player = await store.read({ namespace: 'mygame', userId: U1 });
    expect(Object.keys(player?.rules ?? {})).toEqual(['own-limit']);
    expect(Object.keys((await store.read(keyPartition('mygame', U1)))?.rules ?? {})).toEqual(['party-bonus']);
  });

  it('a number from an int64 field (a text on the wire-decoded event) and from an int field are keys', async () => {
    const send = sender(() => compile(limitRule('v${event.version}')));
    const r = await send('e1', U1, 'p');
    expect(r.fired).toEqual(['party-bonus']);
    expect(r.result.outcomes[0]?.firing?.key).toBe('v7');
    expect((await send('e2', U2, 'q')).suppressed).toEqual(['party-bonus']);
  });

  it('${env.X} in a key is folded at load (one counter per season); an env var set to "" is refused at load', async () => {
    const rules = compile(limitRule('${env.PARTY_PREFIX}-${event.payload.party.partyId}'));
    const send = sender(() => rules);
    expect((await send('e1', U1, 'A')).result.outcomes[0]?.firing?.key).toBe('season-7-A');
    const ps = problems(limitRule('${env.EMPTY_VAR}'));
    expect(ps[0]).toMatchObject({ line: 6 });
    expect(ps[0]?.message).toMatch(/EMPTY_VAR/);
  });

  it('"${ event.userId }" with spaces is the player: counted in the player\'s record, per player', async () => {
    const store = new MemoryStateStore();
    const rules = compile(limitRule('${ event.userId }'));
    expect(rules.rules[0]?.stateKey).toBeUndefined();
    const send = sender(() => rules, store);
    expect((await send('e1', U1, 'A')).fired).toEqual(['party-bonus']);
    expect((await send('e2', U2, 'A')).fired).toEqual(['party-bonus']);
    expect((await send('e3', U1, 'A')).suppressed).toEqual(['party-bonus']);
    expect(Object.keys((await store.read({ namespace: 'mygame', userId: U1 }))?.rules ?? {})).toEqual(['party-bonus']);
  });

  it('an event without a player (userId unset) is counted under its party all the same', async () => {
    const send = sender(() => compile(limitRule('${event.payload.party.partyId}')));
    expect((await send('e1', '', 'A')).fired).toEqual(['party-bonus']);
    expect((await send('e2', '', 'A')).suppressed).toEqual(['party-bonus']);
  });

  it('a keyed rule refused by its limit is suppressed even when one of its actions\' parameters does not resolve (no dead letter, nothing run), as an unkeyed rule', async () => {
    const rule = (key: string): string => `
  - name: party-grant
    on: partyUserJoined
    limit: { count: 1, per: lifetime${key} }
    do:
      - log: { message: "code \${event.payload.party.partyCode}" }
      - grant: { itemId: "\${event.payload.party.invitationToken}" }
`;
    for (const key of ['', ', key: "${event.payload.party.partyId}"']) {
      const send = sender(() => compile(rule(key)));
      const first = await send('e1', U1, 'A', { partyCode: 'c1' });
      expect(first.result.outcomes[0]?.outcome, key).toBe('error'); // the token is missing: the grant fails permanently
      expect(first.failed, key).toHaveLength(1);
      const second = await send('e2', U1, 'A', { partyCode: 'c2' });
      expect(second.result.outcomes[0]?.outcome, key).toBe('suppressed');
      expect(second.result.plan, key).toEqual([]);
    }
  });
});

describeWith(lobby, 'limit.key: a key that does not resolve holds back every action of the rule', () => {
  it('even those whose parameters resolved when another action\'s did not: nothing runs uncounted', async () => {
    const send = sender(() =>
      compile(`
  - name: party-grant
    on: partyUserJoined
    limit: { count: 1, per: lifetime, key: "\${event.payload.party.partyId}" }
    do:
      - log: { message: "leader \${event.payload.party.leaderId}" }
      - grant: { itemId: "\${event.payload.party.invitationToken}" }
`),
    );
    const r = await send('e1', U1, undefined);
    expect(r.fired).toEqual([]);
    expect(r.result.plan).toHaveLength(2);
    for (const p of r.result.plan) expect(p.failure).toBeInstanceOf(StateKeyUnresolvedError);
    expect(r.result.outcomes[0]?.error).toMatch(/partyId/);
  });
});

describeWith(lobby, 'limit.key: two keys on one event, the store failing between their steps', () => {
  it('the redelivery finds the first key\'s firing (proceeds, not counted again) and decides the second: each key counted once', async () => {
    const inner = new MemoryStateStore();
    let failOn: string | undefined = documentKey('k', `leader-${U3}`); // every member's leader is U3 (joinedEvent)
    const store: StateStore = {
      kind: 'memory',
      read: (p, o) => inner.read(p, o),
      close: () => inner.close(),
      transact<T>(p: Partition, update: (doc: StateDocument | undefined) => Change<T>, o?: StoreCallOptions): Promise<T> {
        if (p.key !== undefined && p.key === failOn) {
          failOn = undefined; // once: the process died, or the store was briefly unreachable
          return Promise.reject(new StateStoreUnavailableError('memory', 'transact', 'injected'));
        }
        return inner.transact(p, update, o);
      },
    };
    const rules = compile(`${limitRule('${event.payload.party.partyId}', 2, 'per-party')}${limitRule('leader-${event.payload.party.leaderId}', 1, 'per-leader')}`);
    const send = sender(() => rules, store);
    await expect(send('e1', U1, 'A')).rejects.toBeInstanceOf(StateStoreUnavailableError);
    const again = await send('e1', U1, 'A');
    expect(again.fired).toEqual(['per-party', 'per-leader']);
    expect(again.result.outcomes.map((o) => o.firing?.decision)).toEqual(['again', 'fired']);
    // per-party counted once for e1 (count 2: one more member may fire), per-leader once
    expect((await send('e2', U2, 'A')).fired).toEqual(['per-party']);
    expect((await send('e3', U2, 'A')).suppressed).toEqual(['per-party', 'per-leader']);
  });
});

describeWith(lobby, 'limit.key across a reload (a rule gaining or losing its key)', () => {
  it('gaining a key counts from zero under the key; losing it goes back to the player\'s record, which kept its firings', async () => {
    const store = new MemoryStateStore();
    const perPlayer = compile(limitRule('${event.userId}'));
    const perParty = compile(limitRule('${event.payload.party.partyId}'));
    let rules = perPlayer;
    const send = sender(() => rules, store);
    expect((await send('e1', U1, 'A')).fired).toEqual(['party-bonus']);
    expect((await send('e2', U1, 'A')).suppressed).toEqual(['party-bonus']);
    rules = perParty; // reload: the rule now counts per party
    expect((await send('e3', U1, 'A')).fired).toEqual(['party-bonus']);
    expect((await send('e4', U2, 'A')).suppressed).toEqual(['party-bonus']);
    // a redelivery of an event that fired per player, after the reload: decided on the party's record
    const again = await send('e1', U1, 'B');
    expect(again.fired).toEqual(['party-bonus']);
    rules = perPlayer; // reload back: U1 has fired (e1 in the player's record), U2 never has
    expect((await send('e5', U1, 'A')).suppressed).toEqual(['party-bonus']);
    expect((await send('e6', U2, 'A')).fired).toEqual(['party-bonus']);
  });
});

describeWith(lobby, 'limit.key and cooldown { duration, key }: every problem with line, column and a fix', () => {
  const rule = (name: string, body: string): string => `
  - name: ${name}
    on: partyUserJoined
${body}
    do: [ { log: { message: x } } ]
`;
  const cases: readonly { readonly what: string; readonly body: string; readonly at: string; readonly code: string; readonly fix: RegExp }[] = [
    { what: 'differing keys', body: '    limit: { count: 1, per: day, key: "${event.payload.party.partyId}" }\n    cooldown: { duration: 1h, key: "${event.payload.party.leaderId}" }', at: '7:36', code: 'state-key', fix: /same key/ },
    { what: 'a keyed limit and a cooldown without key (per player)', body: '    limit: { count: 1, per: day, key: "${event.payload.party.partyId}" }\n    cooldown: 6h', at: '7:15', code: 'state-key', fix: /cooldown: \{ duration: 6h, key: "\$\{event\.payload\.party\.partyId\}" \}/ },
    { what: 'a keyed cooldown and a limit without key (per player)', body: '    limit: { count: 1, per: day }\n    cooldown: { duration: 6h, key: "${event.payload.party.partyId}" }', at: '6:12', code: 'state-key', fix: /add key: "\$\{event\.payload\.party\.partyId\}" to the limit/ },
    { what: 'an unknown field in the key', body: '    limit: { count: 1, per: day, key: "party-${event.payload.party.partyIdd}" }', at: '6:39', code: 'unknown-path', fix: /did you mean "payload\.party\.partyId"/ },
    { what: 'a key reading a message field', body: '    limit: { count: 1, per: day, key: "${event.payload.party}" }', at: '6:39', code: 'state-key', fix: /read a text or number field inside it/ },
    { what: 'a misspelt key in the cooldown map', body: '    cooldown: { duration: 6h, kee: x }', at: '6:31', code: 'unknown-key', fix: /did you mean "key"/ },
    { what: 'a cooldown map without its duration', body: '    cooldown: { key: x }', at: '6:15', code: 'missing-key', fix: /add duration/ },
    { what: 'a cooldown map whose duration does not parse', body: '    cooldown: { duration: 6x, key: x }', at: '6:27', code: 'state-window', fix: /6h/ },
    { what: 'a number as the key', body: '    limit: { count: 1, per: day, key: 5 }', at: '6:39', code: 'wrong-type', fix: /"5"/ },
    { what: 'a list as the key', body: '    cooldown: { duration: 6h, key: [a] }', at: '6:36', code: 'wrong-type', fix: /one text/ },
    { what: 'an empty key', body: '    limit: { count: 1, per: day, key: "" }', at: '6:39', code: 'schema', fix: /write a value, or remove key/ },
    { what: 'a constant key over 512 characters', body: `    limit: { count: 1, per: day, key: ${'k'.repeat(513)} }`, at: '6:39', code: 'state-key', fix: /short name/ },
    { what: 'a key over 512 characters once ${env} is folded in', body: '    limit: { count: 1, per: day, key: "${env.LONG_VAR}" }', at: '6:39', code: 'state-key', fix: /short name/ },
    { what: 'an app credential in the key', body: '    limit: { count: 1, per: day, key: "party-${env.AB_CLIENT_SECRET}" }', at: '6:39', code: 'forbidden-env', fix: /authenticated by the app/ },
    { what: 'a number as the cooldown', body: '    cooldown: 6', at: '6:15', code: 'wrong-type', fix: /"6h"/ },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const ps = problems(rule('r', c.body));
      expect(ps.map((p) => `${p.line}:${p.column} ${p.code}`), JSON.stringify(ps)).toEqual([`${c.at} ${c.code}`]);
      expect(ps[0]?.fix).toMatch(c.fix);
    });
  }

  it('fired naming a rule that counts under a key', () => {
    const ps = problems(`${limitRule('${event.payload.party.partyId}')}${rule('b', '    when: { "<": [ { fired: [party-bonus, day] }, 1 ] }')}`);
    expect(ps.map((p) => `${p.line}:${p.column} ${p.code}`)).toEqual(['11:30 state-key']);
    expect(ps[0]?.fix).toMatch(/limit or cooldown on "party-bonus" itself/);
  });
});

describe('the committed rules.schema.json (what editors check) takes exactly the documented key forms', () => {
  const rule = (extra: Record<string, unknown>) => ({ version: 1, rules: [{ name: 'r', on: 'partyUserJoined', do: [{ log: { message: 'x' } }], ...extra }] });
  const K = '${event.payload.party.partyId}';
  let validate: (v: unknown) => boolean;
  beforeAll(() => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    validate = ajv.compile(JSON.parse(readFileSync(resolve(REPO_ROOT, 'rules.schema.json'), 'utf8')) as object);
  });
  const accepted: readonly [string, Record<string, unknown>][] = [
    ['cooldown: 6h', { cooldown: '6h' }],
    ['cooldown: { duration }', { cooldown: { duration: '6h' } }],
    ['cooldown: { duration, key }', { cooldown: { duration: '6h', key: K } }],
    ['limit.key, a template', { limit: { count: 1, per: 'day', key: K } }],
    ['limit.key, a constant', { limit: { count: 1, per: 'lifetime', key: 'launch-week' } }],
    ['limit.key and the cooldown\'s key', { limit: { count: 5, per: 'day', key: K }, cooldown: { duration: '1h', key: K } }],
  ];
  const refused: readonly [string, Record<string, unknown>][] = [
    ['cooldown: { key } without duration', { cooldown: { key: K } }],
    ['cooldown: { duration, kee }', { cooldown: { duration: '6h', kee: 'x' } }],
    ['cooldown: ""', { cooldown: '' }],
    ['cooldown: { duration: "" }', { cooldown: { duration: '' } }],
    ['cooldown: 6', { cooldown: 6 }],
    ['cooldown: [6h]', { cooldown: ['6h'] }],
    ['limit.key: 5', { limit: { count: 1, per: 'day', key: 5 } }],
    ['limit.key: ""', { limit: { count: 1, per: 'day', key: '' } }],
    ['cooldown.key: [a]', { cooldown: { duration: '6h', key: ['a'] } }],
  ];
  for (const [what, extra] of accepted) it(`accepts ${what}`, () => expect(validate(rule(extra))).toBe(true));
  for (const [what, extra] of refused) it(`refuses ${what}`, () => expect(validate(rule(extra))).toBe(false));
});
