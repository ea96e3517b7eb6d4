/**
 * The object form of `count`, `streak` and `fired`: `where` (only the events
 * it holds for are counted, decided when each is recorded) and `by` (whose
 * counter: each counted event recorded under its key's value), on the real
 * social and reporting protos of ../shared.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseRuleTests, runCase } from '../../src/authoring/rule-tests.js';
import { beforeAll, expect, it } from 'vitest';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog } from '../../src/events/types.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import type { RuleProblem } from '../../src/rules/types.js';
import { evaluateWithState, keyPartition, partitionOf } from '../../src/pipeline/evaluate.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { REPO_ROOT, describeWith, sharedSpecs } from '../support/prereq.js';

const SPECS = resolve(REPO_ROOT, '../shared/ags-event-specs/accelbyte');
const STAT = 'accelbyte.social.statistic.v1.StatisticStatItemUpdatedService';
const REPORT = 'accelbyte.reporting.reporting.v1.ReportUserReportService';
const U1 = '0123456789abcdef0123456789abcdef';
const U2 = 'fedcba9876543210fedcba9876543210';
const U3 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const BAD = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const T0 = Date.parse('2026-03-01T01:00:00Z');

const specs = sharedSpecs();
let catalog: Catalog;
beforeAll(async () => {
  if (!specs.ok) return;
  catalog = await loadCatalog({ dirs: [resolve(SPECS, 'social'), resolve(SPECS, 'reporting')] });
  for (const s of [STAT, REPORT]) if (!catalog.services.some((x) => x.fullName === s)) throw new Error(`${s} is not in ${SPECS}`);
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

const HAT_TRICK = `
  - name: hat-trick
    on: statItemUpdated
    when: { ">=": [ { count: { of: statItemUpdated, within: 24h, where: { "==": [ { var: payload.statCode }, "wins" ] } } }, 3 ] }
    limit: { count: 1, per: 24h }
    do: [ { grantItem: { itemId: hat-trick-badge } } ]
`;

const FLAG_REPORTED = `
  - name: flag-reported
    on: userReport
    when: { ">=": [ { count: { of: userReport, within: 24h, by: "\${event.payload.UserID}" } }, 3 ] }
    limit: { count: 1, per: day, key: "\${event.payload.UserID}" }
    do: [ { banUser: { ban: CHAT_SEND, reason: HARASSMENT, duration: 24h, userId: "\${event.payload.UserID}" } } ]
`;

function stat(id: string, user: string, statCode: string) {
  return { id, namespace: 'ns', userId: user, payload: { namespace: 'ns', userId: user, statCode, latestValue: 1 } };
}
function report(id: string, reporter: string, reported: string) {
  return { id, namespace: 'ns', userId: reporter, payload: { Namespace: 'ns', ReporterID: reporter, UserID: reported, Category: 'USER', Reason: 'cheating' } };
}

function sender(rules: RuleSet, service: string, store: StateStore = new MemoryStateStore()) {
  return async (event: Record<string, unknown>, at: number) => {
    const r = await evaluateWithState(store, partitionOf(event, 'ns'), { rules, serviceFullName: service, event: event, eventKey: String(event.id), now: at });
    return { fired: r.plan.filter((p) => !p.failure).map((p) => `${p.rule}:${typeof p.params.userId === 'string' ? p.params.userId : ''}`), result: r };
  };
}

describeWith(specs, 'count { where }: only the events the condition holds for are counted (statItemUpdated)', () => {
  it('hat-trick: two kills updates and one win do not make 3 wins; the third win does', async () => {
    const rules = compile(HAT_TRICK);
    const send = sender(rules, STAT);
    expect((await send(stat('k1', U1, 'kills'), T0)).fired).toEqual([]);
    expect((await send(stat('k2', U1, 'kills'), T0 + 1000)).fired).toEqual([]);
    expect((await send(stat('w1', U1, 'wins'), T0 + 2000)).fired).toEqual([]);
    expect((await send(stat('w2', U1, 'wins'), T0 + 3000)).fired).toEqual([]);
    const third = await send(stat('w3', U1, 'wins'), T0 + 4000);
    expect(third.fired).toEqual([`hat-trick:`]);
  });

  it('the array form counts every update (the old behaviour, kept): the kills count there', async () => {
    const rules = compile(HAT_TRICK.replace(/\{ count: \{.*\} \} \}, 3/, '{ count: [ statItemUpdated, 24h ] }, 3'));
    expect(rules.rules[0]!.whenLogic).toEqual({ '>=': [{ count: ['statItemUpdated', '24h'] }, 3] });
    const send = sender(rules, STAT);
    await send(stat('k1', U1, 'kills'), T0);
    await send(stat('k2', U1, 'kills'), T0 + 1000);
    expect((await send(stat('w1', U1, 'wins'), T0 + 2000)).fired).toEqual(['hat-trick:']);
  });

  it('the record keeps the filtered events only, and a redelivered win is not counted twice', async () => {
    const store = new MemoryStateStore();
    const send = sender(compile(HAT_TRICK), STAT, store);
    await send(stat('k1', U1, 'kills'), T0);
    await send(stat('w1', U1, 'wins'), T0 + 1000);
    await send(stat('w1', U1, 'wins'), T0 + 2000);
    await send(stat('w1', U1, 'wins'), T0 + 3000);
    const doc = await store.read({ namespace: 'ns', userId: U1 });
    const tracks = Object.entries((doc?.events ?? {}) as Record<string, { n: number }>);
    expect(tracks).toHaveLength(1);
    expect(tracks[0]![0]).toMatch(/^statItemUpdated\?/);
    expect(tracks[0]![1].n).toBe(1);
    expect((await send(stat('w2', U1, 'wins'), T0 + 4000)).fired).toEqual([]);
    expect((await send(stat('w3', U1, 'wins'), T0 + 5000)).fired).toEqual(['hat-trick:']);
  });

  it('streak { where } and fired { of, within } work the same way', async () => {
    const rules = compile(`
  - name: daily-winner
    on: statItemUpdated
    when: { ">=": [ { streak: { of: statItemUpdated, per: day, timeZone: Asia/Tokyo, where: { "==": [ { var: payload.statCode }, "wins" ] } } }, 2 ] }
    limit: { count: 1, per: day, timeZone: Asia/Tokyo }
    do: [ { grantItem: { itemId: streak-chest } } ]
  - name: second
    on: statItemUpdated
    when: { ">=": [ { fired: { of: daily-winner, within: lifetime } }, 1 ] }
    do: [ { grantItem: { itemId: after-streak } } ]
`);
    const send = sender(rules, STAT);
    expect((await send(stat('w1', U1, 'wins'), T0)).fired).toEqual([]);
    // a kills update the next day does not continue the streak
    expect((await send(stat('k1', U1, 'kills'), T0 + 86_400_000)).fired).toEqual([]);
    expect((await send(stat('w2', U1, 'wins'), T0 + 2 * 86_400_000)).fired).toEqual([]);
    expect((await send(stat('w3', U1, 'wins'), T0 + 3 * 86_400_000)).fired).toEqual(['daily-winner:', 'second:']);
  });
});

describeWith(specs, 'count { by }: whose counter (userReport counts the reported player, not the reporter)', () => {
  it('flag-reported: three reports against one player by three reporters ban that player once; three reports by one reporter against three players ban nobody', async () => {
    const store = new MemoryStateStore();
    const send = sender(compile(FLAG_REPORTED), REPORT, store);
    // one reporter reports three different players: the old count (the reporter's) would have reached 3
    expect((await send(report('r1', U1, U2), T0)).fired).toEqual([]);
    expect((await send(report('r2', U1, U3), T0 + 1000)).fired).toEqual([]);
    expect((await send(report('r3', U1, BAD), T0 + 2000)).fired).toEqual([]);
    // three reporters against U2
    expect((await send(report('r4', U3, U2), T0 + 3000)).fired).toEqual([]);
    expect((await send(report('r5', BAD, U2), T0 + 4000)).fired).toEqual([`flag-reported:${U2}`]);
    // a fourth report the same day: the limit (under the same key) refuses
    const fourth = await send(report('r6', U3, U2), T0 + 5000);
    expect(fourth.fired).toEqual([]);
    expect(fourth.result.outcomes[0]!.outcome).toBe('suppressed');
    // the counts live in the reported players' records, none in the reporters'
    const u2 = await store.read(keyPartition('ns', U2));
    expect(Object.values((u2?.events ?? {}) as Record<string, { n: number }>).map((t) => t.n)).toEqual([4]);
    expect(await store.read({ namespace: 'ns', userId: U1 })).toBeUndefined();
  });

  it('a redelivered report is not counted twice (it finds its tag on the key\'s record) and a redelivery of the firing proceeds', async () => {
    const store = new MemoryStateStore();
    const send = sender(compile(FLAG_REPORTED), REPORT, store);
    await send(report('r1', U1, U2), T0);
    await send(report('r1', U1, U2), T0 + 1000);
    await send(report('r1', U1, U2), T0 + 2000);
    expect((await send(report('r2', U3, U2), T0 + 3000)).fired).toEqual([]);
    const firing = await send(report('r3', BAD, U2), T0 + 4000);
    expect(firing.fired).toEqual([`flag-reported:${U2}`]);
    const again = await send(report('r3', BAD, U2), T0 + 60_000);
    expect(again.fired).toEqual([`flag-reported:${U2}`]);
    expect(again.result.outcomes[0]!.firing?.decision).toBe('again');
  });

  it('a report without a reported player is an error of the rule, never counted under an empty key', async () => {
    const store = new MemoryStateStore();
    const send = sender(compile(FLAG_REPORTED), REPORT, store);
    const r = await send(report('r1', U1, ''), T0);
    expect(r.result.outcomes[0]).toMatchObject({ outcome: 'error' });
    expect(r.result.outcomes[0]!.error).toMatch(/"by" key \$\{event\.payload\.UserID\} is empty/);
    expect(await store.read(keyPartition('ns', ''))).toBeUndefined();
  });

  it('rule tests: a by counter reads the history named by the key\'s value; a where counter reads each entry\'s data', () => {
    const dir = mkdtempSync(join(tmpdir(), 'counters-'));
    try {
      const rulesFile = join(dir, 'rules.yaml');
      writeFileSync(rulesFile, `version: 1\nrules:\n${FLAG_REPORTED}${HAT_TRICK}`);
      const suite = parseRuleTests(
        `version: 1
now: 2026-03-01T12:00:00Z
cases:
  - name: the third report against U2 bans U2
    event: userReport
    data: { namespace: ns, userId: ${U1}, payload: { UserID: ${U2}, ReporterID: ${U1} } }
    history:
      ${U2}: { events: [ { event: userReport, at: 2026-03-01T10:00:00Z }, { event: userReport, at: 2026-03-01T11:00:00Z } ] }
    expect: { matched: [flag-reported] }
  - name: the reporter's own history does not count
    event: userReport
    data: { namespace: ns, userId: ${U1}, payload: { UserID: ${U2}, ReporterID: ${U1} } }
    history:
      ${U1}: { events: [ { event: userReport, at: 2026-03-01T10:00:00Z }, { event: userReport, at: 2026-03-01T11:00:00Z } ] }
    expect: { matched: [] }
  - name: two wins and a kills update before, a third win makes a hat-trick
    event: statItemUpdated
    data: { namespace: ns, userId: ${U1}, payload: { statCode: wins } }
    history:
      ${U1}:
        events:
          - { event: statItemUpdated, at: 2026-03-01T10:00:00Z, data: { payload: { statCode: wins } } }
          - { event: statItemUpdated, at: 2026-03-01T10:30:00Z, data: { payload: { statCode: kills } } }
          - { event: statItemUpdated, at: 2026-03-01T11:00:00Z, data: { payload: { statCode: wins } } }
    expect: { matched: [hat-trick] }
  - name: a kills update and one win before are not enough
    event: statItemUpdated
    data: { namespace: ns, userId: ${U1}, payload: { statCode: wins } }
    history:
      ${U1}:
        events:
          - { event: statItemUpdated, at: 2026-03-01T10:00:00Z, data: { payload: { statCode: wins } } }
          - { event: statItemUpdated, at: 2026-03-01T10:30:00Z, data: { payload: { statCode: kills } } }
    expect: { matched: [] }
`,
        join(dir, 'rules.test.yaml'),
        { catalog, defaultRulesFile: rulesFile, env: {} },
      );
      const loaded = compileRulesText(readFileSync(rulesFile, 'utf8'), rulesFile, { catalog, registry: createDefaultRegistry(), env: {}, unsetEnv: 'error' });
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
      const results = suite.cases.map((c) => runCase(c, loaded.rules, createDefaultRegistry()));
      expect(results.map((r) => [r.name, r.passed, r.diff])).toEqual(suite.cases.map((c) => [c.name, true, []]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWith(specs, 'the object form: every mistake with its place and a fix', () => {
  it('unknown keys, a missing window, a where reading state, a by on another event', () => {
    const p = problems(`
  - name: a
    on: statItemUpdated
    when: { ">=": [ { count: { of: statItemUpdated, whithin: 24h } }, 3 ] }
    do: [ { grantItem: { itemId: x } } ]
  - name: b
    on: statItemUpdated
    when: { ">=": [ { count: { of: statItemUpdated, within: 24h, where: { ">": [ { count: [ statItemUpdated, 24h ] }, 1 ] } } }, 3 ] }
    do: [ { grantItem: { itemId: x } } ]
  - name: c
    on: statItemUpdated
    when: { ">=": [ { count: { of: userReport, within: 24h, by: "\${event.payload.UserID}" } }, 3 ] }
    do: [ { grantItem: { itemId: x } } ]
  - name: d
    on: statItemUpdated
    when: { ">=": [ { count: { of: statItemUpdated, within: 24h, where: { "==": [ { var: payload.statCod }, wins ] } } }, 3 ] }
    do: [ { grantItem: { itemId: x } } ]
  - name: e
    on: statItemUpdated
    when: { ">=": [ { streak: { of: statItemUpdated, per: month } }, 3 ] }
    do: [ { grantItem: { itemId: x } } ]
`);
    const text = p.map((x) => `${x.line}:${x.column} ${x.code} ${x.message} | ${x.fix ?? ''}`);
    expect(text.find((t) => t.includes('unknown key "whithin"'))).toMatch(/^6:.*did you mean "within"/);
    expect(text.find((t) => t.includes('"within" is missing'))).toBeDefined();
    expect(text.find((t) => t.includes('cannot read count'))).toMatch(/^10:/);
    expect(text.find((t) => t.includes('state-key'))).toMatch(/^14:.*read under the key of the event being handled \(statItemUpdated\)/);
    expect(text.find((t) => t.includes('unknown-path'))).toMatch(/^18:.*statCod.*statCode/);
    expect(text.find((t) => t.includes('streak counts consecutive days or weeks'))).toMatch(/^22:/);
  });
});

describeWith(specs, 'honest history: a lifetime count or a streak starts at deployment, and validate says so', () => {
  it('warns (state-history) for a lifetime count and a streak, in both forms; not for a window', () => {
    const r = compileResult(`
  - name: hundredth
    on: statItemUpdated
    when: { "==": [ { count: [ statItemUpdated, lifetime ] }, 100 ] }
    do: [ { grantItem: { itemId: x } } ]
  - name: streaky
    on: statItemUpdated
    when: { ">=": [ { streak: { of: statItemUpdated, per: day } }, 7 ] }
    do: [ { grantItem: { itemId: x } } ]
  - name: recent
    on: statItemUpdated
    when: { ">=": [ { count: { of: statItemUpdated, within: 24h } }, 3 ] }
    do: [ { grantItem: { itemId: x } } ]
`);
    expect(r.ok).toBe(true);
    const w = r.warnings.filter((x) => x.code === 'state-history');
    expect(w.map((x) => [x.rule, x.severity])).toEqual([
      ['hundredth', 'warning'],
      ['streaky', 'warning'],
    ]);
    expect(w[0]!.message).toMatch(/starts when this rule is loaded/);
    expect(w[0]!.fix).toMatch(/docs\/facts\.md/);
  });
});
