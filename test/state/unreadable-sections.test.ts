/**
 * Issue 22.8 (remainder): the stateful sections of a record (`events`: counts
 * and streaks, `rules`: limits, cooldowns, keyed limits) of a shape the ledger
 * does not write are never read as empty (which would count from zero again and
 * fire every limited rule anew): `UnreadableSectionError`, named by the
 * pipeline as the store's `UnreadableStateError` (UNAVAILABLE). What an earlier
 * release wrote still reads.
 */
import { describe, expect, it } from 'vitest';
import { Ledger, UnreadableSectionError } from '../../src/state/ledger.js';

const SHAPES: ReadonlyArray<[string, Record<string, unknown>, RegExp]> = [
  ['rules: "garbage"', { rules: 'garbage' }, /section "rules": a string, not an object/],
  ['rules: []', { rules: [] }, /section "rules": an array, not an object/],
  ['events: null', { events: null }, /section "events": null, not an object/],
  ['a rule\'s track is a number', { rules: { gift: 3 } }, /"gift" is a number, not a record/],
  ['a track\'s h is an object', { events: { userLoggedIn: { n: 1, h: { a: 1 } } } }, /"userLoggedIn" has "h" an object/],
  ['an entry that is not [ms, tag, seq]', { rules: { gift: { n: 1, h: [['2026', 'tag', 1]] } } }, /"gift" has an entry that is not/],
  ['n is a string', { rules: { gift: { n: '1', h: [] } } }, /"gift" has "n" a string/],
  ['streak runs of the wrong shape', { events: { userLoggedIn: { n: 1, h: [[1, 't', 1]], s: { 'day|UTC|0': 'x' } } } }, /"userLoggedIn" has "s"/],
  ['period counters of the wrong shape', { rules: { gift: { n: 1, h: [[1, 't', 1]], p: { 'day|UTC|0': 5 } } } }, /"gift" has "p"/],
];

describe('a stateful section that cannot be read fails closed', () => {
  it.each(SHAPES)('%s -> UnreadableSectionError, never empty', (_name, doc, message) => {
    expect(() => new Ledger(doc)).toThrow(UnreadableSectionError);
    expect(() => new Ledger(doc)).toThrow(message);
  });

  it('what the ledger writes, and entries of an earlier release ([ms, tag]), still read', () => {
    const ledger = new Ledger({ rules: { gift: { n: 2, h: [[1000, 'a'], [2000, 'b', 4]] } }, events: { userLoggedIn: { n: 1, h: [[1000, 'a', 1]], s: { 'day|UTC|0': [[1, 2]] } } }, other: 'kept' });
    expect(ledger.rules.gift).toEqual({ n: 2, h: [[1000, 'a', 0], [2000, 'b', 4]] });
    expect(ledger.events.userLoggedIn?.s).toEqual({ 'day|UTC|0': [[1, 2]] });
    expect(new Ledger(undefined).rules).toEqual({});
    expect(new Ledger({ actions: {} }).events).toEqual({});
  });
});
