/**
 * One load-generator process (forked by run.mjs): grpc-js clients sending
 * UserLoggedIn events with DISTINCT ids, so idempotency never skips the work.
 *
 * Protocol (IPC): the parent sends {type:'start', target, count, channels,
 * inFlightPerChannel, idPrefix, namespace}; the child connects, answers
 * {type:'ready'}; on {type:'go'} it sends `count` calls keeping
 * `inFlightPerChannel` in flight on each of `channels` connections, then
 * answers {type:'done', startNs, endNs, latenciesUs, ok, failed, codes}.
 * startNs/endNs are CLOCK_MONOTONIC (shared by every process on the host).
 */
import grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import { USER_LOGGED_IN_PATH, benchUser, grpcFrame, userLoggedIn, userLoggedInPrefix } from './proto-wire.mjs';

const identity = (b) => b;
let job;
let clients = [];

/** A raw HTTP/2 gRPC client: same wire calls as grpc-js, a fraction of its CPU. */
function http2Client(target) {
  const session = http2.connect(`http://${target}`);
  session.on('error', () => {});
  const headers = {
    ':method': 'POST',
    ':path': USER_LOGGED_IN_PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
  };
  return {
    ready: () =>
      new Promise((resolve, reject) => {
        if (session.connected) return resolve();
        session.once('connect', () => resolve());
        session.once('error', reject);
      }),
    makeUnaryRequest(_path, _ser, _des, message, callback) {
      const req = session.request(headers);
      let status;
      let done = false;
      const finish = (error) => {
        if (done) return;
        done = true;
        callback(error);
      };
      req.on('response', (h) => {
        if (h['grpc-status'] !== undefined) status = h['grpc-status'];
      });
      req.on('trailers', (t) => (status = t['grpc-status']));
      req.on('data', () => {});
      req.on('end', () => finish(status === '0' ? null : { code: status ?? 'no-status' }));
      req.on('error', (e) => finish({ code: e.code ?? 'stream-error' }));
      req.end(grpcFrame(message));
    },
    close: () => session.close(),
  };
}

function connect(target, channels, client = 'grpc-js') {
  if (client === 'http2') {
    clients = Array.from({ length: channels }, () => http2Client(target));
    return Promise.all(clients.map((c) => c.ready()));
  }
  // A local subchannel pool per client: one HTTP/2 connection each.
  clients = Array.from(
    { length: channels },
    () => new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
  );
  return Promise.all(
    clients.map(
      (c) =>
        new Promise((resolve, reject) => {
          c.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve()));
        }),
    ),
  );
}

function run() {
  const { count, inFlightPerChannel, idPrefix, namespace } = job;
  const prefix = userLoggedInPrefix(namespace);
  const latencies = new Float64Array(count);
  const codes = {};
  let next = 0;
  let finished = 0;
  let ok = 0;
  const startNs = process.hrtime.bigint();
  return new Promise((resolve) => {
    const send = (client) => {
      if (next >= count) return;
      const i = next++;
      // fixed-width ids: "<prefix>-000000001"
      const id = `${idPrefix}-${String(i).padStart(9, '0')}`;
      // job.users: spread the events over that many players, from player number job.userBase (else all are BENCH_USER_ID's)
      const message = userLoggedIn(prefix, id, job.users ? benchUser((job.userBase ?? 0) + (i % job.users)) : undefined);
      const t0 = process.hrtime.bigint();
      client.makeUnaryRequest(USER_LOGGED_IN_PATH, identity, identity, message, (error) => {
        latencies[i] = Number(process.hrtime.bigint() - t0) / 1000;
        if (error) codes[error.code] = (codes[error.code] ?? 0) + 1;
        else ok++;
        finished++;
        if (finished === count) {
          resolve({ startNs, endNs: process.hrtime.bigint(), latencies, ok, codes });
          return;
        }
        send(client);
      });
    };
    for (const client of clients) for (let k = 0; k < inFlightPerChannel; k++) send(client);
  });
}

process.on('message', (m) => {
  if (m?.type === 'start') {
    job = m;
    connect(m.target, m.channels, m.client).then(
      () => process.send?.({ type: 'ready' }),
      (error) => process.send?.({ type: 'error', message: String(error?.message ?? error) }),
    );
  } else if (m?.type === 'go') {
    run().then((r) => {
      process.send?.({
        type: 'done',
        startNs: r.startNs.toString(),
        endNs: r.endNs.toString(),
        latenciesUs: Array.from(r.latencies),
        ok: r.ok,
        failed: job.count - r.ok,
        codes: r.codes,
      });
      for (const c of clients) c.close();
    });
  }
});
process.on('disconnect', () => process.exit(0));
