/**
 * Issue 23 (granted events): the pipeline hands the executor the replay headers one by one when the
 * call reads headers so (`EventCall.header`), never the map of every header (`call.metadata`, which
 * the gRPC host makes with grpc-js's `getMap` on first read). A replay still reaches the executor
 * with its rule and the instant its dead letter was written; a call without `header` still hands
 * its metadata over.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createEventHandler } from '../../src/pipeline/event-handler.js';
import type { Executor, RunInput } from '../../src/delivery/executor.js';
import type { Catalog, EventService } from '../../src/events/types.js';
import type { EventCall } from '../../src/contract/types.js';
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
    do: [ { grant: {} } ]
`;

function setup() {
  const registry = registryOf(recordingAction('grant'));
  const rules = compileOrThrow(RULES, catalog, registry);
  const inputs: RunInput[] = [];
  const executor: Executor = {
    run: (input) => {
      inputs.push(input);
      return Promise.resolve({ outcome: { kind: 'ok' }, eventKey: 'k', actions: [] });
    },
    flush: () => Promise.resolve(),
  };
  const { logger } = captureLogger();
  const onEvent = createEventHandler({ rules: () => rules, executor, logger });
  const login: EventService = catalog.services.find((s) => s.fullName === LOGIN)!;
  return { inputs, send: (call: EventCall) => onEvent(login, loginEvent({ id: 'e1' }), call) };
}

/** A call that reads headers one by one; its metadata map counts its reads. */
function headerCall(headers: Record<string, string>): { call: EventCall; mapReads: () => number } {
  let reads = 0;
  const call: EventCall = {
    header: (name) => headers[name],
    get metadata() {
      reads++;
      return headers;
    },
  };
  return { call, mapReads: () => reads };
}

describe('the replay headers a granted event hands the executor', () => {
  it('a call that reads headers one by one: no map of every header is made; no replay, no replay input', async () => {
    const t = setup();
    const { call, mapReads } = headerCall({ 'user-agent': 'x' });
    expect(await t.send(call)).toEqual({ kind: 'ok' });
    expect(mapReads()).toBe(0);
    expect(t.inputs[0]).toMatchObject({ plan: [{ rule: 'ours' }] });
    expect(t.inputs[0]!.metadata).toBeUndefined();
    expect(t.inputs[0]!.replayRule).toBeUndefined();
    expect(t.inputs[0]!.replaySince).toBeUndefined();
  });

  it('a replay: its rule and when its dead letter was written reach the executor (unreadable: NaN, which the executor reads as absent)', async () => {
    const t = setup();
    const since = '2026-12-01T10:00:00.000Z';
    const a = headerCall({ 'x-event-rules-replay': 'ours', 'x-event-rules-replay-since': since });
    expect(await t.send(a.call)).toEqual({ kind: 'ok' });
    expect(a.mapReads()).toBe(0);
    expect(t.inputs[0]).toMatchObject({ replayRule: 'ours', replaySince: Date.parse(since) });
    const b = headerCall({ 'x-event-rules-replay': 'ours', 'x-event-rules-replay-since': 'yesterday-ish' });
    await t.send(b.call);
    expect(t.inputs[1]!.replayRule).toBe('ours');
    expect(t.inputs[1]!.replaySince).toBeNaN();
    const c = headerCall({ 'x-event-rules-replay': 'ours' });
    await t.send(c.call);
    expect(t.inputs[2]).toMatchObject({ replayRule: 'ours' });
    expect(t.inputs[2]!.replaySince).toBeUndefined();
  });

  it('a call without header(): its metadata is handed over as before', async () => {
    const t = setup();
    const metadata = { 'x-event-rules-replay': 'ours' };
    await t.send({ metadata });
    expect(t.inputs[0]!.metadata).toBe(metadata);
    expect(t.inputs[0]!.replayRule).toBeUndefined();
  });
});
