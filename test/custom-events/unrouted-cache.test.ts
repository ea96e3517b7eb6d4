/**
 * Topic and task names come with the message or run (caller data): routing one
 * no rule listens on must not make (and keep, in the module's cache of
 * per-name services) an event service for it, or distinct names grow memory
 * without bound.
 */
import { describe, expect, it, vi } from 'vitest';
import type { EventService } from '../../src/events/index.js';
import type { EventCall } from '../../src/contract/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import type * as CatalogModule from '../../src/custom-events/catalog.js';

const made: string[] = [];
vi.mock('../../src/custom-events/catalog.js', async (importOriginal) => {
  const original = await importOriginal<typeof CatalogModule>();
  return {
    ...original,
    topicService: (topic: string) => (made.push(`topic:${topic}`), original.topicService(topic)),
    scheduleService: (task: string) => (made.push(`schedule:${task}`), original.scheduleService(task)),
  };
});

const { routeCustomEvents } = await import('../../src/custom-events/dispatch.js');
const { CONSUMER_SERVICE, SCHEDULER_SERVICE } = await import('../../src/custom-events/protos.js');

describe('routing names no rule listens on', () => {
  it('makes no per-name event service for them', async () => {
    const seen: string[] = [];
    const route = routeCustomEvents(
      (service) => (seen.push(service.fullName), { kind: 'ok' }),
      { listenedOn: () => new Set(['topic:listened', 'schedule:nightly']), logger: createLogger({ level: 'silent' }) },
    );
    const call = {} as EventCall;
    for (let i = 0; i < 50; i++) {
      await route({ fullName: CONSUMER_SERVICE } as EventService, { topic: `random-${String(i)}` }, call);
      await route({ fullName: SCHEDULER_SERVICE } as EventService, { taskName: `task-${String(i)}`, runId: 'r' }, call);
    }
    expect(made).toEqual([]);
    await route({ fullName: CONSUMER_SERVICE } as EventService, { topic: 'listened' }, call);
    await route({ fullName: SCHEDULER_SERVICE } as EventService, { taskName: 'nightly', runId: 'r' }, call);
    expect(seen).toEqual(['topic:listened', 'schedule:nightly']);
  });
});
