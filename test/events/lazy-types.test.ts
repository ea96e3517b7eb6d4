import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog, EventService } from '../../src/events/types.js';

const A_PROTO = `syntax = "proto3";
package a.v1;
import "google/protobuf/any.proto";
import "google/protobuf/empty.proto";
message AEvent {
  string id = 1;
  google.protobuf.Any extra = 2;
}
service AService {
  rpc OnMessage(AEvent) returns (google.protobuf.Empty);
}
`;

const B_PROTO = `syntax = "proto3";
package b.v1;
import "google/protobuf/empty.proto";
message BThing {
  string label = 1 [json_name = "theLabel"];
}
service BService {
  rpc OnMessage(BThing) returns (google.protobuf.Empty);
}
`;

describe('keepRoot: false: request types parsed per file, on first use', () => {
  let dir: string;
  let catalog: Catalog;
  let a: EventService;
  let b: EventService;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lazy-types-'));
    await mkdir(join(dir, 'a/v1'), { recursive: true });
    await mkdir(join(dir, 'b/v1'), { recursive: true });
    await writeFile(join(dir, 'a/v1/a.proto'), A_PROTO);
    await writeFile(join(dir, 'b/v1/b.proto'), B_PROTO);
    catalog = await loadCatalog({ dirs: [dir], keepRoot: false });
    a = catalog.services.find((s) => s.name === 'AService')!;
    b = catalog.services.find((s) => s.name === 'BService')!;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives each service its request type, the same object every time', () => {
    expect(a.requestType.fullName).toBe('.a.v1.AEvent');
    expect(a.requestType).toBe(a.requestType);
    expect(b.requestType.fields.label!.options).toEqual({ json_name: 'theLabel' });
    expect(catalog.codec(a)).toBe(catalog.codec(a));
    // from the root of a's own file: b's package is not in it
    expect(a.requestType.root.nested?.['b']).toBeUndefined();
    expect(a.requestType.root).not.toBe(catalog.root);
  });

  it('still expands an Any holding a message of another file', () => {
    const bType = catalog.root.lookupType('b.v1.BThing');
    const type = a.requestType;
    const bytes = type
      .encode(
        type.fromObject({
          id: 'e1',
          extra: { type_url: 'type.googleapis.com/b.v1.BThing', value: bType.encode(bType.fromObject({ label: 'x' })).finish() },
        }),
      )
      .finish();
    expect(catalog.codec(a).decode(bytes)).toEqual({ id: 'e1', extra: { '@type': 'type.googleapis.com/b.v1.BThing', theLabel: 'x' } });
    // the lookup an Any makes, from the root of a's file
    expect(a.requestType.root.lookup('b.v1.BThing')?.fullName).toBe('.b.v1.BThing');
    expect(a.requestType.root.lookup('b.v1.Nothing')).toBeNull();
  });

  it('encodes with the per-file type as before', () => {
    const event = { id: 'e2', extra: { '@type': 'type.googleapis.com/b.v1.BThing', theLabel: 'y' } };
    expect(catalog.codec(a).decode(catalog.codec(a).encode(event))).toEqual(event);
  });

  it('keeps every type in catalog.root', () => {
    expect(catalog.root.lookupType('a.v1.AEvent').name).toBe('AEvent');
    expect(catalog.root.lookupService('b.v1.BService').name).toBe('BService');
    expect(catalog.root).toBe(catalog.root);
  });
});

describe('keepRoot (the default): one root for everything', () => {
  it('takes request types from catalog.root', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keep-root-'));
    try {
      await mkdir(join(dir, 'a/v1'), { recursive: true });
      await writeFile(join(dir, 'a/v1/a.proto'), A_PROTO);
      const catalog = await loadCatalog({ dirs: [dir] });
      const a = catalog.services[0]!;
      expect(a.requestType.root).toBe(catalog.root);
      expect(a.requestType).toBe(catalog.root.lookupType('a.v1.AEvent'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
