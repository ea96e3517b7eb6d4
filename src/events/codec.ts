/**
 * The codec of an event message: wire bytes <-> plain JSON keyed by json names.
 * decode is the hot path of every event: a strict wire check (wire-check.ts:
 * what protobuf's reference implementations refuse is refused), protobufjs'
 * generated decoder, then a per-type converter built once (see to-json.ts for
 * the defaults it fills in).
 */
import type { Type } from 'protobufjs';
import { JsonShapeError, messageToProto } from './from-json.js';
import { decodeToJson } from './to-json.js';
import { decodeTopLevel } from './top-level.js';
import { WireFormatError, checkWire } from './wire-check.js';
import { EventDecodeError, EventEncodeError } from './types.js';
import type { DecodedEvent, EventCodec, EventService } from './types.js';

const codecs = new WeakMap<Type, EventCodec>();

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function build(type: Type): EventCodec {
  const typeName = type.fullName.replace(/^\./, '');
  return {
    decode(bytes: Uint8Array): DecodedEvent {
      try {
        checkWire(type, bytes);
        return decodeToJson(type, bytes);
      } catch (err) {
        throw new EventDecodeError(typeName, err instanceof WireFormatError ? err.describe() : message(err));
      }
    },
    decodeFields(bytes: Uint8Array, names: readonly string[]): DecodedEvent | undefined {
      try {
        return decodeTopLevel(type, bytes, names);
      } catch (err) {
        throw new EventDecodeError(typeName, err instanceof WireFormatError ? err.describe() : message(err));
      }
    },
    encode(event: DecodedEvent): Uint8Array {
      let proto: Record<string, unknown>;
      try {
        proto = messageToProto(type, event, '');
      } catch (err) {
        if (err instanceof JsonShapeError) throw new EventEncodeError(typeName, err.message, err.path, err.expected);
        throw new EventEncodeError(typeName, message(err));
      }
      try {
        return type.encode(type.fromObject(proto)).finish();
      } catch (err) {
        throw new EventEncodeError(typeName, message(err));
      }
    },
  };
}

/** The codec of a message type, built on first use and cached. */
export function codecFor(type: Type): EventCodec {
  let c = codecs.get(type);
  if (!c) {
    c = build(type);
    codecs.set(type, c);
  }
  return c;
}

/** The codec of a service's request (event) type. Same as `catalog.codec(service)`. */
export function codec(service: EventService): EventCodec {
  return codecFor(service.requestType);
}
