/**
 * The gRPC host: one generic handler for the `OnMessage` method of every loaded
 * event service, reflection and health beside them, and a graceful shutdown.
 *
 * Every loaded service is registered up front; whether a call is served is
 * decided per call from the served set, so `setServed` (hot reload of rules)
 * needs no re-registration. Methods of services that are loaded but not served
 * answer UNIMPLEMENTED (the Extend sidecar then disables them).
 */
import { redactText } from '../telemetry/index.js';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Catalog, DecodedEvent, EventService } from '../events/index.js';
import { EventDecodeError } from '../events/index.js';
import type { Logger } from '../telemetry/index.js';
import type { Metrics } from '../telemetry/index.js';
import { DescriptorPool } from './descriptors.js';
import { HealthStatus } from './health.js';
import { HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA, loadInfraRoot } from './infra-protos.js';
import { addReflection } from './reflection.js';
import type { EventCall, EventHandler, EventOutcome, GrpcLimits } from '../contract/index.js';
import { DEFAULT_GRPC_LIMITS, DEFAULT_PORT } from '../contract/index.js';

export { DEFAULT_GRPC_LIMITS, DEFAULT_PORT };
export type { GrpcLimits };

/** A zero-length buffer is a valid encoded `google.protobuf.Empty`. */
const EMPTY = Buffer.alloc(0);

/** Which loaded services are served: a set of full names, or a predicate. */
export type ServedSelector = Iterable<string> | ((service: EventService) => boolean);

export interface EventHostOptions {
  /** The loaded event catalog; a handler is registered for each of its unary methods. */
  readonly catalog: Catalog;
  /** Services served (full names, e.g. `accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService`) or a predicate. Default: every loaded service. */
  readonly served?: ServedSelector;
  /** Handles a decoded event of a served service. */
  readonly onEvent: EventHandler;
  /** Where the host logs (decode failures, handler exceptions, start, shutdown). */
  readonly logger: Logger;
  /** go-grpc-prometheus metrics of event calls, and `event_rules_events_invalid_total` (decode failures). Default: none. */
  readonly metrics?: Metrics;
  /** Serve `grpc.reflection.v1` and `grpc.reflection.v1alpha`. Default: true. */
  readonly reflection?: boolean;
  /** Serve `grpc.health.v1.Health`. Default: true. */
  readonly health?: boolean;
  /** TCP port; 0 picks a free one. Default: 6565. */
  readonly port?: number;
  /** Address to bind. Default: `0.0.0.0`. */
  readonly host?: string;
  /**
   * After the grace period, calls in flight are cancelled (their `signal`s abort);
   * shutdown then waits up to this long for their handlers to return, so they can
   * release idempotency claims before the store closes. Default: 5000.
   */
  readonly settleMs?: number;
  /** HTTP/2 and message limits of the server (see {@link GrpcLimits}). Default: {@link DEFAULT_GRPC_LIMITS}. */
  readonly limits?: Partial<GrpcLimits>;
  /**
   * The top-level fields (json names) that decide the rules of a service's events when nothing else
   * does (`RuleSet.decidedOn`): only they and `id` are decoded, and the handler gets the rest through
   * `call.partial.whole()` when it needs it. Undefined for a service: decode the whole event. Default: always whole.
   */
  readonly decidedOn?: (service: EventService) => readonly string[] | undefined;
}

/** grpc-js server options of the limits (channelz off: the Extend sidecar does not use it, and it costs ~5% of a call). */
export function grpcServerOptions(limits: Partial<GrpcLimits> = {}): Record<string, number> {
  const l = { ...DEFAULT_GRPC_LIMITS, ...limits };
  return {
    'grpc.enable_channelz': 0,
    'grpc.max_concurrent_streams': l.maxConcurrentStreams,
    'grpc.max_receive_message_length': l.maxReceiveMessageBytes,
    'grpc.max_send_message_length': l.maxSendMessageBytes,
    'grpc.keepalive_time_ms': l.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': l.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': l.maxConnectionIdleMs,
  };
}

/**
 * Sets the HTTP/2 limits grpc-js has no option for (`maxHeaderListSize`: the metadata bound) on the
 * settings it passes to `http2.createServer`. Call before binding. Throws when grpc-js no longer
 * keeps those settings where this expects them (an upgrade must not drop the limit silently).
 */
export function applyHttp2Limits(server: Server, limits: Partial<GrpcLimits> = {}): void {
  const l = { ...DEFAULT_GRPC_LIMITS, ...limits };
  const common = (server as unknown as { commonServerOptions?: { settings?: Record<string, unknown> } }).commonServerOptions;
  if (common === undefined || typeof common !== 'object') throw new Error('grpc-js Server has no commonServerOptions: the gRPC metadata limit cannot be set (check the @grpc/grpc-js upgrade)');
  common.settings = { ...(common.settings ?? {}), maxHeaderListSize: l.maxMetadataBytes };
}

export interface EventHost {
  /** Binds and starts serving (health stays NOT_SERVING until {@link setServing}). Resolves with the bound port. */
  start(): Promise<{ port: number }>;
  /**
   * Graceful stop: health NOT_SERVING, refuse new calls, wait up to `graceMs` for
   * calls in flight, then force the rest (their `signal`s abort). Idempotent.
   */
  shutdown(graceMs: number): Promise<void>;
  /** Replaces the served set; reflection and health show it at once. Unknown names are logged and ignored. */
  setServed(selector: ServedSelector): void;
  /** The full names served now (only loaded services). */
  served(): ReadonlySet<string>;
  /** Overall health: NOT_SERVING until the app has loaded catalog and rules. */
  setServing(serving: boolean): void;
  /** The services reflection lists now: served events plus health and reflection when enabled. */
  listedServices(): string[];
}

/** The port could not be bound. */
export class ServerBindError extends Error {
  override readonly name = 'ServerBindError';
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`cannot listen on ${address}: ${reason}`);
  }
}

/** Why the gRPC port cannot be bound when another process holds it: what to do, with the variable. */
const PORT_IN_USE = 'the port is already in use (by another process: an earlier npm start still running?); stop it, or set PORT to a free port';

/**
 * {@link PORT_IN_USE} when `host:port` is held by another process (a listen attempt answers EADDRINUSE),
 * else undefined (port 0, free, or another error: grpc-js then says what it finds).
 */
async function portInUse(address: string): Promise<string | undefined> {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port === 0) return undefined;
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' ? PORT_IN_USE : undefined));
    probe.listen({ host: address.slice(0, colon), port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}

/** gRPC code names as go-grpc-prometheus writes them in `grpc_code`. */
const CODE_NAMES: Readonly<Record<number, string>> = {
  [status.OK]: 'OK',
  [status.CANCELLED]: 'Canceled',
  [status.UNKNOWN]: 'Unknown',
  [status.INVALID_ARGUMENT]: 'InvalidArgument',
  [status.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [status.NOT_FOUND]: 'NotFound',
  [status.ALREADY_EXISTS]: 'AlreadyExists',
  [status.PERMISSION_DENIED]: 'PermissionDenied',
  [status.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [status.FAILED_PRECONDITION]: 'FailedPrecondition',
  [status.ABORTED]: 'Aborted',
  [status.OUT_OF_RANGE]: 'OutOfRange',
  [status.UNIMPLEMENTED]: 'Unimplemented',
  [status.INTERNAL]: 'Internal',
  [status.UNAVAILABLE]: 'Unavailable',
  [status.DATA_LOSS]: 'DataLoss',
  [status.UNAUTHENTICATED]: 'Unauthenticated',
};

interface Answer {
  readonly code: status;
  readonly details?: string;
  /** The encoded answer when it is not `google.protobuf.Empty`. */
  readonly reply?: Uint8Array;
}

const OK: Answer = { code: status.OK };

export function createEventHost(options: EventHostOptions): EventHost {
  return new GrpcEventHost(options);
}

/** The gRPC metrics of one method, label sets resolved once (prom-client hashes and validates labels on every `inc` otherwise). */
interface MethodMetrics {
  readonly started: { inc(): void };
  readonly received: { inc(): void };
  readonly sent: { inc(): void };
  readonly seconds: { observe(value: number): void };
  readonly handled: Map<status, { inc(): void }>;
  readonly labels: { readonly grpc_type: string; readonly grpc_service: string; readonly grpc_method: string };
}

class GrpcEventHost implements EventHost {
  private readonly server: Server;
  private readonly methodMetrics = new Map<EventService, MethodMetrics>();
  private readonly catalog: Catalog;
  private readonly logger: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly onEvent: EventHandler;
  private readonly decidedOn: ((service: EventService) => readonly string[] | undefined) | undefined;
  private readonly health: HealthStatus | undefined;
  private readonly reflection: boolean;
  private readonly bindAddress: string;
  private readonly loaded: ReadonlyMap<string, readonly EventService[]>;
  private servedSet: ReadonlySet<string> = new Set();
  /** Abort controllers of the calls in flight whose handlers asked for a signal (events with actions). */
  private readonly inFlight = new Set<AbortController>();
  /** The handlers of calls in flight: after a forced shutdown, awaited (briefly) so they can release claims. */
  private readonly handlers = new Set<Promise<unknown>>();
  private readonly settleMs: number;
  private shuttingDown: Promise<void> | undefined;

  constructor(options: EventHostOptions) {
    this.catalog = options.catalog;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.onEvent = options.onEvent;
    this.decidedOn = options.decidedOn;
    this.reflection = options.reflection ?? true;
    this.bindAddress = `${options.host ?? '0.0.0.0'}:${String(options.port ?? DEFAULT_PORT)}`;
    this.settleMs = options.settleMs ?? 5000;
    this.server = new Server(grpcServerOptions(options.limits));
    applyHttp2Limits(this.server, options.limits);

    const loaded = new Map<string, EventService[]>();
    for (const service of this.catalog.services) {
      const methods = loaded.get(service.fullName) ?? [];
      methods.push(service);
      loaded.set(service.fullName, methods);
    }
    this.loaded = loaded;
    for (const [, methods] of loaded) this.register(methods);

    if (options.health ?? true) {
      this.health = new HealthStatus();
      this.health.addToServer(this.server);
    }
    if (this.reflection) {
      const infraRoot = loadInfraRoot();
      const pool = new DescriptorPool({ roots: () => [...(this.catalog.builtInRoots?.() ?? []), this.catalog.root, infraRoot], dirs: this.catalog.dirs, headerOf: (file) => this.catalog.header(file) });
      addReflection(this.server, { pool, infraRoot, listServices: () => this.listedServices() });
    }
    this.setServed(options.served ?? (() => true));
  }

  served(): ReadonlySet<string> {
    return this.servedSet;
  }

  listedServices(): string[] {
    const names = [...this.servedSet];
    if (this.health) names.push(HEALTH);
    if (this.reflection) names.push(REFLECTION_V1, REFLECTION_V1ALPHA);
    return names.sort();
  }

  setServed(selector: ServedSelector): void {
    const next = new Set<string>();
    if (typeof selector === 'function') {
      for (const service of this.catalog.services) if (selector(service)) next.add(service.fullName);
    } else {
      const unknown: string[] = [];
      for (const name of typeof selector === 'string' ? [selector] : selector) {
        if (this.loaded.has(name)) next.add(name);
        else unknown.push(name);
      }
      if (unknown.length > 0) this.logger.warn({ services: unknown }, 'asked to serve services that are not loaded; ignored');
    }
    this.servedSet = next;
    this.health?.setServices(next);
  }

  setServing(serving: boolean): void {
    this.health?.setServing(serving);
  }

  async start(): Promise<{ port: number }> {
    // a port already in use is said with the variable to change, before grpc-js logs its own "No address added" line
    const inUse = await portInUse(this.bindAddress);
    if (inUse) throw new ServerBindError(this.bindAddress, inUse);
    return new Promise((resolve, reject) => {
      this.server.bindAsync(this.bindAddress, ServerCredentials.createInsecure(), (err, port) => {
        if (err) {
          reject(new ServerBindError(this.bindAddress, /EADDRINUSE/.test(err.message) ? PORT_IN_USE : err.message));
          return;
        }
        this.logger.info({ port, services: this.servedSet.size }, 'gRPC server listening');
        resolve({ port });
      });
    });
  }

  shutdown(graceMs: number): Promise<void> {
    this.shuttingDown ??= this.stop(graceMs);
    return this.shuttingDown;
  }

  private async stop(graceMs: number): Promise<void> {
    this.health?.setServing(false);
    this.health?.endWatches(); // after NOT_SERVING: open Watch streams would hold tryShutdown until the grace period ends
    this.logger.info({ graceMs, inFlight: this.inFlight.size }, 'gRPC server shutting down');
    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<boolean>((resolve) => {
      this.server.tryShutdown(() => resolve(true));
    });
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const graceful = await Promise.race([drained, expired]);
    clearTimeout(timer);
    if (!graceful) {
      this.logger.warn({ inFlight: this.inFlight.size }, 'grace period over: cancelling calls in flight');
      for (const controller of this.inFlight) controller.abort(new Error('server shutting down'));
      this.server.forceShutdown();
      await this.settle();
    }
    this.logger.info('gRPC server stopped');
  }

  /** Waits up to `settleMs` for the handlers still running (cancelled calls) to return. */
  private async settle(): Promise<void> {
    if (this.handlers.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.allSettled([...this.handlers]).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.settleMs);
      }),
    ]);
    clearTimeout(timer);
    if (!settled) this.logger.warn({ handlers: this.handlers.size }, `${this.handlers.size} cancelled call(s) still running after ${this.settleMs} ms: stopping anyway`);
  }

  private register(methods: readonly EventService[]): void {
    const definition: Record<string, ServiceDefinition[string]> = {};
    const implementation: UntypedServiceImplementation = {};
    for (const service of methods) {
      definition[service.methodName] = {
        path: service.path,
        requestStream: false,
        responseStream: false,
        requestSerialize: (value: Buffer) => value,
        requestDeserialize: (bytes: Buffer) => bytes,
        responseSerialize: (value: Buffer) => value,
        responseDeserialize: () => ({}),
      };
      implementation[service.methodName] = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        this.handle(service, call, callback);
      };
    }
    this.server.addService(definition, implementation);
  }

  /** Answers in the same tick when the handler does (no rule matched), else when its promise settles. */
  private handle(service: EventService, call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void {
    const started = performance.now(); // a double, not a BigInt: nothing allocated per call
    const m = this.metrics ? this.metricsOf(service, this.metrics) : undefined;
    m?.started.inc();
    m?.received.inc();
    let answer: Answer | Promise<Answer>;
    try {
      answer = this.answer(service, call);
    } catch (err) {
      answer = this.unexpected(service, err);
    }
    if (answer instanceof Promise) {
      void answer.then(
        (a) => this.respond(callback, m, started, a),
        (err: unknown) => this.respond(callback, m, started, this.unexpected(service, err)),
      );
    } else {
      this.respond(callback, m, started, answer);
    }
  }

  /** answer() catches everything it expects; this is the last line of defence. */
  private unexpected(service: EventService, err: unknown): Answer {
    this.logger.error({ err, service: service.fullName }, 'unexpected failure while handling a call');
    return { code: status.INTERNAL, details: 'internal error' };
  }

  private respond(callback: sendUnaryData<Buffer>, m: MethodMetrics | undefined, started: number, answer: Answer): void {
    if (answer.code === status.OK) {
      callback(null, answer.reply ? Buffer.from(answer.reply.buffer, answer.reply.byteOffset, answer.reply.byteLength) : EMPTY);
      m?.sent.inc();
    } else {
      // the details reach the sidecar and its logs: registered secrets are redacted there too
      callback({ code: answer.code, details: redactText(answer.details ?? '') });
    }
    if (m && this.metrics) {
      let handled = m.handled.get(answer.code);
      if (!handled) {
        handled = this.metrics.counterChild(this.metrics.grpcHandled, { ...m.labels, grpc_code: CODE_NAMES[answer.code] ?? String(answer.code) });
        m.handled.set(answer.code, handled);
      }
      handled.inc();
      m.seconds.observe((performance.now() - started) / 1000);
    }
  }

  private metricsOf(service: EventService, metrics: Metrics): MethodMetrics {
    let m = this.methodMetrics.get(service);
    if (!m) {
      const labels = { grpc_type: 'unary', grpc_service: service.fullName, grpc_method: service.methodName };
      m = {
        labels,
        started: metrics.counterChild(metrics.grpcStarted, labels),
        received: metrics.counterChild(metrics.grpcMsgReceived, labels),
        sent: metrics.counterChild(metrics.grpcMsgSent, labels),
        seconds: metrics.histogramChild(metrics.grpcHandlingSeconds, labels),
        handled: new Map(),
      };
      this.methodMetrics.set(service, m);
    }
    return m;
  }

  private answer(service: EventService, call: ServerUnaryCall<Buffer, Buffer>): Answer | Promise<Answer> {
    if (!this.servedSet.has(service.fullName)) {
      return { code: status.UNIMPLEMENTED, details: `${service.path} is not served` };
    }
    const codec = this.catalog.codec(service);
    const fields = this.decidedOn?.(service);
    let event: DecodedEvent;
    let partial: EventCall['partial'];
    try {
      // only the fields that decide its rules when nothing else does (most such events match none)
      const some = fields !== undefined && codec.decodeFields ? codec.decodeFields(call.request, fields) : undefined;
      if (some !== undefined) partial = { fields: fields!, whole: () => codec.decode(call.request) };
      event = some ?? codec.decode(call.request);
    } catch (err) {
      return this.notDecoded(service, err);
    }

    const scope = new CallScope(call, this.inFlight, partial);
    let result: EventOutcome | Promise<EventOutcome>;
    try {
      result = this.onEvent(service, event, scope);
    } catch (err) {
      scope.done();
      return this.handlerThrew(service, err);
    }
    if (!(result instanceof Promise)) {
      scope.done();
      return answerOf(result);
    }
    const handling = result;
    this.handlers.add(handling);
    return handling.then(
      (outcome) => {
        this.handlers.delete(handling);
        scope.done();
        return answerOf(outcome);
      },
      (err: unknown) => {
        this.handlers.delete(handling);
        scope.done();
        return this.handlerThrew(service, err);
      },
    );
  }

  /** An event that does not decode: INVALID_ARGUMENT with the reason, logged and counted. */
  private notDecoded(service: EventService, err: unknown): Answer {
    const message =
      err instanceof EventDecodeError
        ? err.message
        : `cannot decode ${service.requestTypeName}: ${err instanceof Error ? err.message : String(err)}`;
    this.logger.warn({ service: service.fullName, event: service.eventName, reason: message }, 'event not decoded');
    this.metrics?.eventsInvalid.inc({ event: service.eventName });
    return { code: status.INVALID_ARGUMENT, details: message };
  }

  private handlerThrew(service: EventService, err: unknown): Answer {
    // the whole of a partly decoded event, decoded by the handler, does not decode: answered as the host's own decode
    if (err instanceof EventDecodeError) return this.notDecoded(service, err);
    this.logger.error({ err, service: service.fullName, event: service.eventName }, 'event handler threw');
    return { code: status.INTERNAL, details: 'internal error while handling the event' };
  }
}

/**
 * The {@link EventCall} of one gRPC call: one object, its parts made when the handler reads them.
 * The AbortSignal is made only when the handler asks for it (an event with actions; most events
 * never ask), synchronously in the handler's first turn, so no cancel can fall in between; the
 * metadata map is made on first read (trace context, an event with actions); one header (the
 * replay header, read for every event) is read without it.
 */
class CallScope implements EventCall {
  #controller: AbortController | undefined;
  #onCancelled: (() => void) | undefined;
  #finished = false;
  #metadata: Record<string, string | Buffer> | undefined;

  constructor(
    readonly call: ServerUnaryCall<Buffer, Buffer>,
    /** The host's calls in flight that made a signal (aborted on a forced shutdown). */
    readonly inFlight: Set<AbortController>,
    /** Set when the event handed over is partly decoded (see {@link EventCall.partial}). */
    readonly partial?: EventCall['partial'],
  ) {}

  get bytes(): Uint8Array {
    return this.call.request;
  }

  get metadata(): Readonly<Record<string, string | Buffer>> {
    return (this.#metadata ??= this.call.metadata.getMap());
  }

  header(name: string): string | undefined {
    const value = this.call.metadata.get(name)[0]; // grpc-js lower-cases the name
    return typeof value === 'string' ? value : undefined;
  }

  get signal(): AbortSignal {
    if (this.#controller) return this.#controller.signal;
    if (this.#finished) return new AbortController().signal; // asked after the answer: nothing left to cancel
    return this.#own(new AbortController()).signal;
  }

  /** `c` made the call's controller: aborted when the call is cancelled or forced down. */
  #own(c: AbortController): AbortController {
    this.#controller = c;
    this.#onCancelled = (): void => c.abort(new Error('call cancelled by the client'));
    this.call.on('cancelled', this.#onCancelled);
    if (this.call.cancelled) this.#onCancelled();
    this.inFlight.add(c);
    return c;
  }

  abortWith(c: AbortController): void {
    if (this.#finished) return;
    const own = this.#controller;
    if (!own) {
      this.#own(c); // the handler's controller is the call's: no second one
      return;
    }
    // the call's signal was made already (facts, state): linked to it
    if (own.signal.aborted) c.abort(own.signal.reason);
    else own.signal.addEventListener('abort', () => c.abort(own.signal.reason), { once: true });
  }

  /** The call is answered: its signal (if made) leaves the in-flight set. */
  done(): void {
    this.#finished = true;
    if (!this.#controller) return;
    this.inFlight.delete(this.#controller);
    this.call.removeListener('cancelled', this.#onCancelled!);
  }
}

function answerOf(outcome: EventOutcome): Answer {
  switch (outcome.kind) {
    case 'ok':
      return outcome.reply ? { code: status.OK, reply: outcome.reply } : OK;
    case 'retry':
      return { code: status.UNAVAILABLE, details: outcome.message };
    case 'failed':
      return { code: status.INTERNAL, details: outcome.message };
    case 'refused':
      return { code: status.FAILED_PRECONDITION, details: outcome.message };
    default:
      return { code: status.INTERNAL, details: 'internal error: unknown outcome' };
  }
}
