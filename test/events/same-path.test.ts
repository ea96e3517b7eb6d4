/**
 * One relative path under several PROTO_DIR roots: the shipped 2-event
 * `account.proto` excerpt never hides AGS's own IAM file of the same path.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import { REPO_ROOT, describeWith, sharedSpecs } from '../support/prereq.js';

const SHIPPED = resolve(REPO_ROOT, 'test/fixtures/app/proto');
const SPECS = resolve(REPO_ROOT, '../shared/ags-event-specs');
const ACCOUNT = 'accelbyte/iam/account/v1/account.proto';

describeWith(sharedSpecs(), 'PROTO_DIR=proto,<specs>: the shipped excerpt gives way to AGS\'s file of the same path', () => {
  it('userAccountCreated is served, and every IAM account event (41), whichever order the directories come in', async () => {
    const alone = (await loadCatalog({ dirs: [SPECS] })).services.filter((s) => s.file === ACCOUNT).map((s) => s.fullName);
    expect(alone.length).toBeGreaterThanOrEqual(41);
    for (const dirs of [[SHIPPED, SPECS], [SPECS, SHIPPED]]) {
      const catalog = await loadCatalog({ dirs });
      const r = catalog.resolve('userAccountCreated');
      expect(r.ok).toBe(true);
      const iam = catalog.services.filter((s) => s.file === ACCOUNT);
      expect(iam.map((s) => s.fullName)).toEqual(alone);
      expect(catalog.resolve('userLoggedIn').ok).toBe(true);
    }
  });
});

describe('same relative path in several directories', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  function dirWith(text: string): string {
    const d = mkdtempSync(join(tmpdir(), 'same-path-'));
    made.push(d);
    mkdirSync(join(d, 'game'), { recursive: true });
    writeFileSync(join(d, 'game/events.proto'), `syntax = "proto3";\npackage game.v1;\nimport "google/protobuf/empty.proto";\n${text}`);
    return d;
  }
  const A = 'message A { string id = 1; }\nservice AService { rpc OnMessage(A) returns (google.protobuf.Empty); }\n';
  const B = 'message B { string id = 1; }\nservice BService { rpc OnMessage(B) returns (google.protobuf.Empty); }\n';

  it('an excerpt first gives way to the fuller file after it', async () => {
    const catalog = await loadCatalog({ dirs: [dirWith(A), dirWith(A + B)] });
    expect(catalog.services.map((s) => s.eventName)).toEqual(['a', 'b']);
  });

  it('files that disagree keep the documented order: the first directory wins (an edited copy stays in force)', async () => {
    const edited = 'message A { string id = 1; string extra = 2; }\nservice AService { rpc OnMessage(A) returns (google.protobuf.Empty); }\n';
    const catalog = await loadCatalog({ dirs: [dirWith(edited), dirWith(A + B)] });
    expect(catalog.services.map((s) => s.eventName)).toEqual(['a']);
    expect(catalog.services[0]!.requestType.fields.extra).toBeDefined();
  });
});
