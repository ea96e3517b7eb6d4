/**
 * The gRPC server's defaults: the port the Extend sidecar calls and the HTTP/2 and message limits
 * (src/server/host.ts applies them). Plain constants in this low folder, without grpc-js, so the
 * configuration (src/config.ts) and every CLI command read them without loading the gRPC server's
 * packages (grpc-js, grpc-health-check: about 0.2 CPU s of each command's start-up).
 */
/**
 * Limits of the gRPC server, set explicitly rather than left to grpc-js
 * (whose HTTP/2 default lets one connection hold 2^32-1 streams: 100k
 * half-open streams took 670 MB).
 */
export interface GrpcLimits {
  /** Streams (calls) one HTTP/2 connection may have open at once (`grpc.max_concurrent_streams`); beyond it new streams are refused (REFUSED_STREAM). */
  readonly maxConcurrentStreams: number;
  /** Largest request message, bytes (`grpc.max_receive_message_length`); larger ones answer RESOURCE_EXHAUSTED. */
  readonly maxReceiveMessageBytes: number;
  /** Largest response message, bytes (`grpc.max_send_message_length`): reflection answers are the largest. */
  readonly maxSendMessageBytes: number;
  /** Ping an idle client after this long, ms (`grpc.keepalive_time_ms`), and drop it if the ping is not answered within `keepaliveTimeoutMs`. */
  readonly keepaliveTimeMs: number;
  /** See `keepaliveTimeMs` (`grpc.keepalive_timeout_ms`). */
  readonly keepaliveTimeoutMs: number;
  /** Close a connection with no call for this long, ms (`grpc.max_connection_idle_ms`, GOAWAY; the sidecar reconnects). */
  readonly maxConnectionIdleMs: number;
  /**
   * Largest metadata (HTTP/2 header list, uncompressed bytes) a call may carry: the HTTP/2 setting
   * `maxHeaderListSize` of the server (grpc-js has no option for it; see `applyHttp2Limits` in src/server/host.ts).
   * A call over it is refused at the HTTP/2 level; the connection and the server carry on.
   */
  readonly maxMetadataBytes: number;
}

/** The gRPC port the Extend sidecar calls (the templates' 6565): `PORT`'s default. */
export const DEFAULT_PORT = 6565;

/**
 * The defaults: 100 streams per connection (the HTTP/2 recommended minimum; grpc-go clients queue
 * beyond it), 4 MiB in, 16 MiB out, keepalive ping every 2 min with a 20 s timeout, idle
 * connections closed after 10 min, 16 KiB of metadata (the sidecar sends a few trace headers;
 * gRPC's own default soft limit is 8 KiB, Node's HTTP/2 default 64 KiB).
 */
export const DEFAULT_GRPC_LIMITS: GrpcLimits = {
  maxConcurrentStreams: 100,
  maxReceiveMessageBytes: 4 * 1024 * 1024,
  maxSendMessageBytes: 16 * 1024 * 1024,
  keepaliveTimeMs: 120_000,
  keepaliveTimeoutMs: 20_000,
  maxConnectionIdleMs: 600_000,
  maxMetadataBytes: 16 * 1024,
};
