/**
 * The client of the Extend Async Messaging publisher sidecar:
 * `AsyncMessagingPublisherService/PublishMessage` at
 * `localhost:${ASYNC_MESSAGING_PUBLISHER_GRPC_PORT}` (7474 by default, as
 * AccelByte's docs and templates read it). One channel per address, opened on
 * first use.
 *
 * What a failure means for a retry: a call that never reached the sidecar (no
 * connection) or that it refused for load (RESOURCE_EXHAUSTED) is transient
 * and safe to send again (so is a deadline that passed before the call was on
 * a connection); an answer lost after sending (deadline, dropped
 * connection, an INTERNAL/UNKNOWN answer) is an unknown outcome
 * (`outcomeUnknown`): the sidecar has no lookup, so the action is not sent
 * again (docs/delivery.md); any other status is permanent.
 */
import { createRequire } from 'node:module';
import type * as GrpcJs from '@grpc/grpc-js';
import { PUBLISHER_PATH } from './protos.js';
import { encodePublishRequest } from './events.js';

/** Default port of the publisher sidecar (AccelByte's docs: `ASYNC_MESSAGING_PUBLISHER_GRPC_PORT`, default 7474). */
export const DEFAULT_PUBLISHER_PORT = 7474;
/** The environment variable naming the sidecar's port. */
export const PUBLISHER_PORT_ENV = 'ASYNC_MESSAGING_PUBLISHER_GRPC_PORT';

let configuredPort = DEFAULT_PUBLISHER_PORT;

const requireGrpc = createRequire(import.meta.url);
let grpcJs: typeof GrpcJs | undefined;

/**
 * grpc-js, loaded at the first publish or failure classified: the commands that load the actions
 * without publishing (validate, test, explain...) do not pay for loading it.
 */
function grpc(): typeof GrpcJs {
  grpcJs ??= requireGrpc('@grpc/grpc-js') as typeof GrpcJs;
  return grpcJs;
}

/** Sets the sidecar's port (main wires `ASYNC_MESSAGING_PUBLISHER_GRPC_PORT` from the configuration). Default {@link DEFAULT_PUBLISHER_PORT}. */
export function configurePublisher(options: { readonly port: number }): void {
  configuredPort = options.port;
}

/** The sidecar's address: `localhost:<port>` (see {@link configurePublisher}). */
export function publisherAddress(): string {
  return `localhost:${configuredPort}`;
}

/** A publish that failed; `outcomeUnknown` when it may have been published (sent, answer lost). */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  /** The operation that failed (what the circuit breaker names when a refusal of every event pauses the action). */
  readonly operation = 'PublishMessage';
  /** Safe to send again (never when the outcome is unknown): the event is redelivered. */
  readonly retriable: boolean;
  readonly outcomeUnknown: boolean;
  constructor(message: string, retriable: boolean, outcomeUnknown: boolean, readonly code?: GrpcJs.status) {
    super(`publishMessage: ${message}`);
    this.retriable = retriable && !outcomeUnknown;
    this.outcomeUnknown = outcomeUnknown;
  }
}

const clients = new Map<string, GrpcJs.Client>();

function clientOf(address: string): GrpcJs.Client {
  let c = clients.get(address);
  if (!c) {
    c = new (grpc().Client)(address, grpc().credentials.createInsecure());
    clients.set(address, c);
  }
  return c;
}

/** Closes every channel (tests, shutdown). */
export function closePublishers(): void {
  for (const c of clients.values()) c.close();
  clients.clear();
}

/** The error of a failed call, classified (see the module's comment). */
export function publishErrorOf(err: GrpcJs.ServiceError): PublishError {
  const { status } = grpc();
  const what = `PublishMessage answered ${status[err.code] ?? String(err.code)}: ${err.details}`;
  // a deadline before grpc-js committed the call to a connection ("waiting for name resolution", "waiting for LB
  // pick"): grpc-js names the connection's `remote_addr` in the details only once the call was on one
  const deadlineBeforeSending = err.code === status.DEADLINE_EXCEEDED && !/remote_addr=/.test(err.details);
  const notSent = deadlineBeforeSending || (err.code === status.UNAVAILABLE && /No connection established|ECONNREFUSED|connect E/i.test(err.details));
  if (notSent || err.code === status.RESOURCE_EXHAUSTED) return new PublishError(what, true, false, err.code);
  if ([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.CANCELLED, status.UNKNOWN, status.INTERNAL, status.ABORTED].includes(err.code)) {
    return new PublishError(`${what} (sent; whether it was published is unknown)`, false, true, err.code);
  }
  return new PublishError(what, false, false, err.code);
}

export interface PublishOptions {
  /** `host:port` of the sidecar. Default {@link publisherAddress}(). */
  readonly address?: string;
  /** Deadline of the call, ms. Default 10000. */
  readonly timeoutMs?: number;
  /** Not sent when aborted before. */
  readonly signal?: AbortSignal;
  /** Cancels a call in flight (its outcome is then unknown). */
  readonly inFlightSignal?: AbortSignal;
}

/** Publishes one message. Throws {@link PublishError}. */
export function publishMessage(topic: string, body: string, metadata: Readonly<Record<string, string>>, options: PublishOptions = {}): Promise<void> {
  if (options.signal?.aborted) return Promise.reject(new PublishError('not sent: the event was cancelled', true, false));
  const client = clientOf(options.address ?? publisherAddress());
  const bytes = Buffer.from(encodePublishRequest(topic, body, metadata));
  return new Promise<void>((resolve, reject) => {
    const call = client.makeUnaryRequest(
      PUBLISHER_PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new (grpc().Metadata)(),
      { deadline: Date.now() + (options.timeoutMs ?? 10_000) },
      (err) => {
        options.inFlightSignal?.removeEventListener('abort', cancel);
        if (err) reject(publishErrorOf(err));
        else resolve();
      },
    );
    const cancel = (): void => call.cancel();
    options.inFlightSignal?.addEventListener('abort', cancel, { once: true });
  });
}
