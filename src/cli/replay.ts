/**
 * `extend-event-rules replay [dead-letter-file] [--target host:port] [--force] [--rule name] [--action name]
 * [--reason text] [--since when] [--until when] [--limit n] [--cursor c]`: the dead letters the
 * options select (those of `dead-letters list`; all without any),
 * sends each dead-lettered event again to a running event handler, with the
 * metadata headers `x-event-rules-replay: <rule>` (the handler runs that rule's
 * dead-lettered action again; actions that succeeded stay done) and
 * `x-event-rules-replay-since: <the dead letter's timestamp>`. The handler looks
 * up every replayed action that has a lookup (grantItem, creditWallet, custom
 * actions with `reconcile`) before it sends anything, whatever the dead letter's
 * reason: an attempt that was applied is not sent again. It claims the action's
 * key first, so two replays at once make one effect: the second is answered
 * UNAVAILABLE ("another delivery ... is running this action") and waits (polls,
 * up to `busyWaitMs`) until the first is done, then finds it done.
 * One result line per record; exit 0 when every record sent was answered OK, else 1. A replayed
 * action that fails again is answered FAILED_PRECONDITION ("failed again and was dead-lettered
 * again"): reported as such, its record replaced in the store by the newer dead letter.
 * Records of kind `unknown-outcome` (sent, answer lost: it may have been
 * applied) of an action without a lookup are skipped unless `--force`; those
 * of an action with a lookup are replayed (the lookup settles them).
 * Without a file, the dead letters are read where the server writes them (see
 * {@link openDeadLetterSource}): from the state store (cloudsave, redis) a record
 * replayed OK is removed from it; a failed one stays.
 */
import * as grpc from '@grpc/grpc-js';
import { loadCatalog } from '../events/index.js';
import type { Catalog } from '../events/index.js';
import type { Config } from '../config.js';
import { DEFAULT_PORT } from '../contract/index.js';
import { openDeadLetterSource, QUERY_OPTIONS, queryOf } from './dead-letter-source.js';
import { describeQuery, readQuery } from './dead-letters.js';
import type { DeadLetterQuery } from '../delivery/index.js';
import type { DeadLetterRecord } from '../delivery/index.js';
import type { DeadLetterSource } from './dead-letter-source.js';
import { CLAIM_BUSY_REASON, DEFAULT_LEASE_MS, REPLAY_HEADER, REPLAY_SINCE_HEADER, replaySinceOf } from '../delivery/index.js';
import { createDefaultRegistry } from '../actions/index.js';
import type { CommandIO } from './io.js';
import { UsageError, parseArgs, unaryCall, wantsHelp } from './io.js';
import { withCustomEvents } from '../custom-events/index.js';
import { REPLAY_FAILED_AGAIN } from '../pipeline/index.js';
import { printable } from '../text/index.js';

export interface ReplayOptions {
  /** Proto directories the catalog is loaded from (to re-encode events). Required. */
  readonly protoDirs: readonly string[];
  /** Deadline of one call, ms. Default: 30000. */
  readonly callTimeoutMs?: number;
  /** The environment's configuration: where dead letters are read from when no file is given. Absent: a file is required. */
  readonly config?: Config;
  /** Whether an action has a lookup (`reconcile`): its `unknown-outcome` dead letters are replayed without `--force`. Default: the built-in actions' (grantItem, creditWallet). */
  readonly hasLookup?: (action: string) => boolean;
  /** How long a record whose action another delivery holds (a concurrent replay) is retried, ms. Default: {@link DEFAULT_LEASE_MS} (a claim's lease). */
  readonly busyWaitMs?: number;
}

/** Default target: the handler's gRPC port on this machine. */
export const DEFAULT_REPLAY_TARGET = `localhost:${DEFAULT_PORT}`;

function callOnce(client: grpc.Client, path: string, bytes: Uint8Array, record: DeadLetterRecord, timeoutMs: number): Promise<grpc.ServiceError | undefined> {
  const metadata = new grpc.Metadata();
  metadata.set(REPLAY_HEADER, record.rule);
  // where the dead-lettered attempts may have been sent (its lookup starts there when the action's mark is gone)
  if (record.timestamp) metadata.set(REPLAY_SINCE_HEADER, replaySinceOf(record));
  return unaryCall(client, path, bytes, metadata, timeoutMs);
}

/** Another delivery holds the action (a concurrent replay): the handler's answer says so. */
function isBusy(error: grpc.ServiceError): boolean {
  return error.code === grpc.status.UNAVAILABLE && (error.details ?? '').includes(CLAIM_BUSY_REASON);
}

/** Sends a record; while another delivery holds its action, waits (polls with a growing pause) up to `busyWaitMs`. */
async function callUntilFree(client: grpc.Client, path: string, bytes: Uint8Array, record: DeadLetterRecord, run: ReplayRun): Promise<grpc.ServiceError | undefined> {
  const until = Date.now() + run.busyWaitMs;
  let pauseMs = 100;
  for (;;) {
    const error = await callOnce(client, path, bytes, record, run.timeoutMs);
    if (!error || !isBusy(error) || Date.now() + pauseMs > until) return error;
    await new Promise((r) => setTimeout(r, pauseMs));
    pauseMs = Math.min(pauseMs * 2, 2_000);
  }
}

/** The replayed action failed again and was dead-lettered again (the handler's answer says so). */
function isFailedAgain(error: grpc.ServiceError): boolean {
  return error.code === grpc.status.FAILED_PRECONDITION && (error.details ?? '').includes(REPLAY_FAILED_AGAIN);
}

/** The record in a result line, its event's text made {@link printable}. */
function describe(r: DeadLetterRecord): string {
  return printable(`${r.rule}/${r.action}#${r.index} ${r.eventName} ${r.eventId || r.idempotencyKey}`);
}

/** `replay --help`. */
export const REPLAY_USAGE =
  'usage: extend-event-rules replay [dead-letter-file] [--target host:port] [--force] [--rule name] [--action name] [--reason text] [--since t] [--until t] [--limit n] [--cursor c]\n';

export async function replayCommand(args: string[], io: CommandIO, options: ReplayOptions): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout.write(REPLAY_USAGE);
    return 0;
  }
  const { positionals, values, flags } = parseArgs(args, { values: ['target', ...QUERY_OPTIONS], flags: ['force'] });
  const force = flags.has('force');
  const [file, ...extra] = positionals;
  if (!file && !options.config) throw new UsageError('replay needs the dead-letter file');
  if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
  const target = values.get('target') ?? DEFAULT_REPLAY_TARGET;
  const query = queryOf(values);
  const timeoutMs = options.callTimeoutMs ?? 30_000;

  const source = await openDeadLetterSource(options.config, file);
  try {
    const hasLookup = options.hasLookup ?? builtinHasLookup();
    return await replayFrom(source, io, { target, query, force, timeoutMs, protoDirs: options.protoDirs, hasLookup, busyWaitMs: options.busyWaitMs ?? DEFAULT_LEASE_MS });
  } finally {
    await source.close();
  }
}

function builtinHasLookup(): (action: string) => boolean {
  const registry = createDefaultRegistry();
  return (action) => registry.get(action)?.reconcile !== undefined;
}

interface ReplayRun {
  readonly target: string;
  /** Which dead letters (the options of `dead-letters list`). */
  readonly query: DeadLetterQuery;
  readonly force: boolean;
  readonly timeoutMs: number;
  readonly protoDirs: readonly string[];
  readonly hasLookup: (action: string) => boolean;
  readonly busyWaitMs: number;
}

async function replayFrom(source: DeadLetterSource, io: CommandIO, run: ReplayRun): Promise<number> {
  const { target, query, force } = run;
  const read = await readQuery(source, query);
  for (const p of read.problems) io.stderr.write(`${p}\n`);
  const records = read.records;
  if (records.length === 0) {
    io.stdout.write(`no dead letters${describeQuery(query)} in ${source.where}\n`);
    return read.problems.length > 0 ? 1 : 0;
  }

  const catalog: Catalog = withCustomEvents(await loadCatalog({ dirs: run.protoDirs }));
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  let failures = 0;
  let skipped = 0;
  try {
    for (const record of records) {
      if (record.kind === 'unknown-outcome' && !force && !run.hasLookup(record.action)) {
        skipped++;
        io.stdout.write(`SKIPPED ${describe(record)}: outcome unknown (it may have been applied): check in AGS, replay with --force to send it again\n`);
        continue;
      }
      if (record.eventOmitted) {
        failures++;
        io.stdout.write(`FAILED ${describe(record)}: the event was too large to keep in the store (only its id was kept): resend it from its source\n`);
        continue;
      }
      const resolved = catalog.resolve(record.service);
      if (!resolved.ok) {
        failures++;
        io.stdout.write(`FAILED ${describe(record)}: service ${printable(record.service)} is ${resolved.reason} in the proto directories\n`);
        continue;
      }
      let bytes: Uint8Array;
      try {
        bytes = catalog.codec(resolved.service).encode(record.event);
      } catch (error) {
        failures++;
        io.stdout.write(`FAILED ${describe(record)}: cannot encode the event: ${printable(error instanceof Error ? error.message : String(error))}\n`);
        continue;
      }
      const error = await callUntilFree(client, resolved.service.path, bytes, record, run);
      if (!error) {
        const removed = source.remove ? await source.remove(record) : false;
        io.stdout.write(`OK ${describe(record)}${removed ? ' (removed from the store)' : ''}\n`);
      } else {
        failures++;
        // failed again: its newer dead letter (written by the handler) replaces this one
        const superseded = isFailedAgain(error) && source.remove ? await source.remove(record) : false;
        io.stdout.write(`${grpc.status[error.code] ?? error.code} ${describe(record)}: ${printable(error.details || error.message)}${superseded ? ' (replaced in the store by its newer dead letter)' : ''}\n`);
      }
    }
  } finally {
    client.close();
  }
  io.stdout.write(`${records.length - failures - skipped} of ${records.length} replayed OK${skipped > 0 ? `, ${skipped} skipped (unknown outcome)` : ''}\n`);
  if (read.next !== undefined) io.stdout.write(`more: --cursor ${read.next}\n`);
  return failures === 0 && read.problems.length === 0 ? 0 : 1;
}
