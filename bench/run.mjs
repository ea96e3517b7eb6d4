#!/usr/bin/env node
/**
 * `npm run bench`: throughput, latency, CPU and memory of the event handler
 * against a bare grpc-js ceiling measured in the same run. See bench/README.md.
 *
 * Options: --dist <dir> (built app, default dist), --scale <f> (multiplies the
 * request counts, default 1), --out <dir> (default bench/results),
 * --profile (run each server under `node --cpu-prof`, profiles in <out>/profiles),
 * --only <a,b,...> (subset of: ceiling,ceiling-grant,a,a-warn,b,b-memory,b-cloudsave,b-cloudsave-new,b-cloudsave-20,b-cloudsave-2r,
 *   b-cloudsave-lat20,b-cloudsave-new-lat20,b-cloudsave-1,c,d,e,startup,rules10k),
 * --client http2|grpc-js (the node load generator's client, default http2),
 * --baseline <dir> (another build, e.g. before a change: rows a, a-warn, b, b-memory, b-cloudsave and
 * b-cloudsave-new and their -lat20 rows are run with it too, each right after the same row of --dist).
 */
import { fork, spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir, cpus, availableParallelism, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { USER_LOGGED_IN_PATH, BENCH_USER_ID, grpcFrame, userLoggedIn, userLoggedInPrefix } from './proto-wire.mjs';
import { startStandInAgs, STAND_IN_CLIENT_ID, STAND_IN_CLIENT_SECRET } from './stand-in-ags.mjs';
import { freePort, waitServing, httpGet, parseMetrics, sumMetric, cpuMs, peakRssMiB, percentile, median } from './probe.mjs';
import { shippedRules, statefulRules, manyRules, bulkRules } from './rules-gen.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const { values: opts } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    scale: { type: 'string', default: '1' },
    out: { type: 'string', default: join(HERE, 'results') },
    profile: { type: 'boolean', default: false },
    only: { type: 'string', default: '' },
    client: { type: 'string', default: 'http2' },
    baseline: { type: 'string', default: '' },
  },
});
const DIST = resolve(ROOT, opts.dist);
/** Another build (before a change) run right after each of the rows that take it, in the same run: before/after as ratios of one run. */
const BASELINE = opts.baseline ? resolve(ROOT, opts.baseline) : undefined;
const BASELINE_ROWS = new Set(['a', 'a-warn', 'b', 'b-memory', 'b-cloudsave', 'b-cloudsave-new', 'b-cloudsave-lat20', 'b-cloudsave-new-lat20']);
const OUT = resolve(opts.out);
const SCALE = Number(opts.scale);
const ONLY = new Set(opts.only ? opts.only.split(',') : []);
const want = (k) => ONLY.size === 0 || ONLY.has(k);
const CATALOG_DIR = resolve(ROOT, '../shared/ags-event-specs');
const PROTO_DIR = resolve(ROOT, 'proto');
const LOGIN_SERVICE = 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService';

/** Load shape, the same for every configuration: 4 HTTP/2 connections x 16 calls in flight = 64. */
const LOAD = { connections: 4, streamsPerConnection: 16, processes: 2 };
const N_H2LOAD = Math.round(40_000 * SCALE);
const N_NODE = Math.round(12_000 * SCALE);
const WARMUP_FRACTION = 0.2;
const EVENT_NAMESPACE = 'benchns';
const ITEM_ID = 'bench-item-0001';

const work = mkdtempSync(join(tmpdir(), 'event-rules-bench-'));
const children = new Set();
function cleanup() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (process.env.BENCH_KEEP) console.error(`bench: kept ${work} (BENCH_KEEP)`);
  else rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const log = (s) => process.stderr.write(`${s}\n`);
const round = (x, d = 0) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const t = setTimeout(() => res(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      res(true);
    });
  });
}

// ---------------------------------------------------------------- targets

/** Starts the bare grpc-js ceiling server in a child process; with `grantAt` (the stand-in's URL), the one that grants once per call. */
async function startCeiling(grantAt) {
  const name = grantAt ? 'ceiling-grant' : 'ceiling';
  const execArgv = opts.profile ? ['--cpu-prof', '--cpu-prof-interval=200', `--cpu-prof-dir=${join(OUT, 'profiles')}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
  const child = track(fork(join(HERE, 'ceiling-server.mjs'), grantAt ? ['--grant', grantAt] : [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const port = await new Promise((res, rej) => {
    child.once('message', (m) => (m?.type === 'ready' ? res(m.port) : rej(new Error('ceiling did not start'))));
    child.once('exit', (code) => rej(new Error(`ceiling exited ${code}`)));
  });
  const calls = () =>
    new Promise((res) => {
      child.once('message', (m) => res(m.calls));
      child.send({ type: 'count' });
    });
  return {
    name,
    pid: child.pid,
    port,
    counters: async () => ({ handledOk: await calls() }),
    async stop() {
      child.send({ type: 'stop' });
      if (!(await waitExit(child, 5000))) child.kill('SIGKILL');
    },
  };
}

/**
 * Starts `node dist/main.js` with the given configuration; resolves once
 * health says SERVING. `startupMs` is spawn -> SERVING.
 */
async function startServer({ name, protoDirs, rulesText, env = {}, logLevel = 'info', ags, dist = DIST }) {
  const dir = mkdtempSync(join(work, `${name}-`));
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, rulesText);
  const port = await freePort();
  const metricsPort = await freePort();
  const logFile = join(dir, 'server.log');
  const out = openSync(logFile, 'w');
  const fullEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    NODE_ENV: 'production',
    PORT: String(port),
    PROMETHEUS_PORT: String(metricsPort),
    RULES_FILE: rulesFile,
    PROTO_DIR: protoDirs.join(','),
    RULES_WATCH: 'false',
    LOG_LEVEL: logLevel,
    DEAD_LETTER_FILE: join(dir, 'dead-letters.jsonl'),
    SHUTDOWN_GRACE_MS: '2000',
    AB_BASE_URL: ags.url,
    AB_CLIENT_ID: STAND_IN_CLIENT_ID,
    AB_CLIENT_SECRET: STAND_IN_CLIENT_SECRET,
    AB_NAMESPACE: EVENT_NAMESPACE,
    ITEM_ID_TO_GRANT: ITEM_ID,
    // the rows measure the handler; every bench event is for one player, so a shared store would
    // measure contention on one record (the cloudsave row sets its own)
    STATE_STORE: 'memory',
    ...env,
  };
  const nodeArgs = opts.profile
    ? ['--cpu-prof', '--cpu-prof-interval=200', `--cpu-prof-dir=${join(OUT, 'profiles')}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`]
    : [];
  const t0 = performance.now();
  const child = track(spawn(process.execPath, [...nodeArgs, join(dist, 'main.js')], { cwd: dir, env: fullEnv, stdio: ['ignore', out, out] }));
  closeSync(out);
  let exitInfo;
  child.once('exit', (code, signal) => (exitInfo = `exited with ${code ?? signal}`));
  const tail = () => readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
  let seen;
  try {
    seen = await waitServing(port, { exited: () => exitInfo && `${name}: server ${exitInfo}:\n${tail()}` });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const startupMs = performance.now() - t0;
  const scrape = async () => parseMetrics(await httpGet(`http://127.0.0.1:${metricsPort}/metrics`));
  return {
    name,
    pid: child.pid,
    port,
    startupMs,
    healthSeen: seen,
    logFile,
    async counters() {
      const m = await scrape();
      return {
        received: sumMetric(m, 'event_rules_events_received_total'),
        handledOk: sumMetric(m, 'grpc_server_handled_total', { grpc_service: LOGIN_SERVICE, grpc_code: 'OK' }),
        handledAll: sumMetric(m, 'grpc_server_handled_total', { grpc_service: LOGIN_SERVICE }),
        grantsSucceeded: sumMetric(m, 'event_rules_actions_total', { action: 'grantItem', outcome: 'succeeded' }),
        actionsAll: sumMetric(m, 'event_rules_actions_total'),
      };
    },
    async stop() {
      child.kill('SIGTERM');
      if (!(await waitExit(child, 10_000))) child.kill('SIGKILL');
      await waitExit(child, 5000);
    },
  };
}

// ---------------------------------------------------------------- load generators

/** h2load with one fixed pre-encoded event. Returns {sent, ok, eventsPerSec, latenciesUs}. */
async function h2load(port, n, tag) {
  const frame = grpcFrame(userLoggedIn(userLoggedInPrefix(EVENT_NAMESPACE), `h2load-fixed-event-${tag}`));
  const dataFile = join(work, `h2load-${tag}.bin`);
  const logFile = join(work, `h2load-${tag}.log`);
  writeFileSync(dataFile, frame);
  const args = [
    '-n', String(n),
    '-c', String(LOAD.connections),
    '-m', String(LOAD.streamsPerConnection),
    `--data=${dataFile}`,
    '-H', 'content-type: application/grpc',
    '-H', 'te: trailers',
    `--log-file=${logFile}`,
    `http://127.0.0.1:${port}${USER_LOGGED_IN_PATH}`,
  ];
  const child = track(spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stdout += c));
  const code = await new Promise((res) => child.once('exit', res));
  if (code !== 0) throw new Error(`h2load exited ${code}:\n${stdout}`);
  const fin = /finished in ([\d.]+)(m?s), ([\d.]+) req\/s/.exec(stdout);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(stdout);
  if (!fin || !req) throw new Error(`cannot parse h2load output:\n${stdout}`);
  const latenciesUs = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.split('\t')[2]));
  return { sent: Number(req[1]), ok: Number(req[4]), eventsPerSec: Number(fin[3]), latenciesUs, raw: stdout };
}

/**
 * Node load generator: LOAD.processes processes (raw http2 or grpc-js clients), distinct event ids.
 * `around.before()` runs once every process is connected, right before "go";
 * `around.after()` right after the last answer.
 */
/** Players of the 'fresh' rows handed out so far: each event of such a row is about a player never seen before (numbers from 10^6 up: the other rows use the first 1000). */
let freshPlayers = 1_000_000;

async function nodeGen(port, n, tag, around = {}, users = 0, shape = LOAD) {
  const perProcess = Math.ceil(n / LOAD.processes);
  // several servers (replicas): load-generator process k sends to server k modulo their number
  const ports = Array.isArray(port) ? port : [port];
  // users 'fresh': every event about its own, never seen, player (first-seen players)
  const fresh = users === 'fresh';
  const gens = Array.from({ length: LOAD.processes }, () =>
    track(fork(join(HERE, 'load-gen.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })),
  );
  const next = (g, type) =>
    new Promise((res, rej) => {
      const onMsg = (m) => {
        if (m?.type === type) {
          g.off('message', onMsg);
          res(m);
        } else if (m?.type === 'error') rej(new Error(m.message));
      };
      g.on('message', onMsg);
      g.once('exit', (code) => rej(new Error(`load generator exited ${code}`)));
    });
  const ready = gens.map((g) => next(g, 'ready'));
  gens.forEach((g, k) =>
    g.send({
      type: 'start',
      target: `127.0.0.1:${ports[k % ports.length]}`,
      count: perProcess,
      channels: shape.connections / LOAD.processes,
      inFlightPerChannel: shape.streamsPerConnection,
      idPrefix: `${tag}-${process.pid}-${Date.now()}-p${k}`,
      namespace: EVENT_NAMESPACE,
      client: opts.client,
      users: fresh ? perProcess : users,
      userBase: fresh ? (freshPlayers += perProcess) - perProcess : 0,
    }),
  );
  await Promise.all(ready);
  await around.before?.();
  const done = gens.map((g) => next(g, 'done'));
  for (const g of gens) g.send({ type: 'go' });
  const results = await Promise.all(done);
  await around.after?.();
  for (const g of gens) g.disconnect();
  await Promise.all(gens.map((g) => waitExit(g, 5000)));
  const start = results.reduce((a, r) => (BigInt(r.startNs) < a ? BigInt(r.startNs) : a), BigInt(results[0].startNs));
  const end = results.reduce((a, r) => (BigInt(r.endNs) > a ? BigInt(r.endNs) : a), 0n);
  const sent = results.reduce((a, r) => a + r.ok + r.failed, 0);
  const codes = {};
  for (const r of results) for (const [c, k] of Object.entries(r.codes)) codes[c] = (codes[c] ?? 0) + k;
  return {
    sent,
    ok: results.reduce((a, r) => a + r.ok, 0),
    codes,
    eventsPerSec: sent / (Number(end - start) / 1e9),
    latenciesUs: results.flatMap((r) => r.latenciesUs),
  };
}

// ---------------------------------------------------------------- one measurement

/**
 * Warm-up, then the measured load, bracketed by the server's counters and
 * CPU time. `expect(delta, sent)` returns a list of mismatches ('' if none).
 */
async function measure(target, generator, n, { ags, expect, users = 0, shape = LOAD }) {
  const warm = Math.round(n * WARMUP_FRACTION);
  if (generator === 'h2load') await h2load(target.port, warm, `${target.name}-warmup`);
  else await nodeGen(target.port, warm, `${target.name}-warmup`, {}, users, shape);

  let before, cpuBefore, grantsBefore, cpuAfter, grantsAfter;
  let agsBefore;
  const snapshotBefore = async () => {
    before = await target.counters();
    grantsBefore = ags.stats.grants;
    agsBefore = { ...ags.stats };
    cpuBefore = cpuOf(target);
  };
  const snapshotAfter = () => {
    cpuAfter = cpuOf(target);
  };
  let run;
  if (generator === 'h2load') {
    await snapshotBefore();
    run = await h2load(target.port, n, target.name);
    snapshotAfter();
  } else {
    run = await nodeGen(target.port, n, target.name, { before: snapshotBefore, after: snapshotAfter }, users, shape);
  }
  // the stand-in answers before the server finishes its bookkeeping: poll the counters briefly
  let after;
  for (let i = 0; i < 50; i++) {
    after = await target.counters();
    grantsAfter = ags.stats.grants;
    if (expect(delta(before, after, grantsBefore, grantsAfter), run.sent).length === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const d = delta(before, after, grantsBefore, grantsAfter);
  const problems = expect(d, run.sent);
  // AGS calls of the measured calls only (the warm-up is where the players are first seen)
  const grants = ags.stats.grants - agsBefore.grants;
  const storeCalls = ags.stats.storeCalls - agsBefore.storeCalls;
  const agsCalls = grants > 0 ? { agsCallsPerGrant: (grants + storeCalls) / grants, storeCallsPerGrant: storeCalls / grants, storeReadsPerGrant: (ags.stats.storeReads - agsBefore.storeReads) / grants, storeBulkReadsPerGrant: (ags.stats.storeBulkReads - agsBefore.storeBulkReads) / grants, storeWritesPerGrant: (ags.stats.storeWrites - agsBefore.storeWrites) / grants } : {};
  const sorted = Float64Array.from(run.latenciesUs).sort();
  return {
    generator,
    inFlight: shape.connections * shape.streamsPerConnection,
    ...(target.pids ? { replicas: target.pids.length } : {}),
    ...(ags.latencyMs ? { agsLatencyMs: ags.latencyMs } : {}),
    sent: run.sent,
    okAtClient: run.ok,
    ...(run.codes && Object.keys(run.codes).length ? { errorCodes: run.codes } : {}),
    eventsPerSec: run.eventsPerSec,
    p50Ms: percentile(sorted, 50) / 1000,
    p99Ms: percentile(sorted, 99) / 1000,
    cpuUsPerEvent: ((cpuAfter - cpuBefore) * 1000) / run.sent,
    peakRssMiB: target.pids ? Math.max(...target.pids.map((p) => peakRssMiB(p))) : peakRssMiB(target.pid),
    serverCounted: d,
    ...agsCalls,
    verified: problems.length === 0,
    verification: problems,
  };
}

/** CPU ms of the target's process, or of all its replicas together. */
function cpuOf(target) {
  return target.pids ? target.pids.reduce((a, p) => a + cpuMs(p), 0) : cpuMs(target.pid);
}

/** Several servers as one target: their ports (the generator spreads its processes over them), CPU summed, counters summed. */
function replicaSet(name, servers) {
  return {
    name,
    pids: servers.map((s) => s.pid),
    port: servers.map((s) => s.port),
    startupMs: Math.max(...servers.map((s) => s.startupMs)),
    async counters() {
      const all = await Promise.all(servers.map((s) => s.counters()));
      const sum = {};
      for (const c of all) for (const [k, v] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + v;
      return sum;
    },
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

function delta(before, after, grantsBefore, grantsAfter) {
  const d = {};
  for (const k of Object.keys(after)) d[k] = after[k] - before[k];
  d.standInGrants = grantsAfter - grantsBefore;
  return d;
}

function expectEq(pairs) {
  return pairs.filter(([, got, want]) => got !== want).map(([what, got, want]) => `${what}: ${got}, expected ${want}`);
}
const expectCeiling = (d, sent) => expectEq([['calls handled', d.handledOk, sent]]);
const expectCeilingGrant = (d, sent) => expectEq([['calls handled', d.handledOk, sent], ['stand-in grants', d.standInGrants, sent]]);
const expectNoMatch = (d, sent) =>
  expectEq([
    ['events received', d.received, sent],
    ['handled OK', d.handledOk, sent],
    ['actions', d.actionsAll, 0],
    ['stand-in grants', d.standInGrants, 0],
  ]);
const expectGrant = (d, sent) =>
  expectEq([
    ['events received', d.received, sent],
    ['handled OK', d.handledOk, sent],
    ['grantItem succeeded', d.grantsSucceeded, sent],
    ['stand-in grants', d.standInGrants, sent],
  ]);

// ---------------------------------------------------------------- main

function machine() {
  const model = cpus()[0]?.model ?? 'unknown';
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpuModel: model,
    memGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    h2load: (() => {
      try {
        return execFileSync('h2load', ['--version']).toString().trim().split('\n')[0];
      } catch {
        return 'missing';
      }
    })(),
    loadAvgAtStart: loadavg().map((x) => round(x, 2)),
  };
}

async function main() {
  if (!existsSync(join(DIST, 'main.js'))) throw new Error(`${join(DIST, 'main.js')} is missing: run npm run build`);
  if (!existsSync(CATALOG_DIR)) throw new Error(`${CATALOG_DIR} is missing: the AGS catalog is needed for (c), (d) and the start-up and 10k-rule measurements`);
  mkdirSync(OUT, { recursive: true });
  const info = machine();
  log(`bench: ${info.cpuModel} x${info.nproc}, node ${info.node}, load ${info.loadAvgAtStart.join(' ')}`);
  const { loadCatalog } = await import(pathToFileURL(join(DIST, 'events/catalog.js')).href);
  const agsCatalog = await loadCatalog({ dirs: [CATALOG_DIR] });
  const shippedFile = join(ROOT, 'rules.yaml');
  const shipped = existsSync(shippedFile) ? readFileSync(shippedFile, 'utf8') : shippedRules();
  const rulesC = manyRules(agsCatalog, { total: 1000, events: 100, onLogin: 10 });
  const ags = await startStandInAgs({ namespace: EVENT_NAMESPACE, userId: BENCH_USER_ID });
  const rows = {};
  const results = { machine: info, load: { ...LOAD, inFlight: LOAD.connections * LOAD.streamsPerConnection, nH2load: N_H2LOAD, nNode: N_NODE, client: opts.client, warmupFraction: WARMUP_FRACTION }, rows, startup: {}, rules10k: {} };

  try {
    if (want('ceiling') || want('a') || want('b') || want('c') || want('d') || want('e')) {
      log('ceiling: bare grpc-js server');
      const ceiling = await startCeiling();
      try {
        if (want('ceiling') || want('a') || want('d') || want('a-warn'))
          rows['ceiling/h2load'] = await measure(ceiling, 'h2load', N_H2LOAD, { ags, expect: expectCeiling });
        if (want('ceiling') || want('b') || want('c') || want('e'))
          rows['ceiling/node'] = await measure(ceiling, 'node', N_NODE, { ags, expect: expectCeiling });
      } finally {
        await ceiling.stop();
      }
    }
    // the least a granting server costs: the bare server plus one fulfillItem over undici per call (the floor of the (b) rows)
    if (want('ceiling-grant') || want('b') || want('b-memory') || want('b-cloudsave')) {
      log('ceiling + one grant: bare grpc-js server, one fulfillItem per call');
      const ceilingGrant = await startCeiling(ags.url);
      try {
        rows['ceiling-grant/node'] = { title: 'ceiling + one grant per call (bare grpc-js + undici)', ...(await measure(ceilingGrant, 'node', N_NODE, { ags, expect: expectCeilingGrant })) };
      } finally {
        await ceilingGrant.stop();
      }
    }
    const configs = [
      {
        key: 'a', title: '(a) no rule matches', generator: 'h2load', n: N_H2LOAD, expect: expectNoMatch,
        server: { protoDirs: [PROTO_DIR], rulesText: shipped, env: { AB_NAMESPACE: 'another-namespace' } },
      },
      {
        key: 'a-warn', title: '(a) at LOG_LEVEL=warn', generator: 'h2load', n: N_H2LOAD, expect: expectNoMatch,
        server: { protoDirs: [PROTO_DIR], rulesText: shipped, env: { AB_NAMESPACE: 'another-namespace' }, logLevel: 'warn' },
      },
      {
        key: 'b', title: '(b) shipped rule grants', generator: 'node', n: N_NODE, expect: expectGrant,
        server: { protoDirs: [PROTO_DIR], rulesText: shipped },
      },
      // the grant path on each store, events spread over 1000 players (as a game's are)
      {
        key: 'b-memory', title: '(b) grants, 1000 players, STATE_STORE=memory', generator: 'node', n: N_NODE, expect: expectGrant, users: 1000,
        server: { protoDirs: [PROTO_DIR], rulesText: shipped, env: { STATE_STORE: 'memory' } },
      },
      {
        key: 'b-cloudsave', title: '(b) grants, 1000 players, STATE_STORE=cloudsave', generator: 'node', n: N_NODE, expect: expectGrant, users: 1000,
        server: { protoDirs: [PROTO_DIR], rulesText: shipped, env: { STATE_STORE: 'cloudsave' } },
      },
      // the same, every event about a player seen for the first time (the record does not exist yet)
      {
        key: 'b-cloudsave-new', title: '(b) grants, first-seen players, STATE_STORE=cloudsave', generator: 'node', n: N_NODE, expect: expectGrant, users: 'fresh',
        server: { protoDirs: [PROTO_DIR], rulesText: shipped, env: { STATE_STORE: 'cloudsave' } },
      },
      // the same at 20 calls in flight (the issue's first measurements), and at 64 (the other rows) with two replicas sharing
      // one Cloud Save: each replica's writes to a player's record conflict (412) with the other's now and then
      {
        key: 'b-cloudsave-20', title: '(b) grants, 1000 players, STATE_STORE=cloudsave, 20 in flight', generator: 'node', n: N_NODE, expect: expectGrant, users: 1000,
        shape: { connections: 2, streamsPerConnection: 10 },
        server: { protoDirs: [PROTO_DIR], rulesText: shipped, env: { STATE_STORE: 'cloudsave' } },
      },
      {
        key: 'b-cloudsave-2r', title: '(b) grants, 1000 players, STATE_STORE=cloudsave, two replicas on one Cloud Save', generator: 'node', n: N_NODE, expect: expectGrant, users: 1000, replicas: 2,
        server: { protoDirs: [PROTO_DIR], rulesText: shipped, env: { STATE_STORE: 'cloudsave' } },
      },
      // latency as a game server sees it: every AGS answer (login, grant, Cloud Save) held 20 ms
      {
        key: 'b-cloudsave-lat20', title: '(b) grants, 1000 players, STATE_STORE=cloudsave, AGS answering in 20 ms', generator: 'node', n: N_NODE, expect: expectGrant, users: 1000, agsLatencyMs: 20,
        server: { protoDirs: [PROTO_DIR], rulesText: shipped, env: { STATE_STORE: 'cloudsave' } },
      },
      {
        key: 'b-cloudsave-new-lat20', title: '(b) grants, first-seen players, STATE_STORE=cloudsave, AGS answering in 20 ms', generator: 'node', n: N_NODE, expect: expectGrant, users: 'fresh', agsLatencyMs: 20,
        server: { protoDirs: [PROTO_DIR], rulesText: shipped, env: { STATE_STORE: 'cloudsave' } },
      },
      // one hot player on the default store: every write carries that player's record (up to 2000 marks)
      {
        key: 'b-cloudsave-1', title: '(b) grants, one player, STATE_STORE=cloudsave', generator: 'node', n: N_NODE, expect: expectGrant,
        server: { protoDirs: [PROTO_DIR], rulesText: shipped, env: { STATE_STORE: 'cloudsave' } },
      },
      {
        key: 'c', title: `(c) ${rulesC.rules} rules / ${rulesC.events} events`, generator: 'node', n: N_NODE, expect: expectGrant,
        server: { protoDirs: [CATALOG_DIR], rulesText: rulesC.text },
      },
      {
        key: 'e', title: '(e) (b) reading state: count + fired, one player', generator: 'node', n: N_NODE, expect: expectGrant,
        server: { protoDirs: [PROTO_DIR], rulesText: statefulRules(), env: { STATE_STORE: 'memory' } },
      },
      {
        key: 'd', title: '(d) whole catalog served', generator: 'h2load', n: N_H2LOAD, expect: expectNoMatch,
        server: { protoDirs: [CATALOG_DIR], rulesText: shipped, env: { EVENTS: 'all', AB_NAMESPACE: 'another-namespace' } },
      },
    ];
    const runs = configs.flatMap((c) => (BASELINE && BASELINE_ROWS.has(c.key) ? [c, { ...c, key: `${c.key}@baseline`, title: `${c.title} [baseline build]`, baseOf: c.key, dist: BASELINE }] : [c]));
    for (const c of runs) {
      if (!want(c.baseOf ?? c.key)) continue;
      log(`${c.title}: starting`);
      const start = (i) => startServer({ name: `${c.key.replace('@', '-')}${c.replicas ? `-r${i}` : ''}`, ags, ...c.server, ...(c.dist ? { dist: c.dist } : {}) });
      const server = c.replicas ? replicaSet(c.key, await Promise.all(Array.from({ length: c.replicas }, (_, i) => start(i)))) : await start(0);
      ags.setLatency(c.agsLatencyMs ?? 0);
      ags.latencyMs = c.agsLatencyMs ?? 0;
      try {
        const r = await measure(server, c.generator, c.n, { ags, expect: c.expect, users: c.users ?? 0, ...(c.shape ? { shape: c.shape } : {}) });
        rows[c.key] = { title: c.title, startupMs: server.startupMs, ...r };
        log(`${c.title}: ${round(r.eventsPerSec)} events/s, p99 ${round(r.p99Ms, 2)} ms, verified ${r.verified}`);
      } finally {
        ags.setLatency(0);
        ags.latencyMs = 0;
        await server.stop();
      }
    }

    if (want('startup')) {
      for (const [key, protoDirs, env] of [
        ['proto', [PROTO_DIR], {}],
        ['catalog', [CATALOG_DIR], { EVENTS: 'all' }],
      ]) {
        const times = [];
        let healthSeen;
        let rss;
        for (let i = 0; i < 3; i++) {
          const s = await startServer({ name: `startup-${key}`, ags, protoDirs, rulesText: shipped, env });
          times.push(s.startupMs);
          healthSeen = s.healthSeen;
          rss = peakRssMiB(s.pid);
          await s.stop();
        }
        results.startup[key] = { medianMs: median(times), runsMs: times, healthSeen, idleRssMiB: rss };
        log(`start-up ${key}: ${round(median(times))} ms (${times.map((t) => round(t)).join(', ')}), health ${healthSeen.join(' -> ')}`);
      }
    }

    if (want('rules10k')) {
      const bulk = bulkRules(agsCatalog, 10_000);
      const file = join(work, 'rules-10k.yaml');
      writeFileSync(file, bulk.text);
      const runs = [];
      for (let i = 0; i < 3; i++) {
        const outText = execFileSync(process.execPath, [join(HERE, 'load-rules.mjs'), DIST, file, CATALOG_DIR], { encoding: 'utf8' });
        runs.push(JSON.parse(outText.trim().split('\n').pop()));
      }
      const ok = runs.every((r) => r.ok && r.ruleCount === 10_000);
      // the (c) shapes: a JSON Logic condition on every rule (one JSON Logic compile each)
      const real = manyRules(agsCatalog, { total: 10_000, events: 200, onLogin: 10 });
      const realFile = join(work, 'rules-10k-c-shapes.yaml');
      writeFileSync(realFile, real.text);
      const realRuns = [];
      for (let i = 0; i < 3; i++) {
        const outText = execFileSync(process.execPath, [join(HERE, 'load-rules.mjs'), DIST, realFile, CATALOG_DIR], { encoding: 'utf8' });
        realRuns.push(JSON.parse(outText.trim().split('\n').pop()));
      }
      const realOk = realRuns.every((r) => r.ok && r.ruleCount === 10_000);
      const s = await startServer({ name: 'rules10k', ags, protoDirs: [CATALOG_DIR], rulesText: bulk.text });
      await s.stop();
      results.rules10k = {
        rules: bulk.rules,
        events: bulk.events,
        fileBytes: Buffer.byteLength(bulk.text),
        realisticBytes: Buffer.byteLength(real.text),
        realisticOk: realOk,
        realisticProblems: realRuns[0].problems,
        realisticMedianLoadMs: median(realRuns.map((r) => r.rulesMs)),
        realisticRunsMs: realRuns.map((r) => r.rulesMs),
        ok,
        problems: runs[0].problems,
        medianLoadMs: median(runs.map((r) => r.rulesMs)),
        runsMs: runs.map((r) => r.rulesMs),
        catalogMs: median(runs.map((r) => r.catalogMs)),
        serverStartupMs: s.startupMs,
      };
      log(`10k rules: loadRules ${round(results.rules10k.medianLoadMs)} ms, ok ${ok}; (c) shapes ${round(results.rules10k.realisticMedianLoadMs)} ms, ok ${realOk}; server start-up with them ${round(s.startupMs)} ms`);
    }
  } finally {
    await ags.close();
  }
  results.machine.loadAvgAtEnd = loadavg().map((x) => round(x, 2));
  results.targets = evaluateTargets(results);
  const md = markdown(results);
  writeFileSync(join(OUT, 'latest.json'), `${JSON.stringify(results, (k, v) => (k === 'latenciesUs' ? undefined : v), 2)}\n`);
  writeFileSync(join(OUT, 'latest.md'), md);
  process.stdout.write(md);
  const failed = Object.values(rows).some((r) => !r.verified) || results.rules10k.ok === false || results.rules10k.realisticOk === false;
  return failed ? 1 : 0;
}

// ---------------------------------------------------------------- report

function evaluateTargets(r) {
  const t = [];
  const rows = r.rows;
  const ratio = (k, ceil) => (rows[k] && rows[ceil] ? rows[k].eventsPerSec / rows[ceil].eventsPerSec : undefined);
  const add = (what, value, unit, goal, pass) => t.push({ what, value, unit, goal, pass: value === undefined ? null : pass });
  const ra = ratio('a', 'ceiling/h2load');
  add('(a) events/s vs ceiling', ra, 'x', '>= 0.9', ra >= 0.9);
  const rb = ratio('b', 'ceiling/node');
  add('(b) events/s vs ceiling', rb, 'x', '>= 0.5', rb >= 0.5);
  const rc = rows.c && rows.b ? rows.c.eventsPerSec / rows.b.eventsPerSec : undefined;
  add('(c) events/s vs (b)', rc, 'x', '>= 0.95', rc >= 0.95);
  const re = rows.e && rows.b ? rows.e.eventsPerSec / rows.b.eventsPerSec : undefined;
  add('(e) stateful events/s vs (b) stateless', re, 'x', 'reported', re !== undefined);
  const sc = r.startup.catalog?.medianMs;
  add('start-up to SERVING, whole catalog', sc, 'ms', '< 1000', sc < 1000);
  const rss = rows.d?.peakRssMiB;
  add('peak RSS, whole catalog under load (d)', rss, 'MiB', '< 150', rss < 150);
  const l10 = r.rules10k.ok ? r.rules10k.medianLoadMs : undefined;
  add('10,000 rules loaded and compiled', l10, 'ms', '< 1000', l10 < 1000);
  return t;
}

function markdown(r) {
  const f = (x, d = 0) => (x === undefined || x === null || !Number.isFinite(x) ? '—' : x.toFixed(d));
  const lines = [];
  lines.push('# Benchmark: extend-event-rules', '');
  lines.push(
    `${r.machine.date} · ${r.machine.nproc} CPUs (${r.machine.cpuModel}) · ${r.machine.memGiB} GiB · node ${r.machine.node} · ${r.machine.h2load}`,
    `load average at start ${r.machine.loadAvgAtStart.join(' ')}, at end ${r.machine.loadAvgAtEnd.join(' ')} (the machine may be shared: compare ratios, not absolute numbers)`,
    '',
    `Load for every configuration: ${r.load.connections} HTTP/2 connections x ${r.load.streamsPerConnection} calls in flight = ${r.load.inFlight}; ` +
      `h2load: ${r.load.nH2load} calls of one fixed event; node: ${r.load.processes} processes (${r.load.client === 'http2' ? 'raw node:http2 gRPC clients' : 'grpc-js clients'}), ${r.load.nNode} calls with distinct event ids; ` +
      `each after a warm-up of ${r.load.warmupFraction * 100}% as many calls. Servers log at LOG_LEVEL=info (one line per event, the product default) to a file, except the "warn" row. ` +
      'Ratios compare with the ceiling driven by the same generator in the same run.',
    '',
  );
  lines.push('| configuration | generator | calls | events/s | vs ceiling | p50 ms | p99 ms | server CPU µs/event | AGS calls per grant | peak RSS MiB | verified on the server |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  const titles = { 'ceiling/h2load': 'ceiling (bare grpc-js)', 'ceiling/node': 'ceiling (bare grpc-js)' };
  for (const [k, row] of Object.entries(r.rows)) {
    const ceil = r.rows[row.generator === 'h2load' ? 'ceiling/h2load' : 'ceiling/node'];
    const isCeiling = k === 'ceiling/h2load' || k === 'ceiling/node';
    const ratio = isCeiling ? '1.00' : ceil ? f(row.eventsPerSec / ceil.eventsPerSec, 2) : '—';
    const v = row.verified ? `yes: ${row.sent} sent = ${row.generator === 'node' && row.serverCounted.standInGrants ? `${row.serverCounted.standInGrants} granted = ` : ''}${k.startsWith('ceiling') ? row.serverCounted.handledOk : row.serverCounted.received} received` : `NO: ${row.verification.join('; ')}`;
    lines.push(`| ${titles[k] ?? row.title} | ${row.generator} | ${row.sent} | ${f(row.eventsPerSec)} | ${ratio} | ${f(row.p50Ms, 2)} | ${f(row.p99Ms, 2)} | ${f(row.cpuUsPerEvent)} | ${f(row.agsCallsPerGrant, 2)} | ${f(row.peakRssMiB, 1)} | ${v} |`);
  }
  lines.push('');
  const mem = r.rows['b-memory'];
  const cs = r.rows['b-cloudsave'];
  const cg = r.rows['ceiling-grant/node'];
  if (cg && (mem || cs || r.rows.b)) {
    const x = (row) => (row ? `${f(row.cpuUsPerEvent)} µs (${f(row.cpuUsPerEvent / cg.cpuUsPerEvent, 1)}x)` : '—');
    lines.push(
      `Server CPU per granted event vs the bare server granting once per call (${f(cg.cpuUsPerEvent)} µs): (b) ${x(r.rows.b)}, memory ${x(mem)}, cloudsave ${x(cs)}.`,
      '',
    );
  }
  if (mem && cs) {
    lines.push(
      `State store on the grant path (events over 1000 players): cloudsave ${f(cs.eventsPerSec)} events/s vs memory ${f(mem.eventsPerSec)} (ratio ${f(cs.eventsPerSec / mem.eventsPerSec, 2)}); ` +
        `AGS calls per granted event: cloudsave ${f(cs.agsCallsPerGrant, 2)} (${f(cs.storeCallsPerGrant, 2)} Cloud Save), memory ${f(mem.agsCallsPerGrant, 2)}. ` +
        'No-match events never touch the store (row (a)).',
    );
  }
  const csNew = r.rows['b-cloudsave-new'];
  if (cs || csNew) {
    lines.push(
      '',
      `AGS calls per granted event on Cloud Save (the grant included; counted at the stand-in over the measured calls, not the warm-up): ` +
        `returning players (1000, seen in the warm-up) ${f(cs?.agsCallsPerGrant, 2)}, first-seen players ${f(csNew?.agsCallsPerGrant, 2)}` +
        (r.rows['b-cloudsave@baseline'] || r.rows['b-cloudsave-new@baseline']
          ? `; the baseline build: returning ${f(r.rows['b-cloudsave@baseline']?.agsCallsPerGrant, 2)}, first-seen ${f(r.rows['b-cloudsave-new@baseline']?.agsCallsPerGrant, 2)}.`
          : '.'),
    );
  }
  lines.push('');
  if (r.startup.proto || r.startup.catalog) {
    lines.push('| start-up (spawn -> health SERVING, median of 3) | ms | runs | idle RSS MiB |', '| --- | ---: | --- | ---: |');
    for (const [k, s] of Object.entries(r.startup))
      lines.push(`| ${k === 'proto' ? '`proto/` (shipped rules)' : 'whole AGS catalog, EVENTS=all'} | ${f(s.medianMs)} | ${s.runsMs.map((x) => f(x)).join(', ')} | ${f(s.idleRssMiB, 1)} |`);
    lines.push('');
  }
  if (r.rules10k.rules) {
    const k = r.rules10k;
    lines.push(
      `10,000 rules over ${k.events} events (${(k.fileBytes / 1024).toFixed(0)} KiB): \`loadRules\` (read, parse, validate, compile) in a fresh process, median of 3: ` +
        `**${f(k.medianLoadMs)} ms** (${k.runsMs.map((x) => f(x)).join(', ')}; loaded: ${k.ok ? 'yes' : `NO: ${k.problems.join('; ')}`}); ` +
        `catalog load ${f(k.catalogMs)} ms; server start-up to SERVING with them ${f(k.serverStartupMs)} ms. ` +
        `With the (c) rule shapes (a JSON Logic condition on every rule, ${(k.realisticBytes / 1024).toFixed(0)} KiB): ` +
        `**${f(k.realisticMedianLoadMs)} ms** (${k.realisticRunsMs.map((x) => f(x)).join(', ')}; loaded: ${k.realisticOk ? 'yes' : `NO: ${k.realisticProblems.join('; ')}`}).`,
      '',
    );
  }
  lines.push('| target | measured | goal | |', '| --- | ---: | --- | --- |');
  for (const t of r.targets) lines.push(`| ${t.what} | ${f(t.value, t.unit === 'x' ? 2 : 0)} ${t.unit === 'x' ? '' : t.unit} | ${t.goal} | ${t.pass === null ? 'not measured' : t.pass ? 'pass' : '**miss**'} |`);
  lines.push('');
  return `${lines.join('\n')}\n`;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench failed: ${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
