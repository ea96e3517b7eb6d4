/**
 * `dead-letters list` and `replay` where the server has written no dead letter yet (no file): none, exit 0;
 * a file named on the command line that does not exist: said so, exit 1.
 * `dead-letters list` with hostile text in a record (an event id from the event's body, an AGS error
 * message): one record is one line, and no terminal control sequence reaches the terminal; `--json`
 * keeps the text as it was.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand, workspace } from './support.js';

const ws = workspace();
afterAll(() => ws.remove());

const HOSTILE_ID = 'evt-1\n2026-01-01T00:00:00.000Z forged/grantItem#0 userLoggedIn x failed: fake';
const HOSTILE_MESSAGE = 'bad \u001b[2J\u001b[31mred\u0007 item\r\nsecond line\u009b1m';

function record(): Record<string, unknown> {
  return {
    version: 1,
    timestamp: '2026-12-06T10:00:00.000Z',
    eventName: 'userLoggedIn',
    service: 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService',
    eventId: HOSTILE_ID,
    idempotencyKey: 'k:welcome:0',
    rule: 'welcome',
    index: 0,
    action: 'grantItem',
    error: { name: 'AgsError', message: HOSTILE_MESSAGE, status: 400 },
    attempts: 1,
    event: { id: HOSTILE_ID },
  };
}

describe('dead-letters list and replay with hostile text', () => {
  it('prints one line per record with control characters escaped', async () => {
    const file = join(ws.dir, 'dl.jsonl');
    writeFileSync(file, `${JSON.stringify(record())}\n`);
    const r = await runCommand(['dead-letters', 'list', file], { cwd: ws.dir });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2); // the record, the count
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(lines[0]).toContain('evt-1\\n2026-01-01');
    expect(lines[0]).toContain('\\u001b[2J');
  });

  it('keeps the text as it was in --json', async () => {
    const file = join(ws.dir, 'dl2.jsonl');
    writeFileSync(file, `${JSON.stringify(record())}\n`);
    const r = await runCommand(['dead-letters', 'list', file, '--json'], { cwd: ws.dir });
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as { eventId: string; error: { message: string } }[];
    expect(parsed[0]!.eventId).toBe(HOSTILE_ID);
    expect(parsed[0]!.error.message).toBe(HOSTILE_MESSAGE);
  });

  it('replay prints its result line for the record on one line, escaped', async () => {
    const file = join(ws.dir, 'dl3.jsonl');
    writeFileSync(file, `${JSON.stringify({ ...record(), eventOmitted: true })}\n`);
    const r = await runCommand(['replay', file, '--target', '127.0.0.1:1'], { cwd: ws.dir });
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2); // the FAILED line, the count
    expect(lines[0]).toMatch(/^FAILED welcome\/grantItem#0 userLoggedIn evt-1\\n2026-01-01/);
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });
});

describe('dead-letters list and replay before the first dead letter', () => {
  // the server creates DEAD_LETTER_FILE (default ./dead-letters.jsonl) at its first dead letter
  it('no file where the server writes them: no dead letters, exit 0', async () => {
    const dir = workspace();
    try {
      const list = await runCommand(['dead-letters', 'list'], { cwd: dir.dir });
      expect(list.stderr).toBe('');
      expect(list.stdout).toMatch(/^no dead letters in .*dead-letters\.jsonl \(none written yet\)\n$/);
      expect(list.code).toBe(0);
      const json = await runCommand(['dead-letters', 'list', '--json'], { cwd: dir.dir });
      expect(JSON.parse(json.stdout)).toEqual([]);
      expect(json.code).toBe(0);
      const replay = await runCommand(['replay'], { cwd: dir.dir });
      expect(replay.stdout).toMatch(/^no dead letters in .*dead-letters\.jsonl \(none written yet\)\n$/);
      expect(replay.code).toBe(0);
    } finally {
      dir.remove();
    }
  });

  it('a file named on the command line that does not exist: said so, exit 1', async () => {
    const r = await runCommand(['dead-letters', 'list', 'typo.jsonl'], { cwd: ws.dir });
    expect(r.stderr).toMatch(/typo\.jsonl: no such file/);
    expect(r.stderr).not.toMatch(/ENOENT/);
    expect(r.code).toBe(1);
  });
});
