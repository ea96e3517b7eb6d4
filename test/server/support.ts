/**
 * Test helpers for the gRPC host: start a real host on loopback, call it with a
 * real grpc-js client, talk reflection and health with clients built from the
 * protos the grpc packages ship (not from the server's own copies).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { createLogger } from '../../src/telemetry/logger.js';
import type { Logger } from '../../src/telemetry/logger.js';
import { createEventHost } from '../../src/server/host.js';
import type { EventHost, EventHostOptions } from '../../src/server/host.js';
import type { DecodedEvent, EventService } from '../../src/events/types.js';
import type { EventCall, EventOutcome } from '../../src/contract/index.js';

const require = createRequire(import.meta.url);

export interface SeenEvent {
  readonly service: EventService;
  readonly event: DecodedEvent;
  readonly call: EventCall;
}

/** A logger that keeps its JSON lines in memory. */
export function memoryLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void raw.push(s) } });
  return { logger, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

export interface RunningHost {
  readonly host: EventHost;
  readonly port: number;
  readonly address: string;
  readonly seen: SeenEvent[];
  readonly logLines: () => Record<string, unknown>[];
  /** Replace what onEvent does (default: record and answer ok). */
  respond: (seen: SeenEvent) => EventOutcome | Promise<EventOutcome>;
}

export async function startHost(options: Omit<EventHostOptions, 'onEvent' | 'logger' | 'port' | 'host'>): Promise<RunningHost> {
  const { logger, lines } = memoryLogger();
  const seen: SeenEvent[] = [];
  const running: { respond: RunningHost['respond'] } = { respond: () => Promise.resolve({ kind: 'ok' }) };
  const host = createEventHost({
    ...options,
    logger,
    host: '127.0.0.1',
    port: 0,
    onEvent: (service, event, call) => {
      const s = { service, event, call };
      seen.push(s);
      return running.respond(s);
    },
  });
  const { port } = await host.start();
  const result: RunningHost = {
    host,
    port,
    address: `127.0.0.1:${String(port)}`,
    seen,
    logLines: lines,
    get respond() {
      return running.respond;
    },
    set respond(fn) {
      running.respond = fn;
    },
  };
  return result;
}

/** A raw-bytes unary call: the request is already encoded, the reply must be an Empty. */
export function callRaw(
  client: grpc.Client,
  path: string,
  body: Uint8Array,
): Promise<{ code: grpc.status; details: string; reply?: Buffer }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(body),
      new grpc.Metadata(),
      { deadline: Date.now() + 30_000 },
      (err, reply) => {
        if (err) resolve({ code: err.code, details: err.details });
        else resolve({ code: grpc.status.OK, details: '', ...(reply ? { reply } : {}) });
      },
    );
  });
}

export function rawClient(address: string): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure());
}

// --- reflection client, from the protos @grpc/reflection ships ---

const reflectionProtoDir = join(dirname(require.resolve('@grpc/reflection')), '..', 'proto');

export type ReflectionVersion = 'v1' | 'v1alpha';

interface ReflectionResponse {
  valid_host: string;
  message_response: string;
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  list_services_response?: { service: { name: string }[] };
  error_response?: { error_code: number; error_message: string };
  all_extension_numbers_response?: { base_type_name: string; extension_number: number[] };
}

type ReflectionClientCtor = new (address: string, creds: grpc.ChannelCredentials) => grpc.Client & {
  ServerReflectionInfo(): grpc.ClientDuplexStream<Record<string, unknown>, ReflectionResponse>;
};

function reflectionCtor(version: ReflectionVersion): ReflectionClientCtor {
  const def = protoLoader.loadSync(join(reflectionProtoDir, 'grpc', 'reflection', version, 'reflection.proto'), {
    keepCase: true,
    oneofs: true,
    longs: Number,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { reflection: Record<ReflectionVersion, { ServerReflection: ReflectionClientCtor }> };
  };
  return pkg.grpc.reflection[version].ServerReflection;
}

/** Sends reflection requests one by one on one stream and collects the answers. */
export async function reflect(
  address: string,
  version: ReflectionVersion,
  requests: readonly Record<string, unknown>[],
): Promise<ReflectionResponse[]> {
  const Ctor = reflectionCtor(version);
  const client = new Ctor(address, grpc.credentials.createInsecure());
  try {
    const stream = client.ServerReflectionInfo();
    const answers: ReflectionResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: ReflectionResponse) => {
        answers.push(r);
        const next = requests[answers.length];
        if (next) stream.write(next);
        else stream.end();
      });
      stream.on('error', reject);
      stream.on('end', () => resolve());
    });
    const first = requests[0];
    if (first) stream.write(first);
    else stream.end();
    await done;
    return answers;
  } finally {
    client.close();
  }
}

export async function listServices(address: string, version: ReflectionVersion): Promise<string[]> {
  const [answer] = await reflect(address, version, [{ list_services: '*' }]);
  return (answer?.list_services_response?.service ?? []).map((s) => s.name).sort();
}

/** Wraps FileDescriptorProtos into a serialized FileDescriptorSet (field 1, repeated). */
export function fileDescriptorSet(files: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const len: number[] = [];
    let n = f.length;
    while (n > 0x7f) {
      len.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    len.push(n);
    parts.push(Buffer.from([0x0a, ...len]), f);
  }
  return Buffer.concat(parts);
}

// --- health client, from grpc-health-check's proto ---

type HealthCtor = new (address: string, creds: grpc.ChannelCredentials) => grpc.Client & {
  Check(
    req: { service: string },
    cb: (err: grpc.ServiceError | null, res?: { status: string }) => void,
  ): grpc.ClientUnaryCall;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};

export function healthClient(address: string): InstanceType<HealthCtor> {
  const def = protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: HealthCtor } } } };
  return new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
}

export function healthCheck(client: InstanceType<HealthCtor>, service = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    client.Check({ service }, (err, res) => {
      if (err) reject(err);
      else resolve(res?.status ?? '');
    });
  });
}

/** Polls until the condition holds (test/support/wait.ts). */
export { waitFor } from '../support/wait.js';
