/**
 * Dead letters: events whose action failed permanently, kept so nothing is lost
 * silently and `extend-event-rules replay` can send them again once fixed.
 *
 * The file sink writes JSON Lines. Each record is one `write` of one complete
 * line to a file opened with O_APPEND, so lines from concurrent writers (several
 * in this process: a queue serializes them; several processes: O_APPEND) never
 * interleave, and a crash can at worst leave an incomplete *last* line, which
 * {@link readDeadLetters} skips and the next writer terminates before appending.
 */
import { redactKnownText, redactText } from '../telemetry/index.js';
import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { DecodedEvent } from '../events/index.js';

/** One dead letter: enough to understand the failure and to rebuild and resend the event. */
export interface DeadLetterRecord {
  /** Record format version. */
  readonly version: 1;
  /** When the record was written (ISO 8601). */
  readonly timestamp: string;
  /** Event name (`userLoggedIn`). */
  readonly eventName: string;
  /** Full name of the gRPC service the event came on (`accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService`). */
  readonly service: string;
  /** Event `id` ('' when the event had none). */
  readonly eventId: string;
  /** The action's idempotency key (`<eventKey>:<rule>:<actionKey>`). */
  readonly idempotencyKey: string;
  readonly rule: string;
  /** 0-based position of the action in the rule's `do` list. */
  readonly index: number;
  readonly action: string;
  readonly error: {
    readonly name: string;
    readonly message: string;
    /** HTTP status, for AGS errors. */
    readonly status?: number;
    /** AGS error code, for AGS errors. */
    readonly errorCode?: number | string;
  };
  /** Deliveries of this action that failed, this one included. */
  readonly attempts: number;
  /**
   * `unknown-outcome`: the request was sent and its answer lost, and the action has no way to
   * find out whether it was applied: it is not sent again (`replay` skips it unless `--force`).
   * Absent: it failed.
   */
  readonly kind?: 'unknown-outcome';
  /**
   * The earliest instant an attempt of the action may have been sent (ISO 8601): its claim's, or an earlier
   * attempt's whose answer was lost. An `unknown-outcome` dead letter may be written long after that
   * attempt (its lookup failing meanwhile); once the action's mark has expired, `replay`'s lookup starts
   * from here ({@link replaySinceOf}), not from the dead letter's time. Present only when earlier than the
   * dead letter's time less the claim lease (where such a lookup starts anyway), and not in records of earlier versions.
   */
  readonly sentSince?: string;
  /** The decoded event (json names), as the codec can encode it back. */
  readonly event: DecodedEvent;
}

/**
 * A dead letter's JSON as it is kept: registered secrets redacted everywhere, and `Bearer`/`Basic` credentials
 * too except in its event. The event is kept as it came (`replay` sends it again: a display name or chat line
 * "Bearer ..." rewritten would make the replay another event, with another text, another condition outcome, or
 * another id where the id is derived from the body); the error, which may echo this app's request headers, is
 * redacted whole.
 */
export function deadLetterJson(record: DeadLetterRecord): string {
  const { event, ...rest } = record;
  const head = redactText(JSON.stringify(rest));
  return `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"event":${redactKnownText(JSON.stringify(event))}}`;
}

/**
 * The `x-event-rules-replay-since` header of a replay of `record`: the earlier of its {@link DeadLetterRecord.sentSince}
 * and its timestamp (the handler starts the lookup of an action whose mark is gone there, less the claim lease).
 */
export function replaySinceOf(record: Pick<DeadLetterRecord, 'timestamp' | 'sentSince'>): string {
  const sent = record.sentSince === undefined ? Number.NaN : Date.parse(record.sentSince);
  return Number.isFinite(sent) && !(Date.parse(record.timestamp) <= sent) ? record.sentSince! : record.timestamp;
}

export interface DeadLetterSink {
  /** Persist one record. Rejects if it could not be written (the event is then redelivered). */
  write(record: DeadLetterRecord): Promise<void>;
  /** Flush and close. */
  close(): Promise<void>;
}

/** A dead letter could not be written. */
export class DeadLetterWriteError extends Error {
  override readonly name: string = 'DeadLetterWriteError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`cannot write dead letter to ${path}: ${reason}`);
  }
}

export interface JsonlDeadLetterSinkOptions {
  /** The JSON Lines file, created if absent. Default: `dead-letters.jsonl` (relative to the working directory). */
  readonly path?: string;
  /** `fsync` after each record (survives a machine crash, slower). Default: false. */
  readonly fsync?: boolean;
}

export class JsonlDeadLetterSink implements DeadLetterSink {
  readonly path: string;
  readonly #fsync: boolean;
  #handle: Promise<FileHandle> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: JsonlDeadLetterSinkOptions = {}) {
    this.path = options.path ?? 'dead-letters.jsonl';
    this.#fsync = options.fsync ?? false;
  }

  async #open(): Promise<FileHandle> {
    const handle = await open(this.path, 'a+');
    // A previous crash may have left an unterminated last line: terminate it so ours starts clean.
    const { size } = await handle.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) await handle.write('\n');
    }
    return handle;
  }

  /**
   * Opens the file for appending now (creating it if absent), so an unwritable path fails at
   * start-up rather than at the first permanent failure. Rejects with {@link DeadLetterWriteError}.
   */
  async check(): Promise<void> {
    try {
      this.#handle ??= this.#open();
      await this.#handle;
    } catch (error) {
      this.#handle = undefined;
      throw new DeadLetterWriteError(this.path, error instanceof Error ? error.message : String(error));
    }
  }

  write(record: DeadLetterRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new DeadLetterWriteError(this.path, 'the sink is closed'));
    const line = Buffer.from(`${deadLetterJson(record)}\n`, 'utf8');
    const task = this.#queue.then(async () => {
      try {
        this.#handle ??= this.#open();
        const handle = await this.#handle;
        let offset = 0;
        while (offset < line.length) {
          const { bytesWritten } = await handle.write(line, offset, line.length - offset);
          offset += bytesWritten;
        }
        if (this.#fsync) await handle.sync();
      } catch (error) {
        this.#handle = undefined;
        throw new DeadLetterWriteError(this.path, error instanceof Error ? error.message : String(error));
      }
    });
    this.#queue = task.catch(() => undefined);
    return task;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle) await (await handle.catch(() => undefined))?.close();
  }
}

/** Keeps records in memory (tests, embedding). */
export class MemoryDeadLetterSink implements DeadLetterSink {
  readonly records: DeadLetterRecord[] = [];
  write(record: DeadLetterRecord): Promise<void> {
    this.records.push(record);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface DeadLetterFile {
  readonly records: DeadLetterRecord[];
  /** 1-based numbers of lines that are not records (skipped), with why. */
  readonly problems: { readonly line: number; readonly reason: string }[];
  /** An unterminated last line was ignored (a write cut short by a crash). */
  readonly incompleteTail: boolean;
}

function isRecord(value: unknown): value is DeadLetterRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return typeof r.service === 'string' && typeof r.rule === 'string' && typeof r.event === 'object' && r.event !== null;
}

/** Reads a dead-letter file. Throws the fs error when it cannot be read (ENOENT...). */
export async function readDeadLetters(path: string): Promise<DeadLetterFile> {
  const text = await readFile(path, 'utf8');
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  const records: DeadLetterRecord[] = [];
  const problems: { line: number; reason: string }[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const value: unknown = JSON.parse(line);
      if (isRecord(value)) records.push(value);
      else problems.push({ line: i + 1, reason: 'not a dead-letter record (needs service, rule, event)' });
    } catch (error) {
      problems.push({ line: i + 1, reason: `not JSON: ${error instanceof Error ? error.message : String(error)}` });
    }
  });
  return { records, problems, incompleteTail: tail.trim() !== '' };
}
