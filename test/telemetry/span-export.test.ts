/**
 * Issue 27: when spans cannot be exported (Zipkin or the collector of
 * grpc-plugin-dependencies not running), one warning says so, with the
 * endpoint, not one per span and not silence; an export that works again is
 * said once, and the next outage warns again. A real Zipkin exporter against
 * a closed port and against a loopback HTTP server that refuses, then
 * accepts; then through startTracing as the app wires it.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { reportingExporter, startTracing, tracer } from '../../src/telemetry/tracing.js';
import { freePort } from '../support/workspace.js';
import { waitFor } from '../support/wait.js';
import { resetTracingGlobals } from './support.js';

/** A logger that keeps what it is told. */
function recorder() {
  const lines: { level: 'warn' | 'info'; fields: Record<string, unknown>; msg: string }[] = [];
  const log = (level: 'warn' | 'info') => (fields: Record<string, unknown>, msg: string) => void lines.push({ level, fields, msg });
  return { lines, logger: { warn: log('warn'), info: log('info') } as never };
}

/** The exporter with the code of each export's result recorded, under the reporting one. */
function tracked(inner: SpanExporter, results: number[]): SpanExporter {
  return { export: (spans, done) => inner.export(spans, (r) => (results.push(r.code), done(r))), shutdown: () => inner.shutdown() };
}

function spans(exporter: SpanExporter, n: number): void {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  for (let i = 0; i < n; i++) provider.getTracer('test').startSpan(`span-${i}`).end();
}

let collector: Server;
let accept = false;
let received = 0;
beforeAll(async () => {
  collector = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(accept ? 202 : 503).end();
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
});
afterAll(() => new Promise<void>((r) => collector.close(() => r())));

describe('span export failures are said once per outage', () => {
  it('an unreachable endpoint: one warning with the endpoint for five failed exports', async () => {
    const url = `http://127.0.0.1:${await freePort()}/api/v2/spans`;
    const { lines, logger } = recorder();
    const results: number[] = [];
    spans(reportingExporter(tracked(new ZipkinExporter({ url }), results), url, logger), 5);
    await waitFor('five exports answered', () => (results.length === 5 ? true : undefined));
    expect(results.every((c) => c !== 0)).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', fields: { endpoint: url } });
    expect(lines[0]!.msg).toMatch(new RegExp(`^spans cannot be exported to ${url.replace(/[.]/g, '\\.')} \\(.+\\): traces are dropped until it answers; .*docs/observability\\.md`));
  });

  it('refused, then accepted, then refused: warn, info, warn', async () => {
    const url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/api/v2/spans`;
    const { lines, logger } = recorder();
    const results: number[] = [];
    const exporter = reportingExporter(tracked(new ZipkinExporter({ url }), results), url, logger);
    const round = async (n: number, total: number): Promise<void> => {
      spans(exporter, n);
      await waitFor(`${total} exports answered`, () => (results.length === total ? true : undefined));
    };
    accept = false;
    await round(3, 3);
    accept = true;
    await round(2, 5);
    accept = false;
    await round(2, 7);
    expect(received).toBe(7);
    expect(results).toEqual([1, 1, 1, 0, 0, 1, 1]);
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info', 'warn']);
    expect(lines[1]!.msg).toBe(`spans are exported to ${url} again`);
  });

  it('startTracing (the app\'s wiring) warns once when Zipkin is not running', async () => {
    const url = `http://127.0.0.1:${await freePort()}/api/v2/spans`;
    const { lines, logger } = recorder();
    resetTracingGlobals();
    const handle = await startTracing({ exporter: 'zipkin', zipkinEndpoint: url, logger });
    for (let i = 0; i < 3; i++) tracer().startSpan(`event-${i}`).end();
    await handle.shutdown().catch(() => undefined); // flushes the batch: the export fails (the app settles it with allSettled too)
    resetTracingGlobals();
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ endpoint: url }) })]);
  });
});
