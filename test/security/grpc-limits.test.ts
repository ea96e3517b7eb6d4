/**
 * Issue 16, "Time and CPU": the gRPC server's limits are explicit. One HTTP/2
 * connection opening more streams than GRPC_MAX_CONCURRENT_STREAMS without
 * ever finishing them (half-open) gets the extra ones refused (RST_STREAM
 * REFUSED_STREAM) while the server keeps answering other connections; a
 * message over GRPC_MAX_MESSAGE_BYTES answers RESOURCE_EXHAUSTED.
 *
 * The flooding client speaks raw HTTP/2 over a socket: Node's own HTTP/2
 * client obeys the server's limit (queues streams), an attacker does not.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { loadConfig } from '../../src/config.js';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog } from '../../src/events/types.js';
import { DEFAULT_GRPC_LIMITS, grpcServerOptions } from '../../src/server/host.js';
import { REPO_ROOT } from '../support/prereq.js';
import { callRaw, healthCheck, healthClient, rawClient, startHost } from '../server/support.js';
import type { RunningHost } from '../server/support.js';

const LOGGED_IN = 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService';
const LIMIT = 10;
const FRAME = { HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, PING: 0x6, GOAWAY: 0x7 } as const;
const REFUSED_STREAM = 0x7;

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK literal header field without indexing, new name, no Huffman (names and values < 127 bytes). */
function hpack(headers: readonly (readonly [string, string])[]): Buffer {
  return Buffer.concat(headers.map(([n, v]) => Buffer.concat([Buffer.from([0x00, n.length]), Buffer.from(n), Buffer.from([v.length]), Buffer.from(v)])));
}

interface RawConnection {
  readonly socket: Socket;
  /** Frames received so far. */
  readonly frames: { type: number; flags: number; stream: number; payload: Buffer }[];
  readonly closed: () => boolean;
  whenFrames(what: string, predicate: () => boolean): Promise<void>;
  /** Resolves once the server has processed everything sent before (PING answered), or the connection is closed. */
  sync(): Promise<void>;
}

/** A raw HTTP/2 connection: preface and SETTINGS sent; the server's SETTINGS acknowledged when `ack`. */
async function rawHttp2(port: number, ack: boolean): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
  const frames: RawConnection['frames'] = [];
  let buffer = Buffer.alloc(0);
  let closed = false;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 9) {
      const length = buffer.readUIntBE(0, 3);
      if (buffer.length < 9 + length) break;
      frames.push({ type: buffer[3]!, flags: buffer[4]!, stream: buffer.readUInt32BE(5) & 0x7fffffff, payload: buffer.subarray(9, 9 + length) });
      buffer = buffer.subarray(9 + length);
    }
    wake();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
    wake();
  });
  const whenFrames = (what: string, predicate: () => boolean): Promise<void> =>
    new Promise((res, rej) => {
      const check = (): void => {
        if (predicate()) {
          waiters.delete(check);
          res();
        } else if (closed) {
          waiters.delete(check);
          rej(new Error(`connection closed before: ${what}`));
        }
      };
      waiters.add(check);
      check();
    });
  let pings = 0;
  const sync = (): Promise<void> => {
    const id = Buffer.alloc(8);
    id.writeUInt32BE(++pings, 4);
    socket.write(frame(FRAME.PING, 0, 0, id));
    return whenFrames('PING answered', () => closed || frames.some((f) => f.type === FRAME.PING && (f.flags & 1) === 1 && f.payload.equals(id)));
  };
  socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  socket.write(frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0)));
  await whenFrames('server SETTINGS', () => frames.some((f) => f.type === FRAME.SETTINGS && (f.flags & 1) === 0));
  if (ack) socket.write(frame(FRAME.SETTINGS, 1, 0, Buffer.alloc(0)));
  return { socket, frames, closed: () => closed, whenFrames, sync };
}

/** The server's advertised SETTINGS_MAX_CONCURRENT_STREAMS (id 0x3). */
function advertisedMaxStreams(frames: RawConnection['frames']): number | undefined {
  for (const f of frames) {
    if (f.type !== FRAME.SETTINGS || (f.flags & 1) === 1) continue;
    for (let i = 0; i + 6 <= f.payload.length; i += 6) if (f.payload.readUInt16BE(i) === 0x3) return f.payload.readUInt32BE(i + 2);
  }
  return undefined;
}

describe('gRPC server limits (issue 16)', () => {
  let catalog: Catalog;
  let h: RunningHost;
  let path: string;
  const pending: (() => void)[] = [];

  beforeAll(async () => {
    catalog = await loadCatalog({ dirs: [resolve(REPO_ROOT, 'proto')] });
    h = await startHost({ catalog, limits: { maxConcurrentStreams: LIMIT, maxReceiveMessageBytes: 64 * 1024 } });
    h.host.setServing(true);
    path = catalog.services.find((s) => s.fullName === LOGGED_IN)!.path;
    // calls that reach the handler are held until the end (as a slow AGS would)
    h.respond = () => new Promise((r) => pending.push(() => r({ kind: 'ok' })));
  });
  afterAll(async () => {
    for (const p of pending) p();
    await h.host.shutdown(100);
  });

  function openHalfOpen(conn: RawConnection, count: number): void {
    const headers = hpack([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', path],
      [':authority', h.address],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
    ]);
    // HEADERS with END_HEADERS, never END_STREAM nor DATA: every stream stays open (half-open)
    for (let i = 0; i < count; i++) conn.socket.write(frame(FRAME.HEADERS, 0x4, 1 + 2 * i, headers));
  }

  async function stillServing(): Promise<void> {
    const health = healthClient(h.address);
    const events = rawClient(h.address);
    try {
      expect(await healthCheck(health)).toBe('SERVING');
      const answered = callRaw(events, path, new Uint8Array());
      await new Promise<void>((r) => {
        const poll = (): void => (pending.length > 0 ? r() : void setImmediate(poll));
        poll();
      });
      pending.shift()!();
      expect((await answered).code).toBe(grpc.status.OK);
    } finally {
      health.close();
      events.close();
    }
  }

  const refused = (conn: RawConnection): number[] =>
    conn.frames.filter((f) => f.type === FRAME.RST_STREAM && f.payload.readUInt32BE(0) === REFUSED_STREAM).map((f) => f.stream).sort((a, b) => a - b);

  it(`${LIMIT * 3} half-open streams on one connection (limit not yet acknowledged): those beyond ${LIMIT} are refused (REFUSED_STREAM); other connections are still served`, async () => {
    const flood = await rawHttp2(h.port, false);
    try {
      expect(advertisedMaxStreams(flood.frames)).toBe(LIMIT);
      openHalfOpen(flood, LIMIT * 3);
      await flood.sync();
      expect(refused(flood)).toEqual(Array.from({ length: LIMIT * 2 }, (_, i) => 1 + 2 * (LIMIT + i)));
      await stillServing();
    } finally {
      flood.socket.destroy();
    }
  });

  it(`a client ignoring the acknowledged limit loses its connection (GOAWAY), having held at most ${LIMIT} streams; other connections are still served`, async () => {
    const flood = await rawHttp2(h.port, true);
    try {
      openHalfOpen(flood, LIMIT * 3);
      await flood.sync();
      const goaway = flood.frames.find((f) => f.type === FRAME.GOAWAY);
      expect(goaway).toBeDefined();
      expect(goaway!.payload.readUInt32BE(0) & 0x7fffffff).toBeLessThanOrEqual(1 + 2 * (LIMIT - 1)); // last stream the server took
      await flood.whenFrames('connection closed', () => flood.closed());
      await stillServing();
    } finally {
      flood.socket.destroy();
    }
  });

  it('a message larger than the limit answers RESOURCE_EXHAUSTED, the next one is served', async () => {
    const c = rawClient(h.address);
    try {
      const big = await callRaw(c, path, new Uint8Array(64 * 1024 + 1));
      expect(big.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      const small = callRaw(c, path, new Uint8Array());
      await new Promise<void>((r) => {
        const poll = (): void => (pending.length > 0 ? r() : void setImmediate(poll));
        poll();
      });
      pending.shift()!();
      expect((await small).code).toBe(grpc.status.OK);
    } finally {
      c.close();
    }
  });

  it(`metadata over ${DEFAULT_GRPC_LIMITS.maxMetadataBytes} bytes is refused at the HTTP/2 level and never reaches the handler; the server keeps serving (issue 22.7)`, async () => {
    const c = rawClient(h.address);
    try {
      const metadata = new grpc.Metadata();
      metadata.set('x-padding', 'p'.repeat(DEFAULT_GRPC_LIMITS.maxMetadataBytes + 1024));
      const code = await new Promise<grpc.status>((done) => {
        c.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), metadata, { deadline: Date.now() + 10_000 }, (err) => done(err ? err.code : grpc.status.OK));
      });
      expect(code).not.toBe(grpc.status.OK);
      expect(pending).toHaveLength(0); // never handed to the event handler
    } finally {
      c.close();
    }
    await stillServing();
  });

  it('the limits are explicit server options, configurable through the environment', () => {
    expect(grpcServerOptions()).toMatchObject({
      'grpc.max_concurrent_streams': DEFAULT_GRPC_LIMITS.maxConcurrentStreams,
      'grpc.max_receive_message_length': DEFAULT_GRPC_LIMITS.maxReceiveMessageBytes,
      'grpc.max_send_message_length': DEFAULT_GRPC_LIMITS.maxSendMessageBytes,
      'grpc.keepalive_time_ms': DEFAULT_GRPC_LIMITS.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': DEFAULT_GRPC_LIMITS.keepaliveTimeoutMs,
      'grpc.max_connection_idle_ms': DEFAULT_GRPC_LIMITS.maxConnectionIdleMs,
    });
    expect(loadConfig({}).grpc).toEqual({ maxConcurrentStreams: 100, maxReceiveMessageBytes: 4 * 1024 * 1024 });
    expect(loadConfig({ GRPC_MAX_CONCURRENT_STREAMS: '7', GRPC_MAX_MESSAGE_BYTES: '1000' }).grpc).toEqual({ maxConcurrentStreams: 7, maxReceiveMessageBytes: 1000 });
    expect(() => loadConfig({ GRPC_MAX_CONCURRENT_STREAMS: '0' })).toThrow(/GRPC_MAX_CONCURRENT_STREAMS/);
  });
});
