/**
 * A first-hour rule on an AGS event whose .proto is not in proto/ (`on: userAccountCreated`: the shipped
 * account.proto is a 2-event excerpt) is told which file of AccelByte/accelbyte-api-proto to download and
 * where to put it. The index of src/rules/ags-event-files.ts is AGS's catalog (../shared/ags-event-specs).
 */
import { sep } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import { AGS_EVENT_FILES } from '../../src/rules/ags-event-files.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import { AGS_SPECS_DIR, describeWith, sharedSpecs } from '../support/prereq.js';
import { fixtureCatalog, testRegistry } from './support/fixtures.js';

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: testRegistry(), env: {}, unsetEnv: 'warn' };
});

describe('an AGS event whose .proto is not loaded', () => {
  it('names the file of accelbyte-api-proto and where it goes', () => {
    const r = compileRulesText('version: 1\nrules:\n  - name: welcome\n    on: userAccountCreated\n    do: [ { log: { message: hi } } ]\n', 'rules.yaml', opts);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => `${p.line}:${p.column} ${p.message} | ${p.fix ?? ''}`)).toEqual([
      '4:9 unknown event "userAccountCreated" | "userAccountCreated" is an AGS event of asyncapi/accelbyte/iam/account/v1/account.proto in https://github.com/AccelByte/accelbyte-api-proto: download it to proto/accelbyte/iam/account/v1/account.proto (PROTO_DIR), then restart the server (it loads protos at start-up)',
    ]);
  });
});

describeWith(sharedSpecs(), 'the index of AGS event files', () => {
  it("is AGS's catalog: each file's event names", async () => {
    const catalog = await loadCatalog({ dirs: [AGS_SPECS_DIR] });
    const byFile: Record<string, string[]> = {};
    for (const s of catalog.services) {
      const file = s.file.split(sep).join('/'); // relative to its PROTO_DIR
      (byFile[file] ??= []).push(s.eventName);
    }
    const sorted = (o: Readonly<Record<string, readonly string[]>>): Record<string, string[]> => {
      const out: Record<string, string[]> = {};
      for (const k of Object.keys(o).sort()) out[k] = [...new Set(o[k])].sort();
      return out;
    };
    expect(sorted(AGS_EVENT_FILES)).toEqual(sorted(byFile));
  });
});
