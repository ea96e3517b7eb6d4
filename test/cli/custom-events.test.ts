/**
 * The toolkit on custom events (issue 25): `send --topic` against the real
 * server (dry run: it logs what it would grant and what it would publish),
 * `samples --topic/--schedule`, `explain` and rule tests on topic events, and
 * `validate` of the issue's rules with nothing in proto/ for them.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runBin, runCommand, startServer, waitFor, workspace } from './support.js';
import type { RunningServer, Workspace } from './support.js';

const USER = '0123456789abcdef0123456789abcdef';
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
`;

let ws: Workspace;
let server: RunningServer | undefined;
beforeAll(() => assertBuilt());
afterEach(async () => {
  await server?.stop();
  server = undefined;
  ws?.remove();
});

describe('custom events in the toolkit', () => {
  // The first two tests share one server of the issue's rules (RULES_WATCH on, the default): the second adds its
  // scheduled rule to the file and waits for the reload (one server start fewer). Each starts it if it runs alone.
  let issueWs: Workspace | undefined;
  let issueStarted: Promise<RunningServer> | undefined;
  const issueProject = (): Workspace => {
    if (!issueWs) {
      issueWs = workspace();
      issueWs.write('rules.yaml', RULES);
    }
    return issueWs;
  };
  const issueServer = async (): Promise<{ ws: Workspace; server: RunningServer }> => {
    const ws = issueProject();
    issueStarted ??= startServer(ws.dir, { RULES_FILE: 'rules.yaml', RULES_WATCH: 'true' });
    return { ws, server: await issueStarted };
  };
  afterAll(async () => {
    await (await issueStarted?.catch(() => undefined))?.stop();
    issueWs?.remove();
  });

  it('validate accepts the issue\'s rules; send --topic reaches the topic rule; send of a login logs the publish a dry run would do', async () => {
    const v = await runBin(['validate'], { cwd: issueProject().dir });
    expect(v.stdout + v.stderr).toContain('valid: 2 rules on 2 events');
    expect(v.code).toBe(0);

    const { ws: project, server } = await issueServer();
    project.write('body.json', JSON.stringify({ kind: 'login', userId: USER }));
    const r = await runCommand(['send', '--topic', 'player-activity', '--data', 'body.json', '--target', `127.0.0.1:${server.port}`], { cwd: project.dir });
    expect(r.stdout).toBe('OK\n');
    expect(r.stderr).toMatch(/^sending topic:player-activity id [0-9a-f-]{36} \(\d+ bytes\) to 127\.0\.0\.1:\d+\/accelbyte\.extend\.async_messaging\.AsyncMessagingConsumerService\/onMessage/);
    const summary = await waitFor('the topic summary', () => server.lines().find((l) => l.msg?.startsWith('topic:player-activity: ')));
    expect(summary).toMatchObject({ outcome: 'ok', rules: { 'reward-activity': 'matched' }, actions: [{ rule: 'reward-activity', action: 'grantItem', status: 'planned' }] });

    project.write('login.json', JSON.stringify({ namespace: 'mygame', userId: USER }));
    expect((await runCommand(['send', 'userLoggedIn', '--data', 'login.json', '--target', `127.0.0.1:${server.port}`], { cwd: project.dir })).stdout).toBe('OK\n');
    const planned = await waitFor('the dry-run publish', () => server.lines().find((l) => l.msg?.startsWith('dry run: announce-login/publishMessage')));
    expect(planned.requests).toEqual([
      { operation: 'PublishMessage', method: 'POST', path: 'grpc://localhost:7474/accelbyte.extend.async_messaging.AsyncMessagingPublisherService/PublishMessage', body: { topic: 'player-activity', body: JSON.stringify({ kind: 'login', userId: USER }) } },
    ]);

    // a whole message (samples --topic, explain's data) given as the body: sent as it is, with a warning
    project.write('msg.json', JSON.stringify({ topic: 'player-activity', metadata: {}, body: { kind: 'login', userId: USER } }));
    const whole = await runCommand(['send', '--topic', 'player-activity', '--data', 'msg.json', '--target', `127.0.0.1:${server.port}`], { cwd: project.dir });
    expect(whole.stdout).toBe('OK\n');
    expect(whole.stderr).toContain('extend-event-rules send: warning: --data looks like a whole topic message (topic, metadata, body: what samples --topic prints and explain takes); send --topic sends --data as the message\'s body: pass only the body (the value of its "body"). Sent as it is');
    expect(r.stderr).not.toContain('warning');

    const other = await runCommand(['send', '--topic', 'nobody-listens', '--target', `127.0.0.1:${server.port}`], { cwd: project.dir });
    expect(other.stdout).toBe('OK\n');
    const bad = await runCommand(['send', '--topic', 'bad topic', '--target', `127.0.0.1:${server.port}`], { cwd: project.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('topic name "bad topic" has characters other than');
  });

  it('send --schedule runs a scheduled rule once per run id and prints the ScheduledTaskResponse', async () => {
    const { ws: project, server } = await issueServer();
    const reloads = (): number => server.lines().filter((l) => l.msg === 'rules reloaded').length;
    const before = reloads();
    project.write('rules.yaml', `${RULES}  - name: weekly\n    on: { schedule: weekly-reset-task }\n    do:\n      - publishMessage: { topic: weekly-reset, body: { week: "\${event.payload.week}" } }\n`);
    await waitFor('the weekly rule reloaded', () => reloads() > before);
    project.write('payload.json', JSON.stringify({ week: '2026-W49' }));
    const target = `127.0.0.1:${server.port}`;
    const r = await runCommand(['send', '--schedule', 'weekly-reset-task', '--data', 'payload.json', '--run-id', 'r-1', '--target', target], { cwd: project.dir });
    expect(JSON.parse(r.stdout)).toMatchObject({ success: true, http_status_code: 200 });
    expect(r.code).toBe(0);
    const planned = await waitFor('the dry-run publish', () => server.lines().find((l) => l.msg?.startsWith('dry run: weekly/publishMessage')));
    expect(planned.requests).toMatchObject([{ body: { topic: 'weekly-reset', body: '{"week":"2026-W49"}' } }]);
    const none = await runCommand(['send', '--schedule', 'other-task', '--target', target], { cwd: project.dir });
    expect(JSON.parse(none.stdout)).toMatchObject({ success: false, http_status_code: 404 });
    expect(none.code).toBe(1);
  });

  it('with no topic rule at all, a message of a subscribed topic is answered OK (not UNIMPLEMENTED)', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES.split('  - name: reward-activity')[0]!);
    server = await startServer(ws.dir, { RULES_FILE: 'rules.yaml' });
    const r = await runCommand(['send', '--topic', 'player-activity', '--target', `127.0.0.1:${server.port}`], { cwd: ws.dir });
    expect(r.stdout).toBe('OK\n');
  });

  it('samples --list lists the topics and scheduled tasks the rules listen on and the typed topics, with the wire method each arrives on', async () => {
    ws = workspace();
    ws.write('rules.yaml', `${RULES}  - name: weekly\n    on: { schedule: weekly-reset-task }\n    do:\n      - publishMessage: { topic: weekly-reset, body: {} }\n`);
    mkdirSync(join(ws.dir, 'topics'));
    ws.write('topics/weekly-reset.schema.json', JSON.stringify({ type: 'object', properties: { userId: { type: 'string' } } }));
    const r = await runCommand(['samples', '--list'], { cwd: ws.dir });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => l.split(/\s+/));
    expect(lines).toContainEqual(['userLoggedIn', expect.any(String), expect.any(String)]);
    expect(lines.slice(-3)).toEqual([
      ['schedule:weekly-reset-task', 'accelbyte.extend.task_scheduler.v1.ScheduledTaskHandler', '/accelbyte.extend.task_scheduler.v1.ScheduledTaskHandler/RunScheduledTask'],
      ['topic:player-activity', 'accelbyte.extend.async_messaging.AsyncMessagingConsumerService', '/accelbyte.extend.async_messaging.AsyncMessagingConsumerService/onMessage'],
      ['topic:weekly-reset', 'accelbyte.extend.async_messaging.AsyncMessagingConsumerService', '/accelbyte.extend.async_messaging.AsyncMessagingConsumerService/onMessage'],
    ]);
    // each listed name is an event the other commands take
    const s = await runCommand(['samples', 'topic:weekly-reset'], { cwd: ws.dir });
    expect(JSON.parse(s.stdout)).toMatchObject({ topic: 'weekly-reset', body: { userId: expect.any(String) as unknown } });
  });

  it('samples --topic and --schedule print what the server receives; explain and rule tests take topic events', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    const s = await runBin(['samples', '--topic', 'player-activity'], { cwd: ws.dir });
    expect(JSON.parse(s.stdout)).toEqual({ id: expect.stringMatching(/^sha256:/) as unknown, topic: 'player-activity', metadata: {}, body: {}, bodyText: '{}' });
    const run = JSON.parse((await runCommand(['samples', '--schedule', 'weekly-reset-task'], { cwd: ws.dir })).stdout) as Record<string, unknown>;
    expect(run).toMatchObject({ id: 'run:run-1', runId: 'run-1', taskName: 'weekly-reset-task', attemptNumber: 1, payload: {} });

    ws.write('msg.json', JSON.stringify({ body: { kind: 'login', userId: USER } }));
    const e = await runCommand(['explain', 'topic:player-activity', '--data', 'msg.json'], { cwd: ws.dir });
    expect(e.stdout).toContain('✓ reward-activity  matched');
    expect(e.stdout).toContain(`POST /platform/admin/namespaces/mygame/users/${USER}/fulfillment`);

    ws.write(
      'rules.test.yaml',
      `version: 1
rules: rules.yaml
env: { AB_NAMESPACE: mygame }
cases:
  - name: a login message grants the item
    event: topic:player-activity
    data: { body: { kind: login, userId: ${USER} } }
    expect: { matched: [reward-activity] }
  - name: a logout message grants nothing
    event: topic:player-activity
    data: { body: { kind: logout, userId: ${USER} } }
    expect: { matched: [] }
  - name: a message that is not JSON is a string body
    event: topic:player-activity
    data: { bodyText: "login" }
    expect: { matched: [] }
`,
    );
    const t = await runCommand(['test'], { cwd: ws.dir });
    expect(t.stdout).toContain('3 passed, 0 failed');
    expect(t.code).toBe(0);
  });

  it('explain and rule tests refuse a body written at the top (as send --topic takes it) with where it goes, instead of explaining an empty body', async () => {
    ws = workspace();
    ws.write('rules.yaml', RULES);
    ws.write('body.json', JSON.stringify({ kind: 'login', userId: USER }));
    const e = await runCommand(['explain', 'topic:player-activity', '--data', 'body.json'], { cwd: ws.dir });
    expect(e.stderr).toContain('body.json: the data does not fit accelbyte.extend.async_messaging.ReceivedMessage: "kind", "userId" are not fields of a topic message (topic, metadata, body, bodyText, id): its body goes under "body": { "body": { "kind": ... } }');
    expect(e.stdout).toBe('');
    expect(e.code).toBe(2);
    ws.write('run.json', JSON.stringify({ week: '2026-W49' }));
    const r = await runCommand(['explain', 'schedule:weekly-reset-task', '--data', 'run.json'], { cwd: ws.dir });
    expect(r.stderr).toContain('"week" is not a field of a scheduled run (runId, taskId, namespace, taskName, scheduledTime, attemptNumber, payload, payloadText, id): its payload goes under "payload"');
    expect(r.code).toBe(2);
    ws.write('rules.test.yaml', `version: 1\ncases:\n  - name: body at the top\n    event: topic:player-activity\n    data: { kind: login, userId: ${USER} }\n    expect: { matched: [reward-activity] }\n`);
    const t = await runCommand(['test'], { cwd: ws.dir, env: { RULES_FILE: 'rules.yaml' } });
    expect(t.stderr).toMatch(/^rules\.test\.yaml:5:\d+: .*"kind", "userId" are not fields of a topic message/m);
    expect(t.code).toBe(2);
    // a topic no rule listens on (a typo): the failure names the topic meant
    ws.write('rules.test.yaml', `version: 1\ncases:\n  - name: misspelt topic\n    event: topic:player-activty\n    data: { body: { kind: login, userId: ${USER} } }\n    expect: { matched: [reward-activity] }\n`);
    const typo = await runCommand(['test'], { cwd: ws.dir, env: { RULES_FILE: 'rules.yaml' } });
    expect(typo.stdout).toContain('    rules: none listens on topic:player-activty (did you mean "topic:player-activity"?)\n');
    expect(typo.code).toBe(1);
  });

  it('a typed topic (topics/NAME.schema.json): validate names a misspelt body path with did-you-mean, samples follow the schema', async () => {
    ws = workspace();
    mkdirSync(join(ws.dir, 'topics'));
    ws.write('topics/player-activity.schema.json', JSON.stringify({ type: 'object', properties: { kind: { type: 'string' }, userId: { type: 'string' } } }));
    ws.write('rules.yaml', RULES.replace('var: body.kind', 'var: body.knd'));
    const v = await runCommand(['validate'], { cwd: ws.dir });
    expect(v.code).toBe(1);
    expect(v.stdout + v.stderr).toContain('PlayerActivityBody has no field "knd"');
    expect(v.stdout + v.stderr).toContain('did you mean "body.kind"?');
    const s = JSON.parse((await runCommand(['samples', '--topic', 'player-activity'], { cwd: ws.dir })).stdout) as { body: Record<string, unknown> };
    expect(Object.keys(s.body).sort()).toEqual(['kind', 'userId']);
  });

  it('explain on a typed topic: without --data the body follows the schema; a body that does not fit it is explained as it is, with a warning per place', async () => {
    ws = workspace();
    mkdirSync(join(ws.dir, 'topics'));
    ws.write('topics/player-activity.schema.json', JSON.stringify({ type: 'object', required: ['kind'], properties: { kind: { type: 'string' }, userId: { type: 'string' } } }));
    ws.write('rules.yaml', RULES);
    const plain = await runCommand(['explain', 'topic:player-activity', '--json'], { cwd: ws.dir });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');
    expect(Object.keys((JSON.parse(plain.stdout) as { data: { body: Record<string, unknown> } }).data.body).sort()).toEqual(['kind', 'userId']);

    ws.write('msg.json', JSON.stringify({ body: { userId: 7 } }));
    const bad = await runCommand(['explain', 'topic:player-activity', '--data', 'msg.json'], { cwd: ws.dir });
    expect(bad.code).toBe(0);
    expect(bad.stderr).toContain("extend-event-rules explain: warning: body must have required property 'kind' (");
    expect(bad.stderr).toContain('extend-event-rules explain: warning: body.userId must be string (');
    expect(bad.stderr).toContain('player-activity.schema.json); explained as it is');
    expect(bad.stdout).toContain('reward-activity');

    // send --topic: the same warnings, and the body is sent as it is (the server takes any body)
    server = await startServer(ws.dir, { RULES_FILE: 'rules.yaml' });
    ws.write('body.json', JSON.stringify({ userId: 7 }));
    const sent = await runCommand(['send', '--topic', 'player-activity', '--data', 'body.json', '--target', `127.0.0.1:${server.port}`], { cwd: ws.dir });
    expect(sent.stdout).toBe('OK\n');
    expect(sent.stderr).toContain("extend-event-rules send: warning: body must have required property 'kind' (");
    expect(sent.stderr).toContain('extend-event-rules send: warning: body.userId must be string (');
  });
});
