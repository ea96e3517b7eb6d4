/**
 * Issue 23 (no-match events): an event whose rules are decided on top-level string fields alone is
 * decoded only for those fields and its id (`codec.decodeFields`, src/events/top-level.ts). It must
 * refuse exactly what the whole decode refuses, with the same reason, and read exactly the values
 * the whole decode reads: the last occurrence of a field, '' when absent. Anything else than a
 * plain string field: undefined (the host then decodes the whole event).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import { codec } from '../../src/events/codec.js';
import { sampleEvent } from '../../src/events/samples.js';
import { EventDecodeError } from '../../src/events/types.js';
import type { DecodedEvent, EventCodec, EventService } from '../../src/events/types.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';
import { testSeed } from '../support/seed.js';

let login: EventService;
let c: EventCodec;

beforeAll(async () => {
  const catalog = await loadCatalog({ dirs: [FIXTURE_PROTO_DIR] });
  const r = catalog.resolve('userLoggedIn');
  if (!r.ok) throw new Error('userLoggedIn not in the fixture');
  login = r.service;
  c = codec(login);
});

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 127; n = Math.floor(n / 128)) out.push((n % 128) | 128);
  out.push(n);
  return out;
}
const tag = (no: number, wt: number): number[] => varint(no * 8 + wt);
const str = (no: number, s: string): number[] => {
  const b = [...Buffer.from(s, 'utf8')];
  return [...tag(no, 2), b.length, ...b];
};
const NAMES = Object.freeze(['namespace', 'userId']);

/** What decodeFields gives, or the error text; and the same fields of the whole decode, or its error text. */
function both(bytes: Uint8Array, names: readonly string[] = NAMES): { fields: DecodedEvent | string | undefined; whole: DecodedEvent | string } {
  const run = <T>(f: () => T): T | string => {
    try {
      return f();
    } catch (err) {
      if (err instanceof EventDecodeError) return `refused: ${err.message}`;
      throw err;
    }
  };
  const fields = run(() => c.decodeFields!(bytes, names));
  const whole = run(() => c.decode(bytes));
  if (typeof whole === 'string') return { fields, whole };
  const picked: DecodedEvent = {};
  for (const k of [...names, 'id']) if (Object.hasOwn(whole, k)) picked[k] = whole[k];
  return { fields, whole: picked };
}

describe('an event decoded for the fields its rules read', () => {
  it('reads those fields and the id as the whole decode does; nothing else', () => {
    const bytes = c.encode({ ...sampleEvent(login), id: 'evt-1', namespace: 'mygame', userId: 'abc' });
    const { fields, whole } = both(bytes);
    expect(fields).toEqual({ namespace: 'mygame', userId: 'abc', id: 'evt-1' });
    expect(fields).toEqual(whole);
  });

  it("absent fields read '', a repeated field its last value, unknown fields are skipped (varint, fixed64, fixed32, bytes)", () => {
    expect(both(Uint8Array.from([])).fields).toEqual({ namespace: '', userId: '', id: '' });
    const namespaceNo = login.requestType.fields['namespace']!.id;
    const bytes = Uint8Array.from([...str(namespaceNo, 'first'), ...tag(900, 0), 150, 1, ...tag(901, 1), 1, 2, 3, 4, 5, 6, 7, 8, ...tag(902, 5), 1, 2, 3, 4, ...str(903, 'x'), ...str(namespaceNo, 'second ☃')]);
    const { fields, whole } = both(bytes);
    expect(fields).toMatchObject({ namespace: 'second ☃', userId: '', id: '' });
    expect(fields).toEqual(whole);
  });

  it('a name that is not a field reads as in the whole decode (absent); a nested message or a non-string field: undefined', () => {
    const bytes = c.encode(sampleEvent(login));
    expect(both(bytes, ['noSuchField']).fields).toEqual(both(bytes, ['noSuchField']).whole);
    expect(c.decodeFields!(bytes, ['payload'])).toBeUndefined();
    expect(c.decodeFields!(bytes, ['version'])).toBeUndefined();
  });

  it('refuses what the whole decode refuses, with the same reason: random mutations of a real event', () => {
    const { random } = testSeed('mutations of userLoggedIn');
    const base = [...c.encode(sampleEvent(login))];
    const draw = (n: number): number => Math.floor(random() * n);
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const b = [...base];
      for (let k = 0; k <= draw(3); k++) {
        const at = draw(b.length + 1);
        const op = draw(4);
        if (op === 0 && at < b.length) b[at] = b[at]! ^ (1 << draw(8));
        else if (op === 1) b.splice(at, 0, draw(256));
        else if (op === 2 && at < b.length) b.splice(at, 1);
        else b.length = at; // cut
      }
      const { fields, whole } = both(Uint8Array.from(b));
      if (typeof whole === 'string') refused++;
      expect(fields).toEqual(whole);
    }
    expect(refused).toBeGreaterThan(100); // the mutations do reach the refusals
  });
});
