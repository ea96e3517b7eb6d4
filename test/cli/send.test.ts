/** `extend-event-rules send`: the command (one case through the real bin) against the real server (dry run) and against a recording gRPC stand-in. */
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import { PROTO_DIR, assertBuilt, runBin, runCommand, startServer, waitFor, workspace } from './support.js';
import type { RunningServer, Workspace } from './support.js';
import { FIXTURE_RULES_FILE } from '../support/app-fixture.js';

const USER = '0123456789abcdef0123456789abcdef';
const RULES = `${readFileSync(FIXTURE_RULES_FILE, 'utf8')}
  - name: welcome-pack
    on: userLoggedIn
    mode: shadow
    when: { "==": [{ var: payload.loginLocation.country }, "FR"] }
    do:
      - grantItem: { itemId: welcome-pack }
`;

let ws: Workspace;
let server: RunningServer | undefined;
beforeAll(() => assertBuilt());
afterEach(async () => {
  await server?.stop();
  server = undefined;
  ws?.remove();
});

/** A port nothing listens on (bound then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('send command against the real server (dry run)', () => {
  // the first two tests share one server (the same rules, never killed): each counts only the lines and
  // metric increments that came after it began
  let shared: { ws: Workspace; server: RunningServer } | undefined;
  const sharedServer = async () => {
    if (!shared) {
      const dir = workspace();
      dir.write('rules.yaml', RULES);
      shared = { ws: dir, server: await startServer(dir.dir, { RULES_FILE: 'rules.yaml' }) };
    }
    return shared;
  };
  afterAll(async () => {
    await shared?.server.stop();
    shared?.ws.remove();
  });
  const metricLine = async (s: RunningServer) => {
    const metrics = await (await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`)).text();
    return (rule: string, outcome: string) =>
      metrics.split('\n').find((l) => l.startsWith('event_rules_actions_total{') && l.includes(`rule="${rule}"`) && l.includes(`outcome="${outcome}"`));
  };
  const count = (line: string | undefined) => (line === undefined ? 0 : Number(line.split(' ').at(-1)));

  it('gets OK; the server plans the live rule\'s request, plans the shadow rule without sending and counts it as shadow', async () => {
    const { ws: dir, server: s } = await sharedServer();
    const from = s.lines().length;
    const lines = () => s.lines().slice(from);
    const before = await metricLine(s);
    dir.write('event.json', JSON.stringify({ namespace: 'mygame', userId: USER, payload: { loginLocation: { country: 'FR' } } }));
    const r = await runBin(['send', 'userLoggedIn', '--data', 'event.json', '--target', `127.0.0.1:${s.port}`], { cwd: dir.dir });
    expect(r.stdout).toBe('OK\n');
    expect(r.code).toBe(0);

    const summary = await waitFor('the summary line', () => lines().find((l) => l.msg?.startsWith('userLoggedIn: ')));
    expect(summary).toMatchObject({
      outcome: 'ok',
      rules: { 'grant-item-on-login': 'matched', 'welcome-pack': 'matched' },
      actions: [
        { rule: 'grant-item-on-login', action: 'grantItem', index: 0, status: 'planned' },
        { rule: 'welcome-pack', action: 'grantItem', index: 0, status: 'shadow' },
      ],
    });
    const planned = lines().find((l) => l.msg?.startsWith('dry run: grant-item-on-login/grantItem'));
    expect(planned?.requests).toEqual([
      { operation: 'fulfillItem', method: 'POST', path: `/platform/admin/namespaces/mygame/users/${USER}/fulfillment`, body: { itemId: 'demo-item-id', quantity: 1, source: 'REWARD' } },
    ]);
    expect(lines().some((l) => l.msg?.startsWith('shadow: welcome-pack/grantItem would send POST'))).toBe(true);

    const after = await metricLine(s);
    expect(after('welcome-pack', 'shadow')).toMatch(/ \d+$/);
    expect(count(after('welcome-pack', 'shadow')) - count(before('welcome-pack', 'shadow'))).toBe(1);
    expect(count(after('grant-item-on-login', 'planned')) - count(before('grant-item-on-login', 'planned'))).toBe(1);
    expect(after('welcome-pack', 'succeeded')).toBeUndefined();
  });

  it('two sends of the same data are two events: both handled, not the second dropped as a duplicate', async () => {
    const { ws: dir, server: s } = await sharedServer();
    const from = s.lines().length;
    dir.write('event2.json', JSON.stringify({ namespace: 'mygame', userId: USER }));
    const args = ['send', 'userLoggedIn', '--data', 'event2.json', '--target', `127.0.0.1:${s.port}`];
    expect((await runCommand(args, { cwd: dir.dir })).code).toBe(0);
    expect((await runCommand(args, { cwd: dir.dir })).code).toBe(0);
    const summaries = await waitFor('two summary lines', () => {
      const found = s.lines().slice(from).filter((l) => l.msg?.startsWith('userLoggedIn: '));
      return found.length >= 2 ? found : undefined;
    });
    expect(summaries.map((l) => l.msg)).toEqual(['userLoggedIn: 1 rule(s) matched, 1 action(s), ok', 'userLoggedIn: 1 rule(s) matched, 1 action(s), ok']);
    expect(summaries[0]!.eventId).not.toBe(summaries[1]!.eventId);
  });

  it('an event the server does not serve: the status and exit 1', async () => {
    ws = workspace();
    ws.write('rules.yaml', 'version: 1\nrules:\n  - name: only-login\n    on: userLoggedIn\n    do:\n      - log: { message: hi }\n');
    server = await startServer(ws.dir, { RULES_FILE: 'rules.yaml' });
    const r = await runCommand(['send', 'userThirdPartyLoggedIn', '--target', `127.0.0.1:${server.port}`], { cwd: ws.dir });
    expect(r.stdout).toMatch(/^UNIMPLEMENTED: /);
    expect(r.stderr).toContain('does not serve accelbyte.iam.account.v1.UserAuthenticationUserThirdPartyLoggedInService');
    // the cause here: no rule listens on it (not PROTO_DIR, which has it)
    expect(r.stderr).toContain('it serves the events its enabled rules listen on (add a rule on userThirdPartyLoggedIn, or start it with EVENTS=all)');
    expect(r.code).toBe(1);
  });
});

describe('send command: message, metadata and errors', () => {
  let stand: grpc.Server;
  let port = 0;
  const received: { path: string; bytes: Buffer; metadata: Record<string, unknown> }[] = [];
  let answer: grpc.StatusObject | undefined;

  beforeAll(async () => {
    const catalog = await loadCatalog({ dirs: [PROTO_DIR] });
    stand = new grpc.Server();
    const services: grpc.ServiceDefinition = Object.fromEntries(
      catalog.services.map((s) => [
        s.name,
        {
          path: s.path,
          requestStream: false,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      ]),
    );
    const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      received.push({ path: call.getPath(), bytes: call.request, metadata: call.metadata.getMap() });
      if (answer) callback(answer);
      else callback(null, Buffer.alloc(0));
    };
    stand.addService(services, Object.fromEntries(catalog.services.map((s) => [s.name, handler])));
    port = await new Promise<number>((r, j) => stand.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
  });
  afterAll(() => {
    stand.forceShutdown();
  });

  it('builds the full message from partial data (rest from the sample) and sends every --metadata pair; default target localhost:$PORT', async () => {
    ws = workspace();
    received.length = 0;
    answer = undefined;
    const r = await runCommand(['send', 'userLoggedIn', '--data', '-', '--metadata', 'x-tenant=blue', '--metadata=x-run=7'], {
      cwd: ws.dir,
      env: { PORT: String(port) },
      stdin: JSON.stringify({ namespace: 'othergame', payload: { userAccount: { userId: USER } } }),
    });
    expect(r.stdout).toBe('OK\n');
    expect(r.code).toBe(0);
    expect(received).toHaveLength(1);
    expect(received[0]!.path).toBe('/accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService/OnMessage');
    expect(received[0]!.metadata).toMatchObject({ 'x-tenant': 'blue', 'x-run': '7' });
    const catalog = await loadCatalog({ dirs: [PROTO_DIR] });
    const service = catalog.services.find((s) => s.eventName === 'userLoggedIn')!;
    const event = catalog.codec(service).decode(received[0]!.bytes);
    expect(event).toMatchObject({ namespace: 'othergame', name: 'userLoggedIn', payload: { userAccount: { userId: USER, namespace: 'mygame' } } });
    // a fresh id, printed (not the sample's fixed one, which the server would drop as a duplicate)
    expect(event['id']).toMatch(/^[0-9a-f]{32}$/);
    expect(event['id']).not.toBe('b80bb7740288fda1f201890375a60c8f');
    expect(r.stderr).toContain(`sending userLoggedIn id ${String(event['id'])} (`);
  });

  it('each send is a new event id; an id given in --data is sent as is, with a word on duplicates', async () => {
    ws = workspace();
    received.length = 0;
    answer = undefined;
    const target = `127.0.0.1:${port}`;
    const a = await runCommand(['send', 'userLoggedIn', '--target', target], { cwd: ws.dir });
    const b = await runCommand(['send', 'userLoggedIn', '--target', target], { cwd: ws.dir });
    const given = 'feedfacefeedfacefeedfacefeedface';
    const c = await runCommand(['send', 'userLoggedIn', '--data', '-', '--target', target], { cwd: ws.dir, stdin: JSON.stringify({ id: given }) });
    expect([a.code, b.code, c.code]).toEqual([0, 0, 0]);
    const catalog = await loadCatalog({ dirs: [PROTO_DIR] });
    const service = catalog.services.find((s) => s.eventName === 'userLoggedIn')!;
    const ids = received.map((m) => catalog.codec(service).decode(m.bytes)['id']);
    expect(ids).toHaveLength(3);
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[2]).toBe(given);
    expect(c.stderr).toContain(`sending userLoggedIn id ${given} (from --data: the server handles an id once; send it again and it is answered OK as a duplicate)`);
  });

  it('a non-OK status is printed as CODE: message, exit 1', async () => {
    ws = workspace();
    answer = { code: grpc.status.INVALID_ARGUMENT, details: 'bad event', metadata: new grpc.Metadata() };
    const r = await runCommand(['send', 'userLoggedIn', '--target', `127.0.0.1:${port}`], { cwd: ws.dir });
    expect(r.stdout).toBe('INVALID_ARGUMENT: bad event\n');
    expect(r.code).toBe(1);
    answer = undefined;
  });

  it('a non-OK answer with control characters in its message stays one line, escaped', async () => {
    ws = workspace();
    // the handler's message may quote an AGS answer or the event: an ESC sequence or a newline in it never reaches the terminal
    answer = { code: grpc.status.FAILED_PRECONDITION, details: 'grantItem: \u001b[2Jbad\nOK\u009b1m', metadata: new grpc.Metadata() };
    const r = await runCommand(['send', 'userLoggedIn', '--target', `127.0.0.1:${port}`], { cwd: ws.dir });
    expect(r.stdout).toBe('FAILED_PRECONDITION: grantItem: \\u001b[2Jbad\\nOK\\u009b1m\n');
    expect(r.code).toBe(1);
    answer = undefined;
  });

  it('connection refused: UNAVAILABLE and how to start the server, exit 1', async () => {
    ws = workspace();
    const target = `127.0.0.1:${await closedPort()}`;
    const r = await runCommand(['send', 'userLoggedIn', '--target', target], { cwd: ws.dir });
    expect(r.stdout).toMatch(/^UNAVAILABLE: .*ECONNREFUSED/);
    expect(r.stdout).not.toMatch(/Resolution note/);
    expect(r.stderr).toContain(`is the server running at ${target}? start it with npm start`);
    expect(r.code).toBe(1);
  });

  it('UNAVAILABLE answered by a running server (an action paused, the store down): not "is the server running?"', async () => {
    ws = workspace();
    answer = { code: grpc.status.UNAVAILABLE, details: 'idempotency store unavailable: connection reset', metadata: new grpc.Metadata() };
    const r = await runCommand(['send', 'userLoggedIn', '--target', `127.0.0.1:${port}`], { cwd: ws.dir });
    answer = undefined;
    expect(r.stdout).toBe('UNAVAILABLE: idempotency store unavailable: connection reset\n');
    expect(r.stderr).not.toContain('is the server running');
    expect(r.stderr).toContain(`the server at 127.0.0.1:${port} answered UNAVAILABLE: the Extend sidecar would deliver this event again later; the server's log says why`);
    expect(r.code).toBe(1);
  });

  it('unknown event (candidates), data that does not fit (field path, expected type), bad --metadata: exit 2, nothing sent', async () => {
    ws = workspace();
    received.length = 0;
    const unknown = await runCommand(['send', 'userLogedIn', '--target', `127.0.0.1:${port}`], { cwd: ws.dir });
    expect(unknown.stderr).toBe('extend-event-rules send: unknown event "userLogedIn"; did you mean "userLoggedIn"? (samples --list shows every event)\n');
    expect(unknown.code).toBe(2);
    ws.write('bad.json', JSON.stringify({ version: 'one' }));
    const bad = await runCommand(['send', 'userLoggedIn', '--data', 'bad.json', '--target', `127.0.0.1:${port}`], { cwd: ws.dir });
    expect(bad.stderr).toMatch(/^extend-event-rules send: bad\.json: the data does not fit accelbyte\.iam\.account\.v1\.UserLoggedIn: version: expected /);
    expect(bad.code).toBe(2);
    const meta = await runCommand(['send', 'userLoggedIn', '--metadata', 'novalue', '--target', `127.0.0.1:${port}`], { cwd: ws.dir });
    expect(meta.stderr).toContain('--metadata takes key=value, not "novalue"');
    expect(meta.code).toBe(2);
    expect(received).toHaveLength(0);
  });
});
