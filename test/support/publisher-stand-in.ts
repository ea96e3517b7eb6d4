/**
 * A stand-in for the Extend Async Messaging publisher sidecar: a real gRPC
 * server of `AsyncMessagingPublisherService/PublishMessage`, built with
 * @grpc/proto-loader from a `.proto` (the published one from
 * `../shared/ags-event-specs` when the test has it), recording every message
 * it accepts. Faults: `loseAnswers(n)` records the next n messages (they are
 * published) and answers UNAVAILABLE "Connection dropped" (the answer is lost).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface PublishedMessage {
  readonly topic: string;
  readonly body: string;
  readonly metadata: Record<string, string>;
}

export interface PublisherStandIn {
  /** `localhost` port it listens on. */
  readonly port: number;
  /** Every message published, in order. */
  readonly published: PublishedMessage[];
  /** The next `n` messages are published, and answered UNAVAILABLE as if the answer were lost. */
  loseAnswers(n: number): void;
  /** Refuse every message with this status (nothing published: a topic that does not exist, a permission missing); undefined publishes again. */
  refuse(status?: { readonly code: grpc.status; readonly details: string }): void;
  close(): Promise<void>;
}

interface Request {
  body?: string;
  topic?: string;
  metadata?: Record<string, string>;
}

export async function startPublisherStandIn(protoFile: string, includeDirs: readonly string[] = []): Promise<PublisherStandIn> {
  const definition = protoLoader.loadSync(protoFile, { keepCase: true, includeDirs: [...includeDirs], defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    accelbyte: { extend: { async_messaging: { AsyncMessagingPublisherService: { service: grpc.ServiceDefinition } } } };
  };
  const published: PublishedMessage[] = [];
  let lose = 0;
  let refusal: { code: grpc.status; details: string } | undefined;
  const server = new grpc.Server();
  server.addService(pkg.accelbyte.extend.async_messaging.AsyncMessagingPublisherService.service, {
    PublishMessage(call: grpc.ServerUnaryCall<Request, unknown>, callback: grpc.sendUnaryData<unknown>) {
      if (refusal !== undefined) {
        callback(refusal);
        return;
      }
      published.push({ topic: call.request.topic ?? '', body: call.request.body ?? '', metadata: { ...(call.request.metadata ?? {}) } });
      if (lose > 0) {
        lose--;
        callback({ code: grpc.status.UNAVAILABLE, details: 'Connection dropped' });
        return;
      }
      callback(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port,
    published,
    loseAnswers(n) {
      lose = n;
    },
    refuse(status) {
      refusal = status === undefined ? undefined : { ...status };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}
