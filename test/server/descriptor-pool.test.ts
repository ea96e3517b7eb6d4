import type { Root } from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog } from '../../src/events/types.js';
import { DescriptorPool } from '../../src/server/descriptors.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';

const FILE = 'accelbyte/iam/account/v1/account.proto';

describe('a descriptor pool over roots given as a function', () => {
  let catalog: Catalog;
  beforeAll(async () => {
    catalog = await loadCatalog({ dirs: [FIXTURE_PROTO_DIR] });
  });

  it('asks for the roots on the first request only, and answers as with the roots themselves', () => {
    let asked = 0;
    const lazy = new DescriptorPool({
      roots: (): readonly Root[] => {
        asked++;
        return [catalog.root];
      },
      dirs: catalog.dirs,
    });
    expect(asked).toBe(0);
    const eager = new DescriptorPool({ roots: [catalog.root], dirs: catalog.dirs });
    expect(lazy.fileContainingSymbol('accelbyte.iam.account.v1.UserLoggedIn')).toBe(FILE);
    expect(asked).toBe(1);
    expect(lazy.fileNames()).toEqual(eager.fileNames());
    expect(lazy.hasFile(FILE)).toBe(true);
    expect(lazy.isMessageType('accelbyte.iam.account.v1.UserLoggedIn')).toBe(true);
    const a = lazy.fileWithDependencies(FILE)!;
    const b = eager.fileWithDependencies(FILE)!;
    expect(a.map((x) => x.toString('base64'))).toEqual(b.map((x) => x.toString('base64')));
    expect(asked).toBe(1);
  });
});
