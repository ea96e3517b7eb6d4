import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import { codec } from '../../src/events/codec.js';
import { sampleEvent } from '../../src/events/samples.js';
import { EventDecodeError, EventEncodeError } from '../../src/events/types.js';
import type { Catalog, EventService } from '../../src/events/types.js';
import { AGS_SPECS_DIR, REPO_ROOT, describeWith, sharedSpecs } from '../support/prereq.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';

function serviceOf(catalog: Catalog, name: string): EventService {
  const r = catalog.resolve(name);
  if (!r.ok) throw new Error(`${name}: ${r.reason} ${r.candidates.join(', ')}`);
  return r.service;
}

describe('codec of userLoggedIn (proto/)', () => {
  let login: EventService;
  beforeAll(async () => {
    const catalog = await loadCatalog({ dirs: [FIXTURE_PROTO_DIR] });
    login = serviceOf(catalog, 'userLoggedIn');
  });

  it('decodes bytes written by protobufjs (proto names) into json names with defaults filled', () => {
    const type = login.requestType;
    const bytes = type
      .encode(
        type.fromObject({
          id: 'e1',
          version: 2,
          namespace: 'mygame',
          parent_namespace: 'studio',
          user_id: 'u1',
          payload: { user_account: { user_id: 'u1', email_address: 'a@b.c' } },
        }),
      )
      .finish();
    const event = codec(login).decode(bytes);
    expect(event).toEqual({
      payload: {
        userAccount: {
          userId: 'u1',
          emailAddress: 'a@b.c',
          userName: '',
          country: '',
          namespace: '',
          platformId: '',
          displayName: '',
        },
        userAuthentication: {
          platformId: '',
          refresh: false,
          platformUserId: '',
          simultaneousPlatformId: '',
          simultaneousPlatformUserId: '',
        },
        loginLocation: { country: '', state: '', city: '' },
      },
      id: 'e1',
      version: 2,
      name: '',
      namespace: 'mygame',
      parentNamespace: 'studio',
      timestamp: '',
      clientId: '',
      userId: 'u1',
      traceId: '',
      sessionId: '',
    });
  });

  it('an empty message decodes to a full object of defaults', () => {
    const event = codec(login).decode(new Uint8Array(0));
    expect((event.payload as { userAccount: { namespace: string } }).userAccount.namespace).toBe('');
    expect(event.version).toBe(0);
  });

  it('garbage bytes are an EventDecodeError, never a crash', () => {
    const garbage = [
      Uint8Array.from([0x0a, 0x10, 0x01]), // length beyond the end
      Uint8Array.from([0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // bad varint
      Uint8Array.from([0x0f]), // wire type 7
      Buffer.from('definitely not protobuf'),
    ];
    for (const bytes of garbage) {
      let caught: unknown;
      try {
        codec(login).decode(bytes);
      } catch (err) {
        caught = err;
      }
      expect(caught, Buffer.from(bytes).toString('hex')).toBeInstanceOf(EventDecodeError);
      expect((caught as EventDecodeError).typeName).toBe('accelbyte.iam.account.v1.UserLoggedIn');
    }
  });

  it('a wrong-typed value is an EventEncodeError naming the field path and expected type', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ payload: { userAccount: { userId: 42 } } }, 'payload.userAccount.userId', /string/],
      [{ version: 'one' }, 'version', /integer/],
      [{ payload: { userAuthentication: { refresh: 'yes' } } }, 'payload.userAuthentication.refresh', /boolean/],
      [{ payload: 'x' }, 'payload', /object/],
      [{ payload: { userAcount: {} } }, 'payload.userAcount', /userAccount/],
    ];
    for (const [json, path, expected] of cases) {
      let caught: unknown;
      try {
        codec(login).encode(json as Record<string, unknown>);
      } catch (err) {
        caught = err;
      }
      expect(caught, path).toBeInstanceOf(EventEncodeError);
      const e = caught as EventEncodeError;
      expect(e.path).toBe(path);
      expect(e.expected).toMatch(expected);
      expect(e.message).toContain(path);
    }
  });

  it('encode accepts proto field names as well as json names', () => {
    const c = codec(login);
    const a = c.decode(c.encode({ parent_namespace: 'p', payload: { user_account: { display_name: 'D' } } }));
    const b = c.decode(c.encode({ parentNamespace: 'p', payload: { userAccount: { displayName: 'D' } } }));
    expect(a).toEqual(b);
    expect(a.parentNamespace).toBe('p');
  });
});

describe('codec conversions (fixture with every field kind)', () => {
  let sink: EventService;
  beforeAll(async () => {
    const catalog = await loadCatalog({ dirs: [resolve(REPO_ROOT, 'test/events/fixtures/kitchen')] });
    sink = serviceOf(catalog, 'kitchenSink');
  });

  it('fills defaults: scalars, enums by name, repeated, maps, nested messages, well-known types, cycles', () => {
    const event = codec(sink).decode(new Uint8Array(0));
    expect(event).toEqual({
      plainText: '',
      customName: '',
      small: 0,
      big: 0,
      bigUnsigned: 0,
      bigSigned: 0,
      ratio: 0,
      flag: false,
      blob: '',
      color: 'COLOR_UNSPECIFIED',
      inner: { innerName: '', level: 0, color: 'COLOR_UNSPECIFIED' },
      inners: [],
      tags: [],
      counts: {},
      byLong: {},
      attributes: {},
      anyValue: null,
      list: [],
      extra: null,
      createdAt: null,
      elapsed: null,
      maybeText: null,
      maybeBig: null,
      optText: '',
      node: { label: '', parent: null, children: [] },
      colors: [],
      ratio32: 0,
      ratios32: [],
      maybeFloat: null,
      labels: {},
    });
  });

  it('converts values written by protobufjs: int64, enums, bytes, Struct, Any, Timestamp, oneof', () => {
    const type = sink.requestType;
    const root = type.root;
    const innerType = root.lookupType('demo.v1.Inner');
    const message = type.fromObject({
      plain_text: 'hello',
      renamed: 'r',
      big: '9007199254740993', // 2^53 + 1: not a safe integer
      big_unsigned: '18446744073709551615',
      big_signed: -5,
      blob: Buffer.from([1, 2, 3]),
      color: 2,
      colors: [1, 2, 7],
      counts: { a: 1 },
      by_long: { '12': 'twelve' },
      attributes: {
        fields: {
          level: { numberValue: 3 },
          name: { stringValue: 'n' },
          ok: { boolValue: true },
          none: { nullValue: 0 },
          list: { listValue: { values: [{ numberValue: 1 }, { stringValue: 'x' }] } },
          deep: { structValue: { fields: { k: { stringValue: 'v' } } } },
        },
      },
      extra: {
        type_url: 'type.googleapis.com/demo.v1.Inner',
        value: innerType.encode(innerType.fromObject({ inner_name: 'in', level: 4 })).finish(),
      },
      created_at: { seconds: 1768469400, nanos: 120000000 },
      elapsed: { seconds: 1, nanos: 500000000 },
      maybe_big: { value: 7 },
      choice_text: 'picked',
      node: { label: 'leaf', parent: { label: 'root' } },
    });
    const event = codec(sink).decode(type.encode(message).finish());
    expect(event).toMatchObject({
      plainText: 'hello',
      customName: 'r',
      big: '9007199254740993',
      bigUnsigned: '18446744073709551615',
      bigSigned: -5,
      blob: 'AQID',
      color: 'COLOR_BLUE',
      colors: ['COLOR_RED', 'COLOR_BLUE', 7],
      counts: { a: 1 },
      byLong: { '12': 'twelve' },
      attributes: { level: 3, name: 'n', ok: true, none: null, list: [1, 'x'], deep: { k: 'v' } },
      extra: { '@type': 'type.googleapis.com/demo.v1.Inner', innerName: 'in', level: 4, color: 'COLOR_UNSPECIFIED' },
      createdAt: '2026-01-15T09:30:00.120Z',
      elapsed: '1.500s',
      maybeBig: 7,
      maybeText: null,
      choiceText: 'picked',
      node: { label: 'leaf', parent: { label: 'root', parent: null, children: [] }, children: [] },
    });
    expect(event).not.toHaveProperty('choiceInner');
  });

  it('an Any of an unknown type keeps its bytes as base64', () => {
    const type = sink.requestType;
    const bytes = type.encode(type.fromObject({ extra: { type_url: 'type.googleapis.com/nope.Nothing', value: Buffer.from('hi') } })).finish();
    expect(codec(sink).decode(bytes).extra).toEqual({ '@type': 'type.googleapis.com/nope.Nothing', value: 'aGk=' });
  });

  it('encode -> decode round trips every kind of value', () => {
    const json = {
      plainText: 'hello',
      customName: 'r',
      small: -3,
      big: 1234567890123,
      bigUnsigned: '18446744073709551615',
      bigSigned: -5,
      ratio: 0.25,
      flag: true,
      blob: 'AQID',
      color: 'COLOR_RED',
      inner: { innerName: 'i', level: 1, color: 'COLOR_BLUE' },
      inners: [{ innerName: 'a', level: 0, color: 'COLOR_UNSPECIFIED' }],
      tags: ['x', 'y'],
      counts: { a: 1, b: 2 },
      byLong: { '-9': 'minus nine' },
      attributes: { a: 1, b: [true, null, { c: 'd' }] },
      anyValue: { nested: ['v'] },
      list: [1, 'two'],
      extra: { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { key: 'value' } },
      createdAt: '2026-01-15T09:30:00.000123Z',
      elapsed: '-0.010s',
      maybeText: '',
      maybeBig: '9007199254740993',
      choiceInner: { innerName: 'c', level: 2, color: 'COLOR_RED' },
      optText: 'o',
      node: { label: 'l', parent: null, children: [{ label: 'child', parent: null, children: [] }] },
      colors: ['COLOR_BLUE'],
      ratio32: 0.3,
      ratios32: [0.1, 'NaN', -2.5],
      maybeFloat: 1e-7,
      labels: { a: 'b' },
    };
    const c = codec(sink);
    expect(c.decode(c.encode(json))).toEqual(json);
  });

  it('rejects wrong-typed values of every kind with their path', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ color: 'PURPLE' }, 'color', /COLOR_RED/],
      [{ big: 1.5 }, 'big', /int64/],
      [{ bigUnsigned: -1 }, 'bigUnsigned', /unsigned/],
      [{ small: 2 ** 31 }, 'small', /int32/],
      [{ blob: '%%%' }, 'blob', /base64/],
      [{ tags: 'x' }, 'tags', /array/],
      [{ tags: ['x', 3] }, 'tags[1]', /string/],
      [{ inners: [{ level: 'high' }] }, 'inners[0].level', /integer/],
      [{ counts: { a: 'one' } }, 'counts.a', /integer/],
      [{ createdAt: 'yesterday' }, 'createdAt', /RFC 3339/],
      [{ elapsed: 5 }, 'elapsed', /duration/],
      [{ extra: { value: 'x' } }, 'extra', /@type/],
      [{ attributes: [] }, 'attributes', /object/],
      [{ choiceText: 'a', choiceInner: {} }, 'choiceInner', /only one/],
    ];
    for (const [json, path, expected] of cases) {
      let caught: unknown;
      try {
        codec(sink).encode(json);
      } catch (err) {
        caught = err;
      }
      expect(caught, path).toBeInstanceOf(EventEncodeError);
      expect((caught as EventEncodeError).path, path).toBe(path);
      expect((caught as EventEncodeError).expected, path).toMatch(expected);
    }
  });

  it('null means absent when encoding', () => {
    const c = codec(sink);
    expect(c.decode(c.encode({ plainText: null, inner: null })).plainText).toBe('');
  });

  it('decodes a plain Uint8Array as well as a Buffer', () => {
    const c = codec(sink);
    const buf = Buffer.from(c.encode({ plainText: 'p', tags: ['t'] }));
    const plain = new Uint8Array(buf.byteLength);
    plain.set(buf);
    expect(c.decode(plain)).toEqual(c.decode(buf));
  });
});

describeWith(sharedSpecs(), 'codec over the AGS catalog', () => {
  let catalog: Catalog;
  beforeAll(async () => {
    catalog = await loadCatalog({ dirs: [AGS_SPECS_DIR] });
  });

  it('encode(sample) -> decode round trips for 10 services of 10 different files', () => {
    const byFile = new Map<string, EventService>();
    for (const s of catalog.services) if (!byFile.has(s.file) && s.requestType.name !== 'ReceivedMessage') byFile.set(s.file, s);
    const picked = [...byFile.values()].filter((_, i) => i % 4 === 0).slice(0, 10);
    expect(picked).toHaveLength(10);
    expect(new Set(picked.map((s) => s.file)).size).toBe(10);
    for (const s of picked) {
      const c = catalog.codec(s);
      const sample = sampleEvent(s);
      expect(c.decode(c.encode(sample)), s.fullName).toEqual(sample);
    }
  });

  it('every one of the 442 samples round trips', () => {
    for (const s of catalog.services) {
      const c = catalog.codec(s);
      const sample = sampleEvent(s);
      expect(c.decode(c.encode(sample)), s.fullName).toEqual(sample);
    }
  });

  it('decodes an AGS event carrying a google.protobuf.Struct as plain JSON', () => {
    const withStruct = catalog.services.find((s) =>
      s.requestType.fieldsArray.some((f) => f.resolve().resolvedType?.fullName === '.google.protobuf.Struct'),
    );
    const nested = withStruct ?? catalog.services.find((s) => JSON.stringify(sampleEvent(s)).includes('"key":"value"'));
    expect(nested).toBeDefined();
    const s = nested!;
    const c = catalog.codec(s);
    const decoded = c.decode(c.encode(sampleEvent(s)));
    expect(JSON.stringify(decoded)).toContain('"key":"value","count":1,"enabled":true');
  });
});

