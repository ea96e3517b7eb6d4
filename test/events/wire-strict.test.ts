/**
 * The wire is decoded strictly (issue 16) and numbers keep their meaning (issue 15):
 * what protobuf's reference implementations refuse is refused (EventDecodeError,
 * INVALID_ARGUMENT at the server), a Struct key `__proto__` stays data, float32
 * reads as the decimal that was written, NaN/±Infinity as proto3 JSON strings.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { loadCatalog } from '../../src/events/catalog.js';
import { codec } from '../../src/events/codec.js';
import { EventDecodeError } from '../../src/events/types.js';
import type { Catalog, EventService } from '../../src/events/types.js';
import { isValidUtf8 } from '../../src/events/wire-check.js';
import { RulesLogic } from '../../src/rules/logic.js';
import { REPO_ROOT } from '../support/prereq.js';
import { callRaw, rawClient, startHost } from '../server/support.js';
import type { RunningHost } from '../server/support.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';

let login: EventService;
let loginCatalog: Catalog;
let sink: EventService;

function serviceOf(catalog: Catalog, name: string): EventService {
  const r = catalog.resolve(name);
  if (!r.ok) throw new Error(`${name}: ${r.reason}`);
  return r.service;
}

beforeAll(async () => {
  loginCatalog = await loadCatalog({ dirs: [FIXTURE_PROTO_DIR] });
  login = serviceOf(loginCatalog, 'userLoggedIn');
  sink = serviceOf(await loadCatalog({ dirs: [resolve(REPO_ROOT, 'test/events/fixtures/kitchen')] }), 'kitchenSink');
});

/** Protobuf wire bytes by hand: tag, varint, length-delimited. */
function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return out;
}
const tag = (no: number, wt: number): number[] => varint(no * 8 + wt);
const len = (no: number, body: number[] | Uint8Array): number[] => [...tag(no, 2), ...varint(body.length), ...body];
const utf8 = (s: string): number[] => [...Buffer.from(s, 'utf8')];

function decodeError(service: EventService, bytes: number[] | Uint8Array): EventDecodeError {
  try {
    codec(service).decode(Uint8Array.from(bytes));
  } catch (err) {
    if (err instanceof EventDecodeError) return err;
    throw err;
  }
  throw new Error('decoded without an error');
}

// UserLoggedIn: 1 payload (message), 2 id, 3 version (int32), 6 namespace, 9 user_id (string)
// payload 1 = user_account { 1 user_id }
describe('strict wire decoding', () => {
  it('a well-formed event still decodes (sanity for the hand-made bytes)', () => {
    const event = codec(login).decode(Uint8Array.from([...len(2, utf8('e1')), ...tag(3, 0), 7, ...len(9, utf8('u1'))]));
    expect(event).toMatchObject({ id: 'e1', version: 7, userId: 'u1' });
  });

  it('refuses invalid UTF-8 in a string field, naming the field (it used to become U+FFFD inside a userId)', () => {
    const err = decodeError(login, [...len(9, [0x75, 0xff, 0x31])]);
    expect(err.message).toBe('cannot decode accelbyte.iam.account.v1.UserLoggedIn: userId: invalid UTF-8 in a string field (field 9)');
    // nested: payload.userAccount.userId, a lone surrogate (CESU) and an overlong '/'
    expect(decodeError(login, len(1, len(1, len(1, [0xed, 0xa0, 0x80])))).message).toMatch(/: payload\.userAccount\.userId: invalid UTF-8/);
    expect(decodeError(login, len(2, [0xc0, 0xaf])).message).toMatch(/: id: invalid UTF-8/);
  });

  it('refuses field number 0', () => {
    expect(decodeError(login, [...tag(0, 0), 1, ...len(2, utf8('e1'))]).message).toMatch(/field number 0/);
    expect(decodeError(login, len(1, [...tag(0, 2), 0])).message).toMatch(/: payload: field number 0/);
  });

  it('refuses a known field sent with the wrong wire type (it used to read as a default or garbage)', () => {
    // user_id (string) sent as a varint
    expect(decodeError(login, [...tag(9, 0), 5]).message).toBe(
      "cannot decode accelbyte.iam.account.v1.UserLoggedIn: userId: field 9 (string) sent with wire type varint (0), its type needs length-delimited (2): the sender's proto differs",
    );
    // version (int64) sent as 4 fixed bytes, payload (message) as a varint
    expect(decodeError(login, [...tag(3, 5), 1, 0, 0, 0]).message).toMatch(/version: field 3 \(int64\) sent with wire type 32-bit \(5\)/);
    expect(decodeError(login, [...tag(1, 0), 1]).message).toMatch(/payload: field 1 \(accelbyte\.iam\.account\.v1\.\w+\) sent with wire type varint/);
  });

  it('refuses wire types 6 and 7, a stray end-group, a truncated value', () => {
    expect(decodeError(login, [...tag(40, 6)]).message).toMatch(/invalid wire type 6/);
    expect(decodeError(login, [...tag(40, 7)]).message).toMatch(/invalid wire type 7/);
    expect(decodeError(login, [...tag(40, 4)]).message).toMatch(/end-group/);
    expect(decodeError(login, [...tag(40, 1), 1, 2]).message).toMatch(/truncated/);
  });

  it('still skips unknown fields of every wire type (forward compatibility), groups included', () => {
    const unknown = [...tag(40, 0), 0x96, 1, ...tag(41, 1), 1, 2, 3, 4, 5, 6, 7, 8, ...len(42, [0xff]), ...tag(43, 5), 1, 2, 3, 4];
    const group = [...tag(44, 3), ...tag(1, 0), 1, ...tag(2, 3), ...tag(2, 4), ...tag(44, 4)];
    const event = codec(login).decode(Uint8Array.from([...unknown, ...group, ...len(2, utf8('e1'))]));
    expect(event.id).toBe('e1');
  });

  it('repeated numbers are accepted packed and unpacked; a packed run must fill its length', () => {
    // KitchenSink: 28 repeated Color (enum), 30 repeated float
    const f = (x: number) => [...new Uint8Array(new Float32Array([x]).buffer)];
    const event = codec(sink).decode(Uint8Array.from([...len(28, [1, 2]), ...tag(28, 0), 2, ...len(30, [...f(0.5), ...f(1.5)]), ...tag(30, 5), ...f(2)]));
    expect(event.colors).toEqual(['COLOR_RED', 'COLOR_BLUE', 'COLOR_BLUE']);
    expect(event.ratios32).toEqual([0.5, 1.5, 2]);
    expect(decodeError(sink, len(30, [1, 2, 3])).message).toMatch(/ratios32: a packed run of 32-bit values whose length is not a multiple of 4/);
    expect(decodeError(sink, len(28, [0x80])).message).toMatch(/colors: truncated/);
  });

  it('checks map entries and Struct values too', () => {
    // labels (map<string,string>) = 32: entry { 1 key, 2 value }
    expect(decodeError(sink, len(32, [...len(1, utf8('k')), ...len(2, [0xff])])).message).toMatch(/labels\.value: invalid UTF-8/);
    // attributes (Struct) = 16: fields (map<string, Value>) = 1, Value.string_value = 3
    expect(decodeError(sink, len(16, len(1, [...len(1, utf8('k')), ...len(2, len(3, [0xfe]))]))).message).toMatch(/attributes\.fields\.value\.stringValue: invalid UTF-8/);
  });

  it('an Any whose inner message breaks the wire rules keeps its bytes (base64) instead of U+FFFD text', () => {
    const url = utf8('type.googleapis.com/demo.v1.Inner');
    const good = codec(sink).decode(Uint8Array.from(len(19, [...len(1, url), ...len(2, len(1, utf8('ok')))])));
    expect(good.extra).toMatchObject({ '@type': 'type.googleapis.com/demo.v1.Inner', innerName: 'ok' });
    const inner = len(1, [0x6f, 0xff]);
    const bad = codec(sink).decode(Uint8Array.from(len(19, [...len(1, url), ...len(2, inner)])));
    expect(bad.extra).toEqual({ '@type': 'type.googleapis.com/demo.v1.Inner', value: Buffer.from(inner).toString('base64') });
  });

  it('isValidUtf8 agrees with the WHATWG decoder in fatal mode', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const samples: number[][] = [
      [0x41], [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xf4, 0x8f, 0xbf, 0xbf],
      [0x80], [0xc1, 0xbf], [0xe0, 0x80, 0xaf], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80],
      [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc3], [0xef, 0xbb, 0xbf],
    ];
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xff;
    for (let i = 0; i < 3000; i++) samples.push(Array.from({ length: 1 + (i % 13) }, () => (i % 3 === 0 ? rnd() & 0x7f : rnd())));
    for (const s of samples) {
      let expected = true;
      try {
        strict.decode(Uint8Array.from(s));
      } catch {
        expected = false;
      }
      expect([s, isValidUtf8(Uint8Array.from(s), 0, s.length)]).toEqual([s, expected]);
    }
  });
});

describe('a Struct key __proto__ stays data', () => {
  const structWithProto = (): Uint8Array => {
    // attributes = { "__proto__": { "isAdmin": true } } written on the wire
    const inner = len(1, [...len(1, utf8('isAdmin')), ...len(2, [...tag(4, 0), 1])]);
    return Uint8Array.from(len(16, len(1, [...len(1, utf8('__proto__')), ...len(2, len(5, inner))])));
  };

  it('decodes as an own property, not as the prototype of the decoded object', () => {
    const event = codec(sink).decode(structWithProto());
    const attributes = event.attributes as Record<string, unknown>;
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
    expect(Object.keys(attributes)).toEqual(['__proto__']);
    expect(attributes.isAdmin).toBeUndefined();
    expect(JSON.stringify(attributes)).toBe('{"__proto__":{"isAdmin":true}}');
  });

  it('a rule reading attributes.isAdmin sees nothing; one reading the key itself sees the data', () => {
    const event = codec(sink).decode(structWithProto());
    const logic = new RulesLogic();
    expect(logic.compile({ var: 'attributes.isAdmin' })(event)).toBeNull();
    expect(logic.compile({ '==': [{ var: 'attributes.isAdmin' }, true] })(event)).toBe(false);
  });

  it('encode -> decode keeps a __proto__ key (JSON input for send/explain)', () => {
    const json = JSON.parse('{"attributes": {"__proto__": {"isAdmin": true}}, "labels": {"__proto__": "x"}}') as Record<string, unknown>;
    const c = codec(sink);
    const back = c.decode(c.encode(json));
    expect(JSON.stringify(back.attributes)).toBe('{"__proto__":{"isAdmin":true}}');
    expect(JSON.stringify(back.labels)).toBe('{"__proto__":"x"}');
    expect(Object.getPrototypeOf(back.labels)).toBe(Object.prototype);
  });
});

describe('numbers from the wire', () => {
  const f32 = (x: number) => [...new Uint8Array(new Float32Array([x]).buffer)];
  const f64 = (x: number) => [...new Uint8Array(new Float64Array([x]).buffer)];

  it('float32 decodes to the shortest decimal that reads back as the same float32 (0.3, not 0.30000001192092896)', () => {
    const cases: [number, number][] = [
      [0.3, 0.3], [0.1, 0.1], [1.1, 1.1], [3.4028234663852886e38, 3.4028235e38], [1e-45, 1.4013e-45], [16777216, 16777216], [1e20, 1e20], [123456.789, 123456.79],
    ];
    for (const [written, read] of cases) {
      const event = codec(sink).decode(Uint8Array.from([...tag(29, 5), ...f32(written)]));
      expect([written, event.ratio32]).toEqual([written, read]);
    }
    // the matching that failed: == 0.3
    const event = codec(sink).decode(Uint8Array.from([...tag(29, 5), ...f32(0.3)]));
    expect(new RulesLogic().compile({ '==': [{ var: 'ratio32' }, 0.3] })(event)).toBe(true);
    // repeated and the FloatValue wrapper too
    const more = codec(sink).decode(Uint8Array.from([...len(30, [...f32(0.7), ...f32(2.2)]), ...len(31, [...tag(1, 5), ...f32(0.3)])]));
    expect([more.ratios32, more.maybeFloat]).toEqual([[0.7, 2.2], 0.3]);
  });

  it('NaN and ±Infinity read as the proto3 JSON strings; -0 keeps its sign (float, double, Struct number)', () => {
    const event = codec(sink).decode(
      Uint8Array.from([...tag(29, 5), ...f32(NaN), ...tag(7, 1), ...f64(-Infinity), ...len(30, [...f32(Infinity), ...f32(-0)])]),
    );
    expect(event.ratio32).toBe('NaN');
    expect(event.ratio).toBe('-Infinity');
    expect(event.ratios32).toEqual(['Infinity', -0]);
    expect(Object.is((event.ratios32 as number[])[1], -0)).toBe(true);
    const negZero = codec(sink).decode(Uint8Array.from([...tag(7, 1), ...f64(-0)]));
    expect(Object.is(negZero.ratio, -0)).toBe(true);
    const value = codec(sink).decode(Uint8Array.from(len(17, [...tag(2, 1), ...f64(Infinity)])));
    expect(value.anyValue).toBe('Infinity');
  });

  it('the JSON strings encode back to the same numbers', () => {
    const c = codec(sink);
    const back = c.decode(c.encode({ ratio32: 'NaN', ratio: '-Infinity', ratios32: ['Infinity', 0.3] }));
    expect([back.ratio32, back.ratio, back.ratios32]).toEqual(['NaN', '-Infinity', ['Infinity', 0.3]]);
  });
});

describe('strict decoding at the server', () => {
  let h: RunningHost;
  let client: grpc.Client;
  beforeAll(async () => {
    h = await startHost({ catalog: loginCatalog });
    client = rawClient(h.address);
  });
  afterAll(async () => {
    client.close();
    await h.host.shutdown(0);
  });

  it('answers INVALID_ARGUMENT naming the field, and keeps serving', async () => {
    const bad = await callRaw(client, login.path, Uint8Array.from([...len(2, utf8('e1')), ...len(9, [0x75, 0xff])]));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toBe('cannot decode accelbyte.iam.account.v1.UserLoggedIn: userId: invalid UTF-8 in a string field (field 9)');
    const wrongType = await callRaw(client, login.path, Uint8Array.from([...tag(9, 0), 5]));
    expect(wrongType.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(h.seen).toHaveLength(0);
    const good = await callRaw(client, login.path, Uint8Array.from(len(9, utf8('u1'))));
    expect(good.code).toBe(grpc.status.OK);
    expect(h.seen.map((s) => s.event.userId)).toEqual(['u1']);
  });
});
