/**
 * Identifiers in AGS paths are checked before sending (src/ags/identifiers.ts): the segment after
 * `/users/` is a user id, except the fixed segment of the paths naming many users (the Cloud Save
 * bulk read `.../users/adminrecords/{key}/bulk`, cloudsave.json).
 */
import { describe, expect, it } from 'vitest';
import { identifierError, namespaceProblem, userIdProblem } from '../../src/ags/identifiers.js';
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

  it('reads the segments of a path as path.split("/") gives them (every edge: empty, first, last, repeated, collection)', () => {
    // the reading as written before the in-place scan, as the reference
    const reference = (operation: string, path: string): string[] => {
      const segments = path.split('/');
      const problems: string[] = [];
      for (let i = 0; i + 1 < segments.length; i++) {
        const name = segments[i];
        if (name !== 'namespaces' && name !== 'users') continue;
        let value = segments[i + 1]!;
        if (value.includes('%')) {
          try {
            value = decodeURIComponent(value);
          } catch {
            // as written
          }
        }
        if (name === 'users' && i + 2 < segments.length && operation === 'bulkGetAdminPlayerRecordByUserIdsV1' && segments[i + 1] === 'adminrecords') continue;
        const problem = name === 'users' ? userIdProblem(value) : namespaceProblem(value);
        if (problem !== undefined) problems.push(`${name === 'users' ? 'userId' : 'namespace'} ${problem}`);
      }
      return problems;
    };
    const user = '0123456789abcdef0123456789abcdef';
    const paths = [
      '', '/', 'users', '/users', '/users/', 'users/x', '/users/x', `/users/${user}`, `/users/${user}/`, 'namespaces', '/namespaces/', '/namespaces/ns', 'namespaces/ns/users',
      '/namespaces//users/x', '/namespaces/users/users/x', '/users/users/x', '/users/namespaces/ns', '/namespaces/namespaces/bad ns', '/users/adminrecords', '/users/adminrecords/k',
      '/users/adminrecords/', '/xusers/x', '/usersx/x', '/namespace/x', '/namespaces/my%2Dgame/users/%30123', '/namespaces/%zz/users/%', `/a/namespaces/ok/b/users/${user}/c/users/bad`,
      '//users//namespaces//', `/cloudsave/v1/admin/namespaces/mygame/users/adminrecords/key/bulk`, `/platform/admin/namespaces/benchns/users/${user}/fulfillment`,
    ];
    for (const operation of ['fulfillItem', 'bulkGetAdminPlayerRecordByUserIdsV1']) {
      for (const path of paths) {
        const want = reference(operation, path);
        const got = identifierError(operation, path, undefined)?.errorMessage;
        expect({ operation, path, got }).toEqual({ operation, path, got: want.length > 0 ? `refused before sending: ${want.join('; ')}` : undefined });
      }
    }
  });
});
