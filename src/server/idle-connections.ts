/**
 * The idle-connection limit (`GrpcLimits.maxConnectionIdleMs`): a connection on which no call
 * started for that long is told to go away (GOAWAY; it closes once the calls still on it end, as
 * grpc-js closes it), by a sweep over the server's connections every tenth of the limit (at most
 * every minute) instead of grpc-js's `grpc.max_connection_idle_ms`: grpc-js adds a `close` listener
 * to every stream and refreshes a timer whenever a connection's last stream ends, about 1.5 µs of
 * CPU per call, 5% of a bare grpc-js call (issue 23, measured on the bench's bare server).
 *
 * The connections are grpc-js's own list (`http2Servers`, not public); {@link closeIdleConnections}
 * throws when an upgrade moved it, so the limit cannot be dropped silently. A connection's activity
 * is the id of the last stream its client opened (`session.state.lastProcStreamID`): a connection
 * is closed between `idleMs` and `idleMs` plus a tenth after its last call started. A call still
 * running then (a stream open longer than the limit) finishes on the closing connection.
 */
import type { Server } from '@grpc/grpc-js';
import type { ServerHttp2Session } from 'node:http2';

/** What the sweep remembers of a connection: the last stream id seen, and since when. */
interface Seen {
  stream: number;
  since: number;
}

/** The sessions of each HTTP/2 server grpc-js listens with (see the module comment). */
function sessionLists(server: Server): Map<unknown, { sessions?: unknown }> {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) throw new Error('grpc-js Server has no http2Servers: idle connections cannot be closed (check the @grpc/grpc-js upgrade)');
  return servers as Map<unknown, { sessions?: unknown }>;
}

/**
 * Closes the server's connections idle for `idleMs` (see the module comment) until the returned
 * function is called. Call after the server is bound. Throws when grpc-js no longer keeps its
 * connections where this expects them.
 */
export function closeIdleConnections(server: Server, idleMs: number): () => void {
  const servers = sessionLists(server);
  const seen = new WeakMap<ServerHttp2Session, Seen>();
  const sweep = (): void => {
    const now = Date.now();
    for (const info of servers.values()) {
      if (!(info.sessions instanceof Set)) continue;
      for (const session of info.sessions as Set<ServerHttp2Session>) {
        if (session.closed || session.destroyed) continue;
        const stream = session.state.lastProcStreamID ?? 0;
        const s = seen.get(session);
        if (s === undefined || s.stream !== stream) seen.set(session, { stream, since: now });
        else if (now - s.since >= idleMs) session.close();
      }
    }
  };
  const timer = setInterval(sweep, Math.max(10, Math.min(Math.floor(idleMs / 10), 60_000)));
  timer.unref();
  return () => clearInterval(timer);
}
