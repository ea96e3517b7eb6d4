/**
 * Read coalescing on the Cloud Save store (issue 23): reads of players'
 * records asked for while one is in flight go together as one bulk read
 * (`bulkGetAdminPlayerRecordByUserIdsV1`, at most 20 user ids), meaning what
 * the single GET means: absent only when a readable answer leaves the record
 * out; an answer that cannot be read fails every read in it, never "absent".
 * Calls counted at the AGS stand-in (real HTTP).
 */
import { describe, expect, it } from 'vitest';
import { ActionLedger, markIn } from '../../src/delivery/action-ledger.js';
import { AgsError } from '../../src/ags/errors.js';
import { CloudSaveStateStore } from '../../src/store/cloudsave-state-store.js';
import { StateStoreUnavailableError } from '../../src/store/state-store.js';
import type { Partition, StateDocument } from '../../src/store/state-store.js';
import { useAgsClients } from '../support/ags-fixture.js';
import { AgsOpenApi } from '../support/ags-openapi.js';
import { itWith, sharedFile } from '../support/prereq.js';

const HOUR = 3_600_000;
let counter = 0;
/** A fresh 32-hex user id (the stand-in's strict ids). */
const user = (): string => `${(++counter).toString(16).padStart(8, '0')}${'b'.repeat(24)}`;
const players = (n: number): Partition[] => Array.from({ length: n }, () => ({ namespace: 'mygame', userId: user() }));

describe('Cloud Save store: reads coalesced into bulk reads', () => {
  const { ags, client } = useAgsClients();
  const store = (recordKey: string, maxBulkRead?: number): CloudSaveStateStore => new CloudSaveStateStore({ ags: client(), recordKey, ...(maxBulkRead !== undefined ? { maxBulkRead } : {}) });
  /** Read calls since request `from`: single GETs, and the bulk reads' sizes (largest first). */
  const readCalls = (from: number, key: string): { singles: number; bulks: number[] } => {
    const calls = ags.requests.slice(from);
    return {
      singles: calls.filter((q) => q.operation === 'adminGetAdminPlayerRecordV1' && q.path.endsWith(`/adminrecords/${key}`)).length,
      bulks: calls.filter((q) => q.operation === 'bulkGetAdminPlayerRecordByUserIdsV1' && q.path.endsWith(`/adminrecords/${key}/bulk`)).map((q) => (q.body as { userIds: string[] }).userIds.length).sort((x, y) => y - x), // largest first
    };
  };

  it('N concurrent reads of first-seen players: the first alone, the others in bulk reads of at most 20, fewer calls than N; absent and present told apart', async () => {
    const key = 'bulk-first-seen';
    const ps = players(45);
    const writer = store(key);
    for (const p of ps.filter((_, i) => i % 3 === 0)) await writer.transact(p, () => ({ next: { mine: p.userId }, result: undefined }));
    // the first read goes alone; the 44 asked for while it is in flight: a full bulk of 20 at once, another, then 4
    const reader = store(key);
    const from = ags.requests.length;
    const docs = await Promise.all(ps.map((p) => reader.read(p)));
    expect(docs).toEqual(ps.map((p, i) => (i % 3 === 0 ? { mine: p.userId } : undefined)));
    expect(readCalls(from, key)).toEqual({ singles: 1, bulks: [20, 20, 4] });
    expect(reader.counts).toMatchObject({ reads: 1, bulkReads: 3, bulkReadRecords: 44 });
    expect(ags.violations).toEqual([]);
  });

  it('a read asked for while a read of the same player is in flight is answered by a later call, never by the one in flight', async () => {
    const key = 'bulk-fresh';
    const [p, q] = players(2);
    const s = store(key);
    const from = ags.requests.length;
    const first = s.read(p!); // alone: single GET, in flight
    const second = s.read(q!); // waits for it
    const third = s.read(p!); // waits too: its answer must be newer than its question
    const fourth = s.read(q!); // shares the bulk read with `second`
    expect(await Promise.all([first, second, third, fourth])).toEqual([undefined, undefined, undefined, undefined]);
    expect(readCalls(from, key)).toEqual({ singles: 1, bulks: [2] });
  });

  it('N concurrent first-seen players claimed (read, claim creating the record, read back): fewer reads than the 2N single GETs, each claimed once', async () => {
    const key = 'bulk-claims';
    const ps = players(40);
    const s = store(key);
    const ledger = new ActionLedger({ store: s, leaseMs: HOUR, retentionMs: HOUR });
    const from = ags.requests.length;
    const claims = await Promise.all(ps.map((p) => ledger.claim(p, `e-${p.userId}:r:0`)));
    expect(claims.map((c) => c.status)).toEqual(ps.map(() => 'claimed'));
    const { singles, bulks } = readCalls(from, key);
    expect(Math.max(...bulks)).toBeLessThanOrEqual(20);
    expect(bulks.reduce((a, b) => a + b, 0) + singles).toBe(2 * ps.length); // every read made, in fewer calls
    expect(singles + bulks.length).toBeLessThan(2 * ps.length - 20);
    expect(bulks.length).toBeGreaterThan(0);
    for (const p of ps) expect(markIn(ags.cloudSave.adminRecord(p.userId, key)?.value.doc as StateDocument, `e-${p.userId}:r:0`)?.s).toBe('c');
    console.log(`40 first-seen players claimed at once: ${singles} single GETs, ${bulks.length} bulk reads (${bulks.join(', ')} ids), ${ps.length} PUTs; the old code: 80 GETs`);
    expect(ags.violations).toEqual([]);
  });

  it('a read whose signal aborts while it waits is answered at once (unavailable: aborted); the reads beside it are not', async () => {
    const key = 'bulk-abort';
    const [p, q, r] = players(3);
    const s = store(key);
    const abort = new AbortController();
    const first = s.read(p!); // in flight
    const aborted = s.read(q!, { signal: abort.signal }); // waits
    const other = s.read(r!); // waits
    abort.abort();
    await expect(aborted).rejects.toThrow(/aborted/);
    await expect(aborted).rejects.toBeInstanceOf(StateStoreUnavailableError);
    expect(await Promise.all([first, other])).toEqual([undefined, undefined]);
    expect(s.counts.reads).toBe(2); // p's GET, then r's alone: q was left out
    expect(s.counts.bulkReads).toBe(0);
  });

  it('maxBulkRead 1: every read is a single GET (the old behaviour)', async () => {
    const key = 'bulk-off';
    const ps = players(5);
    const from = ags.requests.length;
    await Promise.all(ps.map((p) => store(key, 1).read(p)));
    const s = store(key, 1);
    await Promise.all(ps.map((p) => s.read(p)));
    expect(readCalls(from, key)).toEqual({ singles: 10, bulks: [] });
  });

  describe('an answer that cannot be read fails every read in it, never "absent" (fail closed)', () => {
    const bulkPath = (key: string): RegExp => new RegExp(`/users/adminrecords/${key}/bulk$`);
    /** One record exists; three reads wait behind a fourth in flight, so they go as one bulk read answered `answer`. */
    async function readsThrough(key: string, answer: Parameters<typeof ags.always>[1]): Promise<PromiseSettledResult<StateDocument | undefined>[]> {
      const ps = players(4);
      await store(key).transact(ps[1]!, () => ({ next: { granted: true }, result: undefined }));
      const s = store(key);
      ags.always(bulkPath(key), answer);
      try {
        const settled = await Promise.allSettled(ps.map((p) => s.read(p)));
        expect(settled[0]).toEqual({ status: 'fulfilled', value: undefined }); // the single GET, alone
        expect(s.counts.bulkReads).toBeGreaterThan(0);
        return settled.slice(1);
      } finally {
        ags.always();
      }
    }

    it.each([
      ['the declared {data} missing ({})', { garble: 'fieldsMissing' as const }],
      ['JSON cut short', { garble: 'truncated' as const }],
      ['an HTML page', { garble: 'wrongContentType' as const }],
      ['a record of a player not asked for', { status: 200, body: { data: [{ key: 'bulk-bad-3', namespace: 'mygame', user_id: 'f'.repeat(32), value: { w: 'x', doc: {} }, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' }] } }],
      ['a record without its updated_at', { status: 200, body: { data: [{ key: 'bulk-bad-4', namespace: 'mygame', user_id: 'x', value: {}, created_at: '2026-01-01T00:00:00Z' }] } }],
      ['a 500', { status: 500, body: { errorCode: 18185, errorMessage: 'unable to get record' } }],
    ])('%s', async (_name, answer) => {
      const key = `bulk-bad-${++counter}`;
      const settled = await readsThrough(key, answer);
      for (const r of settled) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StateStoreUnavailableError);
      }
    });

    it('a record twice in the answer', async () => {
      const key = `bulk-twice-${++counter}`;
      const ps = players(3);
      const rec = { key, namespace: 'mygame', user_id: ps[1]!.userId, value: { w: 'x', doc: {} }, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' };
      const s = store(key);
      ags.always(new RegExp(`/users/adminrecords/${key}/bulk$`), { status: 200, body: { data: [rec, rec] } });
      try {
        const settled = await Promise.allSettled(ps.map((p) => s.read(p)));
        expect(settled.slice(1).map((r) => r.status)).toEqual(['rejected', 'rejected']);
      } finally {
        ags.always();
      }
    });

    it('a claim whose bulk read cannot be read writes nothing and fails unavailable: the existing claim is never overwritten as if absent', async () => {
      const key = `bulk-claim-bad-${++counter}`;
      const ps = players(3);
      const other = new ActionLedger({ store: store(key), leaseMs: HOUR, retentionMs: HOUR });
      for (const p of ps) expect((await other.claim(p, `k-${p.userId}`)).status).toBe('claimed');
      const s = store(key);
      const ledger = new ActionLedger({ store: s, leaseMs: HOUR, retentionMs: HOUR });
      const writes = ags.cloudSave.writes();
      ags.always(new RegExp(`/users/adminrecords/${key}/bulk$`), { garble: 'fieldsMissing' });
      try {
        const settled = await Promise.allSettled(ps.map((p) => ledger.claim(p, `k-${p.userId}`)));
        expect(settled[0]).toEqual({ status: 'fulfilled', value: { status: 'busy' } }); // the single GET
        for (const r of settled.slice(1)) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StateStoreUnavailableError);
      } finally {
        ags.always();
      }
      expect(ags.cloudSave.writes()).toBe(writes);
      expect((await Promise.all(ps.map((p) => ledger.claim(p, `k-${p.userId}`)))).map((c) => c.status)).toEqual(['busy', 'busy', 'busy']);
    });
  });

  it('a 404 of the bulk read (errorCode 18186 names no record) sends each read again alone: absent only on 18152', async () => {
    const key = 'bulk-404';
    const ps = players(4);
    await store(key).transact(ps[2]!, () => ({ next: { here: true }, result: undefined }));
    const s = store(key);
    ags.fail(new RegExp(`/users/adminrecords/${key}/bulk$`), [{ status: 404, body: { errorCode: 18186, errorMessage: 'record not found' } }]);
    expect(await Promise.all(ps.map((p) => s.read(p)))).toEqual([undefined, undefined, { here: true }, undefined]);
    expect(s.counts).toMatchObject({ bulkReads: 1, bulkNotFound: 1, reads: 4 });
  });

  itWith(sharedFile('ags-openapi/cloudsave.json'), 'every bulk read sent and answered fits cloudsave.json (the oracle): path, body, answer', async () => {
    const key = 'bulk-oracle';
    const ps = players(6);
    await store(key).transact(ps[3]!, () => ({ next: { x: 1 }, result: undefined }));
    const from = ags.requests.length;
    const s = store(key);
    await Promise.all(ps.map((p) => s.read(p)));
    const bulks = ags.requests.slice(from).filter((q) => q.operation === 'bulkGetAdminPlayerRecordByUserIdsV1');
    expect(bulks).toHaveLength(1);
    const spec = new AgsOpenApi();
    for (const req of bulks) {
      expect(spec.find(req.method, req.path)?.operationId).toBe('bulkGetAdminPlayerRecordByUserIdsV1');
      expect(spec.checkRequest(req)).toEqual([]);
      expect(req.outcome).toBe(200);
      expect(spec.checkResponse('bulkGetAdminPlayerRecordByUserIdsV1', 200, req.answer)).toEqual([]);
      expect((req.answer as { data: unknown[] }).data).toHaveLength(1);
    }
  });

  it('the stand-in follows the spec: more than 20 user ids is a 400 (errorCode 18184)', async () => {
    const c = client();
    const ids = Array.from({ length: 21 }, () => user());
    const error = await c.bulkGetAdminPlayerRecordByUserIdsV1('mygame', 'bulk-limit', ids).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgsError);
    expect((error as AgsError).status).toBe(400);
    expect((error as AgsError).errorCode).toBe(18184);
    expect(ags.violations.splice(0)).toEqual([expect.stringContaining('the spec allows 20 at a time')]);
    expect(await c.bulkGetAdminPlayerRecordByUserIdsV1('mygame', 'bulk-limit', ids.slice(0, 20))).toEqual({ data: [] });
  });

  it('two replicas claim the same first-seen players\' events at once, with bulk reads: exactly one claim per event', async () => {
    const key = 'bulk-two-replicas';
    const ps = players(30);
    const [a, b] = [store(key), store(key)];
    const la = new ActionLedger({ store: a, leaseMs: HOUR, retentionMs: HOUR });
    const lb = new ActionLedger({ store: b, leaseMs: HOUR, retentionMs: HOUR });
    const both = await Promise.all(ps.flatMap((p) => [la.claim(p, `ev-${p.userId}:r:0`), lb.claim(p, `ev-${p.userId}:r:0`)]));
    const effects = new Map<string, number>();
    both.forEach((c, i) => {
      if (c.status === 'claimed') effects.set(ps[i >> 1]!.userId!, (effects.get(ps[i >> 1]!.userId!) ?? 0) + 1);
      else expect(c.status).toBe('busy');
    });
    expect(ps.map((p) => effects.get(p.userId!) ?? 0)).toEqual(ps.map(() => 1));
    expect(a.counts.bulkReads + b.counts.bulkReads).toBeGreaterThan(0);
    for (const p of ps) expect(markIn(ags.cloudSave.adminRecord(p.userId, key)?.value.doc as StateDocument, `ev-${p.userId}:r:0`)?.s).toBe('c');
    expect(ags.violations).toEqual([]);
  });
});
