/**
 * `extend-event-rules explain <event> [--data file.json|-] [--json] [--now iso] [--rules file] [--history file.yaml] [--facts file.json]`:
 * for one event (partial data filled from the sample event), every rule
 * listening on it: matched or not and why (enabled, activation window against
 * the clock, each sub-condition of `when` with the values it saw), then for
 * matched rules the exact requests their actions would send. Offline.
 * Exit 0 (whatever matched), 2 on a usage/input error or an invalid rules file.
 * With stateful rules, the player's record is `--history` (events and firings with
 * their instants, as in rule tests) or empty; counts, streaks and limits show
 * the values the decision used.
 */
import { FACT_OPERATIONS } from '../ags/index.js';
import { dirname, join, resolve } from 'node:path';
import { sampleEvent } from '../events/index.js';
import type { EventService } from '../events/index.js';
import { TOPICS_FOLDER, topicBodyProblems, topicOf, withCustomEvents } from '../custom-events/index.js';
import type { CustomEventsCatalog } from '../custom-events/index.js';
import { createDefaultRegistry } from '../actions/index.js';
import type { PlannedRequest } from '../actions/index.js';
import { readEventData } from '../authoring/index.js';
import { EventDataError, UnknownEventError } from '../authoring/index.js';
import { buildEvent, planSteps, resolveEvent } from '../authoring/index.js';
import type { PlannedStep } from '../authoring/index.js';
import { renderConditionTrace, traceCondition } from '../rules/index.js';
import type { CompiledRule, ConditionTrace, RuleOutcome, RuleSet } from '../rules/index.js';
import type { Catalog, DecodedEvent } from '../events/index.js';
import type { FiringState } from '../state/index.js';
import { readFile } from 'node:fs/promises';
import { factFixtures, historyFile } from '../authoring/index.js';
import { parseWindow, periodRange } from '../state/index.js';
import { eventKey } from '../delivery/index.js';
import { evaluateOnDocuments } from '../pipeline/index.js';
import type { StateDocument } from '../store/index.js';
import { formatProblems } from '../rules/index.js';
import { parseInstant } from '../time/index.js';
import { loadRules } from '../rules/index.js';
import type { CommandIO } from './io.js';
import { UsageError, loadCommandCatalog, parseArgs } from './io.js';
import type { AuthoringDefaults } from './test.js';

export const EXPLAIN_USAGE = 'usage: extend-event-rules explain <event> [--data file.json|-] [--json] [--now iso] [--rules file] [--history file.yaml] [--facts file.json]\n';

/** The explanation of one rule (the `--json` shape). */
export interface RuleExplanation {
  readonly rule: string;
  /** 1-based line of the rule in the rules file. */
  readonly line: number;
  readonly enabled: boolean;
  readonly mode: 'live' | 'shadow';
  /** `disabled`: `enabled: false` (not evaluated by the server; the condition is still traced here). */
  readonly outcome: 'matched' | 'notMatched' | 'inactive' | 'error' | 'suppressed' | 'disabled';
  readonly error?: string;
  /** For rules with a limit or cooldown that matched: the decision and the player's state it read. */
  readonly firing?: FiringState;
  /** For a rule refused by a calendar limit (`day`, `week`, `month`): when the period ends and the limit starts again (ISO 8601). */
  readonly limitResetsAt?: string;
  readonly window: { readonly activeFrom?: string; readonly activeUntil?: string; readonly active: boolean };
  /** The traced `when`; null when the rule has none (always matches). */
  readonly condition: ConditionTrace | null;
  /** For matched rules: each action planned. */
  readonly actions: readonly PlannedStep[];
}

export interface Explanation {
  readonly event: { readonly name: string; readonly service: string };
  readonly now: string;
  readonly rulesFile: string;
  /** The full event the rules saw. */
  readonly data: Record<string, unknown>;
  readonly rules: readonly RuleExplanation[];
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? 'undefined';
}

function renderRequest(r: PlannedRequest, indent: string): string[] {
  const query = r.query && Object.keys(r.query).length > 0 ? `?${new URLSearchParams(r.query as Record<string, string>).toString()}` : '';
  const lines = [`${indent}${r.method} ${r.path}${query}`];
  if (r.headers && Object.keys(r.headers).length > 0) lines.push(`${indent}  headers: ${show(r.headers)}`);
  if (r.body !== undefined) lines.push(`${indent}  body: ${show(r.body)}`);
  return lines;
}

function renderText(x: Explanation): string {
  const out: string[] = [];
  const matched = x.rules.filter((r) => r.outcome === 'matched').length;
  out.push(`event ${x.event.name} (${x.event.service}) at ${x.now}`);
  out.push(x.rules.length === 0 ? `no rule in ${x.rulesFile} listens on ${x.event.name}` : `${x.rules.length} rule${x.rules.length === 1 ? '' : 's'} listen${x.rules.length === 1 ? 's' : ''} on it in ${x.rulesFile}; ${matched} matched`);
  for (const r of x.rules) {
    out.push('');
    const mark = r.outcome === 'matched' ? '✓' : '✗';
    const what = { matched: 'matched', notMatched: 'not matched: the condition is false', inactive: 'inactive: outside its activation window', suppressed: `suppressed by its ${r.firing?.suppressedBy ?? 'limit'}: matched, no action`, error: `error: ${r.error ?? ''}`, disabled: 'disabled (enabled: false)' }[r.outcome];
    out.push(`${mark} ${r.rule}  ${what}${r.mode === 'shadow' ? '  [shadow: planned and counted, never sent]' : ''}  (line ${r.line})`);
    out.push(`    ${r.enabled ? '✓' : '✗'} enabled: ${r.enabled ? 'yes' : 'no'}`);
    const w = r.window;
    if (w.activeFrom === undefined && w.activeUntil === undefined) out.push('    ✓ window: always active');
    else out.push(`    ${w.active ? '✓' : '✗'} window: ${w.activeFrom !== undefined ? `from ${w.activeFrom} ` : ''}${w.activeUntil !== undefined ? `until ${w.activeUntil} (exclusive) ` : ''}- now is ${x.now}`);
    const f = r.firing;
    const under = f?.key !== undefined ? ` under key ${JSON.stringify(f.key)}` : '';
    if (f?.limit) out.push(`    ${f.suppressedBy === 'limit' ? '✗' : '✓'} limit: ${f.limit.fired} of ${f.limit.count} firing${f.limit.count === 1 ? '' : 's'} per ${f.limit.per}${under} before this event${f.decision === 'again' ? ' (this event already fired it: proceeds)' : ''}${r.limitResetsAt !== undefined ? `; the period ends at ${r.limitResetsAt}` : ''}`);
    if (f?.cooldown) out.push(`    ${f.suppressedBy === 'cooldown' ? '✗' : '✓'} cooldown ${f.cooldown.duration}${under}: last firing ${f.cooldown.lastFiring ?? 'never'}${f.suppressedBy === 'cooldown' ? cooldownEnd(f.cooldown) : ''}`);
    if (r.condition === null) out.push('    ✓ when: (none: always matches)');
    else {
      out.push('    when:');
      out.push(...renderConditionTrace(r.condition, '      '));
    }
    if (r.actions.length > 0) {
      out.push(r.mode === 'shadow' ? '    would plan (shadow: nothing sent):' : '    would send:');
      for (const a of r.actions) {
        out.push(`      ${a.action} #${a.index}${a.item !== undefined ? ` for ${show(a.item)}` : ''}${a.mode === 'shadow' ? ' [shadow]' : ''}`);
        if (a.error !== undefined) {
          out.push(`        ✗ cannot be planned: ${a.error}`);
          continue;
        }
        out.push(`        params: ${show(a.params)}`);
        for (const req of a.requests ?? []) out.push(...renderRequest(req, '        '));
        if ((a.requests ?? []).length === 0) out.push('        (no request)');
      }
    }
  }
  return `${out.join('\n')}\n`;
}

/** `; fires again from <instant>` after a cooldown that refused, when its duration parses (it did at load). */
function cooldownEnd(c: { readonly duration: string; readonly lastFiring?: string }): string {
  if (c.lastFiring === undefined) return '';
  const w = parseWindow(c.duration);
  return w.kind === 'rolling' ? `; fires again from ${new Date(Date.parse(c.lastFiring) + w.ms).toISOString()}` : '';
}

/** A bad --history or --facts file: the message is printed, the command exits 2. */
class ExplainInputError extends Error {}

/** --history file: the player's record (JSON Lines of past events and firings). @throws {@link ExplainInputError} */
async function readHistory(file: string, catalog: Catalog, rules: RuleSet, now: number): Promise<StateDocument> {
  let problems: readonly string[];
  try {
    const read = historyFile(await readFile(file, 'utf8'), file, catalog, { now, rules: new Set(rules.rules.map((r) => r.name)), shadow: new Set(rules.rules.filter((r) => r.mode === 'shadow').map((r) => r.name)) });
    if (read.problems.length === 0) return read.doc;
    problems = read.problems;
  } catch (err) {
    problems = [`${file}: ${err instanceof Error ? err.message : String(err)}`];
  }
  throw new ExplainInputError(`--history:\n${problems.join('\n')}`);
}

/** --facts file.json: `{ "<fact name>": <answer> }`. @throws {@link ExplainInputError} */
async function readFacts(file: string): Promise<Record<string, unknown>> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object: { "<fact name>": <answer> }');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ExplainInputError(`--facts: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** One rule of the event as `explain` shows it: its outcome, window, condition trace and planned actions. */
function ruleExplanation(r: CompiledRule, outcomes: readonly RuleOutcome[], event: DecodedEvent, steps: readonly PlannedStep[], t: number): RuleExplanation {
  const o = outcomes.find((x) => x.rule === r.name);
  const active = (r.activeFrom === undefined || t >= r.activeFrom) && (r.activeUntil === undefined || t < r.activeUntil);
  return {
    rule: r.name,
    line: r.line,
    enabled: r.enabled,
    mode: r.mode,
    outcome: r.enabled ? (o?.outcome ?? 'notMatched') : 'disabled',
    ...(o?.error !== undefined ? { error: o.error } : {}),
    ...(o?.firing !== undefined ? { firing: o.firing } : {}),
    ...(o?.firing?.suppressedBy === 'limit' && r.limit?.window.kind === 'calendar' ? { limitResetsAt: new Date(periodRange(r.limit.window, t).to).toISOString() } : {}),
    window: {
      ...(r.activeFrom !== undefined ? { activeFrom: new Date(r.activeFrom).toISOString() } : {}),
      ...(r.activeUntil !== undefined ? { activeUntil: new Date(r.activeUntil).toISOString() } : {}),
      active,
    },
    // the server's own evaluation of this rule; a rule it does not evaluate (disabled, inactive) is run the same way here
    condition: r.when === undefined ? null : (o?.condition ?? traceCondition(r.when, event, t)),
    actions: steps.filter((s) => s.rule === r.name),
  };
}

/** A typed topic's data without a body: the body of the schema's sample (as `samples --topic`); any other data as it is. */
function typedTopicData(catalog: CustomEventsCatalog, service: EventService, data: Record<string, unknown>): Record<string, unknown> {
  const topic = topicOf(service.fullName);
  if (topic === undefined || data.body !== undefined || data.bodyText !== undefined || !catalog.topicBodySchema(topic)) return data;
  return { ...data, body: sampleEvent(service).body };
}

/** Where a typed topic's body does not fit its schema (the server takes it as it is: bodies are not checked at run time). */
function typedTopicWarnings(catalog: CustomEventsCatalog, service: EventService, event: DecodedEvent): string[] {
  const topic = topicOf(service.fullName);
  const typed = topic !== undefined ? catalog.topicBodySchema(topic) : undefined;
  if (!typed) return [];
  let problems;
  try {
    problems = topicBodyProblems(typed.schema, event.body);
  } catch (err) {
    return [`${typed.file} does not compile as a JSON Schema: ${err instanceof Error ? err.message : String(err)}`];
  }
  return problems.map((p) => `body${p.pointer.replace(/\//g, '.')} ${p.message} (${typed.file}); explained as it is: the server does not check bodies against the schema`);
}

export async function explainCommand(args: string[], io: CommandIO, defaults: AuthoringDefaults): Promise<number> {
  const { positionals, values, flags } = parseArgs(args, { values: ['data', 'now', 'rules', 'history', 'facts'], flags: ['json', 'help', 'h'] });
  if (flags.has('help') || flags.has('h')) {
    io.stdout.write(EXPLAIN_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'explain needs an event (e.g. userLoggedIn)' : `one event at a time, got ${positionals.length}`);
  let now = new Date();
  if (values.has('now')) {
    const r = parseInstant(values.get('now')!);
    if (!r.ok) throw new UsageError(`--now: ${r.reason}; ${r.fix}`);
    now = new Date(r.ms);
  }
  const rulesFile = values.has('rules') ? resolve(values.get('rules')!) : defaults.rulesFile;

  const loadedCatalog = await loadCommandCatalog(defaults.protoDirs, io);
  if (!loadedCatalog) return 2;
  // typed topics: topics/NAME.schema.json beside the rules file, as validate reads them
  const catalog = withCustomEvents(loadedCatalog, { topicsDir: join(dirname(rulesFile), TOPICS_FOLDER) });
  let service;
  let event;
  try {
    service = resolveEvent(catalog, positionals[0]!);
    event = buildEvent(service, typedTopicData(catalog, service, await readEventData(values.get('data'), io.stdin)), values.get('data') === '-' ? 'stdin' : (values.get('data') ?? 'data'));
    for (const w of typedTopicWarnings(catalog, service, event)) io.stderr.write(`extend-event-rules explain: warning: ${w}\n`);
  } catch (err) {
    if (err instanceof UnknownEventError || err instanceof EventDataError) {
      io.stderr.write(`extend-event-rules explain: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  const registry = defaults.registry ?? createDefaultRegistry();
  const loaded = await loadRules({ file: rulesFile, catalog, registry, env: defaults.env, unsetEnv: 'warn', facts: FACT_OPERATIONS });
  if (!loaded.ok) {
    io.stderr.write(formatProblems([...loaded.problems, ...loaded.warnings], 'text'));
    io.stderr.write(`${rulesFile}: invalid rules file: fix it first (extend-event-rules validate)\n`);
    return 2;
  }
  if (loaded.warnings.length > 0) io.stderr.write(formatProblems(loaded.warnings, 'text'));

  const rules = loaded.rules;
  let history: StateDocument | undefined;
  let factValues: Record<string, unknown> | undefined;
  try {
    if (values.has('history')) history = await readHistory(values.get('history')!, catalog, rules, now.getTime());
    // --facts file.json: the answers of the AGS lookups the rules read, by fact name (shown in the condition trace)
    if (values.has('facts')) factValues = await readFacts(values.get('facts')!);
  } catch (err) {
    if (!(err instanceof ExplainInputError)) throw err;
    io.stderr.write(`extend-event-rules explain: ${err.message}\n`);
    return 2;
  }
  const facts = factFixtures(rules, service.fullName, factValues);
  let evaluation;
  if (rules.needsState(service.fullName)) {
    // as the server: the player's record (--history, else empty) with this event recorded, limits decided
    const key = eventKey(event);
    // a rule counting under limit.key reads its own firings from the same --history (a rule's firings are either per player or per key)
    evaluation = evaluateOnDocuments(() => history, typeof event.userId === 'string' ? event.userId : undefined, { rules, serviceFullName: service.fullName, event, eventKey: key, now: now.getTime(), trace: true, ...(facts ? { facts } : {}) });
  } else {
    evaluation = rules.evaluate(service.fullName, event, { now, trace: true, ...(facts ? { facts } : {}) });
  }
  const steps = planSteps(registry, service, event, evaluation.plan, defaults.env.AB_NAMESPACE ?? '', now);

  const explained = rules.rules.filter((r) => r.service === service.fullName).map((r) => ruleExplanation(r, evaluation.outcomes, event, steps, now.getTime()));
  const explanation: Explanation = {
    event: { name: service.eventName, service: service.fullName },
    now: now.toISOString(),
    rulesFile,
    data: event,
    rules: explained,
  };
  io.stdout.write(flags.has('json') ? `${JSON.stringify(explanation, null, 2)}\n` : renderText(explanation));
  return 0;
}
