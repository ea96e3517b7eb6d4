/**
 * Only Cloud Save's own "record not found" (404 with errorCode 18152 for a
 * player's admin record, 18140 for a game's: cloudsave.json) says a state
 * record is absent. Another 404 (a gateway's "no route" while Cloud Save is
 * redeployed) says nothing of it: read as absent, the player's marks would be
 * lost and every redelivered event sent again. Real HTTP against the AGS
 * stand-in.
 */
import { describe, expect, it } from 'vitest';
import { CloudSaveStateStore } from '../../src/store/cloudsave-state-store.js';
import { StateStoreUnavailableError } from '../../src/store/state-store.js';
import { useAgsClients } from '../support/ags-fixture.js';

const P = { namespace: 'mygame', userId: '0123456789abcdef0123456789abcdef' };

describe('Cloud Save store: which 404 means "no record"', () => {
  const { ags, client } = useAgsClients();
  const store = (): CloudSaveStateStore => new CloudSaveStateStore({ ags: client(), recordKey: 'not-found' });

  it('a gateway 404 without the record-not-found code is unavailable, never "absent"; the record-not-found 404 is absent', async () => {
    const writer = store();
    await writer.transact(P, () => ({ next: { marks: ['granted'] }, result: 0 }));
    const reader = store();
    ags.fail(/\/adminrecords\/not-found$/, [{ status: 404, body: { message: 'no Route matched with those values' } }]);
    await expect(reader.read(P)).rejects.toThrow(StateStoreUnavailableError);
    ags.fail(/\/adminrecords\/not-found$/, [{ status: 404, headers: { 'content-type': 'text/html' }, body: '<html>404 page not found</html>' }]);
    await expect(reader.transact(P, () => ({ next: { marks: [] }, result: 0 }))).rejects.toThrow(StateStoreUnavailableError);
    expect(await reader.read(P)).toEqual({ marks: ['granted'] }); // nothing lost
    expect(await store().read({ namespace: 'mygame', userId: 'fedcba9876543210fedcba9876543210' })).toBeUndefined(); // Cloud Save's own 404 18152
  });
});
