/**
 * Sample events: every field present, recursively, with realistic placeholders,
 * for `samples`, `send` and rule tests. Deterministic: the same field name gets
 * the same value everywhere (`userId` at the top and in `payload.userAccount`).
 *
 * Where a message type contains itself, the field on the cycle is left at its
 * decoded default (null, or [] when repeated). Of a real `oneof`, only the first
 * member is set (a message can carry one).
 */
import { createHash, randomBytes } from 'node:crypto';
import protobuf from 'protobufjs';
import type { Field, MapField, Type } from 'protobufjs';
import { codecFor } from './codec.js';
import { fieldForKey } from './from-json.js';
import type { DecodedEvent, EventService } from './types.js';
import { inRealOneof, jsonKey, setOwn, wellKnownKind } from './wkt.js';

const SAMPLE_TIME = '2026-01-15T09:30:00Z';

/** 32 lowercase hex, stable per name (AGS ids look like this). */
function hexId(name: string): string {
  return createHash('md5').update(name).digest('hex');
}

function sampleString(key: string, eventName: string, top: boolean): string {
  const k = key.toLowerCase();
  if (top && k === 'name') return eventName;
  if (k === 'namespace' || k === 'targetnamespace' || k === 'gamenamespace') return 'mygame';
  if (k === 'parentnamespace' || k === 'publishernamespace' || k === 'studionamespace') return 'mystudio';
  if (k.includes('email')) return 'user@example.com';
  if (k === 'timestamp' || k.endsWith('at') || k.endsWith('time') || k.endsWith('date') || k.startsWith('date')) {
    return SAMPLE_TIME;
  }
  if (k === 'country' || k.endsWith('country') || k.endsWith('countrycode')) return 'US';
  if (k === 'language' || k.endsWith('language') || k === 'locale') return 'en-US';
  if (k === 'currencycode' || k === 'currency') return 'USD';
  if (k === 'platformid' || k.endsWith('platformid') || k === 'platform') return 'steam';
  if (k === 'city') return 'Seattle';
  if (k === 'state' || k === 'region') return 'us-west-2';
  if (k === 'displayname') return 'Player One';
  if (k === 'username' || k === 'uniquedisplayname') return 'player_one';
  if (k === 'status') return 'ACTIVE';
  if (k.endsWith('url') || k.endsWith('uri')) return 'https://example.com/resource';
  if (k === 'ip' || k.endsWith('ipaddress') || k.endsWith('ip')) return '203.0.113.7';
  if (k === 'id' || k.endsWith('id') || k.endsWith('ids')) return hexId(key);
  if (k === 'name' || k.endsWith('name')) return `sample ${key}`;
  return `sample-${key}`;
}

function sampleNumber(key: string, typeName: string): number | string {
  if (typeName === 'double' || typeName === 'float') return 1.5;
  const k = key.toLowerCase();
  if (k.endsWith('at') || k.endsWith('time') || k === 'timestamp') return 1768469400;
  return 1;
}

interface Context {
  readonly eventName: string;
  readonly stack: Set<Type>;
}

function sampleWellKnown(type: Type, ctx: Context): unknown {
  switch (wellKnownKind(type)) {
    case 'struct':
      return { key: 'value', count: 1, enabled: true };
    case 'value':
      return 'value';
    case 'listValue':
      return ['value', 1];
    case 'timestamp':
      return SAMPLE_TIME;
    case 'duration':
      return '1.500s';
    case 'empty':
      return {};
    case 'fieldMask':
      return 'userId';
    case 'any':
      return { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { key: 'value' } };
    case 'wrapper': {
      const field = type.fieldsById[1]!.resolve();
      return sampleSingle(field, 'value', ctx, false);
    }
    case undefined:
      return undefined;
  }
}

function sampleSingle(field: Field, key: string, ctx: Context, top: boolean): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return sampleMessage(t, ctx, false);
  if (t instanceof protobuf.Enum) {
    const names = Object.keys(t.values);
    return names.find((n) => t.values[n] !== 0) ?? names[0] ?? 0;
  }
  switch (field.type) {
    case 'string':
      return sampleString(key, ctx.eventName, top);
    case 'bool':
      return false; // the usual case of AGS flags (refresh, deleted, ...)
    case 'bytes':
      return Buffer.from('sample').toString('base64');
    default:
      return sampleNumber(key, field.type);
  }
}

function sampleMessage(type: Type, ctx: Context, top: boolean): unknown {
  const wk = sampleWellKnown(type, ctx);
  if (wk !== undefined) return wk;
  if (ctx.stack.has(type)) return null;
  ctx.stack.add(type);
  try {
    const out: Record<string, unknown> = {};
    const oneofsDone = new Set<string>();
    for (const field of type.fieldsArray) {
      field.resolve();
      const key = jsonKey(field);
      if (inRealOneof(field)) {
        if (oneofsDone.has(field.partOf!.name)) continue;
        oneofsDone.add(field.partOf!.name);
      }
      const t = field.resolvedType;
      const cyclic = t instanceof protobuf.Type && !wellKnownKind(t) && ctx.stack.has(t);
      if (field.map) {
        const keyType = (field as unknown as MapField).keyType;
        const mapKey = keyType === 'string' ? 'key' : keyType === 'bool' ? 'true' : '1';
        out[key] = cyclic ? {} : { [mapKey]: sampleSingle(field, key, ctx, false) };
      } else if (field.repeated) {
        out[key] = cyclic ? [] : [sampleSingle(field, singular(key), ctx, false)];
      } else if (cyclic) {
        out[key] = null;
      } else {
        out[key] = sampleSingle(field, key, ctx, top);
      }
    }
    return out;
  } finally {
    ctx.stack.delete(type);
  }
}

/** `userIds` -> `userId`, for the element samples of repeated fields. */
function singular(key: string): string {
  return key.endsWith('s') && key.length > 1 ? key.slice(0, -1) : key;
}

/**
 * A complete sample of the event of `service`: every field present (recursively),
 * json names, realistic placeholders (ids 32 lowercase hex, namespace `mygame`,
 * RFC 3339 times, `user@example.com`, `name` = the event name, bools false,
 * numbers 1, enums their first non-zero value). It encodes and decodes back to itself.
 */
export function sampleEvent(service: EventService): DecodedEvent {
  return sampleMessage(service.requestType, { eventName: service.eventName, stack: new Set() }, true) as DecodedEvent;
}

export interface FillOptions {
  /**
   * What the fields missing from the partial event are filled from: `sample`
   * (the values of {@link sampleEvent}) or `defaults` (proto3 defaults: '', 0,
   * false, ... as a decoded event has them). Default: `sample`.
   */
  readonly base?: 'sample' | 'defaults';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of a partial JSON event over a full one, message fields recursively. */
function merge(type: Type, base: Record<string, unknown>, partial: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const k of Object.keys(partial)) {
    const field = fieldForKey(type, k);
    const value = partial[k];
    if (!field) {
      setOwn(out, k, value); // the encoder reports it (`__proto__` included: an own key, never the prototype)
      continue;
    }
    const key = jsonKey(field);
    if (inRealOneof(field)) {
      for (const member of field.partOf!.fieldsArray) delete out[jsonKey(member)];
    }
    const t = field.resolvedType;
    const prev = out[key];
    if (t instanceof protobuf.Type && !wellKnownKind(t) && !field.repeated && !field.map && isObject(value) && isObject(prev)) {
      out[key] = merge(t, prev, value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/**
 * A full event from a partial JSON body (json or proto field names): the missing
 * fields filled from the sample or from proto defaults (see {@link FillOptions}).
 * The result is what the decoder would give for it. Throws EventEncodeError when
 * a value does not fit the message.
 */
export function fillDefaults(service: EventService, partial: DecodedEvent, options: FillOptions = {}): DecodedEvent {
  const type = service.requestType;
  const codec = codecFor(type);
  if ((options.base ?? 'sample') === 'defaults') return codec.decode(codec.encode(partial));
  if (!isObject(partial)) return codec.decode(codec.encode(partial)); // the encoder reports it
  return codec.decode(codec.encode(merge(type, sampleEvent(service), partial)));
}

/**
 * A new event id: 32 lowercase hex, random (AGS ids look like this). The server
 * keys idempotency on the event's `id` (`src/delivery/event-key.ts`): an event
 * sent again with the same id is answered OK and not handled again.
 */
export function freshEventId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * `event` with a fresh top-level `id` when its message has a string `id` field
 * and `given` (the user's partial data) carries none; otherwise `event` as is.
 * For `send` and `samples`: each call is a new event, not a redelivery.
 */
export function withFreshId(service: EventService, event: DecodedEvent, given: Readonly<Record<string, unknown>> = {}): DecodedEvent {
  const field = fieldForKey(service.requestType, 'id');
  if (!field || field.type !== 'string' || field.repeated || field.map) return event;
  if (typeof given['id'] === 'string' && given['id'] !== '') return event;
  return { ...event, [jsonKey(field)]: freshEventId() };
}
