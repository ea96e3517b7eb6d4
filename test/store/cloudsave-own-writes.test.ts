/**
 * A game record (a dead-letter shard's open page) answers a write with 204 and
 * is read again before each write. When that read finds the store's own last
 * write unchanged (its write id), the next `update` continues from the frozen
 * document written (so the next write re-serialises only what it changes);
 * when anyone else changed or deleted the record since, from what the read
 * found. Real HTTP against the AGS stand-in.
 */
import { describe, expect, it } from 'vitest';
import { CloudSaveStateStore } from '../../src/store/cloudsave-state-store.js';
import type { StateDocument } from '../../src/store/state-store.js';
import { useAgsClients } from '../support/ags-fixture.js';

const G = { namespace: 'mygame', key: 'dl-0-0' };
const RECORD = 'own-writes-dl-0-0'; // `<record key>-<partition key>`

describe('Cloud Save store: a fresh read of its own last write', () => {
  const { ags, client } = useAgsClients();
  const store = (): CloudSaveStateStore => new CloudSaveStateStore({ ags: client(), recordKey: 'own-writes' });
  /** Appends `n` to the record's list; resolves with the document `update` was given. */
  const append = async (s: CloudSaveStateStore, n: number): Promise<StateDocument | undefined> => {
    let seen: StateDocument | undefined;
    await s.transact(G, (doc) => {
      seen = doc;
      return { next: { list: [...((doc?.list as number[] | undefined) ?? []), n] }, result: undefined };
    });
    return seen;
  };

  it('continues from the frozen document it wrote while the record holds that write; from the stored record once another writer changed or deleted it', async () => {
    const s = store();
    expect(await append(s, 1)).toBeUndefined();
    const own = await append(s, 2);
    expect(own).toEqual({ list: [1] });
    expect(Object.isFrozen(own)).toBe(true); // the document written, not a parsed copy
    expect(Object.isFrozen(await append(s, 3))).toBe(true);

    // another client of Cloud Save overwrites the record: its content, never the remembered one
    ags.cloudSave.putAdminRecord(undefined, RECORD, { w: 'someone-else', doc: { list: [9] } });
    expect(await append(s, 4)).toEqual({ list: [9] });
    expect(await s.read(G)).toEqual({ list: [9, 4] });

    // another replica writes, then one deletes it: each time what is stored now
    const other = store();
    expect(await append(other, 5)).toEqual({ list: [9, 4] });
    expect(await append(s, 6)).toEqual({ list: [9, 4, 5] });
    await other.delete(G);
    expect(await append(s, 7)).toBeUndefined();
    expect(await s.read(G)).toEqual({ list: [7] });
    expect(ags.violations).toEqual([]);
  });
});
