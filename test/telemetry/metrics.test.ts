/**
 * Issue 6, "Done when" 1: events through the real server (the built app,
 * `node dist/main.js`, live against the AGS stand-in), then `/metrics`
 * scraped: the go-grpc-prometheus counters and the engine's per-rule and
 * per-action counters have exact values, a duplicate skip and a permanent
 * failure (dead letter) included, and no label carries a user or event id.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { liveEnv, useAgsStandIn } from '../support/ags-fixture.js';
import { describeWith } from '../support/prereq.js';
import { LOGIN_SERVICE, builtApp, callOnce, client, encode, loginEvent, service, startApp, stopAll, userId, waitUntil } from '../e2e/support.js';
import type { AppProcess } from '../e2e/support.js';
import { exactValue, parseSamples } from './support.js';

const RULE = 'grant-item-on-login';
const GRPC = { grpc_type: 'unary', grpc_service: LOGIN_SERVICE, grpc_method: 'OnMessage' } as const;

describeWith(builtApp(), 'metrics: /metrics after real events (issue 6)', () => {
  const ags = useAgsStandIn({}, { resetAfterEach: false }); // the tests read what beforeAll's events did
  let app: AppProcess;
  let c: grpc.Client;
  let scrape = '';
  const run = randomBytes(4).toString('hex');
  const alice = userId();
  const okId = `evt-ok-${run}`;
  const badUser = userId(); // the stand-in answers 404 (user not found, scripted below): a permanent failure
  const badId = `evt-dl-${run}`;
  const otherUser = userId();
  const otherId = `evt-other-${run}`;
  const sent = [alice, okId, badUser, badId, otherUser, otherId];

  beforeAll(async () => {
    app = await startApp({
      env: liveEnv(ags, { STATE_STORE: 'memory' }), // counts the action's AGS calls: no store calls among them
    });
    c = client(app.address);
    ags.fail(`/users/${badUser}/fulfillment`, [{ status: 404, body: { errorCode: 20008, errorMessage: `user not found: ${badUser}` } }]);

    const ok = await encode(LOGIN_SERVICE, loginEvent({ id: okId, userId: alice }));
    expect(await callOnce(c, ok)).toEqual({ code: grpc.status.OK, details: '' }); // succeeded
    expect(await callOnce(c, ok)).toEqual({ code: grpc.status.OK, details: '' }); // duplicate
    expect(await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: badId, userId: badUser })))).toEqual({ code: grpc.status.OK, details: '' }); // dead-lettered
    expect(await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: otherId, userId: otherUser, namespace: 'othergame' })))).toEqual({
      code: grpc.status.OK,
      details: '',
    }); // not matched
    // field 1 as a length-delimited record claiming 100 bytes that are not there
    const garbage = await callOnce(c, { path: (await service(LOGIN_SERVICE)).path, bytes: Uint8Array.from([0x0a, 0x64, 0x01, 0x02]) });
    expect(garbage.code).toBe(grpc.status.INVALID_ARGUMENT);

    // every decoded event has its summary line and every call its handled count before we read the values
    await waitUntil('4 summary lines', () => app.logsMatching(/rule\(s\) matched/).length >= 4);
    await waitUntil('5 handled calls in /metrics', async () => {
      scrape = await app.metrics();
      return parseSamples(scrape).filter((s) => s.name === 'grpc_server_handled_total').reduce((n, s) => n + s.value, 0) >= 5;
    });
  });
  afterAll(async () => {
    c?.close();
    await stopAll();
  });

  it('the AGS calls were the expected ones (what the counters below count)', () => {
    expect(ags.serviceRequests().map((r) => [r.operation, r.outcome, r.path])).toEqual([
      ['fulfillItem', 200, `/platform/admin/namespaces/mygame/users/${alice}/fulfillment`],
      ['fulfillItem', 404, `/platform/admin/namespaces/mygame/users/${badUser}/fulfillment`],
    ]);
    expect(ags.violations).toEqual([]);
  });

  it('go-grpc-prometheus counters: started, handled by code, messages, handling histogram', () => {
    expect(exactValue(scrape, 'grpc_server_started_total', GRPC)).toBe(5);
    expect(exactValue(scrape, 'grpc_server_handled_total', { ...GRPC, grpc_code: 'OK' })).toBe(4);
    expect(exactValue(scrape, 'grpc_server_handled_total', { ...GRPC, grpc_code: 'InvalidArgument' })).toBe(1);
    expect(parseSamples(scrape).filter((s) => s.name === 'grpc_server_handled_total').map((s) => s.labels.grpc_code).sort()).toEqual(['InvalidArgument', 'OK']);
    expect(exactValue(scrape, 'grpc_server_msg_received_total', GRPC)).toBe(5);
    expect(exactValue(scrape, 'grpc_server_msg_sent_total', GRPC)).toBe(4); // an error answer sends no message
    expect(exactValue(scrape, 'grpc_server_handling_seconds_count', GRPC)).toBe(5);
    expect(exactValue(scrape, 'grpc_server_handling_seconds_bucket', { ...GRPC, le: '+Inf' })).toBe(5);
    expect(scrape).toContain('# TYPE grpc_server_handling_seconds histogram');
  });

  it('events received and invalid, per event name', () => {
    expect(exactValue(scrape, 'event_rules_events_received_total', { event: 'userLoggedIn' })).toBe(4);
    expect(exactValue(scrape, 'event_rules_events_invalid_total', { event: 'userLoggedIn' })).toBe(1);
  });

  it('per rule: matched and not matched', () => {
    expect(exactValue(scrape, 'event_rules_rule_evaluations_total', { rule: RULE, outcome: 'matched' })).toBe(3);
    expect(exactValue(scrape, 'event_rules_rule_evaluations_total', { rule: RULE, outcome: 'notMatched' })).toBe(1);
    // the third-party rule is never evaluated for userLoggedIn
    expect(parseSamples(scrape).filter((s) => s.name === 'event_rules_rule_evaluations_total').map((s) => s.labels.rule)).toEqual([RULE, RULE]);
  });

  it('per rule and action: succeeded, duplicate, dead-lettered; latency observed for the two that ran', () => {
    const action = { rule: RULE, action: 'grantItem' };
    expect(exactValue(scrape, 'event_rules_actions_total', { ...action, outcome: 'succeeded' })).toBe(1);
    expect(exactValue(scrape, 'event_rules_actions_total', { ...action, outcome: 'duplicate' })).toBe(1);
    expect(exactValue(scrape, 'event_rules_actions_total', { ...action, outcome: 'deadLettered' })).toBe(1);
    expect(parseSamples(scrape).filter((s) => s.name === 'event_rules_actions_total')).toHaveLength(3);
    expect(exactValue(scrape, 'event_rules_action_duration_seconds_count', action)).toBe(2);
    expect(exactValue(scrape, 'event_rules_dead_letters_total', action)).toBe(1);
  });

  it('AGS requests by operation and status; logins by reason and result', () => {
    expect(exactValue(scrape, 'event_rules_ags_requests_total', { operation: 'fulfillItem', status: '200' })).toBe(1);
    expect(exactValue(scrape, 'event_rules_ags_requests_total', { operation: 'fulfillItem', status: '404' })).toBe(1);
    expect(exactValue(scrape, 'event_rules_ags_requests_total', { operation: 'login', status: '200' })).toBe(1);
    expect(parseSamples(scrape).filter((s) => s.name === 'event_rules_ags_requests_total')).toHaveLength(3);
    expect(exactValue(scrape, 'event_rules_ags_logins_total', { reason: 'initial', result: 'ok' })).toBe(1);
    expect(parseSamples(scrape).filter((s) => s.name === 'event_rules_ags_logins_total')).toHaveLength(1);
    expect(ags.tokensIssued()).toBe(1);
  });

  it('Node process and runtime metrics are there', () => {
    const names = new Set(parseSamples(scrape).map((s) => s.name));
    expect(names).toContain('process_cpu_user_seconds_total');
    expect(names).toContain('nodejs_heap_size_used_bytes');
    expect(names).toContain('process_resident_memory_bytes');
    expect(exactValue(scrape, 'nodejs_heap_size_used_bytes', {})).toBeGreaterThan(0);
  });

  it('no label value carries a user id or an event id', () => {
    const values = parseSamples(scrape).flatMap((s) => Object.values(s.labels));
    expect(values.length).toBeGreaterThan(20);
    for (const id of sent) expect(values.filter((v) => v.includes(id))).toEqual([]);
    // nor anywhere else in the scrape
    for (const id of sent) expect(scrape).not.toContain(id);
    for (const prefix of ['evt-', 'not-a-user-']) expect(scrape).not.toContain(prefix);
  });
});
