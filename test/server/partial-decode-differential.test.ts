/**
 * Differential test of the partial decode (issue 23: `RuleSet.decidedOn`, `codec.decodeFields`,
 * `EventCall.partial`): two gRPC hosts on loopback, the same rules, the same handler and executor
 * setup; one decodes an event only for the fields its rules are decided on (the product's
 * `decidedOn`), the other always decodes it whole. The same seeded events, sent with a real grpc-js
 * client to both, must get the same answer (status code and details), the same actions with the
 * same parameters, the same dead letters (the whole event), summary lines, warnings and counters.
 *
 * The events are written field by field, as a sender may write them and protobuf's references read
 * them: varints (tags, lengths, values) sometimes padded to 6 to 10 bytes, a decided field sent
 * twice (the last wins), packed and unpacked repeated scalars, unknown fields of every wire type
 * (groups nested in groups, field numbers up to 2^29-1, 19000-19999), both members of a oneof,
 * negative int32 (10 bytes), fields in any order; then some are mutated at random (bit flips, cuts,
 * insertions): refused or not, both hosts must agree; a few are past the hosts' message limit. A Timestamp past JSON's range is refused by the
 * whole decode: the partial one must not answer it OK. Some calls are replays (the replay command's
 * header); the rules are reloaded twice, the handler's a few events before the host's (the window
 * where the host decoded for the rules the handler no longer runs).
 *
 * It fails on each of these deliberate breaks (checked when written): the first occurrence of a field
 * read, an absent field read null, strings read as latin1, the id not read, a non-string or oneof field
 * read in part, no whole decode for a Timestamp, nested fields read, a match not decoded again, the
 * handler's check of a reload skipped, decidedOn taking a nested path or an impure operator; and on the
 * three defects fixed with it (varints of 6 to 9 bytes, Timestamps, map entries without their value).
 *
 * Fixed seed (TEST_SEED overrides it), 500 events, a second or two.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { REPLAY_HEADER, createExecutor } from '../../src/delivery/executor.js';
import { MemoryDeadLetterSink } from '../../src/delivery/dead-letters.js';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog, EventService } from '../../src/events/types.js';
import { createEventHandler } from '../../src/pipeline/event-handler.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import { createEventHost } from '../../src/server/host.js';
import type { EventHost } from '../../src/server/host.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { captureLogger, recordingAction, registryOf } from '../delivery/support.js';
import { compileOrThrow } from '../rules/support/fixtures.js';
import { seededRandom } from '../support/seed.js';
import { workspace } from '../support/workspace.js';
import { rawClient } from './support.js';

const SEED = process.env.TEST_SEED ? Number(process.env.TEST_SEED) : 20261206;
const EVENTS = 500;
/** The hosts' message limit (bytes): a few events are larger. */
const LIMIT = 4096;

const PROTO = `syntax = "proto3";
package diff.v1;
import "google/protobuf/empty.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
enum Tier { TIER_UNSPECIFIED = 0; GOLD = 1; SILVER = 2; }
message Location { string country = 1; string city = 2; int32 level = 3; }
message Payload {
  Location location = 1;
  repeated int32 scores = 2;
  repeated string tags = 3;
  map<string, int32> counts = 4;
  Tier tier = 5;
  sint32 delta = 6;
  bool flag = 7;
  google.protobuf.Struct extra = 8;
  map<string, Location> places = 9;
}
message Played {
  string id = 1;
  string namespace = 2;
  string user_id = 3;
  int64 version = 4;
  uint32 level = 5;
  Payload payload = 6;
  string mode = 7;
  oneof target { string room = 8; int32 seat = 9; }
}
message Stamped { string id = 1; string namespace = 2; google.protobuf.Timestamp at = 3; }
message Scored { string id = 1; string namespace = 2; int32 score = 3; Tier tier = 4; }
message Seated {
  string id = 1;
  string namespace = 2;
  oneof target { string room = 3; int32 seat = 4; }
  optional string note = 5;
}
message Tagged { string id = 1; string namespace = 2; string mode = 3; }
service PlayedService { rpc OnMessage(Played) returns (google.protobuf.Empty); }
service StampedService { rpc OnMessage(Stamped) returns (google.protobuf.Empty); }
service ScoredService { rpc OnMessage(Scored) returns (google.protobuf.Empty); }
service SeatedService { rpc OnMessage(Seated) returns (google.protobuf.Empty); }
service TaggedService { rpc OnMessage(Tagged) returns (google.protobuf.Empty); }
`;

// The conditions on played read top-level string fields only (the partial decode's case; stamped too, but its
// Timestamp makes it whole), those on scored, seated and tagged read more (an int32, an enum, a oneof member, a
// proto3 optional, missing: the whole decode's case); the actions read the rest. A rule matching on '' (an absent
// string) and none on null, one on a non-ASCII value, one on a var's default; played's conditions do not read id.
const RULES = `version: 1
rules:
  - name: home
    on: played
    when: { "==": [ { var: namespace }, mygame ] }
    do: [ { grant: { city: "\${event.payload.location.city}", level: "\${event.payload.location.level}", tier: "\${event.payload.tier}", seat: "\${event.seat}" } } ]
  - name: vip
    on: played
    when: { in: [ { var: userId }, [ vip-1, vip-2 ] ] }
    do: [ { grant: { user: "\${event.userId}", version: "\${event.version}", delta: "\${event.payload.delta}" } } ]
  - name: anonymous-ranked
    on: played
    when: { and: [ { "!": { var: userId } }, { "===": [ { var: mode }, ranked ] }, { "!!": [ { var: namespace } ] } ] }
    do: [ { grant: { required: "\${event.payload.location.country}" } } ]
  - name: never-defaulted
    on: played
    when: { "==": [ { var: [ mode, none ] }, none ] }
    do: [ { grant: { never: "\${event.mode}" } } ]
  - name: watched
    on: played
    mode: shadow
    when: { and: [ { "==": [ { var: mode }, casual ] }, { in: [ mygame, { var: namespace } ] } ] }
    do: [ { grant: { room: "\${event.room}", flag: "\${event.payload.flag}" } } ]
  - name: blank-mode
    on: played
    when: { and: [ { "===": [ { var: mode }, "" ] }, { "==": [ { var: namespace }, other ] } ] }
    do: [ { grant: { blank: "\${event.payload.location.city}" } } ]
  - name: not-home-vip
    on: played
    when: { and: [ { "!=": [ { var: namespace }, mygame ] }, { "==": [ { var: userId }, VIP-1 ] } ] }
    do: [ { grant: { shouting: "\${event.userId}" } } ]
  - name: snowman
    on: played
    when: { "==": [ { var: namespace }, "ünïcödé ☃" ] }
    do: [ { grant: { snow: "\${event.namespace}" } } ]
  - name: stamped-home
    on: stamped
    when: { "==": [ { var: namespace }, mygame ] }
    do: [ { grant: { at: "\${event.at}" } } ]
  - name: scored-high
    on: scored
    when: { ">": [ { var: score }, 100 ] }
    do: [ { grant: { score: "\${event.score}" } } ]
  - name: scored-gold
    on: scored
    when: { "==": [ { var: tier }, GOLD ] }
    do: [ { grant: { tier: "\${event.tier}" } } ]
  - name: seated-roomless
    on: seated
    when: { and: [ { "==": [ { var: namespace }, other ] }, { "==": [ { var: [ room, none ] }, none ] } ] }
    do: [ { grant: { seat: "\${event.seat}" } } ]
  - name: seated-noted
    on: seated
    when: { and: [ { "==": [ { var: namespace }, mygame ] }, { "===": [ { var: note }, "" ] } ] }
    do: [ { grant: { room: "\${event.room}" } } ]
  - name: tagged-moded
    on: tagged
    when: { "!": { missing: [ mode ] } }
    do: [ { grant: { mode: "\${event.mode}" } } ]
`;

/** Rules reloaded halfway: one reads a nested field (the whole event). */
const RELOADED = `${RULES}  - name: parisian
    on: played
    when: { in: [ { var: payload.location.city }, [ Paris, Oslo ] ] }
    do: [ { grant: { paris: "\${event.id}" } } ]
`;

// --- the wire, written by hand ---

/** A field: number, wire type, value (a varint, fixed bytes, a string or bytes, the fields of a message or group). */
type Field = readonly [no: number, wt: 0 | 1 | 2 | 3 | 5, value: bigint | number | string | Uint8Array | readonly Field[]];

interface Writer {
  /** Draws in [0, 1). */
  readonly random: () => number;
  /** Probability that a varint is padded to 6 to 10 bytes. */
  readonly pad: number;
}

function varint(w: Writer, v: bigint, out: number[]): void {
  let n = BigInt.asUintN(64, v);
  const bytes: number[] = [];
  do {
    bytes.push(Number(n & 0x7fn));
    n >>= 7n;
  } while (n > 0n);
  if (bytes.length < 6 && w.random() < w.pad) while (bytes.length < 6 + Math.floor(w.random() * 5)) bytes.push(0); // zero payload: the same value
  bytes.forEach((b, i) => out.push(i < bytes.length - 1 ? b | 0x80 : b));
}

function write(w: Writer, fields: readonly Field[], out: number[] = []): number[] {
  for (const [no, wt, value] of fields) {
    varint(w, BigInt(no * 8 + wt), out);
    if (wt === 0) varint(w, BigInt(value as number | bigint), out);
    else if (wt === 1 || wt === 5) out.push(...(value as Uint8Array));
    else if (wt === 2) {
      const body = typeof value === 'string' ? [...Buffer.from(value, 'utf8')] : value instanceof Uint8Array ? [...value] : write(w, value as Field[]);
      varint(w, BigInt(body.length), out);
      out.push(...body);
    } else {
      write(w, value as Field[], out);
      varint(w, BigInt(no * 8 + 4), out);
    }
  }
  return out;
}

// --- seeded events ---

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

const NAMESPACES = ['mygame', 'other', '', 'MyGame', 'mygame ', 'ünïcödé ☃', 'mygame\u0000'];
const USERS = ['vip-1', 'vip-2', 'u-1', 'u-2', '', 'vip-10', 'VIP-1'];
const MODES = ['ranked', 'casual', '', 'none'];
const INT32 = [0, 1, -1, 150, 2 ** 31 - 1, -(2 ** 31), 300];

function unknownFields(random: () => number, depth = 0): Field[] {
  const out: Field[] = [];
  for (let k = Math.floor(random() * 3); k > 0; k--) {
    const no = pick(random, [10, 11, 15, 100, 19000, 19999, 2 ** 29 - 1]);
    const wt = pick(random, [0, 1, 2, 3, 5] as const);
    if (wt === 0) out.push([no, 0, BigInt(Math.floor(random() * 2 ** 40)) - 2n ** 39n]);
    else if (wt === 1) out.push([no, 1, Uint8Array.from({ length: 8 }, () => Math.floor(random() * 256))]);
    else if (wt === 5) out.push([no, 5, Uint8Array.from({ length: 4 }, () => Math.floor(random() * 256))]);
    else if (wt === 2) out.push([no, 2, pick(random, ['x', '', 'mygame', '\u00ff'])]);
    else out.push([no, 3, depth < 3 ? unknownFields(random, depth + 1) : []]);
  }
  return out;
}

function shuffled<T>(random: () => number, list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}

function payloadFields(random: () => number): Field[] {
  const f: Field[] = [];
  if (random() < 0.8) f.push([1, 2, [[1, 2, pick(random, ['SE', '', 'FR'])], [2, 2, pick(random, ['Paris', '', 'Oslo'])], [3, 0, pick(random, INT32)], ...unknownFields(random)]]);
  const scores = Array.from({ length: Math.floor(random() * 4) }, () => pick(random, INT32));
  if (random() < 0.5) {
    const packed: number[] = [];
    for (const s of scores) varint({ random, pad: 0.1 }, BigInt(s), packed);
    if (scores.length > 0) f.push([2, 2, Uint8Array.from(packed)]);
  } else for (const s of scores) f.push([2, 0, s]);
  for (let k = Math.floor(random() * 3); k > 0; k--) f.push([3, 2, pick(random, ['a', 'b', ''])]);
  for (let k = Math.floor(random() * 3); k > 0; k--) f.push([4, 2, [[1, 2, pick(random, ['k', 'j'])], [2, 0, pick(random, INT32)]]]);
  if (random() < 0.7) f.push([5, 0, pick(random, [0, 1, 2, 7, -1])]);
  if (random() < 0.5) {
    const d = pick(random, INT32);
    f.push([6, 0, BigInt.asUintN(32, BigInt((d << 1) ^ (d >> 31)))]); // zigzag
  }
  if (random() < 0.5) f.push([7, 0, pick(random, [0, 1, 2])]);
  if (random() < 0.3) f.push([8, 2, [[1, 2, [[1, 2, 'k'], ...(random() < 0.5 ? [[2, 2, [[3, 2, 'v']]] as const] : [])]]]]); // extra: {"k": "v"}, or an entry without its value
  if (random() < 0.3) f.push([9, 2, [[1, 2, 'home'], ...(random() < 0.5 ? [[2, 2, [[2, 2, 'Oslo']]] as const] : [])]]); // places, an entry with or without its value
  return [...f, ...unknownFields(random)];
}

function playedEvent(random: () => number, i: number): Field[] {
  const f: Field[] = [];
  if (random() < 0.95) f.push([1, 2, `evt-${String(i)}`]);
  const namespace = pick(random, NAMESPACES);
  if (random() < 0.15) f.push([2, 2, pick(random, NAMESPACES)]); // sent twice: the last wins
  if (namespace !== '' || random() < 0.5) f.push([2, 2, namespace]);
  const user = pick(random, USERS);
  if (user !== '' || random() < 0.5) f.push([3, 2, user]);
  if (random() < 0.7) f.push([4, 0, pick(random, [0n, 1n, -1n, 2n ** 53n + 1n, -(2n ** 63n)])]);
  if (random() < 0.5) f.push([5, 0, pick(random, [0, 1, 2 ** 32 - 1])]);
  if (random() < 0.9) f.push([6, 2, payloadFields(random)]);
  if (random() < 0.8) f.push([7, 2, pick(random, MODES)]);
  if (random() < 0.3) f.push([8, 2, pick(random, ['lobby', ''])]);
  if (random() < 0.3) f.push([9, 0, pick(random, INT32)]);
  f.push(...unknownFields(random));
  if (random() < 0.03) f.push([100, 2, 'x'.repeat(LIMIT)]); // past the hosts' message limit
  return random() < 0.3 ? shuffled(random, f) : f;
}

function stampedEvent(random: () => number, i: number): Field[] {
  const seconds = pick(random, [0n, 1_700_000_000n, -62_135_596_800n, 2n ** 45n, -(2n ** 45n), 2n ** 62n]);
  return [[1, 2, `stamp-${String(i)}`], [2, 2, pick(random, NAMESPACES)], [3, 2, [[1, 0, seconds], [2, 0, pick(random, [0, 5, 999_999_999])]]]];
}

function scoredEvent(random: () => number, i: number): Field[] {
  const f: Field[] = [[1, 2, `score-${String(i)}`], [2, 2, pick(random, NAMESPACES)]];
  if (random() < 0.8) f.push([3, 0, pick(random, INT32)]);
  if (random() < 0.5) f.push([4, 0, pick(random, [0, 1, 2, 9])]);
  return [...f, ...unknownFields(random)];
}

function seatedEvent(random: () => number, i: number): Field[] {
  const f: Field[] = [[1, 2, `seat-${String(i)}`], [2, 2, pick(random, NAMESPACES)]];
  if (random() < 0.3) f.push([3, 2, pick(random, ['lobby', ''])]);
  if (random() < 0.3) f.push([4, 0, pick(random, INT32)]);
  if (random() < 0.5) f.push([5, 2, pick(random, ['hi', ''])]);
  return [...f, ...unknownFields(random)];
}

function taggedEvent(random: () => number, i: number): Field[] {
  const f: Field[] = [[1, 2, `tag-${String(i)}`], [2, 2, pick(random, NAMESPACES)]];
  if (random() < 0.7) f.push([3, 2, pick(random, MODES)]);
  return [...f, ...unknownFields(random)];
}

/** Bit flips, cuts and insertions: refused or not, both hosts must agree. */
function mutated(random: () => number, bytes: number[]): number[] {
  const b = [...bytes];
  for (let k = 1 + Math.floor(random() * 2); k > 0; k--) {
    const at = Math.floor(random() * (b.length + 1));
    const op = Math.floor(random() * 4);
    if (op === 0 && at < b.length) b[at] = b[at]! ^ (1 << Math.floor(random() * 8));
    else if (op === 1) b.splice(at, 0, Math.floor(random() * 256));
    else if (op === 2 && at < b.length) b.splice(at, 1);
    else b.length = Math.max(0, b.length - 1 - Math.floor(random() * 3));
  }
  return b;
}

// --- the two hosts ---

interface Side {
  readonly host: EventHost;
  readonly client: grpc.Client;
  readonly grant: ReturnType<typeof recordingAction>;
  readonly deadLetters: MemoryDeadLetterSink;
  readonly metrics: Metrics;
  readonly lines: Record<string, unknown>[];
  /** Calls handed over partly decoded. */
  partial: number;
  /**
   * Swaps the rules the host decodes by (`decidedOn`) or those the handler decides with: a reload lands between
   * the two (the handler must decode the whole event when its rules read more than the host decoded).
   */
  reload(where: 'host' | 'handler', text: string): void;
}

let catalog: Catalog;
let played: EventService;
let stamped: EventService;
let scored: EventService;
let seated: EventService;
let tagged: EventService;
const ws = workspace('eer-partial-diff-');
const sides: Side[] = [];

async function side(partial: boolean): Promise<Side> {
  const grant = recordingAction('grant');
  const registry = registryOf(grant);
  const compiled = new Map<string, RuleSet>([RULES, RELOADED].map((t) => [t, compileOrThrow(t, catalog, registry)]));
  const rules = { host: compiled.get(RULES)!, handler: compiled.get(RULES)! };
  const metrics = new Metrics({ defaultMetrics: false });
  const { logger, lines } = captureLogger();
  const deadLetters = new MemoryDeadLetterSink();
  const executor = createExecutor({ registry, store: new MemoryStateStore(), deadLetters, logger, metrics, dryRun: false, namespace: 'mygame' });
  const onEvent = createEventHandler({ rules: () => rules.handler, executor, logger, metrics });
  const reload = (where: 'host' | 'handler', text: string): void => void (rules[where] = compiled.get(text)!);
  const s = { grant, deadLetters, metrics, lines, partial: 0, reload } as Omit<Side, 'host' | 'client'> & { partial: number };
  const host = createEventHost({
    catalog,
    served: new Set([played, stamped, scored, seated, tagged].map((x) => x.fullName)),
    logger,
    metrics,
    host: '127.0.0.1',
    port: 0,
    limits: { maxReceiveMessageBytes: LIMIT },
    onEvent: (service, event, call) => {
      if (call.partial) s.partial++;
      return onEvent(service, event, call);
    },
    ...(partial ? { decidedOn: (service: EventService) => rules.host.decidedOn(service.fullName) } : {}),
  });
  const { port } = await host.start();
  const done: Side = Object.assign(s, { host, client: rawClient(`127.0.0.1:${String(port)}`) });
  sides.push(done);
  return done;
}

beforeAll(async () => {
  ws.write('diff.proto', PROTO);
  catalog = await loadCatalog({ dirs: [ws.dir] });
  played = catalog.services.find((s) => s.fullName === 'diff.v1.PlayedService')!;
  stamped = catalog.services.find((s) => s.fullName === 'diff.v1.StampedService')!;
  scored = catalog.services.find((s) => s.fullName === 'diff.v1.ScoredService')!;
  seated = catalog.services.find((s) => s.fullName === 'diff.v1.SeatedService')!;
  tagged = catalog.services.find((s) => s.fullName === 'diff.v1.TaggedService')!;
});

afterAll(async () => {
  for (const s of sides) {
    s.client.close();
    await s.host.shutdown(0);
  }
  ws.remove();
});

/** One call: its status code and details; `replay` names the rule of a replay (the replay command's header). */
function call(client: grpc.Client, path: string, bytes: number[], replay: string | undefined): Promise<string> {
  const md = new grpc.Metadata();
  if (replay !== undefined) md.set(REPLAY_HEADER, replay);
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes), md, { deadline: Date.now() + 30_000 }, (err) =>
      resolve(err ? `${String(err.code)} ${err.details}` : 'OK'),
    );
  });
}

/** A log line without what differs between two runs (clock, process, durations). */
function comparable(line: Record<string, unknown>): Record<string, unknown> {
  const { time: _t, pid: _p, hostname: _h, durationMs: _d, port: _port, ...rest } = line;
  return rest;
}

/** The counters (histograms of durations left out). */
async function counters(m: Metrics): Promise<string[]> {
  return (await m.registry.metrics()).split('\n').filter((l) => !l.startsWith('#') && !/_seconds|_duration/.test(l));
}

describe(`partial decode vs whole decode (seed ${String(SEED)})`, () => {
  it('every event gets the same answer, actions, dead letters, log lines and counters', async () => {
    const partial = await side(true);
    const whole = await side(false);
    const random = seededRandom(SEED);
    // a few written out first: each decided one way on the last occurrence, another on the first, on '' or on null
    const fixed: Field[][] = [
      [[1, 2, 'fixed-1'], [2, 2, 'MyGame'], [2, 2, 'mygame'], [3, 2, 'u-1'], [7, 2, 'ranked'], [6, 2, [[1, 2, [[2, 2, 'Paris']]]]]],
      [[1, 2, 'fixed-2'], [2, 2, 'mygame'], [2, 2, 'MyGame'], [3, 2, 'u-1'], [7, 2, 'ranked']],
      [[1, 2, 'fixed-3'], [2, 2, 'other']],
      [[1, 2, 'fixed-4'], [2, 2, 'other'], [7, 2, 'ranked']],
      [[1, 2, 'fixed-5'], [2, 2, 'ünïcödé ☃']],
    ];
    const sent: { path: string; bytes: number[]; replay: string | undefined }[] = fixed.map((f) => ({ path: played.path, bytes: write({ random, pad: 0 }, f), replay: undefined }));
    for (let i = sent.length; i < EVENTS; i++) {
      const [service, event] = pick(random, [...Array<[EventService, typeof playedEvent]>(8).fill([played, playedEvent]), [stamped, stampedEvent], [scored, scoredEvent], [seated, seatedEvent], [tagged, taggedEvent]]);
      let bytes = write({ random, pad: 0.05 }, event(random, i));
      if (random() < 0.15) bytes = mutated(random, bytes);
      const replay = random() < 0.1 ? pick(random, ['home', 'vip', 'watched', 'scored-gold', 'no-such-rule']) : undefined;
      sent.push({ path: service.path, bytes, replay });
    }
    const differences: string[] = [];
    const answers: string[] = [];
    const reloads = new Map<number, ['host' | 'handler', string]>([
      [EVENTS * 0.4, ['handler', RELOADED]],
      [EVENTS * 0.5, ['host', RELOADED]],
      [EVENTS * 0.7, ['handler', RULES]],
      [EVENTS * 0.8, ['host', RULES]],
    ]);
    for (const [i, { path, bytes, replay }] of sent.entries()) {
      const reload = reloads.get(i);
      if (reload) for (const s of [partial, whole]) s.reload(...reload);
      const a = await call(partial.client, path, bytes, replay);
      const b = await call(whole.client, path, bytes, replay);
      answers.push(a);
      if (a !== b) differences.push(`event ${String(i)} (${Buffer.from(bytes).toString('hex')}${replay ? `, replay of ${replay}` : ''}): partial ${a} / whole ${b}`);
    }
    expect(differences, `TEST_SEED=${String(SEED)}`).toEqual([]);
    expect(partial.grant.calls).toEqual(whole.grant.calls);
    const dead = (s: Side): unknown[] => s.deadLetters.records.map(({ timestamp: _t, ...r }) => r);
    expect(dead(partial)).toEqual(dead(whole));
    expect(partial.lines.map(comparable)).toEqual(whole.lines.map(comparable));
    expect(await counters(partial.metrics)).toEqual(await counters(whole.metrics));

    // the comparison covers both paths and both answers
    expect(whole.partial).toBe(0);
    expect(partial.partial).toBeGreaterThan(EVENTS * 0.3);
    expect(partial.grant.calls.length).toBeGreaterThan(30);
    expect(partial.deadLetters.records.length).toBeGreaterThan(0);
    expect(partial.lines.filter((l) => l.msg === 'event not decoded').length).toBeGreaterThan(20);
    expect(answers.filter((a) => a.startsWith(`${String(grpc.status.RESOURCE_EXHAUSTED)} `)).length).toBeGreaterThan(3); // past the limit
    expect(partial.lines.filter((l) => String(l.msg).includes('rule(s) matched') && l.outcome === 'refused').length).toBeGreaterThan(5); // replays that ran nothing
  });
});
