/**
 * Identifiers in AGS paths are checked before sending (src/ags/identifiers.ts): the segment after
 * `/users/` is a user id, except the fixed segment of the paths naming many users (the Cloud Save
 * bulk read `.../users/adminrecords/{key}/bulk`, cloudsave.json).
 */
import { describe, expect, it } from 'vitest';
import { identifierError } from '../../src/ags/identifiers.js';
import { ops } from '../../src/ags/operations.js';

describe('identifiers in AGS paths', () => {
  it('the bulk read of players\' records: its users/adminrecords segment is no user id; its namespace is still checked', () => {
    const ok = ops.bulkGetAdminPlayerRecordByUserIdsV1('mygame', 'extend-event-rules-state', ['0123456789abcdef0123456789abcdef']);
    expect(ok.path).toBe('/cloudsave/v1/admin/namespaces/mygame/users/adminrecords/extend-event-rules-state/bulk');
    expect(ok.body).toEqual({ userIds: ['0123456789abcdef0123456789abcdef'] });
    expect(identifierError(ok.operation, ok.path, ok.query)).toBeUndefined();
    const bad = ops.bulkGetAdminPlayerRecordByUserIdsV1('my--game', 'k', []);
    expect(identifierError(bad.operation, bad.path, bad.query)?.message).toMatch(/namespace .*my--game.* is not an AGS namespace/);
  });

  it('a player path whose user id is "adminrecords" or any other non-id is still refused', () => {
    const get = ops.adminGetAdminPlayerRecordV1('mygame', 'adminrecordsX', 'k');
    expect(identifierError(get.operation, get.path, get.query)?.message).toMatch(/userId .*adminrecordsX.* is not an AGS user id/);
    const fulfil = ops.fulfillItem('mygame', 'adminrecords', { itemId: 'i', quantity: 1 });
    expect(identifierError(fulfil.operation, fulfil.path, fulfil.query)?.message).toMatch(/userId .*adminrecords.* is not an AGS user id/);
    const put = ops.adminPutAdminPlayerRecordConcurrentHandlerV1('mygame', 'adminrecords', 'k', { value: {}, updatedAt: new Date(0).toISOString() });
    expect(identifierError(put.operation, put.path, put.query)?.message).toMatch(/userId .*adminrecords.* is not an AGS user id/);
  });
});
