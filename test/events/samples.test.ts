import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { samplesCommand } from '../../src/cli/samples.js';
import { loadCatalog } from '../../src/events/catalog.js';
import { fillDefaults, sampleEvent } from '../../src/events/samples.js';
import { EventEncodeError } from '../../src/events/types.js';
import type { Catalog, EventService } from '../../src/events/types.js';
import { AGS_SPECS_DIR, REPO_ROOT, describeWith, sharedSpecs } from '../support/prereq.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';

const PROTO_DIR = FIXTURE_PROTO_DIR;
const FIXTURES = resolve(REPO_ROOT, 'test/events/fixtures');
const HEX32 = /^[0-9a-f]{32}$/;

function serviceOf(catalog: Catalog, name: string): EventService {
  const r = catalog.resolve(name);
  if (!r.ok) throw new Error(`${name}: ${r.reason}`);
  return r.service;
}

/** Every leaf path of a JSON value. */
function leaves(v: unknown, path = ''): string[] {
  if (Array.isArray(v)) return v.length ? v.flatMap((x, i) => leaves(x, `${path}[${i}]`)) : [path];
  if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v);
    return keys.length ? keys.flatMap((k) => leaves((v as Record<string, unknown>)[k], path ? `${path}.${k}` : k)) : [path];
  }
  return [path];
}

describe('sampleEvent', () => {
  let catalog: Catalog;
  beforeAll(async () => {
    catalog = await loadCatalog({ dirs: [PROTO_DIR] });
  });

  it('userLoggedIn: every field, realistic placeholders', () => {
    const sample = sampleEvent(serviceOf(catalog, 'userLoggedIn'));
    expect(sample.name).toBe('userLoggedIn');
    expect(sample.namespace).toBe('mygame');
    expect(sample.id).toMatch(HEX32);
    expect(sample.userId).toMatch(HEX32);
    expect(sample.userId).not.toBe(sample.id);
    expect(sample.timestamp).toBe(new Date(sample.timestamp as string).toISOString().replace('.000Z', 'Z'));
    expect(sample.version).toBe(1);
    const account = (sample.payload as { userAccount: Record<string, unknown> }).userAccount;
    expect(account).toMatchObject({ emailAddress: 'user@example.com', namespace: 'mygame', userId: sample.userId });
    // every field of the message, recursively, is present
    const full = catalog.codec(serviceOf(catalog, 'userLoggedIn')).decode(new Uint8Array(0));
    expect(leaves(sample).sort()).toEqual(leaves(full).sort());
    expect(leaves(sample)).toContain('payload.loginLocation.city');
  });

  it('fixture: enums first non-zero, oneof first member, cycles null, well-known types in JSON form', async () => {
    const fixtures = await loadCatalog({ dirs: [resolve(FIXTURES, 'kitchen')] });
    const sink = serviceOf(fixtures, 'kitchenSink');
    const sample = sampleEvent(sink);
    expect(sample).toMatchObject({
      color: 'COLOR_RED',
      colors: ['COLOR_RED'],
      choiceText: expect.any(String) as unknown,
      createdAt: '2026-01-15T09:30:00Z',
      elapsed: '1.500s',
      attributes: { key: 'value' },
      node: { label: expect.any(String) as unknown, parent: null, children: [] },
      byLong: { '1': expect.any(String) as unknown },
    });
    expect(sample).not.toHaveProperty('choiceInner');
    const c = fixtures.codec(sink);
    expect(c.decode(c.encode(sample))).toEqual(sample);
  });
});

describe('fillDefaults', () => {
  let login: EventService;
  let catalog: Catalog;
  beforeAll(async () => {
    catalog = await loadCatalog({ dirs: [PROTO_DIR] });
    login = serviceOf(catalog, 'userLoggedIn');
  });

  it('fills the rest from the sample by default, merging nested messages', () => {
    const full = fillDefaults(login, { namespace: 'other', payload: { user_account: { user_id: 'u1' } } });
    expect(full.namespace).toBe('other');
    expect(full.name).toBe('userLoggedIn');
    const account = (full.payload as { userAccount: Record<string, unknown> }).userAccount;
    expect(account.userId).toBe('u1');
    expect(account.emailAddress).toBe('user@example.com');
    expect(leaves(full).sort()).toEqual(leaves(sampleEvent(login)).sort());
  });

  it('fills from proto defaults on request', () => {
    const full = fillDefaults(login, { namespace: 'other' }, { base: 'defaults' });
    expect(full.namespace).toBe('other');
    expect(full.name).toBe('');
    expect((full.payload as { userAccount: { userId: string } }).userAccount.userId).toBe('');
  });

  it('a value that does not fit is an EventEncodeError', () => {
    expect(() => fillDefaults(login, { payload: { userAccount: { userId: 7 } } })).toThrow(EventEncodeError);
  });

  it('a partial oneof member replaces the sample member', async () => {
    const fixtures = await loadCatalog({ dirs: [resolve(FIXTURES, 'kitchen')] });
    const sink = serviceOf(fixtures, 'kitchenSink');
    const full = fillDefaults(sink, { choiceInner: { level: 3 } });
    expect(full).not.toHaveProperty('choiceText');
    expect(full.choiceInner).toEqual({ innerName: '', level: 3, color: 'COLOR_UNSPECIFIED' });
  });
});

function capture(): { io: { stdout: PassThrough; stderr: PassThrough }; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  stdout.on('data', (b: Buffer) => o.push(b));
  stderr.on('data', (b: Buffer) => e.push(b));
  return { io: { stdout, stderr }, out: () => Buffer.concat(o).toString(), err: () => Buffer.concat(e).toString() };
}

describe('samples command', () => {
  it('prints the sample of an event as pretty JSON, by any name resolve accepts', async () => {
    for (const name of ['userLoggedIn', 'UserAuthenticationUserLoggedInService', '/accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService/OnMessage']) {
      const c = capture();
      expect(await samplesCommand([name], c.io, { protoDirs: [PROTO_DIR] })).toBe(0);
      const printed = JSON.parse(c.out()) as Record<string, unknown>;
      expect(printed.name).toBe('userLoggedIn');
      expect(c.out()).toContain('\n  "payload": {\n');
      expect(c.err()).toBe('');
    }
  });

  it('gives a fresh random id on each call (pasted twice into grpcurl: two events, not a duplicate); the rest is stable', async () => {
    const one = capture();
    const two = capture();
    expect(await samplesCommand(['userLoggedIn'], one.io, { protoDirs: [PROTO_DIR] })).toBe(0);
    expect(await samplesCommand(['userLoggedIn'], two.io, { protoDirs: [PROTO_DIR] })).toBe(0);
    const a = JSON.parse(one.out()) as Record<string, unknown>;
    const b = JSON.parse(two.out()) as Record<string, unknown>;
    expect(a.id).toMatch(/^[0-9a-f]{32}$/);
    expect(a.id).not.toBe(b.id);
    expect({ ...a, id: '' }).toEqual({ ...b, id: '' });
  });

  it('--list prints every event with its full service name and method path', async () => {
    const c = capture();
    expect(await samplesCommand(['--list'], c.io, { protoDirs: [PROTO_DIR] })).toBe(0);
    const lines = c.out().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^userLoggedIn\s+accelbyte\.iam\.account\.v1\.UserAuthenticationUserLoggedInService\s+\/accelbyte\.iam\.account\.v1\.UserAuthenticationUserLoggedInService\/OnMessage$/);
    expect(lines[1]).toMatch(/^userThirdPartyLoggedIn\s+accelbyte\.iam\.account\.v1\.UserAuthenticationUserThirdPartyLoggedInService\s+\/accelbyte\.iam\.account\.v1\.UserAuthenticationUserThirdPartyLoggedInService\/OnMessage$/);
    // aligned: the method paths start in one column
    expect(lines[0]!.indexOf('/accelbyte')).toBe(lines[1]!.indexOf('/accelbyte'));
  });

  it('unknown: exit 1 with candidates on stderr', async () => {
    const c = capture();
    expect(await samplesCommand(['userLogedIn'], c.io, { protoDirs: [PROTO_DIR] })).toBe(1);
    expect(c.out()).toBe('');
    expect(c.err()).toContain('unknown event "userLogedIn"');
    expect(c.err()).toContain('  userLoggedIn');
  });

  it('ambiguous: exit 1 with the full names on stderr', async () => {
    const c = capture();
    expect(await samplesCommand(['ThingService'], c.io, { protoDirs: [resolve(FIXTURES, 'ambiguous')] })).toBe(1);
    expect(c.err()).toContain('ambiguous');
    expect(c.err()).toContain('  a.v1.ThingService\n  b.v1.ThingService');
  });

  it('usage mistakes exit 2; a bad proto dir exits 1', async () => {
    const c = capture();
    expect(await samplesCommand([], c.io, { protoDirs: [PROTO_DIR] })).toBe(2);
    expect(c.err()).toContain('usage: samples');
    const d = capture();
    expect(await samplesCommand(['x'], d.io, { protoDirs: [resolve(FIXTURES, 'nowhere')] })).toBe(1);
    expect(d.err()).toContain('no such directory');
  });
});

describeWith(sharedSpecs(), 'samples command over the AGS catalog', () => {
  it('--list prints 442 events (not ScheduledTaskHandler, which answers a ScheduledTaskResponse)', async () => {
    const c = capture();
    expect(await samplesCommand(['--list'], c.io, { protoDirs: [AGS_SPECS_DIR] })).toBe(0);
    expect(c.out().trim().split('\n')).toHaveLength(442);
  });
});
