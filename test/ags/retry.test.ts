/**
 * Which answers may follow an applied request (`mayHaveApplied`): 500/502/504, and Envoy's 503 for a
 * stream reset after sending, told from its 503s before sending by the reset reason it names.
 */
import { describe, expect, it } from 'vitest';
import { envoyResetAfterSending, isRetriableStatus, mayHaveApplied } from '../../src/ags/retry.js';

const envoy = (tail: string): string => `upstream connect error or disconnect/reset before headers. ${tail}`;

describe('mayHaveApplied', () => {
  it.each([500, 502, 504])('%i: may have been applied', (status) => expect(mayHaveApplied(status)).toBe(true));

  it.each([
    ['reset reason: connection termination', true],
    ['reset reason: remote reset', true],
    ['reset reason: local reset', true],
    ['reset reason: protocol error', true],
    ['reset reason: some reason Envoy adds later', true],
    ['retried and the latest reset reason: connection termination', true],
    ['reset reason: connection failure', false],
    ['reset reason: remote connection failure, transport failure reason: delayed connect error: 111', false],
    ['retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: 113', false],
    ['reset reason: local connection failure', false],
    ['reset reason: connection timeout', false],
    ['reset reason: overflow', false],
    ['reset reason: overload manager reset', false],
    ['reset reason: remote refused stream reset', false],
  ] as const)("Envoy's 503 \"... %s\": %s", (tail, applied) => {
    expect(mayHaveApplied(503, envoy(tail))).toBe(applied);
    expect(envoyResetAfterSending(503, envoy(tail))).toBe(applied);
  });

  it.each([
    ['AGS\'s own error', JSON.stringify({ errorCode: 20000, errorMessage: 'service unavailable' })],
    ['no body', ''],
    ['an HTML page', '<html><body>503 Service Temporarily Unavailable</body></html>'],
    ["Envoy's no healthy upstream", 'no healthy upstream'],
  ])('any other 503 (%s) was not handled: retried', (_name, text) => expect(mayHaveApplied(503, text)).toBe(false));

  it("the reset text on another status is that status's case", () => {
    expect(mayHaveApplied(429, envoy('reset reason: connection termination'))).toBe(false);
    expect(envoyResetAfterSending(502, envoy('reset reason: connection termination'))).toBe(false);
  });
});

describe('isRetriableStatus', () => {
  it('409 is retried only as AGS\'s "optimistic lock" (errorCode 20006, as a number or text); other 409s are permanent', () => {
    expect(isRetriableStatus(409, false, 20006)).toBe(true);
    expect(isRetriableStatus(409, false, '20006')).toBe(true);
    expect(isRetriableStatus(409, false, 12273)).toBe(false); // updateUserStatItemValue: "Stat is not decreasable"
    expect(isRetriableStatus(409, false)).toBe(false);
    expect(isRetriableStatus(409, true, 38121)).toBe(false);
  });
});
