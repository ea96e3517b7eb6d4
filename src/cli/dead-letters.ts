/**
 * `extend-event-rules dead-letters list [file] [--rule name] [--json]`: the
 * dead letters where the server keeps them (the state store with cloudsave or
 * redis, else DEAD_LETTER_FILE; a file given wins), oldest first. One line
 * each: `<when> <rule>/<action>#<index> <event name> <event id> <kind>: <reason>`;
 * `--json`: one JSON array of the records. Exit 0, or 1 when lines of a file were skipped.
 */
import type { Config } from '../config.js';
import type { StoredDeadLetter } from '../delivery/index.js';
import { openDeadLetterSource } from './dead-letter-source.js';
import type { CommandIO } from './io.js';
import { UsageError, parseArgs, wantsHelp } from './io.js';

export interface DeadLettersOptions {
  /** The environment's configuration (where the dead letters are). */
  readonly config: Config;
}

/** One human line for a dead letter. */
export function formatDeadLetter(r: StoredDeadLetter): string {
  const kind = r.kind ?? 'failed';
  const status = r.error.status !== undefined ? ` (HTTP ${r.error.status}${r.error.errorCode !== undefined ? `, errorCode ${r.error.errorCode}` : ''})` : '';
  const omitted = r.eventOmitted ? ' [payload not kept: too large]' : '';
  return `${r.timestamp} ${r.rule}/${r.action}#${r.index} ${r.eventName} ${r.eventId || '-'} ${kind}: ${r.error.name}: ${r.error.message}${status}${omitted}`;
}

/** `dead-letters --help`. */
export const DEAD_LETTERS_USAGE = 'usage: extend-event-rules dead-letters list [file] [--rule name] [--json]\n';

export async function deadLettersCommand(args: string[], io: CommandIO, options: DeadLettersOptions): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout.write(DEAD_LETTERS_USAGE);
    return 0;
  }
  const [sub, ...rest] = args;
  if (sub !== 'list') throw new UsageError(sub === undefined ? 'dead-letters needs a subcommand: list' : `unknown subcommand ${sub} (known: list)`);
  const { positionals, values, flags } = parseArgs(rest, { values: ['rule'], flags: ['json'] });
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}`);
  const ruleFilter = values.get('rule');
  const source = await openDeadLetterSource(options.config, positionals[0]);
  try {
    const read = await source.read();
    for (const p of read.problems) io.stderr.write(`${p}\n`);
    const records = read.records.filter((r) => ruleFilter === undefined || r.rule === ruleFilter);
    if (flags.has('json')) io.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
    else if (records.length === 0) io.stdout.write(`no dead letters${ruleFilter !== undefined ? ` for rule ${ruleFilter}` : ''} in ${source.where}\n`);
    else {
      for (const r of records) io.stdout.write(`${formatDeadLetter(r)}\n`);
      io.stdout.write(`${records.length} dead letter${records.length === 1 ? '' : 's'} in ${source.where}\n`);
    }
    return read.problems.length > 0 ? 1 : 0;
  } finally {
    await source.close();
  }
}
