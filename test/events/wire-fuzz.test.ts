/**
 * Differential fuzz of the event decoder against protobuf's reference (Debian's
 * python3-protobuf, C++ backend) on random mutations of real AGS events (issue
 * 16, "The wire is decoded strictly"). Fixed seed, bounded count: every input
 * is either accepted by both with the same JSON, or refused by both.
 *
 * One deliberate difference, compared as a refusal: a known field sent with
 * another wire type. The reference keeps it as an unknown field and reads the
 * known field as its default; this project refuses the event (the sender's
 * proto differs from ours). The harness reports such messages as refused.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import { sampleEvent } from '../../src/events/samples.js';
import type { Catalog, EventService } from '../../src/events/types.js';
import { AGS_SPECS_DIR, REPO_ROOT, debianPython, describeWith, sharedSpecs } from '../support/prereq.js';

const PYTHON = '/usr/bin/python3';
const HARNESS = resolve(REPO_ROOT, 'test/events/support/protobuf-reference.py');
const SEED = 20261130;
const PER_EVENT = 400;
/** Real AGS events with strings, int64, enums, repeated, maps, Struct and nested messages. */
const EVENTS = ['userLoggedIn', 'userThirdPartyLoggedIn', 'statItemUpdated', 'walletCredited', 'entitlementGranted', 'matchmakingRequested', 'personalChatSent', 'playerRecordUpdated'];

const ready = [sharedSpecs(), debianPython('google.protobuf', 'python3-protobuf'), debianPython('grpc_tools', 'python3-grpc-tools')];

/** xorshift32: a fixed, portable sequence. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

function mutate(base: Uint8Array, r: (n: number) => number): Uint8Array {
  const b = [...base];
  const rounds = 1 + r(3);
  for (let k = 0; k < rounds; k++) {
    const at = r(b.length + 1);
    switch (r(8)) {
      case 0: // flip a bit
        if (b.length) b[at % b.length]! ^= 1 << r(8);
        break;
      case 1: // set a byte
        if (b.length) b[at % b.length] = r(256);
        break;
      case 2: // insert a byte
        b.splice(at, 0, r(256));
        break;
      case 3: // delete bytes
        b.splice(at, 1 + r(3));
        break;
      case 4: // truncate
        b.length = Math.min(b.length, at);
        break;
      case 5: // duplicate a chunk
        b.splice(at, 0, ...b.slice(r(b.length + 1), r(b.length + 1)));
        break;
      case 6: // a random tag with a short value
        b.splice(at, 0, (r(40) << 3) | r(8), r(128));
        break;
      default: // an invalid UTF-8 byte or a 0xff run
        b.splice(at, 0, ...[0xc0, 0xff, 0xed, 0x80].slice(0, 1 + r(3)));
    }
  }
  return Uint8Array.from(b);
}

type Ref = { ok: true; json: unknown; jsonError?: string } | { ok: false; reason: string };

/** Our JSON vs the reference's MessageToDict: int64 as strings there, absent messages omitted there. */
function sameJson(ours: unknown, ref: unknown, path: string, diffs: string[]): void {
  if (ref === null || typeof ref !== 'object') {
    const equal = ours === ref || (typeof ours === 'number' && typeof ref === 'string' && String(ours) === ref) || (typeof ours === 'number' && typeof ref === 'number' && Object.is(ours + 0, ref + 0));
    if (!equal) diffs.push(`${path}: ours ${JSON.stringify(ours)}, reference ${JSON.stringify(ref)}`);
    return;
  }
  if (Array.isArray(ref)) {
    if (!Array.isArray(ours) || ours.length !== ref.length) {
      diffs.push(`${path}: ours ${JSON.stringify(ours)}, reference ${JSON.stringify(ref)}`);
      return;
    }
    ref.forEach((v, i) => sameJson(ours[i], v, `${path}[${i}]`, diffs));
    return;
  }
  if (ours === null || typeof ours !== 'object' || Array.isArray(ours)) {
    diffs.push(`${path}: ours ${JSON.stringify(ours)}, reference an object`);
    return;
  }
  const o = ours as Record<string, unknown>;
  const rf = ref as Record<string, unknown>;
  for (const k of Object.keys(rf)) sameJson(o[k], rf[k], `${path}.${k}`, diffs);
  // keys only we have: a message the reference omits because it is absent (we fill its defaults) or null
  for (const k of Object.keys(o)) {
    if (Object.hasOwn(rf, k)) continue;
    const v = o[k];
    if (v !== null && (typeof v !== 'object' || Array.isArray(v))) diffs.push(`${path}.${k}: ours ${JSON.stringify(v)}, absent from the reference`);
  }
}

describeWith(ready, 'wire fuzz against python3-protobuf', () => {
  let catalog: Catalog;
  let dir: string;
  let descriptorSet: string;
  beforeAll(async () => {
    catalog = await loadCatalog({ dirs: [AGS_SPECS_DIR] });
    dir = mkdtempSync(join(tmpdir(), 'eer-fuzz-'));
    descriptorSet = join(dir, 'ags.pb');
    const files = [...new Set(EVENTS.map((e) => service(e).file))];
    execFileSync(PYTHON, ['-m', 'grpc_tools.protoc', `-I${AGS_SPECS_DIR}`, '--include_imports', `--descriptor_set_out=${descriptorSet}`, ...files], { stdio: ['ignore', 'ignore', 'pipe'] });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function service(name: string): EventService {
    const r = catalog.resolve(name);
    if (!r.ok) throw new Error(`${name} is not in ../shared/ags-event-specs`);
    return r.service;
  }

  it(`${EVENTS.length} events x ${PER_EVENT} mutations (seed ${SEED}): both accept with the same JSON, or both refuse`, () => {
    const r = rng(SEED);
    const inputs: { service: EventService; bytes: Uint8Array }[] = [];
    for (const name of EVENTS) {
      const s = service(name);
      const base = catalog.codec(s).encode(sampleEvent(s));
      inputs.push({ service: s, bytes: base });
      for (let i = 0; i < PER_EVENT; i++) inputs.push({ service: s, bytes: mutate(base, r) });
    }
    const run = spawnSync(PYTHON, [HARNESS, descriptorSet], {
      input: inputs.map((x) => JSON.stringify({ type: x.service.requestTypeName, b64: Buffer.from(x.bytes).toString('base64') })).join('\n') + '\n',
      maxBuffer: 256 * 1024 * 1024,
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const refs = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Ref);
    expect(refs).toHaveLength(inputs.length);

    const disagreements: string[] = [];
    const tally = { bothAccept: 0, bothRefuse: 0, noJsonForm: 0 };
    inputs.forEach((input, i) => {
      const ref = refs[i]!;
      let ours: unknown;
      let oursError: string | undefined;
      try {
        ours = catalog.codec(input.service).decode(input.bytes);
      } catch (err) {
        oursError = (err as Error).message;
      }
      const hex = Buffer.from(input.bytes).toString('hex');
      if (!ref.ok) {
        if (oursError === undefined) disagreements.push(`${input.service.eventName} #${i} ${hex}: the reference refuses (${ref.reason}), we accept`);
        else tally.bothRefuse++;
        return;
      }
      if (oursError !== undefined) {
        disagreements.push(`${input.service.eventName} #${i} ${hex}: we refuse (${oursError}), the reference accepts`);
        return;
      }
      if (ref.json === null) {
        tally.noJsonForm++; // e.g. a Struct number that is NaN: proto3 JSON has no form for it
        return;
      }
      const diffs: string[] = [];
      sameJson(ours, ref.json, input.service.eventName, diffs);
      if (diffs.length) disagreements.push(`#${i} ${hex}: ${diffs.slice(0, 3).join('; ')}`);
      else tally.bothAccept++;
    });
    process.stderr.write(`wire fuzz: ${JSON.stringify(tally)} of ${inputs.length}\n`);
    expect(disagreements.slice(0, 10)).toEqual([]);
    // the corpus exercises both sides
    expect(tally.bothAccept).toBeGreaterThan(inputs.length / 20);
    expect(tally.bothRefuse).toBeGreaterThan(inputs.length / 10);
  }, 300_000);
});
