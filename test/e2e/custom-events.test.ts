/**
 * Issue 25 end to end on real processes: `node dist/main.js` (two replicas,
 * kill -9), the AGS stand-in counting grants, a stand-in publisher sidecar (a
 * real gRPC server from AccelByte's published proto) recording publishes, and
 * the consumer side and the Task Scheduler driven with the published protos as
 * the sidecars would, with redeliveries and retries.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import { DEFAULT_RECORD_KEY } from '../../src/store/cloudsave-state-store.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { AGS_SPECS_DIR, describeWith, sharedFile } from '../support/prereq.js';
import { startPublisherStandIn } from '../support/publisher-stand-in.js';
import type { PublisherStandIn } from '../support/publisher-stand-in.js';
import { LOGIN_SERVICE, builtApp, callOnce, clientPool, deliverUntilOk, encode, loginEvent, metricValue, pool, sharedApp, startApp, stopAll, tempDir, userId, waitUntil } from './support.js';
import type { AppProcess, Encoded } from './support.js';

const CONSUMER = 'accelbyte/extend/async_messaging/consumer_service.proto';
const PUBLISHER = 'accelbyte/extend/async_messaging/publisher_service.proto';
const SCHEDULER = 'accelbyte/extend/task_scheduler/v1/task_scheduler.proto';

const RULES = `version: 1
rules:
  - name: announce-login
    on: userLoggedIn
    do:
      - publishMessage: { topic: player-activity, body: { kind: login, userId: "\${event.userId}" } }

  - name: reward-activity
    on: { topic: player-activity }
    when: { "==": [ { var: body.kind }, "login" ] }
    do:
      - grantItem: { itemId: activity-item, userId: "\${event.body.userId}" }

  - name: weekly-chest
    on: { topic: weekly-reset }
    limit: { count: 1, per: week }
    do:
      - grantItem: { itemId: weekly-chest, userId: "\${event.body.userId}" }

  - name: announce-weekly-reset
    on: { schedule: weekly-reset-task }
    do:
      - publishMessage: { topic: weekly-reset, body: { week: "\${event.payload.week}", userId: "\${event.payload.userId}" } }

  - name: player-chest
    on: { topic: player-reset }
    limit: { count: 1, per: week }
    do:
      - grantItem: { itemId: weekly-chest, userId: "\${event.metadata.PlayerId}" }

  - name: guild-chest
    on: { topic: guild-reset }
    limit: { count: 1, per: week, key: "guild:\${event.body.guildId}" }
    do:
      - grantItem: { itemId: activity-item, userId: "\${event.body.userId}" }

  - name: season-reward
    on: { schedule: season-reward-task }
    do:
      - grantItem: { itemId: "\${event.payload.itemId}", userId: "\${event.payload.userId}" }
`;

type Serialize = (value: object) => Buffer;
type Deserialize = (bytes: Buffer) => Record<string, unknown>;

describeWith([builtApp(), sharedFile(`ags-event-specs/${CONSUMER}`), sharedFile(`ags-event-specs/${PUBLISHER}`), sharedFile(`ags-event-specs/${SCHEDULER}`)], 'e2e: custom events, topics and scheduled rules (issue 25)', () => {
  let ags: AgsStandIn;
  let sidecar: PublisherStandIn;
  let rulesFile: string;
  let onMessage: { path: string; requestSerialize: Serialize };
  let runTask: { path: string; requestSerialize: Serialize; responseDeserialize: Deserialize };
  const clients = clientPool();
  const env = (): Record<string, string> => ({
    AB_BASE_URL: ags.url,
    AB_CLIENT_ID: ags.clientId,
    AB_CLIENT_SECRET: ags.clientSecret,
    AB_NAMESPACE: 'mygame',
    RULES_FILE: rulesFile,
    ASYNC_MESSAGING_PUBLISHER_GRPC_PORT: String(sidecar.port),
  });

  beforeAll(async () => {
    ags = await startAgsStandIn({ items: [{ id: 'activity-item' }, { id: 'weekly-chest' }] });
    sidecar = await startPublisherStandIn(PUBLISHER, [AGS_SPECS_DIR]);
    const dir = tempDir('eer-custom-events-');
    rulesFile = join(dir, 'rules.yaml');
    writeFileSync(rulesFile, RULES);
    const defs = protoLoader.loadSync([CONSUMER, SCHEDULER], { keepCase: true, includeDirs: [AGS_SPECS_DIR], defaults: true });
    onMessage = (defs['accelbyte.extend.async_messaging.AsyncMessagingConsumerService'] as unknown as Record<string, typeof onMessage>).onMessage!;
    runTask = (defs['accelbyte.extend.task_scheduler.v1.ScheduledTaskHandler'] as unknown as Record<string, typeof runTask>).RunScheduledTask!;
  });
  afterEach(async () => {
    clients.closeAll();
    await stopAll();
    ags.reset();
    sidecar.published.length = 0;
  });
  afterAll(async () => {
    await sidecar.close();
    await ags.close();
  });
  // the tests that need no process of their own (no kill, no second replica, no environment of their own) share one
  // app, each with players, message ids and run ids of its own; it stops before the stand-ins close
  const defaultApp = sharedApp(() => ({ env: env() }));
  // and a second replica for the tests that need two (logins, messages and runs of their own)
  const otherReplica = sharedApp(() => ({ env: env() }));

  const message = (topic: string, body: unknown, metadata: Record<string, string> = {}): Encoded => ({
    path: onMessage.path,
    bytes: onMessage.requestSerialize({ topic, body: typeof body === 'string' ? body : JSON.stringify(body), metadata }),
  });
  const grantsOf = (user: string, itemId?: string): number => ags.fulfillments.filter((f) => f.userId === user && (itemId === undefined || f.itemId === itemId)).reduce((n, f) => n + f.quantity, 0);
  const publishesTo = (topic: string): number => sidecar.published.filter((p) => p.topic === topic).length;

  function runScheduled(c: grpc.Client, request: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      c.makeUnaryRequest(runTask.path, runTask.requestSerialize, runTask.responseDeserialize, request, new grpc.Metadata(), { deadline: Date.now() + 30_000 }, (err, reply) =>
        err ? reject(err) : resolve(reply!),
      );
    });
  }

  it('a login published once to player-activity however often redelivered, to two replicas at once; each message granted once however often redelivered', async () => {
    const [a, b] = await Promise.all([defaultApp(), otherReplica()]);
    const ca = clients.connect(a);
    const cb = clients.connect(b);
    const users = Array.from({ length: 6 }, () => userId());
    const logins = await Promise.all(users.map((u) => encode(LOGIN_SERVICE, loginEvent({ id: `login-${u}`, userId: u }))));
    // each login delivered three times to each replica, concurrently
    await pool(
      logins.flatMap((e) => [0, 1, 2].flatMap(() => [() => deliverUntilOk(() => ca, e), () => deliverUntilOk(() => cb, e)])),
      8,
    );
    expect(publishesTo('player-activity')).toBe(users.length);
    for (const u of users) expect(sidecar.published.filter((p) => JSON.parse(p.body).userId === u)).toHaveLength(1);
    const first = sidecar.published[0]!;
    expect(JSON.parse(first.body)).toMatchObject({ kind: 'login' });
    expect(first.metadata.messageId).toMatch(/^[A-Za-z0-9_-]{22}$/);

    // the consumer side: every published message delivered (as the sidecar would) three times to both replicas
    const delivered = sidecar.published.map((p) => message(p.topic, p.body, p.metadata));
    await pool(
      delivered.flatMap((e) => [0, 1, 2].flatMap(() => [() => deliverUntilOk(() => ca, e), () => deliverUntilOk(() => cb, e)])),
      8,
    );
    expect(users.map((u) => grantsOf(u, 'activity-item'))).toEqual(users.map(() => 1));
    expect(ags.violations).toEqual([]);
  });

  it('a message without a message id is keyed by its topic and body: one grant over redeliveries; another kind grants nothing; an unknown topic is answered OK and counted', async () => {
    const app = await defaultApp();
    const c = clients.connect(app);
    const u = userId();
    const e = message('player-activity', { kind: 'login', userId: u });
    for (let i = 0; i < 4; i++) await deliverUntilOk(() => c, e);
    await deliverUntilOk(() => c, message('player-activity', { kind: 'logout', userId: u }));
    expect(grantsOf(u)).toBe(1);
    expect((await callOnce(c, message('nobody-listens', 'plain text'))).code).toBe(grpc.status.OK);
    await waitUntil('the unrouted message counted', async () => metricValue(await app.metrics(), 'event_rules_topic_messages_unrouted_total', { topic: 'nobody-listens' }) === 1);
  });

  it('a topic rule with limit per week: the player of body.userId gets one chest however many distinct messages', async () => {
    const app = await defaultApp();
    const c = clients.connect(app);
    const u = userId();
    for (let i = 0; i < 3; i++) await deliverUntilOk(() => c, message('weekly-reset', { userId: u, week: `w${i}` }, { messageId: `m-${i}` }));
    expect(grantsOf(u, 'weekly-chest')).toBe(1);
  });

  it('whose record: the PlayerId metadata key when the body has no userId; limit.key when the rule says so (issue 25)', async () => {
    const app = await defaultApp();
    const c = clients.connect(app);
    const [p, q, r] = [userId(), userId(), userId()];
    // distinct messages (distinct message ids) naming the player only in the metadata: the player's weekly limit holds
    for (const n of [1, 2, 3]) await deliverUntilOk(() => c, message('player-reset', { round: n }, { messageId: `pr-${n}`, PlayerId: p }));
    expect(grantsOf(p, 'weekly-chest')).toBe(1);
    expect(ags.cloudSave.adminRecord(p, DEFAULT_RECORD_KEY), "the limit is counted in the player's own record").toBeDefined();
    // the rule counts per guild: two players of one guild, one grant; another guild, another grant
    await deliverUntilOk(() => c, message('guild-reset', { guildId: 'g1', userId: q }, { messageId: 'gr-1' }));
    await deliverUntilOk(() => c, message('guild-reset', { guildId: 'g1', userId: r }, { messageId: 'gr-2' }));
    await deliverUntilOk(() => c, message('guild-reset', { guildId: 'g2', userId: r }, { messageId: 'gr-3' }));
    expect([grantsOf(q, 'activity-item'), grantsOf(r, 'activity-item')]).toEqual([1, 1]);
  });

  it('a scheduled rule runs once per run_id however often the scheduler retries it, on two replicas; the answer is a ScheduledTaskResponse', async () => {
    const [a, b] = await Promise.all([defaultApp(), otherReplica()]);
    const ca = clients.connect(a);
    const cb = clients.connect(b);
    const u = userId();
    const request = (attempt: number, runId = 'run-1') => ({
      run_id: runId,
      task_id: 'task-7',
      namespace: 'mygame',
      task_name: 'weekly-reset-task',
      scheduled_time: { seconds: 1796342400, nanos: 0 },
      attempt_number: attempt,
      payload: JSON.stringify({ week: '2026-W49', userId: u }),
    });
    // the scheduler's retries: a new attempt while the answer is success=false (503: another attempt holds the run), to either replica
    const untilSuccess = async (c: grpc.Client, runId = 'run-1'): Promise<Record<string, unknown>> => {
      for (let attempt = 1; ; attempt++) {
        const r = await runScheduled(c, request(attempt, runId));
        if (r.success === true || attempt > 50) return r;
        expect(r.http_status_code).toBe(503);
      }
    };
    const replies = await Promise.all([ca, cb, ca, cb, ca, cb].map((c) => untilSuccess(c)));
    for (const r of replies) expect(r).toMatchObject({ success: true, http_status_code: 200 });
    // a retry after success: done, nothing runs again
    expect(await runScheduled(cb, request(7))).toMatchObject({ success: true, http_status_code: 200 });
    expect(JSON.parse(String(replies[0]!.result_data))).toMatchObject({ runId: 'run-1', outcome: 'ok' });
    expect(publishesTo('weekly-reset')).toBe(1);
    expect(JSON.parse(sidecar.published[0]!.body)).toEqual({ week: '2026-W49', userId: u });
    // another run is another run
    await untilSuccess(ca, 'run-2');
    expect(publishesTo('weekly-reset')).toBe(2);
    // a task no rule listens on: success=false, 404, not a gRPC error
    expect(await runScheduled(ca, { ...request(1, 'run-3'), task_name: 'other-task' })).toMatchObject({ success: false, http_status_code: 404 });
    // the published weekly-reset delivered to the Event Handler: the chest
    for (const p of sidecar.published.slice(0, 1)) await deliverUntilOk(() => ca, message(p.topic, p.body, p.metadata));
    expect(grantsOf(u, 'weekly-chest')).toBe(1);
  });

  it('a scheduled run whose action fails for good answers success=false 422 (dead-lettered, the same on every retry, no effect); an AGS outage answers 503 until the run succeeds once', async () => {
    const app = await defaultApp();
    const c = clients.connect(app);
    const u = userId();
    const run = (runId: string, attempt: number, itemId: string) =>
      runScheduled(c, { run_id: runId, task_id: 'task-9', namespace: 'mygame', task_name: 'season-reward-task', attempt_number: attempt, payload: JSON.stringify({ itemId, userId: u }) });
    // an item AGS does not have: 404, permanent: dead-lettered; the scheduler is told it failed, with a status that is not its retry signal (5xx)
    for (const attempt of [1, 2, 3]) {
      const r = await run('run-dead', attempt, 'no-such-item');
      expect(r).toMatchObject({ success: false, http_status_code: 422 });
      expect(String(r.message)).toContain('season-reward/grantItem');
      expect(JSON.parse(String(r.result_data))).toMatchObject({ runId: 'run-dead', outcome: 'deadLettered', deadLettered: ['season-reward/grantItem'] });
    }
    expect(ags.fulfillments.filter((f) => f.userId === u)).toHaveLength(0);
    // AGS down: transient, 503 (the scheduler's next attempt continues the run); back up: one grant, then done
    ags.always(/fulfillment/, { status: 503 });
    expect(await run('run-outage', 1, 'weekly-chest')).toMatchObject({ success: false, http_status_code: 503 });
    ags.always();
    expect(await run('run-outage', 2, 'weekly-chest')).toMatchObject({ success: true, http_status_code: 200 });
    expect(await run('run-outage', 3, 'weekly-chest')).toMatchObject({ success: true, http_status_code: 200 });
    expect(grantsOf(u, 'weekly-chest')).toBe(1);
  });

  it('the published message carries the trace context of the event that caused it (tracing on)', async () => {
    const app = await startApp({ env: { ...env(), OTEL_TRACES_EXPORTER: 'console' } });
    const u = userId();
    const e = await encode(LOGIN_SERVICE, loginEvent({ id: `trace-${u}`, userId: u }));
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    expect((await callOnce(clients.connect(app), e, 30_000, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` })).code).toBe(grpc.status.OK);
    const published = sidecar.published.find((p) => JSON.parse(p.body).userId === u);
    expect(JSON.stringify(published?.metadata)).toContain(traceId);
  });

  // The shared replica is the one killed (no later test uses it), and the redelivery goes to the other shared
  // replica: a process that never saw this player or event, as a fresh one would be, reading only the store.
  it('kill -9 after publishing, another process, the login redelivered: still one publish', async () => {
    const first = await otherReplica();
    const u = userId();
    const e = await encode(LOGIN_SERVICE, loginEvent({ id: `kill-${u}`, userId: u }));
    await deliverUntilOk(() => clients.connect(first), e);
    expect(publishesTo('player-activity')).toBe(1);
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await defaultApp();
    expect(second.child.pid).not.toBe(first.child.pid);
    for (let i = 0; i < 3; i++) await deliverUntilOk(() => clients.connect(second), e);
    expect(publishesTo('player-activity')).toBe(1);
  });

  it('the sidecar publishes and its answer is lost: an unknown outcome, dead-lettered, never published twice over redeliveries', async () => {
    const app: AppProcess = await defaultApp();
    const c = clients.connect(app);
    const u = userId();
    const e = await encode(LOGIN_SERVICE, loginEvent({ id: `lost-${u}`, userId: u }));
    sidecar.loseAnswers(1);
    for (let i = 0; i < 3; i++) await deliverUntilOk(() => c, e);
    expect(publishesTo('player-activity')).toBe(1);
    // this event's own summary line (the shared app logged others' dead letters before)
    await app.waitForLog(/rule\(s\) matched/, (l) => l.eventId === `lost-${u}` && JSON.stringify(l.actions).includes('deadLettered'));
  });
});
