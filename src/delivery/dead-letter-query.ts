/**
 * Which dead letters `dead-letters list` and `replay` take: filters (rule,
 * action, reason, time range) and a page (`limit`, `cursor`). The same query
 * reads the state store and the JSON Lines file.
 */
import type { DeadLetterRecord } from './dead-letters.js';

export interface DeadLetterQuery {
  /** Only this rule's (exact name). Default: any. */
  readonly rule?: string;
  /** Only this action's (exact name, e.g. `grantItem`). Default: any. */
  readonly action?: string;
  /** Only those whose reason ({@link reasonText}) contains this text, case-insensitive (`unknown-outcome`, `HTTP 400`, `item not found`, `20002`). Default: any. */
  readonly reason?: string;
  /** Only those written at or after this instant, ms since the epoch. Default: no bound. */
  readonly sinceMs?: number;
  /** Only those written before this instant, ms since the epoch. Default: no bound. */
  readonly untilMs?: number;
  /** At most this many (a page); `next` then says where the next page starts. Default: all. */
  readonly limit?: number;
  /** Where to start: the `next` of the previous page. Default: the oldest. */
  readonly cursor?: string;
}

/** One page of a listing. */
export interface DeadLetterListing<R extends DeadLetterRecord = DeadLetterRecord> {
  readonly records: R[];
  /** The cursor of the next page; absent when this page is the last. */
  readonly next?: string;
}

/** A cursor that this listing did not hand out. */
export class DeadLetterCursorError extends Error {
  override readonly name = 'DeadLetterCursorError';
  constructor(readonly cursor: string) {
    super(`invalid cursor ${JSON.stringify(cursor.slice(0, 80))}: pass the "next" cursor a previous page printed`);
  }
}

/** Why it failed, as one line: `<kind> <error name>: <message> (HTTP <status>, errorCode <code>)`; what `reason` filters on. */
export function reasonText(r: DeadLetterRecord): string {
  const status = r.error.status !== undefined ? ` (HTTP ${r.error.status}${r.error.errorCode !== undefined ? `, errorCode ${r.error.errorCode}` : ''})` : '';
  return `${r.kind ?? 'failed'} ${r.error.name}: ${r.error.message}${status}`;
}

/** Whether the record passes the query's filters (not its page). */
export function matchesQuery(r: DeadLetterRecord, q: DeadLetterQuery): boolean {
  if (q.rule !== undefined && r.rule !== q.rule) return false;
  if (q.action !== undefined && r.action !== q.action) return false;
  if (q.sinceMs !== undefined || q.untilMs !== undefined) {
    const t = Date.parse(r.timestamp);
    if (q.sinceMs !== undefined && !(t >= q.sinceMs)) return false;
    if (q.untilMs !== undefined && !(t < q.untilMs)) return false;
  }
  if (q.reason !== undefined && !reasonText(r).toLowerCase().includes(q.reason.toLowerCase())) return false;
  return true;
}

/** True when the query has a filter (rule, action, reason or time). */
export function hasFilter(q: DeadLetterQuery): boolean {
  return q.rule !== undefined || q.action !== undefined || q.reason !== undefined || q.sinceMs !== undefined || q.untilMs !== undefined;
}

/**
 * A page of an in-memory list (the JSON Lines file): cursor `f<position>`, the
 * position in the file's records of the first one not yet returned. One dead letter
 * per action of an event: a record whose idempotency key a later line repeats (the
 * action dead-lettered again: a redelivery after a crash, a replay that failed again)
 * is left out, the newest line stands for it.
 * @throws DeadLetterCursorError
 */
export function pageOfList<R extends DeadLetterRecord>(records: readonly R[], q: DeadLetterQuery): DeadLetterListing<R> {
  let start = 0;
  if (q.cursor !== undefined) {
    const m = /^f(\d+)$/.exec(q.cursor);
    if (!m) throw new DeadLetterCursorError(q.cursor);
    start = Number(m[1]);
  }
  const newest = new Map<string, number>();
  records.forEach((r, i) => typeof r.idempotencyKey === 'string' && r.idempotencyKey !== '' && newest.set(r.idempotencyKey, i));
  const out: R[] = [];
  for (let i = start; i < records.length; i++) {
    const key = records[i]!.idempotencyKey;
    if (typeof key === 'string' && newest.has(key) && newest.get(key) !== i) continue;
    if (!matchesQuery(records[i]!, q)) continue;
    if (q.limit !== undefined && out.length >= q.limit) return { records: out, next: `f${i}` };
    out.push(records[i]!);
  }
  return { records: out };
}
