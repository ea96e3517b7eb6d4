/**
 * Issue 23 (no-match events): the gRPC host may hand the pipeline an event decoded only for the
 * top-level fields its rules are decided on (`call.partial`, `RuleSet.decidedOn`). The pipeline must
 * do exactly what it does with the whole event: when no rule matches, the same answer, summary
 * line and counters without decoding the rest; when a rule matches (its actions read the whole
 * event), when the payload is logged, or when the rules in force read more than the decoded fields
 * (a reload), it decodes the whole event first.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createEventHandler } from '../../src/pipeline/event-handler.js';
import { createExecutor } from '../../src/delivery/executor.js';
import { MemoryDeadLetterSink } from '../../src/delivery/dead-letters.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import type { Catalog, DecodedEvent, EventService } from '../../src/events/types.js';
import { captureLogger, recordingAction, registryOf } from '../delivery/support.js';
import { LOGIN, fixtureCatalog, loginEvent, compileOrThrow } from '../rules/support/fixtures.js';

let catalog: Catalog;
beforeAll(async () => {
  catalog = await fixtureCatalog();
});

const RULES = `version: 1
rules:
  - name: ours
    on: userLoggedIn
    when: { "==": [{ var: namespace }, mygame] }
    do: [ { grant: { city: "\${event.payload.loginLocation.city}" } } ]
`;
const NESTED = RULES.replace('{ var: namespace }', '{ var: payload.platform }').replace('mygame', 'STEAM');

function setup(options: { logPayloads?: boolean } = {}) {
  const grant = recordingAction('grant');
  const registry = registryOf(grant);
  const compile = (t: string): RuleSet => compileOrThrow(t, catalog, registry);
  let rules = compile(RULES);
  const metrics = new Metrics({ defaultMetrics: false });
  const { logger, lines } = captureLogger();
  const executor = createExecutor({ registry, store: new MemoryStateStore(), deadLetters: new MemoryDeadLetterSink(), logger, metrics, dryRun: false, namespace: 'mygame' });
  const onEvent = createEventHandler({ rules: () => rules, executor, logger, metrics, ...options });
  const login: EventService = catalog.services.find((s) => s.fullName === LOGIN)!;
  let wholes = 0;
  return {
    grant,
    metrics,
    lines,
    wholes: () => wholes,
    reload: (t: string) => (rules = compile(t)),
    /** The event as the host hands it over after decoding only `namespace` and `id`. */
    sendPartial: (whole: DecodedEvent) =>
      onEvent(login, { id: whole.id, namespace: whole.namespace }, {
        partial: {
          fields: ['namespace'],
          whole: () => {
            wholes++;
            return whole;
          },
        },
      }),
    sendWhole: (whole: DecodedEvent) => onEvent(login, whole, {}),
  };
}

/** A summary line without what differs between two events (time, duration). */
const summary = (line: Record<string, unknown> | undefined): Record<string, unknown> => {
  const { time: _t, durationMs: _d, ...rest } = line ?? {};
  return rest;
};

describe('an event decoded only for the fields its rules read', () => {
  it('no rule matches: answered at once, the same summary line and counters as the whole event, the rest never decoded', async () => {
    const a = setup();
    const b = setup();
    expect(a.sendPartial(loginEvent({ id: 'e1', namespace: 'other' }))).toEqual({ kind: 'ok' });
    expect(b.sendWhole(loginEvent({ id: 'e1', namespace: 'other' }))).toEqual({ kind: 'ok' });
    expect(a.wholes()).toBe(0);
    expect(summary(a.lines.at(-1))).toEqual(summary(b.lines.at(-1)));
    expect(summary(a.lines.at(-1))).toMatchObject({ eventId: 'e1', rules: { ours: 'notMatched' }, actions: [] });
    expect(await a.metrics.registry.metrics()).toBe(await b.metrics.registry.metrics());
  });

  it('a rule matches: the whole event is decoded once and its actions read it', async () => {
    const a = setup();
    await a.sendPartial(loginEvent({ id: 'e2', namespace: 'mygame' }));
    expect(a.wholes()).toBe(1);
    expect(a.grant.calls.map((c) => c.params)).toEqual([{ city: 'Paris' }]);
    expect(summary(a.lines.at(-1))).toMatchObject({ eventId: 'e2', rules: { ours: 'matched' }, outcome: 'ok' });
  });

  it('payloads logged (debug), or rules that read more since a reload: the whole event first', () => {
    const logged = setup({ logPayloads: true });
    expect(logged.sendPartial(loginEvent({ id: 'e3', namespace: 'other' }))).toEqual({ kind: 'ok' });
    expect(logged.wholes()).toBe(1);
    expect(logged.lines.find((l) => l.msg === 'event payload')).toMatchObject({ eventId: 'e3', payload: { payload: { loginLocation: { city: 'Paris' } } } });

    const reloaded = setup();
    reloaded.reload(NESTED);
    expect(reloaded.sendPartial(loginEvent({ id: 'e4', namespace: 'other', payload: { ...(loginEvent().payload as object), platform: 'XBOX' } }))).toEqual({ kind: 'ok' });
    expect(reloaded.wholes()).toBe(1);
    expect(summary(reloaded.lines.at(-1))).toMatchObject({ eventId: 'e4', rules: { ours: 'notMatched' } });
  });
});
