/**
 * Dead letters kept in the shared state store (`STATE_STORE=cloudsave|redis`):
 * they survive redeploys and every replica writes to, and `replay` /
 * `dead-letters list` read from, the same place.
 *
 * Where: the namespace's game-wide partition (`{ namespace }`, no player), in
 * its own section `deadLetters` (`{ v: 1, list: [...] }`, oldest first), so
 * listing them all is one read. On Cloud Save that is the admin game record.
 *
 * Bounds (applied on every write, inside the same optimistic `transact`):
 * - retention: records older than `retentionMs` are dropped (DEAD_LETTER_RETENTION_HOURS);
 * - count: at most `maxRecords` (default 500), the oldest dropped first;
 * - size: the section's JSON at most `maxSectionBytes` (default 150 000 bytes, well
 *   under Cloud Save's recommended 250 KB record), the oldest dropped first;
 * - an event whose JSON exceeds `maxEventBytes` (default 16 384) is kept without its
 *   payload (`eventOmitted: true`, only `id` kept): listed, but `replay` cannot resend it.
 * One dead letter per idempotency key: a newer failure of the same action replaces the older.
 *
 * Records arrive redacted from the executor; they are redacted once more here
 * (the same pass as the JSONL file) and never carry credentials.
 */
import { redactText } from '../telemetry/index.js';
import type { StateDocument, StateStore } from '../store/index.js';
import { DeadLetterWriteError } from './dead-letters.js';
import type { DeadLetterRecord, DeadLetterSink } from './dead-letters.js';

/** The section of the game partition's document holding the dead letters. */
export const DEAD_LETTER_SECTION = 'deadLetters';
/** Default most dead letters kept. */
export const DEFAULT_MAX_DEAD_LETTERS = 500;
/** Default budget of the whole section, bytes of JSON. */
export const DEFAULT_MAX_SECTION_BYTES = 150_000;
/** Default largest event payload kept, bytes of JSON. */
export const DEFAULT_MAX_EVENT_BYTES = 16_384;

/** A dead letter as stored: the record, maybe without its payload. */
export type StoredDeadLetter = DeadLetterRecord & {
  /** The payload was larger than `maxEventBytes` and was not kept (`event` holds only its `id`). */
  readonly eventOmitted?: true;
};

interface Section {
  readonly v: 1;
  readonly list: StoredDeadLetter[];
}

export interface StoreDeadLetterOptions {
  readonly store: StateStore;
  /** AGS namespace (`AB_NAMESPACE`): whose game partition. */
  readonly namespace: string;
  /** Records older than this are dropped, ms. Required. */
  readonly retentionMs: number;
  /** Most records kept. Default: {@link DEFAULT_MAX_DEAD_LETTERS}. */
  readonly maxRecords?: number;
  /** Budget of the section's JSON, bytes. Default: {@link DEFAULT_MAX_SECTION_BYTES}. */
  readonly maxSectionBytes?: number;
  /** Largest event payload kept, bytes of JSON. Default: {@link DEFAULT_MAX_EVENT_BYTES}. */
  readonly maxEventBytes?: number;
  /** Clock, ms since the epoch. Default: `Date.now`. */
  readonly now?: () => number;
}

function sectionOf(doc: StateDocument | undefined): StoredDeadLetter[] {
  const s = doc?.[DEAD_LETTER_SECTION] as Partial<Section> | undefined;
  return Array.isArray(s?.list) ? s.list : [];
}

function fresh(list: readonly StoredDeadLetter[], now: number, retentionMs: number): StoredDeadLetter[] {
  return list.filter((r) => {
    const t = Date.parse(r.timestamp);
    return Number.isNaN(t) || now - t <= retentionMs;
  });
}

/** The dead-letter sink of the cloudsave and redis stores. */
export class StoreDeadLetterSink implements DeadLetterSink {
  readonly #o: Required<Omit<StoreDeadLetterOptions, 'now'>> & { now: () => number };
  #closed = false;

  constructor(options: StoreDeadLetterOptions) {
    this.#o = {
      maxRecords: DEFAULT_MAX_DEAD_LETTERS,
      maxSectionBytes: DEFAULT_MAX_SECTION_BYTES,
      maxEventBytes: DEFAULT_MAX_EVENT_BYTES,
      now: Date.now,
      ...options,
    };
  }

  /**
   * Adds the record (bounded as described in the module). Rejects with the store's
   * `StateStoreUnavailableError` (the event is then redelivered), or
   * {@link DeadLetterWriteError} once closed.
   */
  async write(record: DeadLetterRecord): Promise<void> {
    if (this.#closed) throw new DeadLetterWriteError(`the ${this.#o.store.kind} state store`, 'the sink is closed');
    const { store, namespace, retentionMs, maxRecords, maxSectionBytes, maxEventBytes } = this.#o;
    let stored = JSON.parse(redactText(JSON.stringify(record))) as StoredDeadLetter;
    if (Buffer.byteLength(JSON.stringify(stored.event)) > maxEventBytes) {
      stored = { ...stored, event: { id: stored.event.id ?? '' }, eventOmitted: true };
    }
    const now = this.#o.now();
    await store.transact({ namespace }, (doc) => {
      const list = fresh(sectionOf(doc), now, retentionMs).filter((r) => r.idempotencyKey !== stored.idempotencyKey);
      list.push(stored);
      while (list.length > maxRecords) list.shift();
      while (list.length > 1 && Buffer.byteLength(JSON.stringify(list)) > maxSectionBytes) list.shift();
      const section: Section = { v: 1, list };
      return { next: { ...doc, [DEAD_LETTER_SECTION]: section }, result: undefined };
    });
  }

  /** Nothing to flush (the store is closed by its owner). */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

/** The dead letters in the store, oldest first, expired ones left out. */
export async function listStoredDeadLetters(options: Pick<StoreDeadLetterOptions, 'store' | 'namespace' | 'retentionMs' | 'now'>): Promise<StoredDeadLetter[]> {
  const doc = await options.store.read({ namespace: options.namespace });
  return fresh(sectionOf(doc), (options.now ?? Date.now)(), options.retentionMs);
}

/**
 * Removes one dead letter (after a successful replay). Only the very record
 * read is removed: if the same action failed again meanwhile (a newer
 * `timestamp`), the newer one stays. Answers whether a record was removed.
 */
export async function removeStoredDeadLetter(options: Pick<StoreDeadLetterOptions, 'store' | 'namespace'>, record: DeadLetterRecord): Promise<boolean> {
  return options.store.transact({ namespace: options.namespace }, (doc) => {
    const list = sectionOf(doc);
    const kept = list.filter((r) => !(r.idempotencyKey === record.idempotencyKey && r.timestamp === record.timestamp));
    if (kept.length === list.length) return { result: false };
    const section: Section = { v: 1, list: kept };
    return { next: { ...doc, [DEAD_LETTER_SECTION]: section }, result: true };
  });
}
