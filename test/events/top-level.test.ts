/**
 * Issue 23 (no-match events): an event whose rules are decided on top-level string fields alone is
 * decoded only for those fields and its id (`codec.decodeFields`, src/events/top-level.ts). It must
 * refuse exactly what the whole decode refuses, with the same reason, and read exactly the values
 * the whole decode reads: the last occurrence of a field, '' when absent. Anything else than a
 * plain string field: undefined (the host then decodes the whole event).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import { codec } from '../../src/events/codec.js';
import { sampleEvent } from '../../src/events/samples.js';
import { EventDecodeError } from '../../src/events/types.js';
import { jsonKey } from '../../src/events/wkt.js';
import type { Catalog, DecodedEvent, EventCodec, EventService } from '../../src/events/types.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';
import { PROTO_DIR as RULES_PROTO_DIR } from '../rules/support/fixtures.js';
import { testSeed } from '../support/seed.js';
import { workspace } from '../support/workspace.js';

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

/** A varint of exactly `bytes` bytes (non-canonical when longer than needed: continuation bits over zero payload). */
function longVarint(n: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) {
    out.push((n % 128) | (i < bytes - 1 ? 128 : 0));
    n = Math.floor(n / 128);
  }
  return out;
}

describe('varints of 6 to 10 bytes (valid: read as the references read them), where protobufjs reads 32 bits', () => {
  // protobufjs' Reader.uint32 (tags, lengths, int32, uint32, sint32, bool, enum) skipped 5 bytes blindly after a fifth
  // byte with its continuation bit: the whole decode read the bytes after a varint of 6 to 9 bytes as part of it (a
  // namespace made of other fields' bytes, or index out of range) while decodeFields read them right
  // (python3-protobuf reads a 6 to 9-byte int32 as its low 32 bits)
  let match: EventService;
  let nested: EventService;
  beforeAll(async () => {
    const rulesCatalog = await loadCatalog({ dirs: [RULES_PROTO_DIR] });
    match = rulesCatalog.services.find((s) => s.fullName === 'test.events.v1.MatchEndedService')!;
    nested = rulesCatalog.services.find((s) => s.fullName === 'test.events.v1.UserLoggedInService')!;
  });
  const no = (service: EventService, json: string): number => service.requestType.fieldsArray.find((f) => jsonKey(f) === json)!.id;

  for (const bytes of [6, 7, 8, 9, 10]) {
    it(`a ${bytes}-byte tag or length: the whole decode reads what decodeFields reads`, () => {
      const ns = no(login, 'namespace');
      const id = no(login, 'id');
      const name = [...Buffer.from('mygame')];
      const tail = [...str(id, 'evt-1'), ...str(no(login, 'userId'), 'user-1')];
      for (const b of [
        [...longVarint(ns * 8 + 2, bytes), name.length, ...name, ...tail], // the namespace's tag
        [...tag(ns, 2), ...longVarint(name.length, bytes), ...name, ...tail], // its length
        [...str(ns, 'mygame'), ...tag(id, 2), ...longVarint(5, bytes), ...Buffer.from('evt-1')], // the last field's length
      ]) {
        const { fields, whole } = both(Uint8Array.from(b));
        expect(whole).toEqual(fields);
        expect(fields).toMatchObject({ namespace: 'mygame' });
      }
    });

    it(`a ${bytes}-byte int32, bool or enum (top-level or nested) before the fields read: its value as the references read it, the same fields`, () => {
      const cases: [EventService, number[], Record<string, unknown>][] = [
        [match, [...tag(no(match, 'score'), 0), ...longVarint(7, bytes)], { score: 7 }],
        [match, [...tag(no(match, 'won'), 0), ...longVarint(1, bytes)], { won: true }],
        [nested, [...tag(1, 2), bytes + 1, ...tag(6, 0), ...longVarint(3, bytes)], { payload: { count: 3 } }], // payload.count
        [nested, [...tag(1, 2), bytes + 1, ...tag(7, 0), ...longVarint(1, bytes)], { payload: { platform: 'STEAM' } }], // payload.platform
      ];
      for (const [service, before, read] of cases) {
        const after = [...str(no(service, 'namespace'), 'mygame'), ...str(no(service, 'id'), 'evt-2'), ...str(no(service, 'userId'), 'user-2')];
        const b = Uint8Array.from([...before, ...after]);
        const sc = codec(service);
        const fields = sc.decodeFields!(b, NAMES);
        expect(fields).toEqual({ namespace: 'mygame', userId: 'user-2', id: 'evt-2' });
        expect(sc.decode(b)).toMatchObject({ ...fields, ...read });
      }
    });
  }
});

describe('values the wire check accepts and the conversion refuses (or refused)', () => {
  // a google.protobuf.Timestamp out of the range JSON can write (its conversion throws: INVALID_ARGUMENT); decodeFields
  // read the namespace and answered OK when no rule matched, whatever rules were loaded decided the refusal
  const ws = workspace('eer-top-level-');
  afterAll(() => ws.remove());
  let cat: Catalog;
  const service = (name: string): EventService => cat.services.find((s) => s.fullName === `stamped.v1.${name}Service`)!;
  beforeAll(async () => {
    ws.write(
      'stamped.proto',
      `syntax = "proto3";
package stamped.v1;
import "google/protobuf/empty.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
message Inner { repeated google.protobuf.Timestamp at = 1; }
message Stamped { string id = 1; string namespace = 2; google.protobuf.Timestamp at = 3; }
message Deep { string id = 1; string namespace = 2; map<string, Inner> inner = 3; }
message Loc { string city = 1; }
message Mapped { string id = 1; string namespace = 2; map<string, Loc> places = 3; google.protobuf.Struct extra = 4; }
service StampedService { rpc OnMessage(Stamped) returns (google.protobuf.Empty); }
service DeepService { rpc OnMessage(Deep) returns (google.protobuf.Empty); }
service MappedService { rpc OnMessage(Mapped) returns (google.protobuf.Empty); }
`,
    );
    cat = await loadCatalog({ dirs: [ws.dir] });
  });

  it('a Timestamp out of range, at the top or nested: decodeFields refuses it as the whole decode does, or leaves the event to it', () => {
    const [stamped, deep] = [service('Stamped'), service('Deep')];
    const seconds = [...varint(2 ** 45)]; // year ~1.1 million: past JavaScript's Date
    const stamp = [...tag(1, 0), ...seconds];
    const cases: [EventService, number[]][] = [
      [stamped, [...str(2, 'other'), ...str(1, 'evt-1'), ...tag(3, 2), stamp.length, ...stamp]],
      [deep, [...str(2, 'other'), ...str(1, 'evt-1'), ...tag(3, 2), stamp.length + 7, ...str(1, 'k'), ...tag(2, 2), stamp.length + 2, ...tag(1, 2), stamp.length, ...stamp]],
    ];
    for (const [service, b] of cases) {
      const sc = codec(service);
      const bytes = Uint8Array.from(b);
      expect(() => sc.decode(bytes)).toThrow(/timestamp out of range/);
      let fields: unknown;
      try {
        fields = sc.decodeFields!(bytes, NAMES);
      } catch (err) {
        fields = err;
      }
      if (fields !== undefined) expect(fields).toBeInstanceOf(EventDecodeError);
    }
  });

  it('a Timestamp in range: decoded as before', () => {
    const sc = codec(service('Stamped'));
    const stamp = [...tag(1, 0), ...varint(1_700_000_000)];
    expect(sc.decode(Uint8Array.from([...str(2, 'mygame'), ...tag(3, 2), stamp.length, ...stamp]))).toEqual({ id: '', namespace: 'mygame', at: '2023-11-14T22:13:20Z' });
  });

  it("a map entry without its value (a message, a Struct's Value): its default, as the references read it, not a refusal", () => {
    // protobufjs leaves such a value null and the conversion threw on it ("Cannot convert undefined or null to
    // object": INVALID_ARGUMENT) where python3-protobuf reads {"k": None} for the Struct; the partial decode answered OK
    const sc = codec(service('Mapped'));
    const entry = [...str(1, 'k')]; // the key, no value
    const bytes = Uint8Array.from([...str(1, 'evt-1'), ...str(2, 'other'), ...tag(3, 2), entry.length, ...entry, ...tag(4, 2), entry.length + 2, ...tag(1, 2), entry.length, ...entry]);
    expect(sc.decode(bytes)).toEqual({ id: 'evt-1', namespace: 'other', places: { k: { city: '' } }, extra: { k: null } });
    expect(sc.decodeFields!(bytes, NAMES)).toEqual({ id: 'evt-1', namespace: 'other' });
  });
});
