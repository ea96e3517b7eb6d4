/**
 * The event handler with stateful rules, over the real compiler, executor and
 * MemoryStateStore: stateless events never touch the store and are answered
 * synchronously; the store unavailable answers `retry` without running
 * anything (fail closed); suppressed firings are counted per rule and reason;
 * a rules reload keeps the players' history, a renamed rule loses its firings.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createEventHandler } from '../../src/pipeline/event-handler.js';
import { createExecutor } from '../../src/delivery/executor.js';
import { MemoryDeadLetterSink } from '../../src/delivery/dead-letters.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import type { Catalog, EventService } from '../../src/events/types.js';
import { captureLogger, recordingAction, registryOf } from '../delivery/support.js';
import { LOGIN, MATCH, fixtureCatalog, loginEvent, compileOrThrow } from '../rules/support/fixtures.js';

let catalog: Catalog;
beforeAll(async () => {
  catalog = await fixtureCatalog();
});

const RULES = `version: 1
rules:
  - name: plain
    on: matchEnded
    when: { "==": [ { var: id }, m-run ] }
    do: [ { grant: { n: 1 } } ]
  - name: once-a-day
    on: userLoggedIn
    limit: { count: 1, per: day, timeZone: America/New_York }
    do: [ { grant: { n: 2 } } ]
  - name: gift
    on: userLoggedIn
    cooldown: 1h
    do: [ { grant: { n: 3 } } ]
`;

function setup(store: StateStore, text = RULES) {
  const grant = recordingAction('grant');
  const registry = registryOf(grant);
  const compile = (t: string): RuleSet => compileOrThrow(t, catalog, registry);
  let rules = compile(text);
  const metrics = new Metrics({ defaultMetrics: false });
  const { logger, lines } = captureLogger();
  let now = Date.parse('2026-03-08T12:00:00Z');
  const executor = createExecutor({ registry, store: new MemoryStateStore(), deadLetters: new MemoryDeadLetterSink(), logger, metrics, dryRun: false, namespace: 'mygame' });
  const onEvent = createEventHandler({ rules: () => rules, executor, logger, metrics, stateStore: store, namespace: 'mygame', now: () => new Date(now) });
  const svc = (fullName: string): EventService => catalog.services.find((s) => s.fullName === fullName)!;
  return {
    grant,
    metrics,
    lines,
    reload: (t: string) => (rules = compile(t)),
    at: (iso: string) => (now = Date.parse(iso)),
    send: (service: string, id: string, metadata?: Record<string, string>) => onEvent(svc(service), loginEvent({ id }), metadata ? { metadata } : {}),
  };
}

async function counter(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

/** A store that counts its calls and can be broken. */
function probe(inner = new MemoryStateStore()) {
  const calls = { read: 0, transact: 0 };
  const store: StateStore = {
    kind: 'memory',
    read: (p, o) => (calls.read++, inner.read(p, o)),
    transact: (p, u, o) => (calls.transact++, inner.transact(p, u, o)),
    close: () => inner.close(),
  };
  return { store, calls, inner };
}

describe('event handler with stateful rules', () => {
  it('an event whose rules are stateless never touches the store and is answered synchronously', async () => {
    const p = probe();
    const t = setup(p.store);
    expect(t.send(MATCH, 'm1')).toEqual({ kind: 'ok' }); // no match: answered in the same tick
    expect(await t.send(MATCH, 'm-run')).toEqual({ kind: 'ok' }); // a match runs its plan
    expect(t.grant.calls.map((c) => c.key)).toEqual(['m-run:plain:grant#0']);
    expect(p.calls).toEqual({ read: 0, transact: 0 });
  });

  it('the state store unavailable: answered retry, nothing runs, logged (fail closed)', async () => {
    const p = probe();
    const t = setup(p.store);
    await p.inner.close();
    expect(await t.send(LOGIN, 'e1')).toMatchObject({ kind: 'retry', message: expect.stringMatching(/state store \(memory\) unavailable/) });
    expect(t.grant.calls).toEqual([]);
    expect(t.lines.some((l) => /state store is unavailable/.test(String(l.msg)))).toBe(true);
  });

  it('suppressed firings are counted per rule and reason; the day follows America/New_York (DST day of 23 h)', async () => {
    const t = setup(new MemoryStateStore());
    t.at('2026-03-08T05:00:00Z'); // 00:00 EST, the first instant of the 23-hour day
    expect(await t.send(LOGIN, 'e1')).toEqual({ kind: 'ok' });
    t.at('2026-03-08T05:30:00Z');
    await t.send(LOGIN, 'e2'); // same day, within the cooldown
    t.at('2026-03-09T03:59:59Z'); // 23:59:59 EDT: still Mar 8
    await t.send(LOGIN, 'e3');
    t.at('2026-03-09T04:00:00Z'); // 00:00 EDT Mar 9: a new day, 23 h after the first
    await t.send(LOGIN, 'e4');
    expect(t.grant.calls.filter((c) => c.params.n === 2).map((c) => c.key)).toEqual(['e1:once-a-day:grant#0', 'e4:once-a-day:grant#0']);
    expect(await counter(t.metrics, 'event_rules_firings_suppressed_total', { rule: 'once-a-day', reason: 'limit' })).toBe(2);
    expect(await counter(t.metrics, 'event_rules_firings_suppressed_total', { rule: 'gift', reason: 'cooldown' })).toBe(2); // e2 (30 min after e1) and e4 (1 s after e3)
    expect(await counter(t.metrics, 'event_rules_rule_evaluations_total', { rule: 'once-a-day', outcome: 'suppressed' })).toBe(2);
  });

  it('a replay (x-event-rules-replay) of a rule that would run nothing is refused with why, never answered ok (the replay command would drop the dead letter)', async () => {
    const t = setup(new MemoryStateStore());
    t.at('2026-03-10T15:00:00Z');
    await t.send(LOGIN, 'e1');
    // e2 never fired once-a-day (refused at the time): replaying it for that rule runs nothing
    await t.send(LOGIN, 'e2');
    expect(await t.send(LOGIN, 'e2', { 'x-event-rules-replay': 'once-a-day' })).toEqual({
      kind: 'refused',
      message: expect.stringMatching(/^replay of rule once-a-day: its limit refuses it \(1 of 1 per day America\/New_York; the record has no firing of it for this event: it never fired it, or that firing is older than the retention\); nothing ran, the dead letter is kept$/),
    });
    expect(await t.send(LOGIN, 'e2', { 'x-event-rules-replay': 'no-such-rule' })).toMatchObject({ kind: 'refused', message: expect.stringMatching(/no enabled rule of that name listens on this event now/) });
    // a replay of a rule that fires for the event runs it (its firing is its own)
    expect(await t.send(LOGIN, 'e1', { 'x-event-rules-replay': 'once-a-day' })).toEqual({ kind: 'ok' });
    // without the header, the same event is simply acknowledged
    expect(await t.send(LOGIN, 'e2')).toEqual({ kind: 'ok' });
  });

  it('a reload keeps the history; a renamed rule starts without firings', async () => {
    const store = new MemoryStateStore();
    const t = setup(store);
    t.at('2026-03-10T15:00:00Z');
    await t.send(LOGIN, 'e1');
    t.reload(RULES.replace('limit: { count: 1', 'limit: { count: 2')); // same names, new limit
    t.at('2026-03-10T16:00:00Z');
    await t.send(LOGIN, 'e2'); // the second of 2 in the day: fires
    await t.send(LOGIN, 'e3'); // the third: refused, the history survived the reload
    expect(t.grant.calls.filter((c) => c.params.n === 2).map((c) => c.key)).toEqual(['e1:once-a-day:grant#0', 'e2:once-a-day:grant#0']);
    t.reload(RULES.replace('name: once-a-day', 'name: once-a-day-v2'));
    await t.send(LOGIN, 'e4'); // renamed: no firings yet
    expect(t.grant.calls.filter((c) => c.params.n === 2).map((c) => c.key)).toEqual(['e1:once-a-day:grant#0', 'e2:once-a-day:grant#0', 'e4:once-a-day-v2:grant#0']);
  });
});
