import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { replayCommand } from '../../src/cli/replay.js';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog, EventService } from '../../src/events/types.js';
import type { DeadLetterRecord } from '../../src/delivery/dead-letters.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';
import { deadLettersCommand } from '../../src/cli/dead-letters.js';
import { CLAIM_BUSY_REASON } from '../../src/delivery/executor.js';
import { loadConfig } from '../../src/config.js';
import { StoreDeadLetterSink } from '../../src/delivery/store-dead-letters.js';
import { listStoredDeadLetters } from '../../src/delivery/store-dead-letter-listing.js';
import { createRedisStateStore } from '../../src/store/redis-state-store.js';
import { describeWith, executable } from '../support/prereq.js';
import { startRedis } from '../support/redis.js';
import type { RedisProcess } from '../support/redis.js';

const LOGGED_IN = 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService';
const PROTO_DIRS = [FIXTURE_PROTO_DIR];

let catalog: Catalog;
let service: EventService;
beforeAll(async () => {
  catalog = await loadCatalog({ dirs: PROTO_DIRS });
  const r = catalog.resolve(LOGGED_IN);
  if (!r.ok) throw new Error('proto/ lacks UserAuthenticationUserLoggedInService');
  service = r.service;
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface Received {
  path: string;
  bytes: Buffer;
  replay: string | undefined;
  since: string | undefined;
}

/**
 * A grpc-js server answering OnMessage of one service: records calls; answers UNAVAILABLE for event ids in `refuse`;
 * for event ids in `busy`, UNAVAILABLE "another delivery is running this action" that many times first.
 */
async function startRecorder(refuse: Set<string>, busy: Map<string, number> = new Map()): Promise<{ address: string; received: Received[] }> {
  const received: Received[] = [];
  const server = new grpc.Server();
  const identity = (b: Buffer): Buffer => b;
  server.addService(
    {
      OnMessage: {
        path: service.path,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    {
      OnMessage: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const replay = call.metadata.get('x-event-rules-replay')[0];
        const since = call.metadata.get('x-event-rules-replay-since')[0];
        received.push({ path: service.path, bytes: call.request, replay: typeof replay === 'string' ? replay : undefined, since: typeof since === 'string' ? since : undefined });
        const event = catalog.codec(service).decode(call.request);
        const id = String(event.id);
        if ((busy.get(id) ?? 0) > 0) {
          busy.set(id, busy.get(id)! - 1);
          callback({ code: grpc.status.UNAVAILABLE, details: `r/grantItem: ${CLAIM_BUSY_REASON}` });
        } else if (refuse.has(id)) callback({ code: grpc.status.UNAVAILABLE, details: 'store down' });
        else callback(null, Buffer.alloc(0));
      },
    },
  );
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  cleanups.push(() => new Promise<void>((res) => server.tryShutdown(() => res())));
  return { address: `127.0.0.1:${port}`, received };
}

function record(id: string, rule: string): DeadLetterRecord {
  return {
    version: 1,
    timestamp: '2026-03-11T10:00:00.000Z',
    eventName: 'userLoggedIn',
    service: LOGGED_IN,
    eventId: id,
    idempotencyKey: `${id}:${rule}:0`,
    rule,
    index: 0,
    action: 'grantItem',
    error: { name: 'AgsError', message: 'fulfillItem failed: 404', status: 404, errorCode: 30341 },
    attempts: 1,
    event: { id, namespace: 'mygame', userId: `user-${id}`, version: 3, payload: { userAccount: { userId: `user-${id}`, namespace: 'mygame' } } },
  };
}

async function deadLetterFile(records: DeadLetterRecord[], tail = ''): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'eer-replay-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'dead-letters.jsonl');
  await writeFile(path, records.map((r) => `${JSON.stringify(r)}\n`).join('') + tail);
  return path;
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (c: Buffer) => out.push(c.toString()));
  stderr.on('data', (c: Buffer) => err.push(c.toString()));
  return { io: { stdout, stderr }, out: () => out.join(''), err: () => err.join('') };
}

describe('replay command', () => {
  it('sends each record to /<service>/OnMessage with the replay header; exit 0 when all OK', async () => {
    const server = await startRecorder(new Set());
    const file = await deadLetterFile([record('e1', 'welcome'), record('e2', 'vip')]);
    const t = io();
    const code = await replayCommand([file, '--target', server.address], t.io, { protoDirs: PROTO_DIRS });
    expect(code).toBe(0);
    expect(server.received.map((r) => r.replay)).toEqual(['welcome', 'vip']);
    // where the handler's lookup starts when the action's mark is gone: the dead letter's time
    expect(server.received.map((r) => r.since)).toEqual(['2026-03-11T10:00:00.000Z', '2026-03-11T10:00:00.000Z']);
    expect(server.received.every((r) => r.path === `/${LOGGED_IN}/OnMessage`)).toBe(true);
    const decoded = catalog.codec(service).decode(server.received[0]!.bytes);
    expect(decoded).toMatchObject(record('e1', 'welcome').event);
    expect(t.out()).toContain('OK welcome/grantItem#0 userLoggedIn e1\n');
    expect(t.out()).toContain('2 of 2 replayed OK');
  });

  it('--rule filters; a refused record prints its status and exits 1; an incomplete tail is reported', async () => {
    const server = await startRecorder(new Set(['e3']));
    const file = await deadLetterFile([record('e1', 'welcome'), record('e2', 'vip'), record('e3', 'welcome')], '{"version":1,"ru');
    const t = io();
    const code = await replayCommand([file, `--target=${server.address}`, '--rule', 'welcome'], t.io, { protoDirs: PROTO_DIRS });
    expect(code).toBe(1);
    expect(server.received.map((r) => r.replay)).toEqual(['welcome', 'welcome']);
    expect(t.out()).toContain('OK welcome/grantItem#0 userLoggedIn e1\n');
    expect(t.out()).toContain('UNAVAILABLE welcome/grantItem#0 userLoggedIn e3: store down\n');
    expect(t.out()).toContain('1 of 2 replayed OK');
    expect(t.err()).toContain('incomplete last line');
  });

  it('a service missing from the proto directories fails that record without a call', async () => {
    const server = await startRecorder(new Set());
    const file = await deadLetterFile([{ ...record('e1', 'r'), service: 'accelbyte.nope.v1.NopeService' }]);
    const t = io();
    expect(await replayCommand([file, '--target', server.address], t.io, { protoDirs: PROTO_DIRS })).toBe(1);
    expect(server.received).toHaveLength(0);
    expect(t.out()).toContain('FAILED r/grantItem#0 userLoggedIn e1: service accelbyte.nope.v1.NopeService is unknown');
  });

  it('an unreachable target: UNAVAILABLE per record, exit 1', async () => {
    const server = await startRecorder(new Set());
    const address = server.address;
    await cleanups.pop()?.(); // shut it down
    const file = await deadLetterFile([record('e1', 'r')]);
    const t = io();
    expect(await replayCommand([file, '--target', address], t.io, { protoDirs: PROTO_DIRS, callTimeoutMs: 5_000 })).toBe(1);
    expect(t.out()).toMatch(/^(UNAVAILABLE|DEADLINE_EXCEEDED) r\/grantItem#0/m);
  });

  it('unknown-outcome: replayed when the action has a lookup (the handler settles it first), skipped without one unless --force', async () => {
    const server = await startRecorder(new Set());
    const file = await deadLetterFile([
      { ...record('g1', 'welcome'), kind: 'unknown-outcome' },
      { ...record('s1', 'count'), action: 'updateStat', kind: 'unknown-outcome' },
    ]);
    const t = io();
    expect(await replayCommand([file, '--target', server.address], t.io, { protoDirs: PROTO_DIRS })).toBe(0);
    expect(server.received.map((r) => r.replay)).toEqual(['welcome']);
    expect(t.out()).toContain('OK welcome/grantItem#0 userLoggedIn g1\n');
    expect(t.out()).toMatch(/^SKIPPED count\/updateStat#0 userLoggedIn s1: outcome unknown/m);
    // a custom action with a lookup, as the CLI's registry says
    const custom = io();
    const file2 = await deadLetterFile([{ ...record('c1', 'custom'), action: 'myGrant', kind: 'unknown-outcome' }]);
    expect(await replayCommand([file2, '--target', server.address], custom.io, { protoDirs: PROTO_DIRS, hasLookup: (a) => a === 'myGrant' })).toBe(0);
    expect(server.received.map((r) => r.replay)).toEqual(['welcome', 'custom']);
  });

  it('another delivery holds the action (a concurrent replay): waits and sends again until it is free', async () => {
    const server = await startRecorder(new Set(), new Map([['e1', 2]]));
    const file = await deadLetterFile([record('e1', 'welcome')]);
    const t = io();
    expect(await replayCommand([file, '--target', server.address], t.io, { protoDirs: PROTO_DIRS })).toBe(0);
    expect(server.received).toHaveLength(3);
    expect(t.out()).toContain('OK welcome/grantItem#0 userLoggedIn e1\n');
    // bounded: past busyWaitMs the answer is reported
    const busy = await startRecorder(new Set(), new Map([['e2', 1_000]]));
    const t2 = io();
    expect(await replayCommand([await deadLetterFile([record('e2', 'welcome')]), '--target', busy.address], t2.io, { protoDirs: PROTO_DIRS, busyWaitMs: 0 })).toBe(1);
    expect(busy.received).toHaveLength(1);
    expect(t2.out()).toMatch(/^UNAVAILABLE welcome\/grantItem#0 userLoggedIn e2: .*another delivery/m);
  });

  it('no file argument is a usage error', async () => {
    await expect(replayCommand([], io().io, { protoDirs: PROTO_DIRS })).rejects.toThrow('needs the dead-letter file');
  });
});

describe('dead-letters list (file: STATE_STORE memory)', () => {
  it('one line per dead letter (when, rule/action, event, id, kind, reason); --json the records; --rule filters', async () => {
    const file = await deadLetterFile([record('e1', 'welcome'), { ...record('e2', 'vip'), kind: 'unknown-outcome' }]);
    const config = loadConfig({ DEAD_LETTER_FILE: file, AB_NAMESPACE: 'mygame' });
    expect(config.stateStore).toBe('memory');
    const t = io();
    expect(await deadLettersCommand(['list'], t.io, { config })).toBe(0);
    expect(t.out().split('\n')).toEqual([
      '2026-03-11T10:00:00.000Z welcome/grantItem#0 userLoggedIn e1 failed: AgsError: fulfillItem failed: 404 (HTTP 404, errorCode 30341)',
      '2026-03-11T10:00:00.000Z vip/grantItem#0 userLoggedIn e2 unknown-outcome: AgsError: fulfillItem failed: 404 (HTTP 404, errorCode 30341)',
      `2 dead letters in ${file}`,
      '',
    ]);
    const j = io();
    expect(await deadLettersCommand(['list', '--json', '--rule', 'vip'], j.io, { config })).toBe(0);
    expect((JSON.parse(j.out()) as DeadLetterRecord[]).map((r) => r.eventId)).toEqual(['e2']);
    await expect(deadLettersCommand([], io().io, { config })).rejects.toThrow(/needs a subcommand: list/);
  });
});

describe('filters and pages (issue 22.4), the same options for list and replay', () => {
  const mixed = (): DeadLetterRecord[] => [
    record('e1', 'welcome'),
    { ...record('e2', 'vip'), action: 'creditWallet', timestamp: '2026-03-11T11:00:00.000Z' },
    { ...record('e3', 'welcome'), error: { name: 'AgsError', message: 'validation error', status: 400, errorCode: 20002 }, timestamp: '2026-03-11T12:00:00.000Z' },
    { ...record('e4', 'vip'), kind: 'unknown-outcome', timestamp: '2026-03-11T13:00:00.000Z' },
    { ...record('e5', 'welcome'), timestamp: '2026-03-11T14:00:00.000Z' },
  ];
  const ids = (out: string): string[] => [...out.matchAll(/userLoggedIn (e\d)/g)].map((m) => m[1]!);

  it('dead-letters list: --action, --reason, --since/--until, and --limit with the cursor it prints', async () => {
    const file = await deadLetterFile(mixed());
    const config = loadConfig({ DEAD_LETTER_FILE: file, AB_NAMESPACE: 'mygame' });
    const run = async (...args: string[]): Promise<string> => {
      const t = io();
      expect(await deadLettersCommand(['list', ...args], t.io, { config })).toBe(0);
      return t.out();
    };
    expect(ids(await run('--action', 'creditWallet'))).toEqual(['e2']);
    expect(ids(await run('--reason', 'errorcode 20002'))).toEqual(['e3']);
    expect(ids(await run('--reason', 'unknown-outcome'))).toEqual(['e4']);
    expect(ids(await run('--since', '2026-03-11T11:00:00Z', '--until', '2026-03-11T13:00:00Z'))).toEqual(['e2', 'e3']);
    expect(await run('--rule', 'welcome', '--action', 'creditWallet')).toBe(`no dead letters for rule welcome, action creditWallet in ${file}\n`);
    const first = await run('--limit', '2');
    expect(ids(first)).toEqual(['e1', 'e2']);
    const cursor = /^more: --cursor (\S+)$/m.exec(first)?.[1];
    expect(cursor).toBeDefined();
    const second = await run('--limit', '2', '--cursor', cursor!);
    expect(ids(second)).toEqual(['e3', 'e4']);
    const third = await run('--limit', '2', '--cursor', /^more: --cursor (\S+)$/m.exec(second)![1]!);
    expect(ids(third)).toEqual(['e5']);
    expect(third).not.toContain('more:');
    const json = io();
    expect(await deadLettersCommand(['list', '--json', '--limit', '3', '--rule', 'welcome'], json.io, { config })).toBe(0);
    expect(JSON.parse(json.out())).toMatchObject({ records: [{ eventId: 'e1' }, { eventId: 'e3' }, { eventId: 'e5' }], next: null });
    await expect(deadLettersCommand(['list', '--limit', '0'], io().io, { config })).rejects.toThrow(/--limit 0: expected a whole number/);
    await expect(deadLettersCommand(['list', '--since', 'yesterday'], io().io, { config })).rejects.toThrow(/--since yesterday: expected an RFC 3339 instant/);
    await expect(deadLettersCommand(['list', '--cursor', 'zzz'], io().io, { config })).rejects.toThrow(/invalid cursor "zzz"/);
  });

  it('replay takes the same filters: only the records they select are sent', async () => {
    const server = await startRecorder(new Set());
    const file = await deadLetterFile(mixed());
    const t = io();
    expect(await replayCommand([file, '--target', server.address, '--rule', 'welcome', '--since', '2026-03-11T11:30:00Z'], t.io, { protoDirs: PROTO_DIRS })).toBe(0);
    expect(server.received.map((r) => String(catalog.codec(service).decode(r.bytes).id))).toEqual(['e3', 'e5']);
    const u = io();
    expect(await replayCommand([file, '--target', server.address, '--action', 'creditWallet'], u.io, { protoDirs: PROTO_DIRS })).toBe(0);
    expect(u.out()).toContain('OK vip/creditWallet#0 userLoggedIn e2');
    expect(u.out()).toContain('1 of 1 replayed OK');
  });
});

describeWith(executable('redis-server', 'redis-server'), 'replay from the redis state store (no file given)', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('reads the store the environment names, removes what replayed OK, keeps what failed', async () => {
    const store = await createRedisStateStore({ url: redis.url });
    await store.ready();
    cleanups.push(() => store.close());
    const sink = new StoreDeadLetterSink({ store, namespace: 'mygame', retentionMs: 3_600_000, sweepEveryMs: 0, now: () => Date.parse('2026-03-11T10:00:01.000Z') });
    await sink.write(record('ok-1', 'welcome'));
    await sink.write(record('down-1', 'welcome'));
    const server = await startRecorder(new Set(['down-1']));
    const config = loadConfig({ STATE_STORE: 'redis', REDIS_URL: redis.url, AB_NAMESPACE: 'mygame', DEAD_LETTER_RETENTION_HOURS: '1000000' });
    const t = io();
    const code = await replayCommand(['--target', server.address], t.io, { protoDirs: PROTO_DIRS, config });
    expect(code).toBe(1);
    expect(t.out()).toMatch(/^OK welcome\/grantItem#0 userLoggedIn ok-1 \(removed from the store\)$/m);
    expect(t.out()).toMatch(/^UNAVAILABLE welcome\/grantItem#0 userLoggedIn down-1: store down$/m);
    expect(server.received).toHaveLength(2);
    const left = (await listStoredDeadLetters({ store, namespace: 'mygame' })).records;
    expect(left.map((r) => r.eventId)).toEqual(['down-1']);
  });
});
