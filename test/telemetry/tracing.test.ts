/**
 * Issue 6, "Done when" 2: the app in this process with an in-memory span
 * exporter, live against the AGS stand-in; one rule with two actions. For an
 * event whose metadata carries W3C (then B3) trace context: the event's
 * SERVER span continues the caller's trace, each action is a child span with
 * rule, action and outcome, the AGS HTTP call of each action is a CLIENT span
 * beneath it, the stand-in received the trace context of that CLIENT span,
 * and the log lines of the event carry the event span's ids.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startApp } from '../../src/main.js';
import type { RunningApp } from '../../src/main.js';
import { createLogger } from '../../src/telemetry/logger.js';
import type { RecordedRequest } from '../support/ags-stand-in.js';
import { liveEnv, useAgsStandIn } from '../support/ags-fixture.js';
import { LOGIN_SERVICE, PROTO_DIR, client, encode, loginEvent, tempDir, userId, waitUntil } from '../e2e/support.js';
import { LogSink, callWithMetadata, resetTracingGlobals } from './support.js';

const RULES = `version: 1
rules:
  - name: welcome-pack
    on: userLoggedIn
    when:
      "==": [{ var: namespace }, "mygame"]
    do:
      - grantItem:
          itemId: item-1
          quantity: 1
          source: REWARD
      - writePlayerRecord:
          key: last-login
          value: { seen: true }
`;

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

describe('tracing: the span tree of one event with two actions (issue 6)', () => {
  const ags = useAgsStandIn({}, { resetAfterEach: false }); // the tests read the requests of earlier ones
  let app: RunningApp;
  let c: grpc.Client;
  const exporter = new InMemorySpanExporter();
  const logs = new LogSink();

  beforeAll(async () => {
    const dir = tempDir('eer-telemetry-tracing-');
    writeFileSync(join(dir, 'rules.yaml'), RULES);
    resetTracingGlobals();
    app = await startApp({
      env: liveEnv(ags, {
        PORT: '0',
        ENABLE_PROMETHEUS: 'false',
        PROTO_DIR,
        RULES_FILE: join(dir, 'rules.yaml'),
        RULES_WATCH: 'false',
        DEAD_LETTER_FILE: join(dir, 'dead-letters.jsonl'),
        LOG_LEVEL: 'debug',
        LOG_PAYLOADS: 'true',
        STATE_STORE: 'memory', // the span tree of the actions' AGS calls, without the store's
      }),
      spanExporter: exporter,
      logger: createLogger({ level: 'debug', destination: logs }),
    });
    c = client(`127.0.0.1:${app.port}`);
  });
  afterAll(async () => {
    c?.close();
    await app?.shutdown('test done');
    resetTracingGlobals();
  });

  const spansOf = (traceId: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const parentId = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;
  const requestTo = (operation: string, user: string): RecordedRequest => {
    const found = ags.requests.filter((r) => r.operation === operation && r.path.includes(`/users/${user}/`));
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  /** Sends one event with `headers`, then checks the whole tree under the event span; returns that span. */
  async function sendAndCheck(headers: Record<string, string>, traceId: string, callerSpanId: string | undefined): Promise<{ event: ReadableSpan; eventId: string }> {
    const eventId = `evt-trace-${hex(4)}`;
    const user = userId();
    const result = await callWithMetadata(c, await encode(LOGIN_SERVICE, loginEvent({ id: eventId, userId: user })), headers);
    expect(result).toEqual({ code: grpc.status.OK, details: '' });
    const eventSpanOf = (): ReadableSpan | undefined => exporter.getFinishedSpans().find((s) => s.attributes['event.id'] === eventId && s.kind === SpanKind.SERVER);
    await waitUntil('the event span is exported', () => eventSpanOf() !== undefined);
    const event = eventSpanOf()!;

    // the SERVER span continues the caller's trace (or starts one)
    expect(event.name).toBe('event userLoggedIn');
    expect(event.spanContext().traceId).toBe(traceId);
    expect(parentId(event)).toBe(callerSpanId);
    expect(event.attributes).toMatchObject({ 'event.id': eventId, 'event.name': 'userLoggedIn', 'rpc.system': 'grpc', 'rpc.service': LOGIN_SERVICE, 'event.outcome': 'ok' });
    const tree = spansOf(traceId);
    expect(tree).toHaveLength(5); // event, 2 actions, 2 AGS calls: nothing else in this trace

    // two action children, in plan order, each with rule, action and outcome
    const actions = tree.filter((s) => parentId(s) === event.spanContext().spanId).sort((a, b) => Number(a.attributes['action.index']) - Number(b.attributes['action.index']));
    expect(actions.map((s) => s.name)).toEqual(['action grantItem', 'action writePlayerRecord']);
    actions.forEach((s, i) => {
      expect(s.kind).toBe(SpanKind.INTERNAL);
      expect(s.attributes).toMatchObject({ 'rule.name': 'welcome-pack', 'action.name': ['grantItem', 'writePlayerRecord'][i], 'action.index': i, 'action.outcome': 'succeeded', 'event.id': eventId });
    });

    // beneath each action, the CLIENT span of its AGS call; the stand-in got that span's context
    const expected = [
      { action: actions[0]!, operation: 'fulfillItem', method: 'POST' },
      { action: actions[1]!, operation: 'adminPutPlayerRecordHandlerV1', method: 'PUT' },
    ];
    for (const { action, operation, method } of expected) {
      const calls = tree.filter((s) => parentId(s) === action.spanContext().spanId);
      expect(calls).toHaveLength(1);
      const call = calls[0]!;
      expect(call.kind).toBe(SpanKind.CLIENT);
      expect(call.attributes).toMatchObject({ 'ags.operation': operation, 'http.request.method': method, 'http.response.status_code': 200 });
      const req = requestTo(operation, user);
      expect(req.method).toBe(method);
      expect(req.headers.traceparent).toBe(`00-${traceId}-${call.spanContext().spanId}-01`);
      expect(req.headers['x-b3-traceid']).toBe(traceId);
      expect(req.headers['x-b3-spanid']).toBe(call.spanContext().spanId);
    }
    expect(ags.violations).toEqual([]);

    // every log line of this event carries the event span's ids; the summary line is one of them
    const lines = logs.lines.filter((l) => l.eventId === eventId);
    expect(lines.map((l) => l.msg)).toContain('userLoggedIn: 1 rule(s) matched, 2 action(s), ok');
    expect(lines.map((l) => l.msg)).toContain('event payload');
    for (const l of lines) expect(l).toMatchObject({ traceId, spanId: event.spanContext().spanId, event: 'userLoggedIn' });
    return { event, eventId };
  }

  it('W3C traceparent: the event span is the caller span\'s child, actions beneath it, AGS calls beneath them', async () => {
    const traceId = hex(16);
    const callerSpan = hex(8);
    await sendAndCheck({ traceparent: `00-${traceId}-${callerSpan}-01` }, traceId, callerSpan);
  });

  it('B3 multi-header context is continued the same way', async () => {
    const traceId = hex(16);
    const callerSpan = hex(8);
    await sendAndCheck({ 'x-b3-traceid': traceId, 'x-b3-spanid': callerSpan, 'x-b3-sampled': '1' }, traceId, callerSpan);
  });

  it('B3 single header is continued the same way', async () => {
    const traceId = hex(16);
    const callerSpan = hex(8);
    await sendAndCheck({ b3: `${traceId}-${callerSpan}-1` }, traceId, callerSpan);
  });

  it('without trace headers the event span starts a new trace (a root span)', async () => {
    const before = new Set(exporter.getFinishedSpans().map((s) => s.spanContext().traceId));
    const eventId = `evt-root-${hex(4)}`;
    const result = await callWithMetadata(c, await encode(LOGIN_SERVICE, loginEvent({ id: eventId, userId: userId() })));
    expect(result.code).toBe(grpc.status.OK);
    await waitUntil('the event span is exported', () => exporter.getFinishedSpans().some((s) => s.attributes['event.id'] === eventId && s.kind === SpanKind.SERVER));
    const event = exporter.getFinishedSpans().find((s) => s.attributes['event.id'] === eventId && s.kind === SpanKind.SERVER)!;
    expect(event.parentSpanContext).toBeUndefined();
    expect(before.has(event.spanContext().traceId)).toBe(false);
    expect(spansOf(event.spanContext().traceId)).toHaveLength(5);
  });

  it('a retried AGS call: two CLIENT spans under its action (503, then 200), and the retry line carries the event, rule, action and trace ids', async () => {
    const traceId = hex(16);
    const callerSpanId = hex(8);
    const eventId = `evt-retry-${hex(4)}`;
    const user = userId();
    ags.fail(new RegExp(`/users/${user}/fulfillment$`), [{ status: 503 }]);
    const result = await callWithMetadata(c, await encode(LOGIN_SERVICE, loginEvent({ id: eventId, userId: user })), { traceparent: `00-${traceId}-${callerSpanId}-01` });
    expect(result).toEqual({ code: grpc.status.OK, details: '' });
    await waitUntil('the event span is exported', () => spansOf(traceId).some((s) => s.kind === SpanKind.SERVER));
    const tree = spansOf(traceId);
    const event = tree.find((s) => s.kind === SpanKind.SERVER)!;
    const grant = tree.find((s) => s.name === 'action grantItem')!;
    expect(parentId(grant)).toBe(event.spanContext().spanId);
    expect(grant.attributes).toMatchObject({ 'action.outcome': 'succeeded' });
    const attempts = tree.filter((s) => parentId(s) === grant.spanContext().spanId).sort((a, b) => Number(a.attributes['http.request.resend_count'] ?? 0) - Number(b.attributes['http.request.resend_count'] ?? 0));
    expect(attempts.map((s) => [s.attributes['http.response.status_code'], s.attributes['http.request.resend_count']])).toEqual([
      [503, undefined],
      [200, 1],
    ]);
    const retryLine = logs.lines.find((l) => typeof l.msg === 'string' && /fulfillItem: attempt 1 failed \(503\), retrying/.test(l.msg) && l.eventId === eventId);
    expect(retryLine).toMatchObject({ eventId, event: 'userLoggedIn', rule: 'welcome-pack', action: 'grantItem', index: 0, traceId, spanId: event.spanContext().spanId, level: 'warn' });
  });
});
