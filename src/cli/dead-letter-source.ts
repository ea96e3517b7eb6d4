/**
 * Where the CLI (`replay`, `dead-letters list`) reads dead letters from: the
 * same place the server writes them, decided by the same environment.
 * A file named on the command line wins; else with STATE_STORE cloudsave or
 * redis (the default when REDIS_URL or AGS credentials are set) the state
 * store; else DEAD_LETTER_FILE.
 */
import { resolve } from 'node:path';
import { AgsClient } from '../ags/index.js';
import type { Config } from '../config.js';
import { pageOfList, readDeadLetters } from '../delivery/index.js';
import type { DeadLetterQuery, DeadLetterRecord } from '../delivery/index.js';
import { listStoredDeadLetters, removeStoredDeadLetter } from '../delivery/index.js';
import type { StoredDeadLetter } from '../delivery/index.js';
import { createStateStore } from '../store/index.js';
import { durationMs, parseInstant } from '../time/index.js';
import { UsageError } from './io.js';

/** The options that choose dead letters, shared by `dead-letters list` and `replay`. */
export const QUERY_OPTIONS = ['rule', 'action', 'reason', 'since', 'until', 'limit', 'cursor'] as const;

/** An instant of `--since`/`--until`: RFC 3339, or a duration ago (`2h`, `7d`, `PT30M`). */
function instantOf(flag: string, text: string, nowMs: number): number {
  const instant = parseInstant(text);
  if (instant.ok) return instant.ms;
  const ago = durationMs(text);
  if (ago !== undefined) return nowMs - ago;
  throw new UsageError(`--${flag} ${text}: expected an RFC 3339 instant (2026-12-01T00:00:00Z) or a duration ago (30m, 2h, 7d)`);
}

/**
 * The query of the options (`--rule`, `--action`, `--reason`, `--since`, `--until`, `--limit`, `--cursor`).
 * @throws UsageError naming the option that is wrong.
 */
export function queryOf(values: ReadonlyMap<string, string>, nowMs: number = Date.now()): DeadLetterQuery {
  const q: { -readonly [K in keyof DeadLetterQuery]: DeadLetterQuery[K] } = {};
  for (const k of ['rule', 'action', 'reason', 'cursor'] as const) if (values.has(k)) q[k] = values.get(k)!;
  if (values.has('since')) q.sinceMs = instantOf('since', values.get('since')!, nowMs);
  if (values.has('until')) q.untilMs = instantOf('until', values.get('until')!, nowMs);
  if (values.has('limit')) {
    const limit = Number(values.get('limit'));
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit ${values.get('limit')}: expected a whole number of at least 1`);
    q.limit = limit;
  }
  return q;
}

export interface DeadLetterSource {
  /** For messages: the file path, or `the redis state store`... */
  readonly where: string;
  /**
   * The records `query` selects (one page with `limit`: `next` is then the cursor of the
   * following page), and problems to report (lines skipped...).
   * @throws DeadLetterCursorError for a cursor this source did not hand out.
   */
  read(query?: DeadLetterQuery): Promise<{ readonly records: StoredDeadLetter[]; readonly next?: string; readonly problems: string[] }>;
  /** Store only: removes a record after its successful replay. */
  readonly remove?: (record: DeadLetterRecord) => Promise<boolean>;
  close(): Promise<void>;
}

/**
 * The dead letters of a JSON-lines file. A missing file: with `missingIsNone` (the file the server writes, created at
 * its first dead letter) none, and `where` says so; else (a file named on the command line) an error saying so.
 */
function fileSource(path: string, missingIsNone: boolean): DeadLetterSource {
  const source = {
    where: path,
    read: async (query: DeadLetterQuery = {}) => {
      let r: Awaited<ReturnType<typeof readDeadLetters>>;
      try {
        r = await readDeadLetters(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        if (!missingIsNone) throw new Error(`${path}: no such file`, { cause: error });
        source.where = `${path} (none written yet)`;
        return { records: [], problems: [] };
      }
      const problems = r.problems.map((p) => `${path}:${p.line}: skipped: ${p.reason}`);
      if (r.incompleteTail) problems.push(`${path}: skipped an incomplete last line (a write cut short)`);
      return { ...pageOfList(r.records, query), problems };
    },
    close: () => Promise.resolve(),
  };
  return source;
}

/**
 * Opens the source. `file`: a path given on the command line (always the file).
 * @throws StateStoreStartError / AGS login errors when the store cannot be opened.
 */
export async function openDeadLetterSource(config: Config | undefined, file: string | undefined): Promise<DeadLetterSource> {
  if (file !== undefined) return fileSource(file, false);
  if (!config) throw new Error('no dead-letter file given and no configuration to find the store');
  if (config.stateStore === 'memory') return fileSource(resolve(config.deadLetterFile), true);
  let ags: AgsClient | undefined;
  if (config.stateStore === 'cloudsave') {
    ags = new AgsClient({
      baseUrl: config.ags.baseUrl,
      clientId: config.ags.clientId,
      clientSecret: config.ags.clientSecret,
      timeoutMs: config.ags.timeoutMs,
      maxAttempts: config.ags.maxAttempts,
    });
    await ags.login();
  }
  const store = await createStateStore({
    kind: config.stateStore,
    live: true,
    ...(ags ? { ags } : {}),
    namespace: config.ags.namespace,
    probe: false,
    ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
    connectTimeoutMs: config.redisConnectTimeoutMs,
  });
  const at = { store, namespace: config.ags.namespace };
  return {
    where: `the ${config.stateStore} state store (namespace ${config.ags.namespace})`,
    read: async (query = {}) => ({ ...(await listStoredDeadLetters(at, query)), problems: [] }),
    remove: (record) => removeStoredDeadLetter(at, record),
    close: async () => {
      await store.close();
      ags?.close();
    },
  };
}
