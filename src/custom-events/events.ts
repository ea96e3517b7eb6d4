/**
 * What a rule on a topic or a scheduled task sees, decoded from the wire
 * messages of Extend Async Messaging and the Extend Task Scheduler, and back
 * (`send`, samples, rule tests).
 *
 * A topic event: `{ id, topic, metadata, body, bodyText }`; `body` is the
 * body parsed as JSON, or the string when it is not JSON. `id` is the
 * idempotency key: the message id in `metadata` when present (the keys
 * {@link MESSAGE_ID_KEYS}; `publishMessage` sets `messageId`), else
 * `sha256:` of topic and body (a redelivered message has both unchanged).
 *
 * A scheduled run: `{ id, runId, taskId, namespace, taskName, scheduledTime,
 * attemptNumber, payload, payloadText }`; `id` is the run id (the Task
 * Scheduler's key "for idempotency": one run, whatever the attempts).
 */
import { createHash } from 'node:crypto';
import type { DecodedEvent } from '../events/index.js';
import { EventDecodeError, EventEncodeError, readerOf } from '../events/index.js';
import { customType } from './protos.js';

/** Metadata keys read as the message id (first found wins). `messageId` is the one `publishMessage` writes. */
export const MESSAGE_ID_KEYS = ['messageId', 'MessageId', 'message_id', 'messageID'] as const;
/** The metadata key naming the player, as AccelByte's consumer template reads it. */
export const PLAYER_ID_KEY = 'PlayerId';

const RECEIVED = 'accelbyte.extend.async_messaging.ReceivedMessage';
const REQUEST = 'accelbyte.extend.task_scheduler.v1.ScheduledTaskRequest';
const RESPONSE = 'accelbyte.extend.task_scheduler.v1.ScheduledTaskResponse';
const PUBLISH = 'accelbyte.extend.async_messaging.PublishMessageRequest';

/** JSON text -> value; text that is not JSON stays the string (an empty body: ''). */
export function parseBody(text: string): unknown {
  if (text.trim() === '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function messageIdOf(metadata: Readonly<Record<string, string>>): string | undefined {
  for (const k of MESSAGE_ID_KEYS) {
    const v = metadata[k];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

/** The idempotency key of a received message (see the module's comment). */
export function messageKey(topic: string, body: string, metadata: Readonly<Record<string, string>>): string {
  const id = messageIdOf(metadata);
  if (id !== undefined) return `msg:${topic}:${id}`;
  return `sha256:${createHash('sha256').update(topic).update('\0').update(body).digest('hex')}`;
}

/** The topic event of a message. */
export function topicEvent(topic: string, bodyText: string, metadata: Readonly<Record<string, string>>): DecodedEvent {
  return { id: messageKey(topic, bodyText, metadata), topic, metadata: { ...metadata }, body: parseBody(bodyText), bodyText };
}

function decodeError(typeName: string, err: unknown): EventDecodeError {
  return new EventDecodeError(typeName, err instanceof Error ? err.message : String(err));
}

/** `ReceivedMessage` bytes -> topic event. Throws {@link EventDecodeError}. */
export function decodeReceivedMessage(bytes: Uint8Array): DecodedEvent {
  let m: { body?: string; topic?: string; metadata?: Record<string, string> };
  try {
    m = customType(RECEIVED).decode(readerOf(bytes)) as unknown as typeof m;
  } catch (err) {
    throw decodeError(RECEIVED, err);
  }
  return topicEvent(m.topic ?? '', m.body ?? '', m.metadata ?? {});
}

function stringMap(typeName: string, value: unknown, path: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new EventEncodeError(typeName, `${path} must be a map of strings`, path, 'a map of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new EventEncodeError(typeName, `${path}.${k} must be a string`, `${path}.${k}`, 'a string');
    out[k] = v;
  }
  return out;
}

/** The body text of a JSON `body` (a string is sent as is). */
export function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : JSON.stringify(body ?? null);
}

/** Topic event (or `{ topic, body, metadata }`) -> `ReceivedMessage` bytes; `topic` defaults to `defaultTopic`. Throws {@link EventEncodeError}. */
export function encodeReceivedMessage(event: DecodedEvent, defaultTopic: string): Uint8Array {
  const topic = typeof event.topic === 'string' && event.topic !== '' ? event.topic : defaultTopic;
  if (event.topic !== undefined && typeof event.topic !== 'string') throw new EventEncodeError(RECEIVED, 'topic must be a string', 'topic', 'a string');
  const body = typeof event.bodyText === 'string' ? event.bodyText : bodyText(event.body);
  const metadata = stringMap(RECEIVED, event.metadata, 'metadata');
  const type = customType(RECEIVED);
  return type.encode(type.create({ topic, body, metadata })).finish();
}

/** `PublishMessageRequest` -> bytes. */
export function encodePublishRequest(topic: string, body: string, metadata: Readonly<Record<string, string>>): Uint8Array {
  const type = customType(PUBLISH);
  return type.encode(type.create({ topic, body, metadata: { ...metadata } })).finish();
}

/** `PublishMessageRequest` bytes -> its fields (the stand-in sidecar of tests). */
export function decodePublishRequest(bytes: Uint8Array): { topic: string; body: string; metadata: Record<string, string> } {
  const m = customType(PUBLISH).decode(readerOf(bytes)) as unknown as { topic?: string; body?: string; metadata?: Record<string, string> };
  return { topic: m.topic ?? '', body: m.body ?? '', metadata: { ...(m.metadata ?? {}) } };
}

interface Timestamp {
  seconds?: number | { toNumber(): number };
  nanos?: number;
}

function isoOf(ts: Timestamp | undefined | null): string {
  if (!ts) return '';
  const seconds = typeof ts.seconds === 'object' && ts.seconds !== null ? ts.seconds.toNumber() : Number(ts.seconds ?? 0);
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

/** `ScheduledTaskRequest` bytes -> scheduled run. Throws {@link EventDecodeError}. */
export function decodeScheduledTask(bytes: Uint8Array): DecodedEvent {
  let m: { run_id?: string; task_id?: string; namespace?: string; task_name?: string; scheduled_time?: Timestamp; attempt_number?: number; payload?: string };
  try {
    m = customType(REQUEST).decode(readerOf(bytes)) as unknown as typeof m;
  } catch (err) {
    throw decodeError(REQUEST, err);
  }
  const runId = m.run_id ?? '';
  const payloadText = m.payload ?? '';
  const run = { taskId: m.task_id ?? '', namespace: m.namespace ?? '', taskName: m.task_name ?? '', scheduledTime: isoOf(m.scheduled_time) };
  return {
    id: runId !== '' ? `run:${runId}` : runKey(run, payloadText),
    runId,
    ...run,
    attemptNumber: m.attempt_number ?? 0,
    payload: parseBody(payloadText),
    payloadText,
  };
}

/**
 * The key of a run without a run id: the hash of what the run is (task, namespace, scheduled time,
 * payload), not of the request's bytes, which change with `attempt_number` (the scheduler's retry of
 * the same run would be a new run: a second effect) and with how a sender writes its varints.
 */
function runKey(run: { readonly taskId: string; readonly namespace: string; readonly taskName: string; readonly scheduledTime: string }, payloadText: string): string {
  return `sha256:${createHash('sha256').update(JSON.stringify([run.taskId, run.namespace, run.taskName, run.scheduledTime, payloadText])).digest('hex')}`;
}

/** Scheduled run (JSON as rules see it) -> `ScheduledTaskRequest` bytes; `taskName` defaults to `defaultTask`. Throws {@link EventEncodeError}. */
export function encodeScheduledTask(event: DecodedEvent, defaultTask: string): Uint8Array {
  const str = (k: string): string => {
    const v = event[k];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new EventEncodeError(REQUEST, `${k} must be a string`, k, 'a string');
    return v;
  };
  const when = str('scheduledTime');
  let scheduled: { seconds: number; nanos: number } | undefined;
  if (when !== '') {
    const ms = Date.parse(when);
    if (Number.isNaN(ms)) throw new EventEncodeError(REQUEST, 'scheduledTime must be an RFC 3339 instant', 'scheduledTime', 'an RFC 3339 instant');
    scheduled = { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
  }
  const attempt = event.attemptNumber ?? 1;
  if (typeof attempt !== 'number' || !Number.isInteger(attempt)) throw new EventEncodeError(REQUEST, 'attemptNumber must be an integer', 'attemptNumber', 'an integer');
  const payload = typeof event.payloadText === 'string' ? event.payloadText : event.payload === undefined ? '' : bodyText(event.payload);
  const type = customType(REQUEST);
  return type
    .encode(
      type.create({
        run_id: str('runId'),
        task_id: str('taskId'),
        namespace: str('namespace'),
        task_name: str('taskName') || defaultTask,
        ...(scheduled ? { scheduled_time: scheduled } : {}),
        attempt_number: attempt,
        payload,
      }),
    )
    .finish();
}

/** The answer to the Task Scheduler. */
export interface ScheduledTaskResponse {
  readonly success: boolean;
  readonly message: string;
  readonly resultData: string;
  /** HTTP-style status code (200, 400, 500...). */
  readonly httpStatusCode: number;
}

export function encodeScheduledTaskResponse(r: ScheduledTaskResponse): Uint8Array {
  const type = customType(RESPONSE);
  return type.encode(type.create({ success: r.success, message: r.message, result_data: r.resultData, http_status_code: r.httpStatusCode })).finish();
}

export function decodeScheduledTaskResponse(bytes: Uint8Array): ScheduledTaskResponse {
  const m = customType(RESPONSE).decode(readerOf(bytes)) as unknown as { success?: boolean; message?: string; result_data?: string; http_status_code?: number };
  return { success: m.success ?? false, message: m.message ?? '', resultData: m.result_data ?? '', httpStatusCode: m.http_status_code ?? 0 };
}

/**
 * Whose record a topic event belongs to (stateful rules, `limit`, `cooldown`):
 * `body.userId`, else the `PlayerId` metadata key (AccelByte's consumer
 * template). Undefined for other events and for messages naming no player.
 */
export function customEventOwner(event: DecodedEvent): unknown {
  if (typeof event.bodyText !== 'string' || typeof event.topic !== 'string') return undefined;
  const body = event.body;
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const u = (body as Record<string, unknown>).userId;
    if (typeof u === 'string' && u !== '') return u;
  }
  const m = event.metadata;
  if (m && typeof m === 'object') {
    const p = (m as Record<string, unknown>)[PLAYER_ID_KEY];
    if (typeof p === 'string' && p !== '') return p;
  }
  return undefined;
}

/** The fields of a topic event and of a scheduled run, as explain, rule tests and samples show them (`id` is recomputed). */
const TOPIC_FIELDS: readonly string[] = ['topic', 'metadata', 'body', 'bodyText', 'id'];
const SCHEDULE_FIELDS: readonly string[] = ['runId', 'taskId', 'namespace', 'taskName', 'scheduledTime', 'attemptNumber', 'payload', 'payloadText', 'id'];

/**
 * Refuses a key that is not a field of the event: most often the body (payload) written at the top,
 * as `send --topic --data body.json` takes it, where the event's data has it under `body` (`payload`).
 */
function onlyFields(typeName: string, data: Readonly<Record<string, unknown>>, fields: readonly string[], inner: string, what: string): void {
  const extra = Object.keys(data).filter((k) => !fields.includes(k));
  if (extra.length === 0) return;
  const shown = extra.slice(0, 3).map((k) => `"${k}"`).join(', ');
  throw new EventEncodeError(
    typeName,
    `${extra.length === 1 ? `${shown} is not a field` : `${shown}${extra.length > 3 ? '...' : ''} are not fields`} of ${what} (${fields.join(', ')}): its ${inner} goes under "${inner}": { "${inner}": { "${extra[0]!}": ... } }`,
    extra[0],
  );
}

/**
 * A topic event or scheduled run from authoring data (`explain`, `test`,
 * `send`, `samples`): for `topic:NAME`, `{ body, bodyText?, metadata?, topic? }`
 * (body default `{}`); for `schedule:TASK`, the run's fields (payload default
 * `{}`, attempt 1). Built as the wire would deliver it, so `id`, `body` and
 * `bodyText` are what the server sees. Undefined for other events. Throws
 * {@link EventEncodeError} on data that does not fit.
 */
export function customEventFromData(eventName: string, data: Readonly<Record<string, unknown>>): DecodedEvent | undefined {
  if (eventName.startsWith('topic:')) {
    const topic = eventName.slice('topic:'.length);
    onlyFields(RECEIVED, data, TOPIC_FIELDS, 'body', 'a topic message');
    const withBody = data.body === undefined && data.bodyText === undefined ? { ...data, body: {} } : data;
    return decodeReceivedMessage(encodeReceivedMessage(withBody, topic));
  }
  if (eventName.startsWith('schedule:')) {
    const task = eventName.slice('schedule:'.length);
    onlyFields(REQUEST, data, SCHEDULE_FIELDS, 'payload', 'a scheduled run');
    const withPayload = data.payload === undefined && data.payloadText === undefined ? { ...data, payload: {} } : data;
    return decodeScheduledTask(encodeScheduledTask({ runId: 'run-1', ...withPayload }, task));
  }
  return undefined;
}
