/**
 * The live-ops forms end to end on real processes (`node dist/main.js`), the
 * default state store (AGS Cloud Save on the stand-in) and a real gRPC sender,
 * with AGS's own protos: a filtered count (`where`, statItemUpdated), a keyed
 * count (`by`, userReport), a fan-out (`forEach`, gameSessionEndedEvent) and
 * a fact (`facts`: entitlement ownership, and group membership, read from
 * the AGS stand-in), each with a redelivery. Effects are counted where they take effect: the
 * stand-in's fulfillments, bans and season exp grants.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog } from '../../src/events/types.js';
import { liveEnv, useAgsStandIn } from '../support/ags-fixture.js';
import { REPO_ROOT, describeWith, sharedSpecs } from '../support/prereq.js';
import { PROTO_DIR, builtApp, callOnce, clientPool, deliverUntilOk, metricValue, sharedApp, startApp, stopAll, tempDir, userId } from './support.js';
import type { Encoded } from './support.js';

const SPECS = resolve(REPO_ROOT, '../shared/ags-event-specs/accelbyte');
const DIRS = ['social', 'reporting', 'session'].map((d) => resolve(SPECS, d));
const BADGE = 'hat-trick-badge';

const RULES = `version: 1
rules:
  - name: hat-trick
    on: statItemUpdated
    when: { ">=": [ { count: { of: statItemUpdated, within: 24h, where: { "==": [ { var: payload.statCode }, "wins" ] } } }, 3 ] }
    limit: { count: 1, per: 24h }
    do: [ { grantItem: { itemId: ${BADGE} } } ]

  - name: flag-reported
    on: userReport
    when: { ">=": [ { count: { of: userReport, within: 24h, by: "\${event.payload.UserID}" } }, 3 ] }
    limit: { count: 1, per: day, key: "\${event.payload.UserID}" }
    do: [ { banUser: { ban: CHAT_SEND, reason: HARASSMENT, duration: 24h, userId: "\${event.payload.UserID}" } } ]

  - name: season-pass-holders
    on: statItemUpdated
    facts:
      pass: { getUserEntitlementOwnershipByItemId: { itemId: season-pass-2027 } }
      unread: { getUserStatItems: { statCodes: kills } }
    when: { "and": [ { "==": [ { var: payload.statCode }, "login-days" ] }, { "==": [ { var: facts.pass.owned }, true ] } ] }
    do: [ { grantItem: { itemId: weekly-pass-chest } } ]

  - name: guild-raid-reward
    on: statItemUpdated
    facts:
      guild: { AdminGetUserGroupStatusInformationV2: { groupId: raid-guild-7 } }
      officers: { AdminGetUserGroupStatusInformationV2: { groupId: officers-club } }
    when: { "and": [ { "==": [ { var: payload.statCode }, "raid-clears" ] }, { "==": [ { var: facts.guild.member }, true ] } ] }
    do: [ { grantItem: { itemId: raid-chest } } ]

  - name: match-xp-for-everyone
    on: gameSessionEndedEvent
    do:
      - forEach: "\${event.payload.userIds}"
        grantSeasonExp: { exp: 100, userId: "\${item}" }
`;

let specs: Catalog;
async function encoded(eventName: string, event: Record<string, unknown>): Promise<Encoded> {
  specs ??= await loadCatalog({ dirs: DIRS });
  const s = specs.services.find((x) => x.eventName === eventName);
  if (!s) throw new Error(`${eventName} is not in ${SPECS}`);
  return { path: s.path, bytes: specs.codec(s).encode(event) };
}

describeWith([builtApp(), sharedSpecs()], 'e2e: where, by and forEach on AGS protos, Cloud Save store, real processes', () => {
  const ags = useAgsStandIn({ items: [{ id: BADGE }, { id: 'weekly-pass-chest' }, { id: 'raid-chest' }] });
  const clients = clientPool();
  const dir = tempDir('eer-e2e-liveops-');
  const env = (): Record<string, string> => {
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, RULES);
    return liveEnv(ags, { RULES_FILE: rules, PROTO_DIR: [PROTO_DIR, ...DIRS].join(',') });
  };
  // the tests that need no process of their own share one app
  const defaultApp = sharedApp(() => ({ env: env() }));
  const effects = (operation: string, user: string): number => ags.requests.filter((r) => r.operation === operation && typeof r.outcome === 'number' && r.outcome < 300 && r.path.includes(`/users/${user}/`)).length;

  afterEach(async () => {
    clients.closeAll();
    await stopAll();
  });

  it('filtered count: two kills updates and a win grant nothing; the third win grants the badge once, also when redelivered', async () => {
    const c = clients.connect(await defaultApp());
    const u = userId();
    const stat = (id: string, statCode: string) => encoded('statItemUpdated', { id, namespace: 'mygame', userId: u, payload: { namespace: 'mygame', userId: u, statCode, latestValue: 1 } });
    for (const [id, code] of [['s1', 'kills'], ['s2', 'kills'], ['s3', 'wins'], ['s4', 'wins']] as const) expect((await callOnce(c, await stat(`${id}-${u}`, code))).code).toBe(grpc.status.OK);
    expect(ags.fulfillments.filter((f) => f.userId === u)).toHaveLength(0);
    expect((await callOnce(c, await stat(`s5-${u}`, 'wins'))).code).toBe(grpc.status.OK);
    expect((await callOnce(c, await stat(`s5-${u}`, 'wins'))).code).toBe(grpc.status.OK);
    expect(ags.fulfillments.filter((f) => f.userId === u && f.itemId === BADGE).length).toBe(1);
  });

  it('keyed count: three reports against one player ban that player once (not the reporters); a redelivered report is not counted twice', async () => {
    const c = clients.connect(await defaultApp());
    const target = userId();
    const reporters = [userId(), userId(), userId()];
    const report = (id: string, reporter: string) => encoded('userReport', { id, namespace: 'mygame', userId: reporter, payload: { Namespace: 'mygame', ReporterID: reporter, UserID: target, Category: 'USER', Reason: 'cheating' } });
    // the first report three times: one count
    for (let k = 0; k < 3; k++) expect((await callOnce(c, await report(`r0-${target}`, reporters[0]!))).code).toBe(grpc.status.OK);
    expect((await callOnce(c, await report(`r1-${target}`, reporters[1]!))).code).toBe(grpc.status.OK);
    expect(effects('AdminBanUserV3', target)).toBe(0);
    expect((await callOnce(c, await report(`r2-${target}`, reporters[2]!))).code).toBe(grpc.status.OK);
    expect((await callOnce(c, await report(`r2-${target}`, reporters[2]!))).code).toBe(grpc.status.OK);
    expect(effects('AdminBanUserV3', target)).toBe(1);
    for (const r of reporters) expect(effects('AdminBanUserV3', r)).toBe(0);
  });

  it('fan-out: every player of the session gets season exp once, also when the event is redelivered with its list reordered', async () => {
    const c = clients.connect(await defaultApp());
    const players = [userId(), userId(), userId(), userId()];
    const ended = (ids: string[]) => encoded('gameSessionEndedEvent', { id: `end-${players[0]!}`, namespace: 'mygame', payload: { userIds: ids, namespace: 'mygame' } });
    expect((await callOnce(c, await ended(players))).code).toBe(grpc.status.OK);
    expect((await callOnce(c, await ended([...players].reverse()))).code).toBe(grpc.status.OK);
    for (const p of players) expect(effects('grantUserExp', p)).toBe(1);
  });

  it('a fact: only pass holders get the chest; the lookup is sent only for the rule reading it, once per event; AGS failing is UNAVAILABLE (redelivered), never read as "not owned"', async () => {
    const c = clients.connect(await defaultApp());
    const holder = userId();
    const other = userId();
    ags.owned.add(`${holder}/season-pass-2027`);
    const stat = (id: string, u: string) => encoded('statItemUpdated', { id, namespace: 'mygame', userId: u, payload: { namespace: 'mygame', userId: u, statCode: 'login-days', latestValue: 1 } });
    expect((await callOnce(c, await stat(`p1-${holder}`, holder))).code).toBe(grpc.status.OK);
    expect((await callOnce(c, await stat(`p1-${other}`, other))).code).toBe(grpc.status.OK);
    const chests = (u: string): number => ags.fulfillments.filter((f) => f.userId === u && f.itemId === 'weekly-pass-chest').length;
    expect([chests(holder), chests(other)]).toEqual([1, 0]);
    const lookups = (u: string) => ags.requests.filter((r) => r.path.includes(`/users/${u}/`) && ['getUserEntitlementOwnershipByItemId', 'getUserStatItems'].includes(r.operation ?? ''));
    expect(lookups(holder).map((r) => r.operation)).toEqual(['getUserEntitlementOwnershipByItemId']);
    expect(ags.violations).toEqual([]);
    // AGS unavailable: the event is answered UNAVAILABLE and nothing is granted; redelivered once AGS answers, it is decided on the real answer
    const late = userId();
    ags.owned.add(`${late}/season-pass-2027`);
    ags.setFaultRate(1, ['503'], /entitlements\/ownership/);
    expect((await callOnce(c, await stat(`p2-${late}`, late))).code).toBe(grpc.status.UNAVAILABLE);
    expect(chests(late)).toBe(0);
    ags.setFaultRate(0);
    expect((await callOnce(c, await stat(`p2-${late}`, late))).code).toBe(grpc.status.OK);
    expect(chests(late)).toBe(1);
  });

  it('group membership: only members of the group get the raid chest; not a member (AGS 404 73034/73433) or only invited gets nothing (not matched, never an error); the Group service failing is UNAVAILABLE, then granted on redelivery; an unread fact is never requested', async () => {
    const app = await defaultApp();
    const c = clients.connect(app);
    const [joined, invited, inOther, none, late] = [userId(), userId(), userId(), userId(), userId()];
    ags.groups.set(`${joined}/raid-guild-7`, { memberRoleId: ['raider'] });
    ags.groups.set(`${invited}/raid-guild-7`, { status: 'INVITE' });
    ags.groups.set(`${inOther}/another-guild`, {});
    ags.groups.set(`${late}/raid-guild-7`, {});
    const raid = (id: string, u: string) => encoded('statItemUpdated', { id, namespace: 'mygame', userId: u, payload: { namespace: 'mygame', userId: u, statCode: 'raid-clears', latestValue: 1 } });
    for (const u of [joined, invited, inOther, none]) expect((await callOnce(c, await raid(`g1-${u}`, u))).code).toBe(grpc.status.OK);
    const chests = (u: string): number => ags.fulfillments.filter((f) => f.userId === u && f.itemId === 'raid-chest').length;
    expect([joined, invited, inOther, none].map(chests)).toEqual([1, 0, 0, 0]);
    const lookups = (u: string) => ags.requests.filter((r) => r.operation === 'AdminGetUserGroupStatusInformationV2' && r.path.includes(`/users/${u}/`));
    // one request per event, for the fact the condition reads; AGS's answers as the group spec documents them
    expect([joined, invited, inOther, none].map((u) => lookups(u).map((r) => [r.path.split('/groups/')[1], r.outcome, (r.answer as { errorCode?: number }).errorCode ?? (r.answer as { status?: string }).status]))).toEqual([
      [['raid-guild-7/status', 200, 'JOINED']],
      [['raid-guild-7/status', 200, 'INVITE']],
      [['raid-guild-7/status', 404, 73433]],
      [['raid-guild-7/status', 404, 73034]],
    ]);
    expect(ags.requests.filter((r) => r.path.includes('/groups/officers-club/'))).toEqual([]);
    expect(ags.violations).toEqual([]);
    // "not a member" is AGS's definite answer: the rule is not matched, no error, nothing dead-lettered
    const metrics = await app.metrics();
    expect(metricValue(metrics, 'event_rules_rule_evaluations_total', { rule: 'guild-raid-reward', outcome: 'error' })).toBe(0);
    expect(metricValue(metrics, 'event_rules_dead_letters_total', { rule: 'guild-raid-reward' })).toBe(0);
    expect(metricValue(metrics, 'event_rules_rule_evaluations_total', { rule: 'guild-raid-reward', outcome: 'notMatched' })).toBeGreaterThanOrEqual(3);
    // the Group service unavailable: UNAVAILABLE and nothing granted (never read as "not a member"); redelivered once it answers: granted once
    ags.setFaultRate(1, ['503'], /\/group\//);
    expect((await callOnce(c, await raid(`g2-${late}`, late))).code).toBe(grpc.status.UNAVAILABLE);
    expect(chests(late)).toBe(0);
    ags.setFaultRate(0);
    expect((await callOnce(c, await raid(`g2-${late}`, late))).code).toBe(grpc.status.OK);
    expect((await callOnce(c, await raid(`g2-${late}`, late))).code).toBe(grpc.status.OK);
    expect(chests(late)).toBe(1);
    expect(chests(joined)).toBe(1);
  });

  it('fan-out through a lost AGS answer and a kill -9: redelivered until OK, each player of the session gets season exp exactly once', async () => {
    const players = [userId(), userId(), userId()];
    const e = await encoded('gameSessionEndedEvent', { id: `lost-${players[0]!}`, namespace: 'mygame', payload: { userIds: players, namespace: 'mygame' } });
    // the second player's grant takes effect but its answer is lost
    ags.fail(`/users/${players[1]!}/seasons/current/exp`, [{ reset: true, afterEffect: true }]);
    const first = await startApp({ env: env() });
    const r = await callOnce(clients.connect(first), e);
    expect([grpc.status.OK, grpc.status.UNAVAILABLE]).toContain(r.code);
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await startApp({ env: env() });
    const c = clients.connect(second);
    await deliverUntilOk(() => c, e);
    await deliverUntilOk(() => c, e);
    for (const p of players) expect(ags.requests.filter((q) => q.operation === 'grantUserExp' && q.path.includes(`/users/${p}/`) && (typeof q.outcome === 'number' ? q.outcome < 300 : q.outcome === 'reset')).length, p).toBe(1);
  });
});
