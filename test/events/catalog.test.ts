import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import { CatalogLoadError } from '../../src/events/types.js';
import type { Catalog } from '../../src/events/types.js';
import { AGS_SPECS_DIR, REPO_ROOT, describeWith, sharedSpecs } from '../support/prereq.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';

const PROTO_DIR = FIXTURE_PROTO_DIR;
const FIXTURES = resolve(REPO_ROOT, 'test/events/fixtures');
const LOGIN = 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService';
const THIRD_PARTY = 'accelbyte.iam.account.v1.UserAuthenticationUserThirdPartyLoggedInService';

describe('catalog of proto/', () => {
  let catalog: Catalog;
  beforeAll(async () => {
    catalog = await loadCatalog({ dirs: [PROTO_DIR] });
  });

  it('indexes the two login services with every name', () => {
    expect(catalog.dirs).toEqual([PROTO_DIR]);
    expect(catalog.files).toEqual(['accelbyte/iam/account/v1/account.proto']);
    expect(catalog.services.map((s) => s.fullName)).toEqual([LOGIN, THIRD_PARTY]);
    const login = catalog.services[0]!;
    expect({ ...login, requestType: login.requestType.name }).toEqual({
      fullName: LOGIN,
      name: 'UserAuthenticationUserLoggedInService',
      packageName: 'accelbyte.iam.account.v1',
      methodName: 'OnMessage',
      path: `/${LOGIN}/OnMessage`,
      requestType: 'UserLoggedIn',
      requestTypeName: 'accelbyte.iam.account.v1.UserLoggedIn',
      eventName: 'userLoggedIn',
      file: 'accelbyte/iam/account/v1/account.proto',
    });
    expect(catalog.services[1]!.eventName).toBe('userThirdPartyLoggedIn');
    expect(catalog.root.lookupType('accelbyte.iam.account.v1.AnonymousSchema19').name).toBe('AnonymousSchema19');
  });

  it('resolves by full name, short name, event name, request type and method path', () => {
    const forms = [
      LOGIN,
      'UserAuthenticationUserLoggedInService',
      'userLoggedIn',
      'accelbyte.iam.account.v1.UserLoggedIn',
      `/${LOGIN}/OnMessage`,
      `${LOGIN}/OnMessage`,
    ];
    for (const form of forms) {
      const r = catalog.resolve(form);
      expect(r.ok, form).toBe(true);
      if (r.ok) expect(r.service.fullName, form).toBe(LOGIN);
    }
    const third = catalog.resolve('userThirdPartyLoggedIn');
    expect(third.ok && third.service.fullName).toBe(THIRD_PARTY);
  });

  it('answers unknown names with the closest candidates', () => {
    expect(catalog.resolve('userloggedin')).toEqual({ ok: false, reason: 'unknown', candidates: expect.arrayContaining(['userLoggedIn']) as unknown });
    const typo = catalog.resolve('userLogedIn');
    expect(typo.ok).toBe(false);
    if (!typo.ok) {
      expect(typo.reason).toBe('unknown');
      expect(typo.candidates[0]).toBe('userLoggedIn');
      expect(typo.candidates.length).toBeLessThanOrEqual(5);
    }
    const path = catalog.resolve(`/${LOGIN}/OnMesage`);
    expect(path.ok === false && path.candidates[0]).toBe(`${LOGIN}/OnMessage`);
    const nothing = catalog.resolve('zzzzzzzzzzzzzzzzzzzzzz');
    expect(nothing).toEqual({ ok: false, reason: 'unknown', candidates: [] });
  });
});

describe('catalog of test fixtures', () => {
  let catalog: Catalog;
  beforeAll(async () => {
    catalog = await loadCatalog({ dirs: [join(FIXTURES, 'ambiguous'), join(FIXTURES, 'kitchen')] });
  });

  it('lists files of every dir and indexes only unary methods', () => {
    expect(catalog.files).toEqual(['a/v1/a.proto', 'b/v1/b.proto', 'demo/v1/kitchen.proto']);
    expect(catalog.services.map((s) => s.path)).toEqual([
      '/a.v1.ThingService/OnMessage',
      '/b.v1.ThingService/OnMessage',
      '/demo.v1.KitchenSinkService/OnMessage',
      '/demo.v1.InnerService/OnMessage',
      '/demo.v1.InnerService/OnOther',
    ]);
  });

  it('reports the same short name in two packages as ambiguous, with full names', () => {
    expect(catalog.resolve('ThingService')).toEqual({
      ok: false,
      reason: 'ambiguous',
      candidates: ['a.v1.ThingService', 'b.v1.ThingService'],
    });
    expect(catalog.resolve('thingHappened')).toEqual({
      ok: false,
      reason: 'ambiguous',
      candidates: ['a.v1.ThingService', 'b.v1.ThingService'],
    });
    const full = catalog.resolve('b.v1.ThingService');
    expect(full.ok && full.service.packageName).toBe('b.v1');
  });

  it('reports a service with two methods as ambiguous, with method paths', () => {
    expect(catalog.resolve('demo.v1.InnerService')).toEqual({
      ok: false,
      reason: 'ambiguous',
      candidates: ['/demo.v1.InnerService/OnMessage', '/demo.v1.InnerService/OnOther'],
    });
    const one = catalog.resolve('/demo.v1.InnerService/OnOther');
    expect(one.ok && one.service.methodName).toBe('OnOther');
  });

  it('codecs are built once per service', () => {
    const s = catalog.services[2]!;
    expect(catalog.codec(s)).toBe(catalog.codec(s));
  });
});

describe('catalog load errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'catalog-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(sub: string, rel: string, text: string): Promise<string> {
    const root = join(dir, sub);
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), text);
    return root;
  }

  it('a syntax error names the file and the line', async () => {
    const root = await write('syntax', 'x/bad.proto', 'syntax = "proto3";\npackage x;\n\nmessage A {\n  string a = 1\n  string b = 2;\n}\n');
    const err = await loadCatalog({ dirs: [root] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogLoadError);
    expect((err as CatalogLoadError).file).toBe('x/bad.proto');
    expect((err as CatalogLoadError).reason).toMatch(/line 6/);
  });

  it('a missing import and an unknown type name the file', async () => {
    const imp = await write('import', 'y/a.proto', 'syntax = "proto3";\npackage y;\nimport "y/missing.proto";\nmessage A { string a = 1; }\n');
    const e1 = await loadCatalog({ dirs: [imp] }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(CatalogLoadError);
    expect(e1).toMatchObject({ file: 'y/a.proto', reason: expect.stringContaining('y/missing.proto') as unknown });

    const type = await write('type', 'z/a.proto', 'syntax = "proto3";\npackage z;\nmessage A { Nope n = 1; }\n');
    const e2 = await loadCatalog({ dirs: [type] }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(CatalogLoadError);
    expect(e2).toMatchObject({ file: 'z/a.proto', reason: expect.stringContaining('Nope') as unknown });
  });

  it('a missing dir is a load error', async () => {
    await expect(loadCatalog({ dirs: [join(dir, 'nowhere')] })).rejects.toBeInstanceOf(CatalogLoadError);
  });

  it('imports of well-known types and of another loaded file resolve without files on disk', async () => {
    const root = await write(
      'ok',
      'p/v1/base.proto',
      'syntax = "proto3";\npackage p.v1;\nimport "google/protobuf/descriptor.proto";\nimport "google/protobuf/field_mask.proto";\nmessage Base { google.protobuf.FieldMask mask = 1; }\n',
    );
    await write(
      'ok',
      'p/v1/svc.proto',
      'syntax = "proto3";\npackage p.v1;\nimport "p/v1/base.proto";\nimport "google/protobuf/empty.proto";\nmessage Ev { Base base = 1; }\nservice S { rpc OnMessage(Ev) returns (google.protobuf.Empty); }\n',
    );
    const catalog = await loadCatalog({ dirs: [root] });
    expect(catalog.services.map((s) => s.path)).toEqual(['/p.v1.S/OnMessage']);
  });
});

describeWith(sharedSpecs(), 'the whole AGS catalog', () => {
  it('loads 45 files and 442 event services; the one method answering something else is skipped', async () => {
    const catalog = await loadCatalog({ dirs: [AGS_SPECS_DIR] });
    expect(catalog.files).toHaveLength(45);
    expect(catalog.services).toHaveLength(442);
    expect(catalog.skipped.map((s) => s.path)).toEqual(['/accelbyte.extend.task_scheduler.v1.ScheduledTaskHandler/RunScheduledTask']);
    const login = catalog.resolve('userLoggedIn');
    expect(login.ok && login.service.fullName).toBe(LOGIN);
    // every path is unique
    expect(new Set(catalog.services.map((s) => s.path)).size).toBe(442);
  });
});
