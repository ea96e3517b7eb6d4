/**
 * Our proto/accelbyte/iam/account/v1/account.proto must be wire compatible with
 * AccelByte's published file: same services, and for each event message the same
 * field names, numbers, types, labels and json names, recursively.
 */
import { beforeAll, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog } from '../../src/events/types.js';
import { AGS_SPECS_DIR, describeWith, sharedSpecs } from '../support/prereq.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';

interface Shape {
  type: string;
  fields: { name: string; id: number; type: string; label: string; jsonName: unknown; nested: Shape | string | null }[];
}

/** The wire shape of a message, recursively (a message seen higher up is named, not expanded). */
function shape(type: Type, seen: string[] = []): Shape {
  const fields = type.fieldsArray
    .map((f) => {
      f.resolve();
      const t = f.resolvedType;
      let nested: Shape | string | null = null;
      if (t instanceof protobuf.Type) nested = seen.includes(t.fullName) ? t.fullName : shape(t, [...seen, type.fullName]);
      else if (t instanceof protobuf.Enum) nested = JSON.stringify(t.values);
      return {
        name: f.name,
        id: f.id,
        type: t ? t.fullName : f.type,
        label: f.map ? 'map' : f.repeated ? 'repeated' : f.partOf ? `oneof ${f.partOf.name}` : 'singular',
        jsonName: f.options?.['json_name'] as unknown,
        nested,
      };
    })
    .sort((a, b) => a.id - b.id);
  return { type: type.fullName, fields };
}

describeWith(sharedSpecs(), 'proto/ account.proto matches the AGS wire contract', () => {
  let ours: Catalog;
  let reference: Catalog;
  beforeAll(async () => {
    ours = await loadCatalog({ dirs: [FIXTURE_PROTO_DIR] });
    reference = await loadCatalog({ dirs: [AGS_SPECS_DIR] });
  });

  for (const message of ['UserLoggedIn', 'UserThirdPartyLoggedIn']) {
    it(`${message}: identical fields, recursively`, () => {
      const name = `accelbyte.iam.account.v1.${message}`;
      const mine = shape(ours.root.lookupType(name));
      const theirs = shape(reference.root.lookupType(name));
      expect(mine.fields.length).toBeGreaterThan(5);
      expect(mine).toEqual(theirs);
    });
  }

  it('the same services, methods and request types', () => {
    for (const s of ours.services) {
      const r = reference.resolve(s.path);
      expect(r.ok, s.path).toBe(true);
      if (r.ok) {
        expect(r.service.requestTypeName).toBe(s.requestTypeName);
        expect(r.service.eventName).toBe(s.eventName);
        const mine = ours.root.lookupService(s.fullName).methods[s.methodName]!;
        const theirs = reference.root.lookupService(s.fullName).methods[s.methodName]!;
        mine.resolve();
        theirs.resolve();
        expect(mine.resolvedResponseType!.fullName).toBe('.google.protobuf.Empty');
        expect(theirs.resolvedResponseType!.fullName).toBe('.google.protobuf.Empty');
      }
    }
    expect(ours.services).toHaveLength(2);
  });
});
