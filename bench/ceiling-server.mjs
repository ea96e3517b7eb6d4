/**
 * The ceiling: a bare grpc-js server on the UserLoggedIn service path whose
 * handler only answers OK with an empty google.protobuf.Empty. No decoding, no
 * rules, no logging, no metrics: what grpc-js itself costs on this machine.
 * Run with fork(): sends {port} when listening, answers {type:'count'} with
 * the number of calls handled.
 *
 * With `--grant <AGS base URL>` (the bench row "ceiling + one grant"): each call
 * first sends one fulfillItem to the AGS stand-in over undici (keep-alive, the
 * token fetched once), reads and parses its JSON answer, then answers OK: the
 * least a server that grants once per event can cost (no decoding, rules, store,
 * idempotency, retries, logging or metrics). An answer other than 200 fails the
 * call (INTERNAL), so the bench's count of stand-in grants checks every call.
 */
import grpc from '@grpc/grpc-js';
import { Agent } from 'undici';
import { BENCH_USER_ID, USER_LOGGED_IN_PATH } from './proto-wire.mjs';
import { STAND_IN_CLIENT_ID, STAND_IN_CLIENT_SECRET } from './stand-in-ags.mjs';

const EMPTY = Buffer.alloc(0);
let calls = 0;
const grantAt = process.argv.indexOf('--grant') >= 0 ? process.argv[process.argv.indexOf('--grant') + 1] : undefined;
// the product's own transport settings (src/ags/transport.ts): an Agent of 50 connections, requests through `dispatch`
const agent = grantAt ? new Agent({ connections: 50 }) : undefined;
const origin = grantAt ? new URL(grantAt).origin : undefined;

/** One request through `dispatch` (the cheapest undici API); resolves with the status and the parsed JSON answer. */
function send(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let status = 0;
    agent.dispatch(
      { origin, path, method, headers, body },
      {
        onRequestStart() {},
        onResponseStart(_c, statusCode) {
          status = statusCode;
        },
        onResponseData(_c, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          try {
            resolve({ status, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          } catch (error) {
            reject(error);
          }
        },
        onResponseError(_c, error) {
          reject(error);
        },
      },
    );
  });
}

let bearer;
if (agent) {
  const basic = Buffer.from(`${STAND_IN_CLIENT_ID}:${STAND_IN_CLIENT_SECRET}`).toString('base64');
  const login = await send('POST', '/iam/v3/oauth/token', { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' }, 'grant_type=client_credentials');
  bearer = `Bearer ${login.json.access_token}`;
}
const grantPath = `/platform/admin/namespaces/benchns/users/${BENCH_USER_ID}/fulfillment`;

/** One fulfillItem (the body grantItem sends for the shipped rule); resolves when its 200 answer is parsed. */
async function grant(n) {
  const body = JSON.stringify({ itemId: 'bench-item-0001', quantity: 1, source: 'REWARD', orderNo: `eer-ceiling-${process.pid}-${n}` });
  const res = await send('POST', grantPath, { authorization: bearer, 'content-type': 'application/json' }, body);
  if (res.status !== 200 || typeof res.json !== 'object') throw new Error(`fulfillItem answered ${res.status}`);
}

const server = new grpc.Server();
server.addService(
  {
    OnMessage: {
      path: USER_LOGGED_IN_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b) => b,
      requestDeserialize: (b) => b,
      responseSerialize: () => EMPTY,
      responseDeserialize: (b) => b,
    },
  },
  {
    OnMessage(_call, callback) {
      calls++;
      if (!agent) return callback(null, EMPTY);
      grant(calls).then(
        () => callback(null, EMPTY),
        (error) => callback({ code: grpc.status.INTERNAL, details: error.message }),
      );
    },
  },
);

server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    process.stderr.write(`ceiling: cannot bind: ${error.message}\n`);
    process.exit(1);
  }
  process.send?.({ type: 'ready', port });
});

process.on('message', (m) => {
  if (m?.type === 'count') process.send?.({ type: 'count', calls });
  if (m?.type === 'stop') server.tryShutdown(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
