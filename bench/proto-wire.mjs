/**
 * Hand-rolled protobuf encoding of the one event the bench sends
 * (accelbyte.iam.account.v1.UserLoggedIn), so the load generators need no
 * codec on their hot path: the message is a fixed prefix followed by the `id`
 * field (protobuf allows fields in any order), and a distinct id costs one
 * Buffer.concat.
 */

/** Service path of UserLoggedIn, identical in proto/ and in the AGS catalog. */
export const USER_LOGGED_IN_PATH = '/accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService/OnMessage';

/** The user every bench event is about (32 hex chars, like an AGS user id). */
export const BENCH_USER_ID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

function varint(n) {
  const out = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** Length-delimited field (string, bytes or embedded message). */
function lenField(fieldNo, value) {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
  return Buffer.concat([varint((fieldNo << 3) | 2), varint(bytes.length), bytes]);
}

function varintField(fieldNo, n) {
  return Buffer.concat([varint(fieldNo << 3), varint(n)]);
}

/**
 * UserLoggedIn without its `id` (field 2), for namespace `namespace`.
 * Field numbers as in proto/accelbyte/iam/account/v1/account.proto.
 */
export function userLoggedInPrefix(namespace) {
  const userAccount = Buffer.concat([
    lenField(1, BENCH_USER_ID),
    lenField(2, 'player@example.com'),
    lenField(3, 'player-one'),
    lenField(4, 'US'),
    lenField(5, namespace),
    lenField(6, 'steam'),
    lenField(7, 'Player One'),
  ]);
  const userAuthentication = Buffer.concat([lenField(1, 'steam'), lenField(3, '76561198000000000')]);
  const loginLocation = Buffer.concat([lenField(1, 'US'), lenField(2, 'CA'), lenField(3, 'San Francisco')]);
  const payload = Buffer.concat([lenField(1, userAccount), lenField(2, userAuthentication), lenField(3, loginLocation)]);
  return Buffer.concat([
    lenField(1, payload),
    varintField(3, 1), // version
    lenField(4, 'userLoggedIn'),
    lenField(5, namespace),
    lenField(7, '2026-03-11T10:00:00.000Z'),
    lenField(8, 'a1b2c3d4e5f60718293a4b5c6d7e8f90'),
    lenField(9, BENCH_USER_ID),
    lenField(10, '5d41402abc4b2a76b9719d911017c592'),
    lenField(11, '7d793037a0760186574b0282f2f435e7'),
  ]);
}

/**
 * The whole UserLoggedIn message: prefix + id, and, when given, another top-level
 * `userId` (field 9 again: for a singular field the last occurrence wins).
 */
export function userLoggedIn(prefix, id, userId) {
  return userId === undefined ? Buffer.concat([prefix, lenField(2, id)]) : Buffer.concat([prefix, lenField(2, id), lenField(9, userId)]);
}

/** The k-th bench player: 32 hex characters. */
export function benchUser(k) {
  // 'b' then zeros: padding with a hex digit that can lead a number ('a') made players 0xa and 0xaa the same
  return `b${k.toString(16).padStart(31, '0')}`;
}

/** A gRPC length-prefixed message frame (uncompressed). */
export function grpcFrame(message) {
  const head = Buffer.alloc(5);
  head.writeUInt8(0, 0);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}
