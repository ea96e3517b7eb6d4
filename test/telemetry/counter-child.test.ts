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
