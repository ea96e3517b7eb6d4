/**
 * Topic and task names come with the message or run (caller data): routing one
 * no rule listens on must not make (and keep, in the module's cache of
 * per-name services) an event service for it, or distinct names grow memory
 * without bound.
 */
import { describe, expect, it } from 'vitest';
import type { EventService } from '../../src/events/index.js';
import type { EventCall } from '../../src/contract/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { routeCustomEvents } from '../../src/custom-events/dispatch.js';
import { CONSUMER_SERVICE, SCHEDULER_SERVICE } from '../../src/custom-events/protos.js';
import { cachedCustomServices } from '../../src/custom-events/catalog.js';

describe('routing names no rule listens on', () => {
  it('makes no per-name event service for them', async () => {
    const seen: string[] = [];
    const route = routeCustomEvents(
      (service) => (seen.push(service.fullName), { kind: 'ok' }),
      { listenedOn: () => new Set(['topic:unrouted-cache-listened', 'schedule:unrouted-cache-nightly']), logger: createLogger({ level: 'silent' }) },
    );
    const call = {} as EventCall;
    const before = cachedCustomServices();
    for (let i = 0; i < 50; i++) {
      await route({ fullName: CONSUMER_SERVICE } as EventService, { topic: `unrouted-cache-random-${String(i)}` }, call);
      await route({ fullName: SCHEDULER_SERVICE } as EventService, { taskName: `unrouted-cache-task-${String(i)}`, runId: 'r' }, call);
    }
    expect(cachedCustomServices()).toBe(before);
    await route({ fullName: CONSUMER_SERVICE } as EventService, { topic: 'unrouted-cache-listened' }, call);
    await route({ fullName: SCHEDULER_SERVICE } as EventService, { taskName: 'unrouted-cache-nightly', runId: 'r' }, call);
    expect(seen).toEqual(['topic:unrouted-cache-listened', 'schedule:unrouted-cache-nightly']);
  });
});
