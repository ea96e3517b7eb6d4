/**
 * src/ags/generated/spec-constraints.ts is generated from AccelByte's OpenAPI specs
 * (scripts/spec-constraints.mjs): regenerating it from ../shared must give the
 * committed file, and the action builders' labels must be its operation ids.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ops } from '../../src/ags/operations.js';
import { SPEC_OPERATIONS, specEnum, specIntegerRange } from '../../src/ags/spec.js';
import { describeWith, sharedFile } from '../support/prereq.js';
// @ts-expect-error: a plain .mjs script without types
import { OUTPUT, extract, render } from '../../scripts/spec-constraints.mjs';

describeWith(sharedFile('ags-openapi/platform.json'), 'generated spec constraints', () => {
  it('regenerating from ../shared/ags-openapi gives the committed file', () => {
    const fresh = (render as (c: unknown) => string)((extract as () => unknown)());
    expect(readFileSync(OUTPUT as string, 'utf8')).toBe(fresh);
  });
});

describe('spec constraints in use', () => {
  it('every request builder is labelled with an operation id of the generated constraints, method and path included', () => {
    const U = '0123456789abcdef0123456789abcdef';
    const built = [
      ops.fulfillItem('ns', U, { quantity: 1 }),
      ops.fulfillItemsV3('ns', U, 'tx', { items: [] }),
      ops.grantUserEntitlement('ns', U, []),
      ops.creditUserWallet('ns', U, 'C', { amount: 1 }),
      ops.updateUserStatItemValue('ns', U, 's', { updateStrategy: 'MAX', value: 1 }),
      ops.adminUnlockAchievement('ns', U, 'a'),
      ops.sendSpecificUserFreeformNotificationV1Admin('ns', U, { topicName: 't', message: 'm' }),
      ops.sendSpecificUserTemplatedNotificationV1Admin('ns', U, { topicName: 't', templateSlug: 's', templateLanguage: 'en', templateContext: {} }),
      ops.adminBanUserV3('ns', U, { ban: 'LOGIN', comment: '', endDate: '2030-01-01T00:00:00Z', reason: 'CHEATING', skipNotif: false }),
      ops.grantUserExp('ns', U, { exp: 1 }),
      ops.adminPutPlayerRecordHandlerV1('ns', U, 'k', {}),
      ops.adminPostPlayerRecordHandlerV1('ns', U, 'k', {}),
    ];
    expect(built.map((b) => b.operation).sort()).toEqual(Object.keys(SPEC_OPERATIONS).sort());
    for (const b of built) {
      const spec = SPEC_OPERATIONS[b.operation as keyof typeof SPEC_OPERATIONS];
      expect(b.method, b.operation).toBe(spec.method);
      const pattern = new RegExp(`^${spec.path.replace(/\{\w+\}/g, '[^/]+')}$`);
      expect(b.path, b.operation).toMatch(pattern);
    }
  });

  it('enums and ranges come from the spec: EXPIRATION is a fulfillment source, not a wallet credit source', () => {
    expect(specEnum('fulfillItem', 'source')).toContain('EXPIRATION');
    expect(specEnum('creditUserWallet', 'source')).not.toContain('EXPIRATION');
    expect(specIntegerRange('creditUserWallet', 'amount')).toEqual({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
    expect(specIntegerRange('fulfillItem', 'quantity', 1)).toEqual({ minimum: 1, maximum: 2 ** 31 - 1 });
  });
});
