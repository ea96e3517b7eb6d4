/**
 * Metrics.counterChild: a counter's child counted in a plain number (no prom-client label work per
 * `inc`), added to the counter whenever it is read: a scrape (`registry.metrics()`) or `get()`.
 */
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/telemetry/metrics.js';

async function valueOf(m: Metrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = await m.registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe('Metrics.counterChild', () => {
  it('counts into its counter at every read, together with prom-client\'s own increments; no series before its first inc', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const matched = m.counterChild(m.ruleEvaluations, { rule: 'r', outcome: 'matched' });
    const missed = m.counterChild(m.ruleEvaluations, { rule: 'r', outcome: 'notMatched' });
    expect(await valueOf(m, 'event_rules_rule_evaluations_total', { rule: 'r', outcome: 'matched' })).toBeUndefined();
    matched.inc();
    matched.inc();
    matched.inc();
    expect(await valueOf(m, 'event_rules_rule_evaluations_total', { rule: 'r', outcome: 'matched' })).toBe(3);
    matched.inc();
    m.ruleEvaluations.inc({ rule: 'r', outcome: 'matched' }); // prom-client's own, same series
    expect(await m.registry.metrics()).toContain('event_rules_rule_evaluations_total{rule="r",outcome="matched"} 5');
    expect(await valueOf(m, 'event_rules_rule_evaluations_total', { rule: 'r', outcome: 'matched' })).toBe(5); // read twice: counted once
    expect(await valueOf(m, 'event_rules_rule_evaluations_total', { rule: 'r', outcome: 'notMatched' })).toBeUndefined();
    missed.inc();
    expect(await m.registry.metrics()).toContain('event_rules_rule_evaluations_total{rule="r",outcome="notMatched"} 1');
  });

  it('countAction and countAgsRequest count through such children', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.countAction('r', 'grantItem', 'succeeded');
    m.countAction('r', 'grantItem', 'succeeded');
    m.countAgsRequest('fulfillItem', '200');
    expect(await valueOf(m, 'event_rules_actions_total', { rule: 'r', action: 'grantItem', outcome: 'succeeded' })).toBe(2);
    expect(await valueOf(m, 'event_rules_ags_requests_total', { operation: 'fulfillItem', status: '200' })).toBe(1);
  });
});

describe('Metrics.histogramChild', () => {
  /** The exposition lines of one histogram, as a scrape gives them. */
  async function lines(m: Metrics, name: string): Promise<string[]> {
    return (await m.registry.metrics()).split('\n').filter((l) => l.startsWith(`${name}_`));
  }

  it("gives the scrape prom-client's own observe gives for the same values: buckets (the bounds themselves included, values above the last only in the count), sum, count; mixed with prom-client's own; read twice, counted once", async () => {
    const fast = new Metrics({ defaultMetrics: false });
    const own = new Metrics({ defaultMetrics: false });
    const labels = { grpc_type: 'unary', grpc_service: 's', grpc_method: 'OnMessage' };
    const child = fast.histogramChild(fast.grpcHandlingSeconds, labels);
    const ownChild = own.grpcHandlingSeconds.labels(labels);
    expect(await lines(fast, 'grpc_server_handling_seconds')).toEqual(await lines(own, 'grpc_server_handling_seconds')); // nothing before the first observe
    const values = [0, 0.005, 0.0051, 0.01, 0.3, 0.25, 10, 10.5, 99, 0.001, 2.5, 1e-9];
    for (let i = 0; i < 200; i++) values.push(((i * 7919) % 1200) / 100); // 0 to 12 s in steps of 10 ms, every bound hit
    for (const v of values) {
      child.observe(v);
      ownChild.observe(v);
    }
    expect(await lines(fast, 'grpc_server_handling_seconds')).toEqual(await lines(own, 'grpc_server_handling_seconds'));
    expect(await lines(fast, 'grpc_server_handling_seconds')).toEqual(await lines(own, 'grpc_server_handling_seconds')); // read again: nothing added twice
    child.observe(0.02);
    fast.grpcHandlingSeconds.observe(labels, 0.7); // prom-client's own, same series
    ownChild.observe(0.02);
    ownChild.observe(0.7);
    const other = { ...labels, grpc_service: 't' };
    fast.histogramChild(fast.grpcHandlingSeconds, other).observe(3);
    own.grpcHandlingSeconds.observe(other, 3);
    const got = await lines(fast, 'grpc_server_handling_seconds');
    expect(got).toEqual(await lines(own, 'grpc_server_handling_seconds'));
    expect(got).toContain('grpc_server_handling_seconds_count{grpc_type="unary",grpc_service="s",grpc_method="OnMessage"} 214');
    expect((await fast.grpcHandlingSeconds.get()).values.find((v) => v.metricName === 'grpc_server_handling_seconds_count' && v.labels.grpc_service === 't')?.value).toBe(1);
  });

  it('observeAction observes through such children', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.observeAction('r', 'grantItem', 0.03);
    m.observeAction('r', 'grantItem', 0.2);
    const values = (await m.actionSeconds.get()).values;
    expect(values.find((v) => v.metricName === 'event_rules_action_duration_seconds_count')?.value).toBe(2);
    expect(values.find((v) => v.metricName === 'event_rules_action_duration_seconds_sum')?.value).toBeCloseTo(0.23, 10);
    expect(values.find((v) => v.metricName === 'event_rules_action_duration_seconds_bucket' && (v.labels as Record<string, unknown>).le === 0.05)?.value).toBe(1);
  });
});
