/**
 * Where the copies of a dead letter are: the same idempotency key dead-lettered again after its
 * first record's page was sealed (a replica killed between writing a dead letter and marking the
 * action, then the redelivery; a `replay` cut short after its action failed again) leaves older
 * records in earlier pages of the same shard (the shard is chosen by the key). The listing shows
 * the newest only and removes the older ones with it; the sweep does not count an expiring older
 * copy as a dead letter expired. The sealed pages that may hold a copy are found by the shard's key
 * digests (`dl-<shard>-keys`, see `dead-letter-pages.ts`), then read to confirm.
 */
import type { StateDocument, StateStore } from '../store/index.js';
import { DIGEST_CHARS, indexOf, indexPartition, keyDigest, keyDigestsOf, keysPartition, pageOf, pagePartition, recordsOf } from './dead-letter-pages.js';
import type { KeyDigests, Page, ShardIndex } from './dead-letter-pages.js';

export interface StoreDeadLettersAt {
  readonly store: StateStore;
  /** AGS namespace (`AB_NAMESPACE`). */
  readonly namespace: string;
}

/** One shard's chain as a listing reads it: its pages read at most once, and where each key digest may have copies. */
export class ShardChain {
  readonly #pages = new Map<number, Promise<{ page: Page; keys: Map<string, number> }>>();
  /** Key digest -> the sealed pages whose recorded digests name it (or, without recorded digests, whose records do: read). */
  #byDigest: Map<string, number[]> | undefined;
  /** The open page's keys -> seq. */
  #openKeys: Map<string, number> | undefined;

  constructor(
    readonly at: StoreDeadLettersAt,
    readonly s: number,
    readonly index: ShardIndex,
    openDoc: StateDocument | undefined,
    readonly digests: KeyDigests,
  ) {
    this.#pages.set(index.open, Promise.resolve(this.#keyed(pageOf(openDoc, at.store.kind, this.#where(index.open)))));
  }

  #where(p: number): string {
    return this.at.store.describe?.(pagePartition(this.at.namespace, this.s, p)) ?? `dl-${this.s}-${p}`;
  }

  #keyed(page: Page): { page: Page; keys: Map<string, number> } {
    return { page, keys: new Map(recordsOf(page).map((r) => [r.idempotencyKey, r.seq ?? 0])) };
  }

  /** Page `p` of this shard (read once; absent: empty). */
  page(p: number): Promise<{ page: Page; keys: Map<string, number> }> {
    let read = this.#pages.get(p);
    if (!read) {
      read = this.at.store.read(pagePartition(this.at.namespace, this.s, p)).then((doc) => this.#keyed(pageOf(doc, this.at.store.kind, this.#where(p))));
      this.#pages.set(p, read);
    }
    return read;
  }

  /** Reads what {@link ShardChain.copiesOf} needs: the open page's keys, and the sealed pages without digests (sealed by earlier versions, or by a replica that crashed before recording them). */
  async prepare(): Promise<this> {
    const by = new Map<string, number[]>();
    const add = (d: string, p: number): void => void (by.get(d) ?? by.set(d, []).get(d)!).push(p);
    for (const e of this.index.pages) {
      const k = this.digests.pages[String(e.p)];
      if (k !== undefined) for (let i = 0; i + DIGEST_CHARS <= k.length; i += DIGEST_CHARS) add(k.slice(i, i + DIGEST_CHARS), e.p);
      else for (const key of (await this.page(e.p)).keys.keys()) add(keyDigest(key), e.p);
    }
    this.#byDigest = by;
    this.#openKeys = (await this.page(this.index.open)).keys;
    return this;
  }

  /**
   * Whether a newer copy of the record of `key` in page `p` is held (in a later page), and the refs of its
   * older copies. Synchronous unless a sealed page whose digests match must be read to confirm (after {@link ShardChain.prepare}).
   */
  copiesOf(key: string, p: number): { newer: boolean; older: string[] } | Promise<{ newer: boolean; older: string[] }> {
    if (p < this.index.open && this.#openKeys!.has(key)) return { newer: true, older: [] };
    const candidates = (this.#byDigest!.get(keyDigest(key)) ?? []).filter((q) => q !== p);
    if (candidates.length === 0) return { newer: false, older: [] };
    return (async () => {
      const older: string[] = [];
      for (const q of candidates) {
        const seq = (await this.page(q)).keys.get(key);
        if (seq === undefined) continue;
        if (q > p) return { newer: true, older: [] };
        older.push(`${this.s}.${q}.${seq}`);
      }
      return { newer: false, older };
    })();
  }
}

/**
 * Shard `s` as it is now: its index, open page and key digests read (and the sealed pages without digests).
 * @throws the store's StateStoreUnavailableError / UnreadableStateError
 */
export async function openShardChain(at: StoreDeadLettersAt, s: number): Promise<ShardChain> {
  const { store, namespace } = at;
  const where = store.describe?.(indexPartition(namespace, s)) ?? `dl-${s}`;
  const index = indexOf(await store.read(indexPartition(namespace, s)), store.kind, where);
  const [open, keys] = await Promise.all([store.read(pagePartition(namespace, s, index.open)), store.read(keysPartition(namespace, s))]);
  return new ShardChain(at, s, index, open, keyDigestsOf(keys)).prepare();
}
