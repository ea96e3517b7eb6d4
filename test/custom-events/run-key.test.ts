/**
 * The idempotency key of a scheduled run: its `run_id` ("for idempotency"); a request without one is keyed
 * by what the run is (task, namespace, scheduled time, payload), never by its attempt number or its bytes:
 * the scheduler's next attempt of the same run is the same run (one effect), as with a run id.
 */
import { describe, expect, it } from 'vitest';
import { decodeScheduledTask, encodeScheduledTask } from '../../src/custom-events/index.js';

const run = { id: '', runId: '', taskId: 't-1', namespace: 'ns', taskName: 'daily-reset', scheduledTime: '2026-12-06T10:00:00.000Z', payload: { day: 6 } };

describe('scheduled runs without a run id', () => {
  it('every attempt of one run has one key; another scheduled time or payload is another run', () => {
    const first = decodeScheduledTask(encodeScheduledTask({ ...run, attemptNumber: 1 }, 'unused'));
    const retry = decodeScheduledTask(encodeScheduledTask({ ...run, attemptNumber: 2 }, 'unused'));
    expect(retry.attemptNumber).toBe(2);
    expect(retry.id).toBe(first.id);
    expect(first.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(decodeScheduledTask(encodeScheduledTask({ ...run, attemptNumber: 1, scheduledTime: '2026-12-07T10:00:00.000Z' }, 'unused')).id).not.toBe(first.id);
    expect(decodeScheduledTask(encodeScheduledTask({ ...run, attemptNumber: 1, payload: { day: 7 } }, 'unused')).id).not.toBe(first.id);
    expect(decodeScheduledTask(encodeScheduledTask({ ...run, attemptNumber: 1, taskName: 'weekly-reset' }, 'unused')).id).not.toBe(first.id);
  });

  it('a run id keys the run whatever else the attempts carry', () => {
    const a = decodeScheduledTask(encodeScheduledTask({ ...run, runId: 'r-9', attemptNumber: 1 }, 'unused'));
    const b = decodeScheduledTask(encodeScheduledTask({ ...run, runId: 'r-9', attemptNumber: 3 }, 'unused'));
    expect([a.id, b.id]).toEqual(['run:r-9', 'run:r-9']);
  });
});
