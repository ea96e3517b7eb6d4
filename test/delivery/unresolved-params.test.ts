/**
 * A `${event...}` reference that resolves to nothing makes the rule's outcome
 * `error` and the action a dead letter with the reason (issue 15); it used to
 * be dropped with one log line. Other rules' actions still run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createExecutor } from '../../src/delivery/executor.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { MemoryDeadLetterSink } from '../../src/delivery/dead-letters.js';
import { createEventHandler } from '../../src/pipeline/event-handler.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { Catalog, EventService } from '../../src/events/types.js';
import { LOGIN, fixtureCatalog, loginEvent } from '../rules/support/fixtures.js';
import { captureLogger, recordingAction, registryOf } from './support.js';

let catalog: Catalog;
let service: EventService;
beforeAll(async () => {
  catalog = await fixtureCatalog();
  const r = catalog.resolve(LOGIN);
  if (!r.ok) throw new Error('fixture lacks the login service');
  service = r.service;
});

const RULES = `version: 1
rules:
  - name: needs-attribute
    on: userLoggedIn
    do:
      - grant: { userId: "\${event.payload.attributes.missing}" }
      - grant: { userId: "\${event.userId}" }
  - name: other
    on: userLoggedIn
    do:
      - notify: { userId: "\${event.userId}" }
`;

function setup() {
  const grant = recordingAction('grant');
  const notify = recordingAction('notify');
  const registry = registryOf(grant, notify);
  const compiled = compileRulesText(RULES, 'rules.yaml', { catalog, registry, env: {}, unsetEnv: 'error' });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
  const deadLetters = new MemoryDeadLetterSink();
  const { logger, lines } = captureLogger();
  const executor = createExecutor({ registry, store: new MemoryStateStore(), deadLetters, logger, dryRun: false, namespace: 'mygame' });
  const onEvent = createEventHandler({ rules: () => compiled.rules, executor, logger });
  return { grant, notify, deadLetters, lines, onEvent };
}

describe('a reference that resolves to nothing', () => {
  it('is dead-lettered with the reason; the event answers OK; other rules\' actions run', async () => {
    const t = setup();
    const outcome = await t.onEvent(service, loginEvent({ id: 'evt-7', userId: 'user-7' }));
    expect(outcome).toMatchObject({ kind: 'ok', deadLettered: [{ rule: 'needs-attribute', action: 'grant' }] });
    expect(t.deadLetters.records.map((r) => [r.rule, r.index, r.action, r.error.name, r.error.message, r.eventId])).toEqual([
      ['needs-attribute', 0, 'grant', 'TemplateResolutionError', '${event.payload.attributes.missing} is not in the event', 'evt-7'],
    ]);
    expect(t.grant.calls).toEqual([]); // the rule's later action is skipped, as after any dead letter (replay runs the rule's rest)
    expect(t.notify.calls.map((c) => c.params)).toEqual([{ userId: 'user-7' }]);
    const summary = t.lines.find((l) => String(l.msg).startsWith('userLoggedIn: '));
    expect(summary).toMatchObject({ rules: { 'needs-attribute': 'error', other: 'matched' } });
    expect(t.lines.some((l) => String(l.msg).startsWith('needs-attribute/grant failed permanently, dead-lettered: ${event.payload.attributes.missing} is not in the event'))).toBe(true);
  });
});
