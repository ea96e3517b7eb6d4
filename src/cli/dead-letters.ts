/**
 * `extend-event-rules dead-letters list [file] [--rule name] [--action name] [--reason text]
 * [--since when] [--until when] [--limit n] [--cursor c] [--json]`: the dead letters where
 * the server keeps them (the state store with cloudsave or redis, else DEAD_LETTER_FILE; a
 * file given wins), oldest first, filtered. One line each:
 * `<when> <rule>/<action>#<index> <event name> <event id> <kind>: <reason>`, then a count, and
 * with `--limit` when more follow `more: --cursor <c>`; `--json`: the array of the records, or
 * with `--limit` `{records, next}` (`next`: the cursor, or null at the end). Exit 0, or 1 when
 * lines of a file were skipped or a file named does not exist; 2 for a bad option or cursor. No
 * DEAD_LETTER_FILE yet (the server creates it at its first dead letter): none, exit 0.
 */
import type { Config } from '../config.js';
import type { DeadLetterQuery, StoredDeadLetter } from '../delivery/index.js';
import { DeadLetterCursorError, reasonText } from '../delivery/index.js';
import { openDeadLetterSource, QUERY_OPTIONS, queryOf } from './dead-letter-source.js';
import type { DeadLetterSource } from './dead-letter-source.js';
import type { CommandIO } from './io.js';
import { UsageError, parseArgs, wantsHelp } from './io.js';
import { printable } from '../text/index.js';

export interface DeadLettersOptions {
  /** The environment's configuration (where the dead letters are). */
  readonly config: Config;
}

/** One human line for a dead letter: its text from the event and from AGS made {@link printable} (one line, no control sequences). */
export function formatDeadLetter(r: StoredDeadLetter): string {
  const omitted = r.eventOmitted ? ' [payload not kept: too large]' : '';
  const reason = reasonText(r);
  const space = reason.indexOf(' ');
  const line = `${r.timestamp} ${r.rule}/${r.action}#${r.index} ${r.eventName} ${r.eventId || '-'} ${reason.slice(0, space)}:${reason.slice(space)}`;
  return `${printable(line)}${omitted}`;
}

/** What the filters of `query` select, for messages: ` for rule x, action y` ('' when none). */
export function describeQuery(q: DeadLetterQuery): string {
  const parts: string[] = [];
  if (q.rule !== undefined) parts.push(`rule ${q.rule}`);
  if (q.action !== undefined) parts.push(`action ${q.action}`);
  if (q.reason !== undefined) parts.push(`reason ~ ${printable(JSON.stringify(q.reason))}`);
  if (q.sinceMs !== undefined) parts.push(`since ${new Date(q.sinceMs).toISOString()}`);
  if (q.untilMs !== undefined) parts.push(`until ${new Date(q.untilMs).toISOString()}`);
  return parts.length > 0 ? ` for ${parts.join(', ')}` : '';
}

/** Reads the source; a cursor it did not hand out is a usage error. */
export async function readQuery(source: DeadLetterSource, query: DeadLetterQuery): ReturnType<DeadLetterSource['read']> {
  try {
    return await source.read(query);
  } catch (error) {
    if (error instanceof DeadLetterCursorError) throw new UsageError(error.message);
    throw error;
  }
}

/** `dead-letters --help`. */
export const DEAD_LETTERS_USAGE =
  'usage: extend-event-rules dead-letters list [file] [--rule name] [--action name] [--reason text] [--since t] [--until t] [--limit n] [--cursor c] [--json]\n';

export async function deadLettersCommand(args: string[], io: CommandIO, options: DeadLettersOptions): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout.write(DEAD_LETTERS_USAGE);
    return 0;
  }
  const [sub, ...rest] = args;
  if (sub !== 'list') throw new UsageError(sub === undefined ? 'dead-letters needs a subcommand: list' : `unknown subcommand ${sub} (known: list)`);
  const { positionals, values, flags } = parseArgs(rest, { values: [...QUERY_OPTIONS], flags: ['json'] });
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}`);
  const query = queryOf(values);
  const source = await openDeadLetterSource(options.config, positionals[0]);
  try {
    const read = await readQuery(source, query);
    for (const p of read.problems) io.stderr.write(`${p}\n`);
    const { records, next } = read;
    if (flags.has('json')) {
      // a page (--limit) is an object with the next cursor; without --limit, the array of them all
      io.stdout.write(`${JSON.stringify(query.limit !== undefined ? { records, next: next ?? null } : records, null, 2)}\n`);
    } else if (records.length === 0) io.stdout.write(`no dead letters${describeQuery(query)} in ${source.where}\n`);
    else {
      for (const r of records) io.stdout.write(`${formatDeadLetter(r)}\n`);
      io.stdout.write(`${records.length} dead letter${records.length === 1 ? '' : 's'}${describeQuery(query)} in ${source.where}\n`);
    }
    if (next !== undefined && !flags.has('json')) io.stdout.write(`more: --cursor ${next}\n`);
    return read.problems.length > 0 ? 1 : 0;
  } finally {
    await source.close();
  }
}
