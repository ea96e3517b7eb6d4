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
import { readDeadLetters } from '../delivery/index.js';
import type { DeadLetterRecord } from '../delivery/index.js';
import { listStoredDeadLetters, removeStoredDeadLetter } from '../delivery/index.js';
import type { StoredDeadLetter } from '../delivery/index.js';
import { createStateStore } from '../store/index.js';

export interface DeadLetterSource {
  /** For messages: the file path, or `the redis state store`... */
  readonly where: string;
  /** The records, and problems to report (lines skipped...). */
  read(): Promise<{ readonly records: StoredDeadLetter[]; readonly problems: string[] }>;
  /** Store only: removes a record after its successful replay. */
  readonly remove?: (record: DeadLetterRecord) => Promise<boolean>;
  close(): Promise<void>;
}

function fileSource(path: string): DeadLetterSource {
  return {
    where: path,
    read: async () => {
      const r = await readDeadLetters(path);
      const problems = r.problems.map((p) => `${path}:${p.line}: skipped: ${p.reason}`);
      if (r.incompleteTail) problems.push(`${path}: skipped an incomplete last line (a write cut short)`);
      return { records: r.records, problems };
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Opens the source. `file`: a path given on the command line (always the file).
 * @throws StateStoreStartError / AGS login errors when the store cannot be opened.
 */
export async function openDeadLetterSource(config: Config | undefined, file: string | undefined): Promise<DeadLetterSource> {
  if (file !== undefined) return fileSource(file);
  if (!config) throw new Error('no dead-letter file given and no configuration to find the store');
  if (config.stateStore === 'memory') return fileSource(resolve(config.deadLetterFile));
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
    read: async () => ({ records: await listStoredDeadLetters({ ...at, retentionMs: config.deadLetterRetentionMs }), problems: [] }),
    remove: (record) => removeStoredDeadLetter(at, record),
    close: async () => {
      await store.close();
      ags?.close();
    },
  };
}
