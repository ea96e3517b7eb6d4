/**
 * The ceiling: a bare grpc-js server on the UserLoggedIn service path whose
 * handler only answers OK with an empty google.protobuf.Empty. No decoding, no
 * rules, no logging, no metrics: what grpc-js itself costs on this machine.
 * Run with fork(): sends {port} when listening, answers {type:'count'} with
 * the number of calls handled.
 */
import grpc from '@grpc/grpc-js';
import { USER_LOGGED_IN_PATH } from './proto-wire.mjs';

const EMPTY = Buffer.alloc(0);
let calls = 0;

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
      callback(null, EMPTY);
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
