/**
 * `event_rules_topic_messages_unrouted_total{topic}`: the topic is a field of
 * the message (caller data), so its label values must stay bounded: only
 * names AGS accepts as topics, and at most UNROUTED_TOPICS_MAX distinct ones;
 * the rest are counted under `topic="(other)"`, never dropped.
 */
import { describe, expect, it } from 'vitest';
import { routeCustomEvents, UNROUTED_TOPICS_MAX, UNROUTED_OTHER } from '../../src/custom-events/dispatch.js';
import { CONSUMER_SERVICE } from '../../src/custom-events/protos.js';
import type { EventService } from '../../src/events/index.js';
import type { EventCall } from '../../src/contract/index.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { createLogger } from '../../src/telemetry/logger.js';

const consumer = { fullName: CONSUMER_SERVICE } as EventService;
const call = {} as EventCall;

async function unrouted(metrics: Metrics): Promise<Map<string, number>> {
  const got = await metrics.topicMessagesUnrouted.get();
  return new Map(got.values.map((v) => [String(v.labels.topic), v.value]));
}

describe('unrouted topic messages', () => {
  it('counts every message, with a bounded set of topic labels', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const route = routeCustomEvents(() => ({ kind: 'ok' }), { listenedOn: () => new Set(), logger: createLogger({ level: 'silent' }), metrics });
    await route(consumer, { topic: 'known-topic' }, call);
    await route(consumer, { topic: 'known-topic' }, call);
    const sent = UNROUTED_TOPICS_MAX * 3;
    for (let i = 0; i < sent; i++) await route(consumer, { topic: `random_${String(i)}` }, call);
    await route(consumer, { topic: 'not a topic name: {"userId":"0123"}' }, call);
    await route(consumer, { topic: 'x'.repeat(5000) }, call);

    const counts = await unrouted(metrics);
    expect(counts.size).toBeLessThanOrEqual(UNROUTED_TOPICS_MAX + 1);
    expect(counts.get('known-topic')).toBe(2);
    expect([...counts.keys()].every((t) => t === UNROUTED_OTHER || /^[A-Za-z0-9_-]{1,256}$/.test(t))).toBe(true);
    // nothing lost: the sum is every message
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(2 + sent + 2);
  });
});
