import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeadLetterWriteError, JsonlDeadLetterSink, readDeadLetters } from '../../src/delivery/dead-letters.js';
import { pageOfList } from '../../src/delivery/dead-letter-query.js';
import type { DeadLetterRecord } from '../../src/delivery/dead-letters.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'eer-dl-'));
  dirs.push(dir);
  return join(dir, 'dead-letters.jsonl');
}

function record(i: number, size = 10): DeadLetterRecord {
  return {
    version: 1,
    timestamp: '2026-03-11T10:00:00.000Z',
    eventName: 'userLoggedIn',
    service: 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService',
    eventId: `evt-${i}`,
    idempotencyKey: `evt-${i}:r:0`,
    rule: i % 2 === 0 ? 'even' : 'odd',
    index: 0,
    action: 'grantItem',
    error: { name: 'AgsError', message: 'x'.repeat(size), status: 404, errorCode: 30341 },
    attempts: 1,
    event: { id: `evt-${i}`, userId: 'u', payload: { big: 'y'.repeat(size) } },
  };
}

describe('JSON Lines dead-letter sink', () => {
  it('concurrent writes (two sinks on one file, as two processes would) give whole lines, every record once', async () => {
    const path = await tempFile();
    const s1 = new JsonlDeadLetterSink({ path });
    const s2 = new JsonlDeadLetterSink({ path, fsync: true });
    // records of 64 KiB+ each: larger than a pipe buffer, so interleaving would show
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? s1 : s2).write(record(i, 40_000))));
    await Promise.all([s1.close(), s2.close()]);
    const text = await readFile(path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(40);
    const ids = lines.map((l) => (JSON.parse(l) as DeadLetterRecord).eventId).sort();
    expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => `evt-${i}`).sort());
    const read = await readDeadLetters(path);
    expect(read.records).toHaveLength(40);
    expect(read.problems).toEqual([]);
    expect(read.incompleteTail).toBe(false);
  });

  it('the reader skips an incomplete last line; the next writer terminates it before appending', async () => {
    const path = await tempFile();
    await writeFile(path, `${JSON.stringify(record(1))}\n{"version":1,"rule":"cut-sh`);
    const before = await readDeadLetters(path);
    expect(before.records.map((r) => r.eventId)).toEqual(['evt-1']);
    expect(before.incompleteTail).toBe(true);

    const sink = new JsonlDeadLetterSink({ path });
    await sink.write(record(2));
    await sink.close();
    const after = await readDeadLetters(path);
    expect(after.records.map((r) => r.eventId)).toEqual(['evt-1', 'evt-2']);
    expect(after.problems).toEqual([{ line: 2, reason: expect.stringContaining('not JSON') }]);
    expect(after.incompleteTail).toBe(false);
  });

  it('reports lines that are not records', async () => {
    const path = await tempFile();
    await writeFile(path, `${JSON.stringify(record(1))}\n\n{"hello":1}\n`);
    await appendFile(path, `${JSON.stringify(record(3))}\n`);
    const read = await readDeadLetters(path);
    expect(read.records.map((r) => r.eventId)).toEqual(['evt-1', 'evt-3']);
    expect(read.problems).toEqual([{ line: 3, reason: 'not a dead-letter record (needs service, rule, event)' }]);
  });

  it('a write that cannot happen rejects with DeadLetterWriteError; a closed sink rejects', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eer-dl-'));
    dirs.push(dir);
    const bad = new JsonlDeadLetterSink({ path: join(dir, 'missing-dir', 'x.jsonl') });
    await expect(bad.write(record(1))).rejects.toBeInstanceOf(DeadLetterWriteError);
    // the queue survives a failed write
    await expect(bad.write(record(2))).rejects.toBeInstanceOf(DeadLetterWriteError);
    await bad.close();
    const path = await tempFile();
    const sink = new JsonlDeadLetterSink({ path });
    await sink.close();
    await expect(sink.write(record(1))).rejects.toBeInstanceOf(DeadLetterWriteError);
  });

  it('one dead letter per action of an event: a line whose idempotency key a later line repeats (dead-lettered again) is listed as the later line only, in every page', async () => {
    const path = await tempFile();
    const sink = new JsonlDeadLetterSink({ path });
    for (const i of [1, 2, 3]) await sink.write(record(i));
    await sink.write({ ...record(2), timestamp: '2026-03-11T11:00:00.000Z', attempts: 2 }); // the redelivery after a crash
    await sink.write(record(4));
    await sink.close();
    const { records } = await readDeadLetters(path);
    expect(records).toHaveLength(5); // the file keeps every line
    const listed = pageOfList(records, {});
    expect(listed.records.map((r) => [r.eventId, r.attempts])).toEqual([['evt-1', 1], ['evt-3', 1], ['evt-2', 2], ['evt-4', 1]]);
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = pageOfList(records, { limit: 1, ...(cursor ? { cursor } : {}) });
      ids.push(...page.records.map((r) => r.eventId));
      cursor = page.next;
    } while (cursor !== undefined);
    expect(ids).toEqual(['evt-1', 'evt-3', 'evt-2', 'evt-4']);
    expect(pageOfList(records, { rule: 'even' }).records.map((r) => r.attempts)).toEqual([2, 1]);
  });
});
