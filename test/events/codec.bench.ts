/**
 * Not a test: `npx vitest bench --run test/events` measures the catalog load and
 * the decode of one userLoggedIn (every field set), the hot path of every event.
 */
import { bench, describe } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import { sampleEvent } from '../../src/events/samples.js';
import { AGS_SPECS_DIR } from '../support/prereq.js';
import { FIXTURE_PROTO_DIR } from '../support/app-fixture.js';

const catalog = await loadCatalog({ dirs: [FIXTURE_PROTO_DIR] });
const found = catalog.resolve('userLoggedIn');
if (!found.ok) throw new Error('userLoggedIn not in proto/');
const codec = catalog.codec(found.service);
const bytes = codec.encode(sampleEvent(found.service));
const type = found.service.requestType;

describe('decode userLoggedIn', () => {
  bench('codec.decode (protobufjs decode + json-name converter)', () => {
    codec.decode(bytes);
  });
  bench('protobufjs Type.decode alone (reference)', () => {
    type.decode(bytes);
  });
});

describe('catalog', () => {
  bench('load the whole AGS catalog (45 files, 443 services)', async () => {
    await loadCatalog({ dirs: [AGS_SPECS_DIR] });
  }, { iterations: 5, time: 0 });
});
