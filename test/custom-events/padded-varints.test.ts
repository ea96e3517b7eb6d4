/**
 * The custom events' wire messages (Extend Async Messaging's ReceivedMessage, the Task Scheduler's
 * ScheduledTaskRequest) read as protobuf's references read them when a length or a varint value is
 * written in 6 to 10 bytes (valid protobuf: a varint is up to 10 bytes, python3-protobuf reads them).
 * protobufjs' stock reader skipped 5 bytes blindly after a fifth byte with its continuation bit, so such
 * a message was refused ("invalid wire type") or read with other values than the sender's; the AGS
 * events' decode had the same fix (src/events/to-json.ts, `readerOf`).
 */
import { describe, expect, it } from 'vitest';
import { decodeReceivedMessage, decodeScheduledTask, encodeReceivedMessage, encodeScheduledTask } from '../../src/custom-events/index.js';

/** `value` as a varint of `size` bytes (size >= its shortest form): continuation bits on the padding, a last byte 0. */
function paddedVarint(value: number, size: number): number[] {
  const out: number[] = [];
  let v = value;
  for (let i = 0; i < size - 1; i++) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  if (v !== 0) throw new Error(`${String(value)} does not fit ${String(size)} bytes`);
  out.push(0);
  return out;
}

function readVarint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  let pos = at;
  for (;;) {
    const b = bytes[pos++]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) return [value, pos];
  }
}

/** The message with every top-level length and varint value rewritten in `size` bytes (tags kept as they are). */
function padded(bytes: Uint8Array, size: number): Uint8Array {
  const out: number[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const [tag, afterTag] = readVarint(bytes, pos);
    out.push(...bytes.subarray(pos, afterTag));
    const [n, afterValue] = readVarint(bytes, afterTag);
    if ((tag & 7) === 0) {
      out.push(...paddedVarint(n, size));
      pos = afterValue;
    } else if ((tag & 7) === 2) {
      out.push(...paddedVarint(n, size), ...bytes.subarray(afterValue, afterValue + n));
      pos = afterValue + n;
    } else throw new Error(`wire type ${String(tag & 7)} not used by these messages`);
  }
  return Uint8Array.from(out);
}

describe('custom events: lengths and varints of 6 to 10 bytes', () => {
  const message = encodeReceivedMessage({ id: '', topic: 'player-activity', body: { userId: 'u1', score: 7 }, metadata: { source: 'match', region: 'eu' } }, 'unused');
  const task = encodeScheduledTask({ id: '', runId: 'run-42', taskId: 't-1', namespace: 'ns', taskName: 'daily-reset', scheduledTime: '2026-12-06T10:00:00.000Z', attemptNumber: 3, payload: { day: 6 } }, 'unused');

  for (const size of [6, 7, 9, 10]) {
    it(`a ReceivedMessage with its lengths in ${String(size)} bytes reads as the canonical one`, () => {
      const canonical = decodeReceivedMessage(message);
      expect(canonical.topic).toBe('player-activity');
      expect(decodeReceivedMessage(padded(message, size))).toEqual(canonical);
    });

    it(`a ScheduledTaskRequest with its lengths and attempt number in ${String(size)} bytes reads as the canonical one`, () => {
      const canonical = decodeScheduledTask(task);
      expect(canonical.attemptNumber).toBe(3);
      expect(decodeScheduledTask(padded(task, size))).toEqual(canonical);
    });
  }
});
