/** The prerequisite helper: a missing one skips without running the suite's body, or fails in CI. */
import { afterEach, describe, expect, it } from 'vitest';
import { describeWith, need } from './prereq.js';

const missing = { ok: false, reason: 'the test fixture /nonexistent/thing is absent', notice: false };
const savedCi = process.env.CI;

describe('describeWith', () => {
  let bodyRan = false;
  delete process.env.CI;
  describeWith(missing, 'a suite needing /nonexistent/thing', () => {
    bodyRan = true;
    it('never runs', () => {
      throw new Error('ran');
    });
  });
  if (savedCi === undefined) delete process.env.CI;
  else process.env.CI = savedCi;

  let presentRan = false;
  describeWith([{ ok: true, reason: '' }], 'a suite whose prerequisites are present', () => {
    presentRan = true;
    it('runs', () => expect(true).toBe(true));
  });

  afterEach(() => {
    if (savedCi === undefined) delete process.env.CI;
    else process.env.CI = savedCi;
  });

  it('does not run the body of a suite whose prerequisite is missing (describe.skipIf does)', () => {
    expect(bodyRan).toBe(false);
    expect(presentRan).toBe(true);
  });

  it('skips with the reason outside CI and fails with it under CI=true', () => {
    delete process.env.CI;
    expect(need(missing)).toBe(false);
    process.env.CI = 'true';
    expect(() => need(missing)).toThrow('CI=true and a test prerequisite is missing: the test fixture /nonexistent/thing is absent');
  });
});
