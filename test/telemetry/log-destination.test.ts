/**
 * Issue 23 (no-match events, the summary line as cheap as pino allows): the logger's time and its
 * default destination (src/telemetry/logger.ts).
 * - `isoTime` writes exactly pino's `isoTime` text (docs/observability.md shows it), made once per
 *   millisecond instead of per line;
 * - the stdout destination hands the lines of one tick to sonic-boom together, in order, and loses
 *   none when the process exits in the same tick (`process.exit`, an uncaught exception) or when
 *   `logger.flush()` is asked for.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, isoTime, TickBatchedStdout } from '../../src/telemetry/logger.js';
import { describeWith } from '../support/prereq.js';
import { baseChildEnv } from '../support/child-env.js';
import { DIST_MAIN, builtApp } from '../e2e/support.js';

afterEach(() => vi.restoreAllMocks());

describe('the log time', () => {
  it("is pino's isoTime text at every instant: millisecond, second, day and year boundaries, before 1970, in any order", () => {
    const instants = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, -999, -1000, -1001, 1796566450116, 1796566450999, 1796566451000, 1796566451000, 1796566450999, 253402300799999, 253402300800000];
    let t = 1796566450000;
    for (let i = 0; i < 3000; i++) instants.push((t += i % 7 === 0 ? 1000 : i % 3)); // many lines within one millisecond, then the next
    for (let i = 0; i < 3000; i++) instants.push(Math.floor(((i * 2654435761) % 4e12) - 1e12)); // scattered, jumping back and forth
    const now = vi.spyOn(Date, 'now');
    const wrong: string[] = [];
    for (const instant of instants) {
      now.mockReturnValue(instant);
      const got = isoTime();
      const want = pino.stdTimeFunctions.isoTime();
      if (got !== want) wrong.push(`${instant}: ${got} != ${want}`);
    }
    expect(wrong).toEqual([]);
  });

  it('is what a line carries', () => {
    const lines: string[] = [];
    vi.spyOn(Date, 'now').mockReturnValue(Date.UTC(2026, 11, 6, 14, 9, 11, 7));
    createLogger({ destination: { write: (s: string) => lines.push(s) } }).info('hello');
    expect(JSON.parse(lines[0]!)).toMatchObject({ time: '2026-12-06T14:09:11.007Z', msg: 'hello' });
  });
});

/** A sonic-boom stand-in that records each write. */
function recordingSink() {
  const writes: string[] = [];
  let flushed = 0;
  let flushedSync = 0;
  return {
    writes,
    flushes: () => flushed,
    syncFlushes: () => flushedSync,
    write: (bytes: Buffer) => {
      writes.push(bytes.toString('utf8'));
      return true;
    },
    flush: (cb?: () => void) => {
      flushed++;
      cb?.();
    },
    flushSync: () => {
      flushedSync++;
    },
  };
}

describe('the stdout destination', () => {
  it("writes a tick's first line at once, hands the tick's other lines over as one write after it, in order; the next tick the same", async () => {
    const sink = recordingSink();
    const logger = createLogger({ destination: new TickBatchedStdout(sink) });
    const numbers = (text: string) => text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { i: number }).i);
    for (let i = 0; i < 5; i++) logger.info({ i }, 'line');
    expect(sink.writes.map(numbers)).toEqual([[0]]); // the first at once, as pino writes it
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.writes.map(numbers)).toEqual([[0], [1, 2, 3, 4]]);
    logger.info({ i: 5 }, 'line');
    logger.info({ i: 6 }, 'line');
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.writes.map(numbers)).toEqual([[0], [1, 2, 3, 4], [5], [6]]);
  });

  it('logger.flush() hands the waiting lines over at once and asks sonic-boom to write them; flushSync too', async () => {
    const sink = recordingSink();
    const batch = new TickBatchedStdout(sink);
    const logger = createLogger({ destination: batch });
    logger.info('a');
    logger.info('b');
    let done = false;
    logger.flush(() => (done = true));
    expect(sink.writes.join('')).toMatch(/"msg":"a".*\n.*"msg":"b"/);
    expect(sink.flushes()).toBe(1);
    expect(done).toBe(true);
    logger.info('c');
    batch.flushSync();
    expect(sink.writes.join('')).toMatch(/"msg":"b".*\n.*"msg":"c"/);
    expect(sink.syncFlushes()).toBe(1);
    const written = sink.writes.length;
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.writes).toHaveLength(written); // nothing written twice
  });
});

/** Runs `body` (after `logger` is made on the default destination) in a fresh node; resolves with its stdout and exit code. */
function runLogging(body: string): Promise<{ stdout: string; code: number | null }> {
  const loggerModule = pathToFileURL(join(DIST_MAIN, '..', 'telemetry', 'logger.js')).href;
  const script = `const { createLogger } = await import(${JSON.stringify(loggerModule)});\nconst logger = createLogger({});\n${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: baseChildEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.resume();
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ stdout, code }));
  });
}

const countLines = (stdout: string, msg: string): number => stdout.split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).length;

describeWith(builtApp(), 'the stdout destination, in a process that ends in the same tick', () => {
  it('process.exit right after the lines: every line is written', async () => {
    const { stdout, code } = await runLogging(`for (let i = 0; i < 3000; i++) logger.info({ i }, 'line');\nprocess.exit(0);`);
    expect(code).toBe(0);
    expect(countLines(stdout, 'line')).toBe(3000);
  });

  it('an uncaught exception right after the lines: every line is written', async () => {
    const { stdout, code } = await runLogging(`for (let i = 0; i < 3000; i++) logger.info({ i }, 'line');\nthrow new Error('boom');`);
    expect(code).toBe(1);
    expect(countLines(stdout, 'line')).toBe(3000);
  });

  it('lines of any text (UTF-8 of several bytes a character) come out as logged: the destination writes their bytes', async () => {
    const { stdout, code } = await runLogging(`for (let i = 0; i < 500; i++) logger.info({ i, who: 'Zoë 😀 名前 \\u2028' }, 'line ' + i);\nawait new Promise((r) => setImmediate(r));\nprocess.exit(0);`);
    expect(code).toBe(0);
    const lines = stdout.split('\n').filter((l) => l.includes('"msg":"line'));
    expect(lines).toHaveLength(500);
    lines.forEach((l, i) => expect(JSON.parse(l)).toMatchObject({ i, who: 'Zoë 😀 名前 \u2028', msg: `line ${i}` }));
  });

  it('lines over many ticks, then the end of the event loop: every line, in order', async () => {
    const { stdout, code } = await runLogging(`for (let t = 0; t < 50; t++) { for (let i = 0; i < 40; i++) logger.info({ n: t * 40 + i }, 'line'); await new Promise((r) => setImmediate(r)); }`);
    expect(code).toBe(0);
    const ns = stdout.split('\n').filter((l) => l.includes('"msg":"line"')).map((l) => (JSON.parse(l) as { n: number }).n);
    expect(ns).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });
});
