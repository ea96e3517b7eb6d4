/**
 * The pipeline's contract: what the gRPC host (src/server) asks of the code
 * that handles an event (src/pipeline, with src/delivery's executor deciding
 * the outcome), and what it gets back. The host maps an outcome to a gRPC
 * status; nothing else knows about gRPC codes. A folder of its own, low in
 * the layers, so the host, the pipeline and delivery share it without
 * importing one another.
 */
import type { DecodedEvent, EventService } from '../events/index.js';

/**
 * The result of handling one event.
 * - `ok`: answered OK with an empty reply.
 * - `retry`: a transient failure (AGS down, idempotency store unreachable): answered
 *   UNAVAILABLE so the sidecar delivers the batch again.
 * - `failed`: a permanent failure: answered INTERNAL (as the official templates do).
 */
export type EventOutcome =
  /** `reply`: the encoded answer of a method that answers more than `google.protobuf.Empty` (the Task Scheduler's `ScheduledTaskResponse`); absent: empty. */
  | {
      readonly kind: 'ok';
      readonly reply?: Uint8Array;
      /**
       * Actions that failed for good and are in the dead letters (now or by an earlier delivery of the
       * same event): the event is done (OK: redelivering it runs nothing), but a caller that reports
       * success (the Task Scheduler's `ScheduledTaskResponse`) says it failed. Absent: none.
       */
      readonly deadLettered?: readonly { readonly rule: string; readonly action: string; readonly error?: string }[];
    }
  | { readonly kind: 'retry'; readonly message: string }
  | { readonly kind: 'failed'; readonly message: string }
  /** A replay (`extend-event-rules replay`) that ran nothing: its rule no longer fires for the event. Permanent: FAILED_PRECONDITION, so the dead letter is kept. */
  | { readonly kind: 'refused'; readonly message: string };

/**
 * The gRPC call an event arrived on, as far as the handler needs it. The host
 * always gives `signal` and `metadata`; a caller without a call (tests, the
 * CLI's replay) may leave them out.
 */
export interface EventCall {
  /** Aborted when the client cancels the call, its deadline passes, or the server is forced down. */
  readonly signal?: AbortSignal;
  /** The call's request metadata as a plain map, first value per key (trace headers: b3, traceparent, ...). Binary (`-bin`) values are Buffers. */
  readonly metadata?: Readonly<Record<string, string | Buffer>>;
  /** The request exactly as received (the encoded event): the idempotency key of an event without an `id` is its digest. */
  readonly bytes?: Uint8Array;
  /**
   * The first value of one request header when it is a string, else undefined: what `metadata[name]`
   * gives for a text header, without making the whole map (the host's is made on first read; every
   * event reads the replay header). Absent: the handler reads `metadata`.
   */
  header?(name: string): string | undefined;
  /**
   * Aborts `controller` when the call is cancelled or the server is forced down (what aborts `signal`),
   * until the call is answered: a handler with a controller of its own (the executor's, which its
   * deadline and the shutdown abort too) hands it here instead of making the call's `signal` and
   * listening to it (an AbortSignal costs a few µs on Node 20). Absent: the handler listens to `signal`.
   */
  abortWith?(controller: AbortController): void;
  /**
   * Set when the event handed over holds only some of its top-level fields: those the rules of its
   * service are decided on (`RuleSet.decidedOn`, named in `fields`) and its `id`. `whole()` decodes
   * the whole event (throws `EventDecodeError` as the host's decode does); the handler calls it before
   * anything else than those rules reads the event. Absent: the event is whole.
   */
  readonly partial?: { readonly fields: readonly string[]; whole(): DecodedEvent };
}

/**
 * Handles one decoded event. May throw: the host answers INTERNAL with a
 * generic message. May answer synchronously (an event no rule matches): the
 * host then responds in the same tick, which grpc-js handles more cheaply.
 */
export type EventHandler = (service: EventService, event: DecodedEvent, call: EventCall) => EventOutcome | Promise<EventOutcome>;
