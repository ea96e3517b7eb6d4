/**
 * The player's ledger: the `events` (history for `count` and `streak`) and
 * `rules` (firings, for `limit`, `cooldown` and `fired`) sections of the
 * player's {@link StateDocument}, as pure functions over a working copy.
 *
 * Section shapes (JSON, kept small: a Cloud Save record should stay well under 250 KB):
 * ```
 * events: { "<eventName>": { n: <total ever>, h: [[<epoch ms>, "<tag>", <seq>], ...], s: { "<unit>|<zone>|<reset>": [[first, last], ...] } } }
 * rules:  { "<ruleName>":  { n: <firings ever>, h: [[<epoch ms>, "<tag>", <seq>], ...] } }
 * ```
 * - a tag is 11 characters of the SHA-256 of the event key (66 bits): an event
 *   is recorded once per tag, a firing once per (rule, tag), so a redelivered
 *   event is never counted twice;
 * - `h` keeps what the loaded rules' windows need and at least the retention
 *   (the idempotency retention: a redelivery within it is recognised);
 * - `n` answers `lifetime` windows without keeping every entry;
 * - `seq` orders the entries as the store serialised their events: an event
 *   redelivered later is evaluated on the record as it was when it was first
 *   recorded (later events left out), so its decision does not change, and a
 *   replica whose clock lags still counts what another replica recorded before;
 * - `s` holds, per streak bucketing, runs of consecutive periods as
 *   `[first, last]` period indexes (a long streak costs one pair).
 */
import { createHash } from 'node:crypto';
import type { StateDocument } from '../store/index.js';
import { periodIndex, windowHorizonMs, windowRange } from './windows.js';
import type { CalendarUnit, Window } from './windows.js';

/**
 * One recorded event or firing: epoch ms, tag, and the sequence number of the
 * transaction that recorded it (one per document, increasing: the order in
 * which the store serialised the events, whatever the replicas' clocks).
 */
export type Entry = [number, string, number];

/** An event's or a rule's record. */
export interface Track {
  /** Total ever recorded. */
  n: number;
  /** Recent entries, oldest first (mostly). */
  h: Entry[];
  /** Streak runs per bucketing key (events only). */
  s?: Record<string, [number, number][]>;
  /**
   * Firings per calendar period, per window key (`<unit>|<zone>|<reset>`):
   * `[period index, firings in it]`, kept for a limit above
   * {@link MAX_COUNTED_LIMIT} (rules only): one pair per window, whatever the count.
   */
  p?: Record<string, [number, number]>;
}

/**
 * Largest `limit.count` decided on the entries (the record keeps the latest
 * 900 to 1000). Above it, up to {@link MAX_LIMIT}, a calendar or lifetime
 * limit is decided on a counter per period (`Track.p`) or the total (`n`).
 */
export const MAX_COUNTED_LIMIT = 900;

/** Largest `limit.count` (calendar periods and lifetime only above {@link MAX_COUNTED_LIMIT}). */
export const MAX_LIMIT = 100_000;

/** The key of a calendar window in `Track.p`. */
export function periodKey(w: Extract<Window, { kind: 'calendar' }>): string {
  return `${w.unit}|${w.timeZone}|${w.resetMinutes}`;
}

/** How a streak buckets time: by day or ISO week in a zone, from a reset hour. */
export interface StreakSpec {
  readonly unit: Extract<CalendarUnit, 'day' | 'week'>;
  readonly timeZone: string;
  readonly resetMinutes: number;
}

/** What the loaded rules need kept: per event and per rule, how far back; per event, its streak bucketings. */
export interface StateNeeds {
  /** Events whose history is recorded (`count`/`streak` name them). */
  readonly events: ReadonlyMap<string, { readonly horizonMs: number; readonly streaks: ReadonlyMap<string, StreakSpec> }>;
  /** Rules whose firings are recorded (a `limit`, a `cooldown`, or named by `fired`), with how far back. */
  readonly rules: ReadonlyMap<string, number>;
}

/**
 * Most entries kept per event and per rule (the latest): bounds a very active
 * player's record (~36 KB per event or rule). Past it, the oldest are dropped
 * down to 90% of it: a window holding more counts 900 to 1000; a
 * `limit.count` above 900 is decided on a counter per period (`Track.p`).
 */
export const MAX_ENTRIES = 1000;

/** The bucketing key of a streak spec (a key of `s`). */
export function streakKey(spec: StreakSpec): string {
  return `${spec.unit}|${spec.timeZone}|${spec.resetMinutes}`;
}

/** The short tag of an event key stored in the ledger. */
export function eventTag(eventKey: string): string {
  return createHash('sha256').update(eventKey).digest('base64url').slice(0, 11);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEntry(e: unknown): e is Entry {
  return Array.isArray(e) && typeof e[0] === 'number' && typeof e[1] === 'string' && typeof e[2] === 'number';
}

function isRun(r: unknown): r is [number, number] {
  return Array.isArray(r) && typeof r[0] === 'number' && typeof r[1] === 'number';
}

/**
 * A section of a state record (`events`, `rules`) of a shape this module does
 * not write (overwritten by hand or by another program): never read as empty,
 * which would count from zero again and fire every limited rule anew. The
 * caller names the record (`UnreadableStateError`: the event is answered
 * UNAVAILABLE until the record is repaired or deleted).
 */
export class UnreadableSectionError extends Error {
  override readonly name = 'UnreadableSectionError';
  constructor(
    readonly section: string,
    readonly problem: string,
  ) {
    super(`section "${section}": ${problem}`);
  }
}

function shapeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** An entry as written, or as an earlier release wrote it (`[ms, tag]`, no sequence number). */
function isOldEntry(e: unknown): e is [number, string, unknown?] {
  return Array.isArray(e) && (e.length === 2 || e.length === 3) && typeof e[0] === 'number' && typeof e[1] === 'string';
}

/**
 * A track as stored, checked: `{ n, h, s?, p? }`; entries of an earlier release
 * (`[ms, tag]`) are read with sequence 0. Anything else throws
 * {@link UnreadableSectionError}. A well-formed `h` and `s` are used as read, not
 * copied: they are read-only (shared with the stored document) until
 * {@link Ledger} copies them to change them.
 */
function readTrack(v: unknown, section: string, name: string): Track {
  const bad = (problem: string): UnreadableSectionError => new UnreadableSectionError(section, `"${name}" ${problem}`);
  if (!isObject(v)) throw bad(`is ${shapeOf(v)}, not a record {n, h}`);
  if (v.h !== undefined && !Array.isArray(v.h)) throw bad(`has "h" ${shapeOf(v.h)}, not a list of entries`);
  const raw: unknown[] = Array.isArray(v.h) ? v.h : [];
  let h: Entry[];
  if (raw.every(isEntry)) h = raw;
  else {
    if (!raw.every(isOldEntry)) throw bad('has an entry that is not [ms, tag, seq]');
    h = raw.map((e): Entry => [e[0], e[1], typeof e[2] === 'number' ? e[2] : 0]);
  }
  if (v.n !== undefined && typeof v.n !== 'number') throw bad(`has "n" ${shapeOf(v.n)}, not a number`);
  const n = typeof v.n === 'number' && Number.isSafeInteger(v.n) && v.n >= h.length ? v.n : h.length;
  const track: Track = { n, h };
  if (v.p !== undefined) {
    if (!isObject(v.p) || !Object.values(v.p).every(isRun)) throw bad('has "p" that is not {<window>: [period, count]}');
    track.p = v.p as Record<string, [number, number]>;
  }
  if (v.s !== undefined) {
    if (!isObject(v.s) || !Object.values(v.s).every((runs) => Array.isArray(runs) && runs.every(isRun))) throw bad('has "s" that is not {<bucketing>: [[first, last], ...]}');
    track.s = v.s as Record<string, [number, number][]>;
  }
  return track;
}

/** A section as stored (absent: empty); any other shape throws {@link UnreadableSectionError}. */
function readSection(v: unknown, section: string): Record<string, Track> {
  const out: Record<string, Track> = {};
  if (v === undefined) return out;
  if (!isObject(v)) throw new UnreadableSectionError(section, `${shapeOf(v)}, not an object`);
  for (const [k, t] of Object.entries(v)) out[k] = readTrack(t, section, k);
  return out;
}

/** Adds period `p` to sorted, disjoint runs of consecutive periods. */
export function addToRuns(runs: [number, number][], p: number): void {
  let i = 0;
  while (i < runs.length && runs[i]![1] < p - 1) i++;
  if (i === runs.length) {
    runs.push([p, p]);
    return;
  }
  const r = runs[i]!;
  if (p >= r[0] && p <= r[1]) return;
  if (p === r[1] + 1) {
    r[1] = p;
    const next = runs[i + 1];
    if (next && next[0] === p + 1) {
      r[1] = next[1];
      runs.splice(i + 1, 1);
    }
    return;
  }
  if (p === r[0] - 1) {
    r[0] = p;
    return;
  }
  runs.splice(i, 0, [p, p]); // p < r[0] - 1
}

/**
 * The length of the run of consecutive periods that is still alive at period
 * `current`: the run holding `current`, else the run ending at `current - 1`
 * (the streak is not broken before the current period is over), else 0.
 */
export function aliveRun(runs: readonly [number, number][], current: number): number {
  for (let i = runs.length - 1; i >= 0; i--) {
    const [a, b] = runs[i]!;
    if (b === current || b === current - 1 || (a <= current && current <= b)) return Math.min(b, current) - a + 1;
    if (b < current - 1) return 0;
  }
  return 0;
}

/** A mutable working copy of one document's `events` and `rules` sections. */
export class Ledger {
  readonly events: Record<string, Track>;
  readonly rules: Record<string, Track>;
  /** Whether anything was recorded or compacted since it was read. */
  changed = false;
  /** Entries with a greater sequence number are left out of counts (set for a redelivered event: the record as it was then). */
  asOf = Infinity;
  /** Sequence number of what this working copy records. */
  readonly #seq: number;
  /** Rules decided for this event so far (see {@link Ledger.fired}). */
  readonly #decided = new Set<string>();
  /** Tracks whose `h` and `s` are this copy's own (changeable); the others share the document's. */
  readonly #owned = new Set<Track>();

  /** @throws {@link UnreadableSectionError} when `events` or `rules` is of a shape this module does not write. */
  constructor(readonly base: StateDocument | undefined) {
    this.events = readSection(base?.events, 'events');
    this.rules = readSection(base?.rules, 'rules');
    let max = 0;
    for (const section of [this.events, this.rules]) for (const t of Object.values(section)) for (const e of t.h) if (e[2] > max) max = e[2];
    this.#seq = max + 1;
  }

  /** The track of `name`, made changeable (created if absent). */
  #track(section: Record<string, Track>, name: string): Track {
    let t = section[name];
    if (!t) section[name] = t = { n: 0, h: [] };
    return this.#own(t);
  }

  /** `track` with its own copies of `h` and of the streak runs (a few pairs), so changing them never touches the document read. */
  #own(track: Track): Track {
    if (this.#owned.has(track)) return track;
    track.h = track.h.slice();
    if (track.p) track.p = Object.fromEntries(Object.entries(track.p).map(([k, r]): [string, [number, number]] => [k, [r[0], r[1]]]));
    if (track.s) {
      const s: Record<string, [number, number][]> = {};
      for (const [k, runs] of Object.entries(track.s)) s[k] = runs.map((r): [number, number] => [r[0], r[1]]);
      track.s = s;
    }
    this.#owned.add(track);
    return track;
  }

  /** Whether the event with this tag is in the history of `name`. */
  hasEvent(name: string, tag: string): boolean {
    return this.events[name]?.h.some((e) => e[1] === tag) ?? false;
  }

  /**
   * Records one event (once per tag): its history entry and the period of each
   * streak bucketing. Returns false when it was already recorded (a redelivery).
   */
  recordEvent(name: string, tag: string, at: number, streaks: Iterable<StreakSpec> = []): boolean {
    if (this.hasEvent(name, tag)) return false;
    const track = this.#track(this.events, name);
    for (const spec of streaks) {
      const runs = this.#runs(track, spec);
      addToRuns(runs, periodIndex(spec.unit, spec.timeZone, spec.resetMinutes, at));
    }
    track.h.push([at, tag, this.#seq]);
    track.n++;
    this.changed = true;
    return true;
  }

  /** The runs of a bucketing; built from the kept history the first time a rule asks for it. */
  #runs(track: Track, spec: StreakSpec): [number, number][] {
    track.s ??= {};
    const key = streakKey(spec);
    let runs = track.s[key];
    if (!runs) {
      runs = [];
      for (const [t] of track.h) addToRuns(runs, periodIndex(spec.unit, spec.timeZone, spec.resetMinutes, t));
      track.s[key] = runs;
    }
    return runs;
  }

  /** Events `name` in the window at `now` (lifetime: every one ever recorded). */
  count(name: string, w: Window, now: number): number {
    return countIn(this.events[name], w, now, this.asOf);
  }

  /** Consecutive periods with at least one `name` event, alive at `now` (see {@link aliveRun}). */
  streak(name: string, spec: StreakSpec, now: number): number {
    const track = this.events[name];
    if (!track) return 0;
    const runs = track.s?.[streakKey(spec)] ?? this.#runs({ ...track, s: {} }, spec);
    return aliveRun(runs, periodIndex(spec.unit, spec.timeZone, spec.resetMinutes, now));
  }

  /**
   * Firings of `rule` in the window at `now`.
   *
   * With the event's `tag` (the `fired` operator), as the record was when the
   * event was first handled (`asOf`), and the firing of this same event counts
   * only once `rule` was decided in this evaluation (rules are decided in file
   * order): a redelivery, whose firings are all in the record from the start,
   * sees what its first delivery saw.
   *
   * Without it (a limit's decision), every firing recorded counts, those
   * recorded after the event was first handled included: a redelivered event
   * that did not fire the rule then (the rule was added, changed or made live
   * since) is refused rather than exceed the limit.
   */
  fired(rule: string, w: Window, now: number, tag?: string): number {
    if (tag === undefined) return countIn(this.rules[rule], w, now, Infinity);
    return countIn(this.rules[rule], w, now, this.asOf, this.#decided.has(rule) ? undefined : tag);
  }

  /** When `rule` last fired (epoch ms), if the kept history has it; a cooldown's decision, so firings recorded after a redelivered event was first handled count too (see {@link Ledger.fired}). */
  lastFiring(rule: string): number | undefined {
    const h = this.rules[rule]?.h;
    if (!h || h.length === 0) return undefined;
    let last: number | undefined;
    for (const [t] of h) if (last === undefined || t > last) last = t;
    return last;
  }

  /** When and in which transaction the event with this tag was first recorded (as an event, or a firing of any rule), if the record has it. */
  firstSeen(tag: string): { readonly at: number; readonly seq: number } | undefined {
    let found: Entry | undefined;
    for (const section of [this.events, this.rules]) {
      for (const track of Object.values(section)) {
        const e = track.h.find((x) => x[1] === tag);
        if (e && (!found || e[2] < found[2])) found = e;
      }
    }
    return found ? { at: found[0], seq: found[2] } : undefined;
  }

  /** The instant `rule` fired for the event with this tag, if it did. Asked when `rule` is decided: from then on `fired` counts that firing. */
  firingOf(rule: string, tag: string): number | undefined {
    this.#decided.add(rule);
    return this.rules[rule]?.h.find((e) => e[1] === tag)?.[0];
  }

  /**
   * Firings of `rule` in the current period of calendar window `w` at `now`,
   * from its counter per period (a limit above {@link MAX_COUNTED_LIMIT});
   * a period without a counter yet counts its entries (exact below the bound:
   * a limit raised past 900 goes on from them).
   *
   * A period the counter has left (it counts a later one: a redelivery decided
   * at its first instant, a replica whose clock lags) answers at least
   * `whenLeft`: its count was dropped with the move and its entries are not
   * all kept, so it is taken as full (refused, never fired beyond the cap).
   */
  firedInPeriod(rule: string, w: Extract<Window, { kind: 'calendar' }>, now: number, whenLeft = 0): number {
    const track = this.rules[rule];
    const pair = track?.p?.[periodKey(w)];
    const index = periodIndex(w.unit, w.timeZone, w.resetMinutes, now);
    if (pair && pair[0] === index) return pair[1];
    const counted = countIn(track, w, now, Infinity);
    return pair && pair[0] > index ? Math.max(counted, whenLeft) : counted;
  }

  /** Records a firing of `rule` for the event `tag` (once per tag); `periods`: the calendar windows whose counter it adds to (a limit above {@link MAX_COUNTED_LIMIT}). */
  recordFiring(rule: string, tag: string, at: number, periods: readonly Extract<Window, { kind: 'calendar' }>[] = []): void {
    if (this.firingOf(rule, tag) !== undefined) return; // (marks the rule decided)
    const before = periods.map((w) => this.firedInPeriod(rule, w, at));
    const track = this.#track(this.rules, rule);
    periods.forEach((w, i) => {
      track.p ??= {};
      const index = periodIndex(w.unit, w.timeZone, w.resetMinutes, at);
      const current = track.p[periodKey(w)];
      // never back to an earlier period (its count is gone): a firing stamped in it counts in the later one
      track.p[periodKey(w)] = current && current[0] > index ? [current[0], current[1] + 1] : [index, before[i]! + 1];
    });
    track.h.push([at, tag, this.#seq]);
    track.n++;
    this.changed = true;
  }

  /**
   * Drops what no loaded rule needs: entries older than the longest window of
   * their event or rule and the retention; streak runs that ended before the
   * retention (the latest run of each is kept); empty records. Records of
   * events and rules no longer loaded keep their totals and the retention.
   */
  compact(needs: StateNeeds, now: number, retentionMs: number): void {
    const prune = (section: Record<string, Track>, horizon: (name: string) => number): void => {
      for (const [name, track] of Object.entries(section)) {
        const keepFrom = now - Math.max(horizon(name), retentionMs);
        const before = track.h.length;
        if (track.h.some((e) => e[0] <= keepFrom)) track.h = track.h.filter((e) => e[0] > keepFrom);
        // past the bound, down to 90% of it: the sort is paid once per hundred events, not on each
        if (track.h.length > MAX_ENTRIES) track.h = [...track.h].sort((x, y) => x[0] - y[0] || x[2] - y[2]).slice(-Math.floor(MAX_ENTRIES * 0.9));
        if (track.h.length !== before) this.changed = true;
        if (track.s) {
          for (const [key, runs] of Object.entries(track.s)) {
            const [unit, zone, reset] = key.split('|');
            const oldest = periodIndex(unit as CalendarUnit, zone!, Number(reset), keepFrom) - 1;
            const kept = runs.filter((r, i) => i === runs.length - 1 || r[1] >= oldest);
            if (kept.length !== runs.length) {
              this.#own(track).s![key] = kept.map((r): [number, number] => [r[0], r[1]]);
              this.changed = true;
            }
          }
        }
        if (track.n === 0 && track.h.length === 0) {
          delete section[name];
          this.changed = true;
        }
      }
    };
    prune(this.events, (name) => needs.events.get(name)?.horizonMs ?? 0);
    prune(this.rules, (name) => needs.rules.get(name) ?? 0);
  }

  /** The document with these sections replaced (every other section as read). */
  toDocument(): StateDocument {
    const doc: StateDocument = { ...(this.base ?? {}) };
    if (Object.keys(this.events).length > 0) doc.events = this.events;
    else delete doc.events;
    if (Object.keys(this.rules).length > 0) doc.rules = this.rules;
    else delete doc.rules;
    return doc;
  }
}

/**
 * Entries of the window at `now` recorded up to transaction `asOf`, but the
 * one of the event `exceptTag`. The window
 * has no end: an entry stamped after `now` was recorded by a replica whose
 * clock runs ahead (or, for a redelivery, is cut by `asOf`), and counting it
 * errs on the side of refusing, never of firing twice.
 */
function countIn(track: Track | undefined, w: Window, now: number, asOf: number, exceptTag?: string): number {
  if (!track) return 0;
  if (w.kind === 'lifetime') {
    let left = 0;
    if (asOf !== Infinity || exceptTag !== undefined) for (const e of track.h) if (e[2] > asOf || e[1] === exceptTag) left++;
    return track.n - left;
  }
  const { from } = windowRange(w, now);
  let n = 0;
  for (const [t, tag, q] of track.h) if (t >= from && q <= asOf && tag !== exceptTag) n++;
  return n;
}

/** Merges a window into a horizon (ms). Lifetime windows need no entries (they read the total). */
export function horizonOf(current: number, w: Window): number {
  const h = windowHorizonMs(w);
  return Number.isFinite(h) ? Math.max(current, h) : current;
}

/**
 * The name of a counter's track in a record: the event's name for a plain
 * count (`{"count": [event, window]}`, or the object form without `where` and
 * `by`), so records written before the object form keep counting; else the
 * event's name, `?` and 11 characters of the SHA-256 of `[where, by]` as
 * written: a changed `where` or `by` is a new counter, counting from then.
 */
export function counterTrack(event: string, where: unknown, by: string | undefined): string {
  if (where === undefined && by === undefined) return event;
  return `${event}?${createHash('sha256')
    .update(JSON.stringify([where ?? null, by ?? null]))
    .digest('base64url')
    .slice(0, 11)}`;
}

/**
 * The section of a hand-written history (rule tests, `explain --history`)
 * holding each event entry's `data` by tag, for the counters whose `where`
 * reads it; never in a record the server stores.
 */
export const HISTORY_DATA = 'historyData';
