/**
 * Validation and compilation of a parsed rules file, in one pass that collects
 * every problem: schema (unknown keys, types, missing params), version, events,
 * actions, JSON Logic operators, `var` paths and `${event...}` references
 * against the event's protobuf message, `${env...}` references, duplicates,
 * prototype-reaching path segments, activation windows. Without errors the
 * result carries the compiled {@link RuleSet}.
 */
import { ACTION_ITEM_KEYS, actionKeys, unstableActionNames } from './action-key.js';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { Type } from 'protobufjs';
import type { ActionRegistry } from '../actions/index.js';
import type { ActionDefinition, JsonSchema } from '../actions/index.js';
import type { Catalog, EventService } from '../events/index.js';
import { checkActionParams, kindAt, loadContext, splitParams, userIdFix } from './action-params.js';
import { LogicOperatorError } from './errors.js';
import { inexactIntegers } from './exact-numbers.js';
import { ITERATOR_OPERATORS, RulesLogic } from './logic.js';
import type { CompiledLogic } from './logic.js';
import { climbOutsideIterator, conditionArguments, notACondition, timeLiteralProblems } from './condition-checks.js';
import { parseInstant } from '../time/index.js';
import { checkPath, fieldsByJsonName } from './paths.js';
import { RuleSet } from './rule-set.js';
import { DEFAULT_FOR_EACH_MAX } from './rule-set.js';
import type { CompiledAction, CompiledFact, CompiledRule, FactDefinition, ForEachSpec } from './rule-set.js';
import { FILE_AJV_OPTIONS, PARAMS_AJV_OPTIONS, ajv2020, errorsText, fileSchema, paramsSchema, precompiledParamsValidator, precompiledValidator } from './schema-validator.js';
import { StatefulChecks } from './stateful.js';
import { parseRulesSource } from './source.js';
import type { PathSegment, RulesSource } from './source.js';
import { closest, didYouMean } from '../text/index.js';
import { URL_TEMPLATE, compileUrlTemplate } from './url-template.js';
import { FORBIDDEN_ENV_FIX, forbiddenEnvReason, noteEnvRead } from './env-policy.js';
import { FORBIDDEN_SEGMENTS, compileContainer, compileLogicValue, compileString, deepFreeze, parseTemplate } from './template.js';
import type { CompiledValue, TemplateRef } from './template.js';
import type { RuleProblem } from './types.js';
import { topLevelFix, unknownEventFix, wrongTypeFix } from './hints.js';
import type { ProblemCode } from './problem-codes.js';
import { customOnName, topicBodyProblems, topicOf, withCustomEvents } from '../custom-events/index.js';
import type { CustomEventsCatalog } from '../custom-events/index.js';
import { TOPICS_FOLDER } from '../custom-events/index.js';
import { topicNameProblem } from '../custom-events/index.js';

/** What the loader needs besides the file. */
export interface RulesCompileOptions {
  /** The event catalog rules are checked against. Required. */
  readonly catalog: Catalog;
  /** The actions rules may call. Required. */
  readonly registry: ActionRegistry;
  /** The environment `${env.X}` reads (fixed per load). Required. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** An unset (or empty) `${env.X}` without default: `error` fails the load (start-up), `warn` substitutes "" and warns. */
  readonly unsetEnv: 'error' | 'warn';
  /** The AGS lookups rules may name under `facts` (src/ags/facts.ts: `FACT_OPERATIONS`). Default: none (a rule with `facts` is refused). */
  readonly facts?: Readonly<Record<string, FactDefinition>>;
}

export type RulesLoadResult =
  | { readonly ok: true; readonly rules: RuleSet; readonly warnings: readonly RuleProblem[] }
  | { readonly ok: false; readonly problems: readonly RuleProblem[]; readonly warnings: readonly RuleProblem[] };

/** For the file schema (compiled once per registry, on the first load). */
let fileAjv: Ajv2020 | undefined;
/** For parameter schemas the build did not compile: checked against the meta-schema first (compiled on first use: about 0.1 CPU s). */
let paramsAjv: Ajv2020 | undefined;
let fileValidators = new WeakMap<ActionRegistry, { key: string; validate: ValidateFunction }>();

/**
 * Forgets the compiled rules-file schema (about 3 MiB of heap: ajv's generated code and its
 * instance), kept to make the next load fast; the next load compiles it again (about 0.3 s),
 * or loads the build's precompiled validator (src/rules/schema-validator.ts). The
 * server calls it once it is serving: its rules are loaded again only on a reload. The parameter
 * schemas of templated actions are kept (the compiled rules check their params per event).
 */
export function releaseRulesSchema(): void {
  fileAjv = undefined;
  fileValidators = new WeakMap();
}
const paramValidators = new WeakMap<JsonSchema, ValidateFunction>();

function fileValidator(registry: ActionRegistry): ValidateFunction {
  const key = registry.names().join('\0');
  const cached = fileValidators.get(registry);
  if (cached?.key === key) return cached.validate;
  // without $id: ajv keeps schemas by id, and each registry has its own
  const schema = fileSchema(registry);
  // the build's precompiled validator when this is its schema (the built-in actions'): no compile at start-up
  const validate = precompiledValidator(schema) ?? (fileAjv ??= new (ajv2020())(FILE_AJV_OPTIONS)).compile(schema);
  fileValidators.set(registry, { key, validate });
  return validate;
}

function paramValidator(schema: JsonSchema): ValidateFunction {
  let v = paramValidators.get(schema);
  if (!v) {
    const full = paramsSchema(schema);
    // the build's validator of a built-in action's schema (the same options and code); any other is checked and compiled
    v = precompiledParamsValidator(full) ?? (paramsAjv ??= new (ajv2020())(PARAMS_AJV_OPTIONS)).compile(full);
    paramValidators.set(schema, v);
  }
  return v;
}

/** ajv's text of a parameter validator's errors (`params/quantity must be integer, ...`). */
function paramsErrorsText(errors: ValidateFunction['errors']): string {
  return errorsText(errors, 'params');
}

/** The built-in action whose body is checked against its topic's schema (src/actions/builtins/publish-message.ts). */
const PUBLISH_MESSAGE = 'publishMessage';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A `do` item whose action's parameters sit beside the action instead of under it (`- grantItem:` then
 * `itemId: x` at the column of `grantItem`): YAML reads them as keys of the item, the action's value empty.
 */
function paramsBesideAction(item: unknown, registry: ActionRegistry): { action: string; params: string[] } | undefined {
  if (!isObject(item)) return undefined;
  const keys = Object.keys(item).filter((k) => !ACTION_ITEM_KEYS.has(k));
  const named = keys.filter((k) => registry.get(k) !== undefined);
  if (named.length !== 1 || keys.length < 2 || (item[named[0]!] !== null && item[named[0]!] !== undefined)) return undefined;
  return { action: named[0]!, params: keys.filter((k) => k !== named[0]) };
}

/** Whether `unknown` is an unknown key of the same map as the missing key of `required`, close enough to be it misspelt. */
function misspeltAs(unknown: ErrorObject, required: ErrorObject, registry: ActionRegistry): boolean {
  if (unknown.keyword !== 'additionalProperties' || unknown.instancePath !== required.instancePath) return false;
  const missing = String((required.params as { missingProperty?: unknown }).missingProperty);
  const extra = String((unknown.params as { additionalProperty?: unknown }).additionalProperty);
  if (missing === 'do' && isObject(unknown.data) && holdsActions(unknown.data[extra], registry)) return true;
  return closest(extra, [missing]).length > 0;
}

/** Whether `value` is a list of actions (`- grantItem: {...}`): what a rule's `do` holds. */
function holdsActions(value: unknown, registry: ActionRegistry): boolean {
  return Array.isArray(value) && value.length > 0 && value.every((item) => isObject(item) && Object.keys(item).some((k) => registry.get(k) !== undefined));
}

/** The `${...}` / `$logic` alternatives of the schema: their errors only repeat the original one's. */
function isAlternative(schema: unknown): boolean {
  if (!isObject(schema)) return false;
  return (isObject(schema.properties) && '$logic' in schema.properties) || (typeof schema.pattern === 'string' && schema.pattern.startsWith('\\$\\{'));
}

function describePath(path: readonly PathSegment[]): string {
  return path.reduce<string>((s, seg) => (typeof seg === 'number' ? `${s}[${seg}]` : s ? `${s}.${seg}` : seg), '');
}

/** The problems of reading (a key written twice) with those of compiling, in file order: one run reports both. */
function withParseProblems(result: RulesLoadResult, parseProblems: readonly RuleProblem[]): RulesLoadResult {
  if (parseProblems.length === 0) return result;
  const problems = [...parseProblems, ...(result.ok ? [] : result.problems)].sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: false, problems, warnings: result.warnings };
}

/** Compiles rules from YAML text. Never throws for a bad file: problems are returned. */
export function compileRulesText(text: string, file: string, opts: RulesCompileOptions): RulesLoadResult {
  const parsed = parseRulesSource(text, file);
  if (!parsed.source) return { ok: false, problems: parsed.problems, warnings: parsed.warnings };
  return withParseProblems(new Compiler(parsed.source, opts, text, [...parsed.warnings]).run(), parsed.problems);
}

/**
 * {@link compileRulesText} for hot reload: same result, but it yields to the
 * event loop (`pause`, default `setImmediate`) after parsing and between
 * slices of about `sliceMs` (default 10) of compiling, so calls keep being
 * answered while a large file is compiled.
 */
export async function compileRulesTextSliced(
  text: string,
  file: string,
  opts: RulesCompileOptions,
  pause: () => Promise<void> = () => new Promise((r) => setImmediate(r)),
  sliceMs = 10,
): Promise<RulesLoadResult> {
  await pause();
  const parsed = parseRulesSource(text, file);
  if (!parsed.source) return { ok: false, problems: parsed.problems, warnings: parsed.warnings };
  return withParseProblems(await new Compiler(parsed.source, opts, text, [...parsed.warnings]).runSliced(pause, sliceMs), parsed.problems);
}

class Compiler {
  readonly problems: RuleProblem[] = [];
  /** JSON pointers the schema reported on (later checks skip them). */
  readonly schemaPaths = new Set<string>();
  readonly logic = new RulesLogic();
  /** `limit`, `cooldown`, `count`/`streak`/`fired` (src/rules/stateful.ts). */
  readonly stateful: StatefulChecks;
  /** Compiled conditions by their JSON text: rules with the same condition share one function (compiling is ~50 µs each). */
  readonly #compiled = new Map<string, CompiledLogic>();
  readonly data: unknown;
  readonly rulesData: unknown[];
  /** The catalog with the custom events (`topic:NAME`, `schedule:TASK`) in it. */
  readonly catalog: CustomEventsCatalog;

  /**
   * `publishMessage`'s `body` against the JSON Schema of its topic
   * (`topics/NAME.schema.json`) when the topic is a constant with a schema:
   * the constant parts must fit; a `\${...}` or `$logic` value is not known
   * before the event, so nothing at or under it is reported.
   */
  checkPublishedBody(raw: Record<string, unknown>, path: PathSegment[]): void {
    const topic = raw.topic;
    if (typeof topic !== 'string' || topic.includes('${') || topicNameProblem(topic) || !('body' in raw)) return;
    const typed = this.catalog.topicBodySchema(topic);
    if (!typed) return;
    const unknownAt: string[] = [];
    const known = (v: unknown, pointer: string): unknown => {
      if ((typeof v === 'string' && v.includes('${')) || (isObject(v) && Object.keys(v).length === 1 && '$logic' in v)) {
        unknownAt.push(pointer);
        return null;
      }
      if (Array.isArray(v)) return v.map((x, i) => known(x, `${pointer}/${i}`));
      if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, known(x, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`)]));
      return v;
    };
    const body = known(raw.body, '');
    if (typeof body === 'string') return; // sent as is: its receivers parse it
    let problems;
    try {
      problems = topicBodyProblems(typed.schema, body, unknownAt);
    } catch (err) {
      this.report([...path, 'topic'], 'schema', `${typed.file} is not a JSON Schema ajv can compile: ${err instanceof Error ? err.message : String(err)}`, 'fix the schema, or remove the file');
      return;
    }
    for (const p of problems) {
      const sub = p.pointer === '' ? [] : p.pointer.slice(1).split('/').map((x) => x.replace(/~1/g, '/').replace(/~0/g, '~')).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
      this.report([...path, 'body', ...sub], 'invalid-params', `publishMessage: body${p.pointer.replace(/\//g, '.').replace(/^\./, '.')} ${p.message} (the schema of topic ${topic}: ${typed.file})`, `publish what the topic's receivers expect, or change ${TOPICS_FOLDER}/${topic}.schema.json`);
    }
  }

  /** A topic's name as AGS accepts it (src/custom-events/limits.ts). */
  checkCustomOn(on: string, path: PathSegment[]): void {
    const topic = topicOf(on);
    const problem = topic !== undefined ? topicNameProblem(topic) : undefined;
    if (problem) this.report([...path, 'topic'], 'schema', problem.message, problem.fix);
    const schema = topic !== undefined && !problem ? this.catalog.topicSchemaProblem(topic) : undefined;
    if (schema) this.report([...path, 'topic'], 'schema', `${schema.file} cannot type the topic's body: ${schema.problem}`, 'write a JSON Schema object (type: object, properties: ...), or remove the file');
  }

  constructor(
    readonly source: RulesSource,
    readonly opts: RulesCompileOptions,
    readonly text: string,
    readonly warnings: RuleProblem[],
  ) {
    this.data = source.data;
    this.rulesData = isObject(this.data) && Array.isArray(this.data.rules) ? this.data.rules : [];
    this.catalog = withCustomEvents(opts.catalog, { topicsDir: join(dirname(source.file), TOPICS_FOLDER) });
    this.stateful = new StatefulChecks(this.catalog, (path, code, message, fix, severity) => this.report(path, code, message, fix, severity ? { severity } : {}), {
      checkWhere: (logic, path, type) => {
        const before = this.problems.length;
        this.checkLogic(logic, [...path], type, false);
        return this.problems.length === before;
      },
      compileWhere: (logic) => this.compileLogic(logic),
      compileKey: (text, path, type) => this.compileValue(text, path, type),
    });
  }

  ruleName(path: readonly PathSegment[]): string | undefined {
    if (path[0] !== 'rules' || typeof path[1] !== 'number') return undefined;
    const r = this.rulesData[path[1]];
    return isObject(r) && typeof r.name === 'string' ? r.name : undefined;
  }

  report(path: readonly PathSegment[], code: ProblemCode, message: string, fix?: string, opts: { key?: boolean; severity?: 'error' | 'warning' } = {}): void {
    const severity = opts.severity ?? 'error';
    const rule = this.ruleName(path);
    const problem: RuleProblem = {
      file: this.source.file,
      ...this.source.position(path, opts.key),
      ...(rule !== undefined ? { rule } : {}),
      message,
      ...(fix !== undefined ? { fix } : {}),
      severity,
      code,
    };
    (severity === 'error' ? this.problems : this.warnings).push(problem);
  }

  /** The facts of the rule whose condition is being checked (`facts.<name>` reads them, not the event). */
  #factNames: ReadonlySet<string> | undefined;
  /** The `as` name of the forEach action being compiled (its references read the item, not the event). */
  #itemName: string | undefined;
  readonly #compiledRules: CompiledRule[] = [];
  readonly #names = new Map<string, number>();
  /** Rules counting under a key other than the player: name -> key as written. */
  readonly #keyedRules = new Map<string, string>();

  run(): RulesLoadResult {
    this.checkFile();
    this.rulesData.forEach((raw, i) => this.step(raw, i));
    return this.finish();
  }

  /** As {@link run}, yielding to the event loop (`pause`) between slices of rules: a large file never holds the event loop for long. */
  async runSliced(pause: () => Promise<void>, sliceMs: number): Promise<RulesLoadResult> {
    await pause();
    this.checkFile();
    let sliceStart = performance.now();
    for (let i = 0; i < this.rulesData.length; i++) {
      if ((i & 63) === 0 && performance.now() - sliceStart > sliceMs) {
        await pause();
        sliceStart = performance.now();
      }
      this.step(this.rulesData[i], i);
    }
    return this.finish();
  }

  /** The whole-file checks: the schema, and integers that doubles would round. */
  checkFile(): void {
    const inexact = inexactIntegers(this.data);
    // an inexact integer is reported once, as such (not also as out of a schema range)
    for (const path of inexact) this.schemaPaths.add(`/${path.map((seg) => String(seg).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`);
    this.checkSchema();
    for (const path of inexact) {
      const read = Number(path.reduce<unknown>((cur, seg) => (cur as Record<PathSegment, unknown>)[seg], this.data));
      this.report(
        path,
        'inexact-number',
        `${describePath(path.slice(path[0] === 'rules' ? 2 : 0))} is beyond 2^53-1: numbers are read as doubles and it would be rounded to ${read}`,
        'use a whole number from -9007199254740991 to 9007199254740991',
      );
    }
  }

  step(raw: unknown, i: number): void {
    if (!isObject(raw)) return;
    if (typeof raw.name === 'string') {
      const first = this.#names.get(raw.name);
      if (first !== undefined) {
        this.report(['rules', i, 'name'], 'duplicate-name', `rule name "${raw.name}" is already used by the rule at line ${this.source.position(['rules', first]).line}`, 'rule names must be unique: rename one');
      } else this.#names.set(raw.name, i);
    }
    const rule = this.compileRule(raw, i);
    if (rule) this.#compiledRules.push(rule);
  }

  finish(): RulesLoadResult {
    const compiled = this.#compiledRules;
    this.stateful.finish(this.#names);
    this.stateful.checkFiredKeyed(this.#keyedRules);
    this.problems.sort((a, b) => a.line - b.line || a.column - b.column);
    if (this.problems.length > 0) return { ok: false, problems: this.problems, warnings: this.warnings };
    const hash = createHash('sha256').update(this.text).digest('hex');
    return { ok: true, rules: new RuleSet(compiled, hash), warnings: this.warnings };
  }

  // ---------------------------------------------------------------- schema

  /** Reports each action whose parameters are not indented under it (one problem, with the column); returns their JSON pointers. */
  paramsBesideActions(): string[] {
    const rules = isObject(this.data) && Array.isArray(this.data.rules) ? this.data.rules : [];
    const pointers: string[] = [];
    rules.forEach((rule, i) => {
      if (!isObject(rule) || !Array.isArray(rule.do)) return;
      rule.do.forEach((item, j) => {
        const beside = paramsBesideAction(item, this.opts.registry);
        if (!beside) return;
        const { action, params } = beside;
        const at = this.source.position(['rules', i, 'do', j, action], true);
        const list = params.map((p) => `"${p}"`).join(', ');
        this.report(['rules', i, 'do', j, params[0]!], 'schema', `${list} ${params.length === 1 ? 'is' : 'are'} not indented under ${action}: YAML reads ${params.length === 1 ? 'it' : 'them'} beside ${action} (line ${at.line}), whose parameters are then empty`, `start ${list} at column ${at.column + 2}, 2 spaces deeper than ${action} (or write - ${action}: { ${params[0]!}: ... })`, { key: true });
        pointers.push(`/rules/${i}/do/${j}`);
      });
    });
    return pointers;
  }

  checkSchema(): void {
    // compiled once per registry (~300 ms, or precompiled by the build): every problem at once
    const validate = fileValidator(this.opts.registry);
    if (validate(this.data)) return;
    const errors = (validate.errors ?? []).filter(
      (e) =>
        !e.schemaPath.includes('$defs/reference') &&
        !e.schemaPath.includes('$defs/computed') &&
        !/\/anyOf\/[12]\//.test(e.schemaPath) &&
        e.keyword !== 'if' && // the then/else branch's own errors say what is wrong
        !isAlternative(e.parentSchema),
    );
    const skip = new Set(this.schemaPaths);
    const beside = this.paramsBesideActions();
    for (const e of errors) this.schemaPaths.add(e.instancePath);
    const seen = new Set<string>();
    for (const e of errors) {
      if (skip.has(e.instancePath) || beside.some((b) => e.instancePath === b || e.instancePath.startsWith(`${b}/`))) continue;
      const path = this.instancePath(e.instancePath);
      if (e.keyword === 'anyOf' && errors.some((o) => o !== e && o.instancePath === e.instancePath)) continue;
      const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
      if (seen.has(key)) continue;
      // a required key written misspelt ("topic" for "topicName") is one mistake: the unknown key's did-you-mean says it
      if (e.keyword === 'required' && errors.some((o) => misspeltAs(o, e, this.opts.registry))) continue;
      seen.add(key);
      this.schemaError(e, path);
    }
  }

  instancePath(pointer: string): PathSegment[] {
    if (pointer === '') return [];
    let cur: unknown = this.data;
    return pointer
      .slice(1)
      .split('/')
      .map((raw) => {
        const s = raw.replace(/~1/g, '/').replace(/~0/g, '~');
        const seg: PathSegment = Array.isArray(cur) ? Number(s) : s;
        cur = isObject(cur) || Array.isArray(cur) ? (cur as Record<string, unknown>)[seg] : undefined;
        return seg;
      });
  }

  /** A value of the wrong type; `rules` or `do` written as a map (the "- " of its items left out) says so. */
  wrongType(e: ErrorObject, path: PathSegment[], where: string): void {
    const p = e.params as Record<string, unknown>;
    if (p.type === 'array' && isObject(e.data) && (path.length === 1 ? path[0] === 'rules' : path.length === 3 && path[0] === 'rules' && path[2] === 'do')) {
      const item = path.length === 1 ? '"- name: ..." (each rule starts with "- ")' : `"- ${Object.keys(e.data)[0] ?? 'grantItem'}: ..." (each action starts with "- ")`;
      this.report(path, 'wrong-type', `${where} must be a list, not a map`, `write its items as ${item}`);
      return;
    }
    this.report(path, 'wrong-type', `${where} must be ${Array.isArray(p.type) ? p.type.join(' or ') : String(p.type)}`, e.data === null ? 'the value is empty: write one, or remove the key' : path.length === 0 ? topLevelFix(e.data) : (quoteFix(e.data, p.type, path) ?? wrongTypeFix(p.type, e.parentSchema)));
  }

  schemaError(e: ErrorObject, path: PathSegment[]): void {
    const isActionItem = path.length === 4 && path[0] === 'rules' && path[2] === 'do';
    const isParams = path.length >= 5 && path[0] === 'rules' && path[2] === 'do';
    const where = (isParams ? describePath(path.slice(4)) : path[0] === 'rules' && path.length > 2 ? describePath(path.slice(2)) : describePath(path)) || 'the file';
    const actionName = isParams ? String(path[4]) : undefined;
    const p = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'additionalProperties': {
        const extra = String(p.additionalProperty);
        const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
        if (isActionItem) {
          const actions = known.filter((k) => !ACTION_ITEM_KEYS.has(k));
          this.report([...path, extra], 'unknown-action', `unknown action "${extra}"`, didYouMean(extra, actions) ?? `registered actions: ${actions.join(', ')}`, { key: true });
        } else {
          const inWhat = isParams ? `the parameters of ${actionName}` : path.length === 2 ? 'a rule' : path.length === 0 ? 'the top level' : where;
          // a rule's actions under another name (then:, actions:): the key they go under
          const actions = path.length === 2 && isObject(e.data) && holdsActions(e.data[extra], this.opts.registry);
          this.report([...path, extra], 'unknown-key', `unknown key "${extra}" in ${inWhat}`, actions ? 'did you mean "do"? (a rule\'s actions go under do:)' : (didYouMean(extra, known) ?? `allowed keys: ${known.join(', ')}`), { key: true });
        }
        return;
      }
      case 'required':
        this.report(path, 'missing-key', `${path.length === 2 ? 'the rule' : isParams ? `${actionName}` : where} is missing the required key "${String(p.missingProperty)}"`, `add ${String(p.missingProperty)}: ...`);
        return;
      case 'const':
        if (path.length === 1 && path[0] === 'version') {
          this.report(path, 'version', `unsupported version ${JSON.stringify(e.data)}: this release reads version 1`, 'write "version: 1"');
          return;
        }
        this.report(path, 'schema', `${where} must be ${JSON.stringify(p.allowedValue)}`);
        return;
      case 'enum': {
        const allowed = (p.allowedValues as unknown[]).map((v) => String(v));
        this.report(path, 'schema', `${where} must be one of ${allowed.join(', ')}`, (typeof e.data === 'string' ? didYouMean(e.data, allowed) : undefined) ?? 'write one of the values listed');
        return;
      }
      case 'type':
        this.wrongType(e, path, where);
        return;
      case 'pattern':
        if (path[path.length - 1] === 'activeFrom' || path[path.length - 1] === 'activeUntil') {
          this.report(path, 'schema', `${where} is not an ISO 8601 instant with offset`, 'write e.g. 2026-12-01T00:00:00+00:00 or 2026-12-01T00:00:00Z');
        } else if (path[path.length - 1] === 'name' && path.length === 3) {
          this.report(path, 'schema', `rule name ${JSON.stringify(e.data)} has characters other than letters, digits, _ . : -`, 'use e.g. grant-item-on-login');
        } else {
          this.report(path, 'schema', `${where} does not match ${String(p.pattern)}`);
        }
        return;
      case 'minProperties':
      case 'maxProperties':
        if (isActionItem) {
          this.report(path, 'schema', 'an action is a map with one key: the action name, then its parameters', 'write e.g. "- grantItem: { itemId: ... }"');
          return;
        }
        break;
      case 'minimum':
      case 'maximum': {
        const schema = (e.parentSchema ?? {}) as { minimum?: number; maximum?: number };
        const range = schema.minimum !== undefined && schema.maximum !== undefined ? `from ${schema.minimum} to ${schema.maximum}` : `${e.keyword === 'minimum' ? '>=' : '<='} ${String(p.limit)}`;
        this.report(path, 'schema', `${where} ${e.message ?? 'is out of range'}`, `write a number ${range}`);
        return;
      }
      case 'minItems':
        if (path[path.length - 1] === 'do') {
          this.report(path, 'schema', 'the rule has no actions: "do" needs at least one', undefined);
          return;
        }
        break;
      case 'minLength':
        if (e.data === '') {
          this.report(path, 'schema', `${where} ${e.message ?? 'is empty'}`, `write a value, or remove ${String(path[path.length - 1])}`);
          return;
        }
        break;
      default:
        break;
    }
    this.report(path, 'schema', `${where} ${e.message ?? 'is invalid'}`);
  }

  // ---------------------------------------------------------------- rules

  compileRule(raw: Record<string, unknown>, i: number): CompiledRule | undefined {
    const base: PathSegment[] = ['rules', i];
    let service: EventService | undefined;
    const on = typeof raw.on === 'string' ? raw.on : customOnName(raw.on);
    if (on !== undefined && on !== raw.on) this.checkCustomOn(on, [...base, 'on']);
    if (on !== undefined) {
      const r = this.catalog.resolve(on);
      if (r.ok) service = r.service;
      else if (r.reason === 'ambiguous') {
        this.report([...base, 'on'], 'ambiguous-event', `"${on}" names several events: ${r.candidates.join(', ')}`, 'write the full service name');
      } else {
        this.report(
          [...base, 'on'],
          'unknown-event',
          `unknown event "${on}"`,
          r.candidates.length > 0 ? `did you mean ${r.candidates.slice(0, 3).map((c) => `"${c}"`).join(' or ')}?` : unknownEventFix(on),
        );
      }
    }
    const type = service?.requestType;
    if (service) this.stateful.ruleEvent(i, service.eventName);

    const from = this.instant(raw.activeFrom, [...base, 'activeFrom']);
    const until = this.instant(raw.activeUntil, [...base, 'activeUntil']);
    if (from !== undefined && until !== undefined && !Number.isNaN(from) && !Number.isNaN(until) && from >= until) {
      this.report([...base, 'activeUntil'], 'window', `activeUntil (${String(raw.activeUntil)}) is not after activeFrom (${String(raw.activeFrom)})`, 'the window is [activeFrom, activeUntil): make activeUntil later');
    }

    const facts = raw.facts !== undefined ? this.compileFacts(raw.facts, [...base, 'facts'], type) : undefined;
    let when: ((d: unknown) => unknown) | undefined;
    let whenLogic: unknown;
    this.#factNames = isObject(raw.facts) ? new Set(Object.keys(raw.facts)) : undefined; // declared, even those with problems (no second report)
    if ('when' in raw && raw.when !== undefined) {
      const before = this.problems.length;
      const logicValue = this.substituteEnv(raw.when, [...base, 'when']);
      const scalar = notACondition(logicValue, true);
      if (scalar) this.report([...base, 'when'], scalar.code, scalar.message, scalar.fix);
      else this.checkLogic(logicValue, [...base, 'when'], type, false);
      if (this.problems.length === before) {
        try {
          when = this.compileLogic(logicValue);
          // substituteEnv built a fresh tree: frozen as is, no copy
          whenLogic = deepFreeze(logicValue);
        } catch (err) {
          this.report([...base, 'when'], 'logic', `the condition does not compile: ${(err as Error).message ?? String(err)}`);
        }
      }
    }

    this.#factNames = undefined;
    const factsRead = facts && whenLogic !== undefined ? factNamesRead(whenLogic) : new Set<string>();
    const compiledFacts = facts?.filter((f) => factsRead.has(f.name));

    const actions: CompiledAction[] = [];
    if (Array.isArray(raw.do)) {
      const keyOf = actionKeys(raw.do);
      const seenIds = new Map<string, number>();
      for (const name of unstableActionNames(raw.do)) {
        this.report([...base, 'do'], 'action-key', `rule has several "${name}" actions without an id: their idempotency keys (${name}#0, ${name}#1...) follow their order, so inserting or removing one of them before another between two deliveries of an event can run an action twice`, `give each an id: "- id: first-${name}\n  ${name}: {...}"`, { severity: 'warning' });
      }
      raw.do.forEach((item, j) => {
        if (!isObject(item)) return;
        const keys = Object.keys(item).filter((k) => !ACTION_ITEM_KEYS.has(k));
        if (keys.length !== 1) {
          if (paramsBesideAction(item, this.opts.registry)) return; // reported with the schema
          if (keys.length > 1 && Object.keys(item).length <= 2) this.report([...base, 'do', j], 'schema', `an action is a map with one action name (and an optional id); this one has ${keys.join(', ')}`, 'split it into one list item per action: "- grantItem: {...}" then "- creditWallet: {...}"');
          else if ('id' in item) this.report([...base, 'do', j], 'schema', 'this action has an id but no action name', 'write e.g. "- id: welcome-grant\n  grantItem: { itemId: ... }"');
          return;
        }
        if (typeof item.id === 'string') {
          const first = seenIds.get(item.id);
          if (first !== undefined) this.report([...base, 'do', j, 'id'], 'duplicate-id', `action id "${item.id}" is already used by do[${first}] of this rule`, 'action ids must be unique within a rule: rename one');
          else seenIds.set(item.id, j);
        }
        const name = keys[0]!;
        const def = this.opts.registry.get(name);
        if (!def) return;
        const each = this.compileForEach(item, [...base, 'do', j], type);
        if (each === null) return;
        const written = item[name];
        if (!isObject(written)) return;
        // an item's references (${item}, ${member.userId}) read the per-item data: the event and the item under its name
        const paramsRaw = each ? (bindItem(written, each.as) as Record<string, unknown>) : written;
        this.#itemName = each?.as;
        try {
          this.compileAction(raw, i, j, name, def, paramsRaw, type, keyOf[j]!, each, actions);
        } finally {
          this.#itemName = undefined;
        }
      });
    }
    const rule = this.finishRule(raw, i, base, service, type, from, until, when, whenLogic, actions);
    return rule && compiledFacts && compiledFacts.length > 0 ? { ...rule, facts: compiledFacts } : rule;
  }

  /** `facts: { <name>: { <operationId>: { param: value } } }`: each lookup checked against the operations the app has. */
  compileFacts(raw: unknown, path: PathSegment[], type: Type | undefined): CompiledFact[] | undefined {
    if (!isObject(raw)) return undefined; // the schema reports it
    const defs = this.opts.facts ?? {};
    const out: CompiledFact[] = [];
    for (const [name, spec] of Object.entries(raw)) {
      const at = [...path, name];
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        this.report(at, 'fact', `fact name "${name}" must be a name (letters, digits, _): conditions read it as facts.${name}`, 'rename it, e.g. pass', { key: true });
        continue;
      }
      const keys = isObject(spec) ? Object.keys(spec) : [];
      if (keys.length !== 1) {
        this.report(at, 'fact', `fact ${name} is one AGS operation id and its parameters`, 'write e.g. pass: { getUserEntitlementOwnershipByItemId: { itemId: season-pass-2027 } }');
        continue;
      }
      const op = keys[0]!;
      const def = Object.hasOwn(defs, op) ? defs[op] : undefined;
      if (!def) {
        this.report([...at, op], 'fact', `fact ${name}: "${op}" is not an AGS lookup the app has`, didYouMean(op, Object.keys(defs)) ?? `the lookups: ${Object.keys(defs).join(', ') || 'none'}`, { key: true });
        continue;
      }
      const params = (spec as Record<string, unknown>)[op] ?? {};
      if (!isObject(params)) {
        this.report([...at, op], 'fact', `fact ${name}: the parameters of ${op} are a map`, def.params.length > 0 ? `write e.g. { ${def.params[0]}: ... }` : 'write {}');
        continue;
      }
      let ok = true;
      for (const k of Object.keys(params)) {
        if (def.params.includes(k)) continue;
        ok = false;
        this.report([...at, op, k], 'fact', `fact ${name}: ${op} takes no parameter "${k}" (it takes: ${def.params.join(', ') || 'none'})`, didYouMean(k, def.params) ?? 'remove it', { key: true });
      }
      for (const k of def.required) {
        if (params[k] !== undefined) continue;
        ok = false;
        this.report([...at, op], 'fact', `fact ${name}: ${op} needs "${k}"`, `add ${k}: ...`);
      }
      if (!ok) continue;
      const before = this.problems.length;
      const compiled = this.compileValue(params, [...at, op], type);
      if (this.problems.length !== before) continue;
      const templated = Object.entries(params).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].includes('${'));
      out.push({ name, operation: op, params: compiled, ...(templated.length > 0 && !compiled.constant ? { templated: Object.fromEntries(templated) } : {}) });
    }
    return out;
  }

  /** One action's parameters compiled and checked (the schema's, then the action's own checks), pushed onto `actions`. */
  compileAction(raw: Record<string, unknown>, i: number, j: number, name: string, def: ActionDefinition, paramsRaw: Record<string, unknown>, type: Type | undefined, key: string, each: ForEachSpec | undefined, actions: CompiledAction[]): void {
    const base: PathSegment[] = ['rules', i];
    const fan = each ? { forEach: each } : {};
    {
      {
        const path = [...base, 'do', j, name];
        const pointer = `/rules/${i}/do/${j}/${name}`;
        const reportedHere = [...this.schemaPaths].filter((p) => p === pointer || p.startsWith(`${pointer}/`));
        if (reportedHere.length > 0) {
          // the schema reported these parameters: the action's own checks still report the others (every problem at once)
          const skip = new Set(reportedHere.map((p) => p.slice(pointer.length + 1).split('/').join('.')));
          if (this.compileUnreported(paramsRaw, skip, path, type, def) && !skip.has('')) this.checkParams(def, paramsRaw, undefined, path, type, raw.name, skip);
          return;
        }
        const before = this.problems.length;
        let params = this.compileValue(paramsRaw, path, type, def.params);
        if (this.problems.length !== before) return;
        if (name === PUBLISH_MESSAGE) this.checkPublishedBody(paramsRaw, path);
        const validate = paramValidator(def.params);
        if (params.constant) {
          const copy = structuredClone(params.value);
          if (!validate(copy)) {
            for (const e of validate.errors ?? []) {
              const sub = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
              const extra = e.keyword === 'additionalProperties' ? [String((e.params as { additionalProperty: unknown }).additionalProperty)] : [];
              this.report([...path, ...sub, ...extra], 'invalid-params', `${name}: ${describePath(sub) || 'parameters'} ${e.message ?? 'invalid'} (after \${env} substitution)`, undefined, { key: extra.length > 0 });
            }
            return;
          }
          this.checkParams(def, paramsRaw, copy as Record<string, unknown>, path, type, raw.name);
          params = { constant: true, value: deepFreeze(copy) };
          actions.push({ action: name, index: j, key, params, ...fan });
        } else {
          const check = (p: Record<string, unknown>) => (validate(p) ? undefined : paramsErrorsText(validate.errors));
          this.checkParams(def, paramsRaw, undefined, path, type, raw.name);
          actions.push({ action: name, index: j, key, params, check, ...fan });
        }
      }
    }
  }

  /**
   * Compiles the parameters the schema did not report on, for their own problems (a template's
   * path, a `$logic`), as a clean action's are: one bad parameter does not hide the others'.
   * Returns whether that added no problem (the action's own checks then run, as for a clean action).
   */
  compileUnreported(paramsRaw: Record<string, unknown>, skip: ReadonlySet<string>, path: PathSegment[], type: Type | undefined, def: ActionDefinition): boolean {
    const before = this.problems.length;
    const properties = def.params.properties as Record<string, JsonSchema> | undefined;
    for (const [k, v] of Object.entries(paramsRaw)) {
      // '' is the parameters map itself (an unknown key, a required one absent): its known keys are still compiled
      const unknown = skip.has('') && !Object.hasOwn(properties ?? {}, k);
      if (unknown || FORBIDDEN_SEGMENTS.has(k) || [...skip].some((s) => s === k || s.startsWith(`${k}.`))) continue;
      this.compileValue(v, [...path, k], type, properties?.[k]);
    }
    return this.problems.length === before;
  }

  /**
   * A `do` item's fan-out: `forEach: "${event.<list>}"`, `as` (default
   * `item`), `max` (default {@link DEFAULT_FOR_EACH_MAX}). Undefined without
   * `forEach`; null when it has problems (reported).
   */
  compileForEach(item: Record<string, unknown>, path: PathSegment[], type: Type | undefined): ForEachSpec | undefined | null {
    if (!('forEach' in item)) {
      for (const k of ['as', 'max']) if (k in item) this.report([...path, k], 'for-each', `"${k}" belongs to a fan-out: this action has no forEach`, 'add forEach: "${event.payload.<list>}", or remove it');
      return 'as' in item || 'max' in item ? null : undefined;
    }
    const list = item.forEach;
    const at = [...path, 'forEach'];
    const parsed = typeof list === 'string' ? parseTemplate(list) : undefined;
    const ref = parsed && parsed.problems.length === 0 && parsed.parts.length === 1 && typeof parsed.parts[0] !== 'string' && parsed.parts[0]!.kind === 'event' ? parsed.parts[0] : undefined;
    if (!ref || ref.path.length === 0) {
      // reported once: by the schema when it did
      if (!this.schemaPaths.has(`/${at.join('/')}`)) this.report(at, 'for-each', 'forEach takes one reference to a list of the event', 'write e.g. forEach: "${event.payload.userIds}"');
      return null;
    }
    const before = this.problems.length;
    this.checkEventPath(type, ref.path, at, `\${${ref.raw}}`);
    if (this.problems.length !== before) return null;
    const kind = kindAt(type, ref.path);
    if (type && !kind.probes.some((p) => Array.isArray(p))) {
      this.report(at, 'for-each', `forEach reads \${${ref.raw}}, ${kind.label}: only a list (a repeated field) can be walked`, 'name a repeated field of the event (a list of user ids, of members)');
      return null;
    }
    const as = item.as === undefined ? 'item' : item.as;
    const fields = new Set(type ? [...fieldsByJsonName(type).keys(), ...type.fieldsArray.map((f) => f.name)] : []);
    if (typeof as !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(as) || as === 'event' || as === 'env' || fields.has(as)) {
      this.report([...path, 'as'], 'for-each', `as: ${JSON.stringify(as)} ${typeof as === 'string' && fields.has(as) ? 'is a field of the event: ${' + as + '} would be ambiguous' : 'must be a name (letters, digits, _), not event or env'}`, 'write e.g. as: member, then ${member.userId}');
      return null;
    }
    const max = typeof item.max === 'number' && Number.isInteger(item.max) ? item.max : DEFAULT_FOR_EACH_MAX;
    return { path: ref.path, text: list as string, as, max };
  }

  finishRule(raw: Record<string, unknown>, i: number, base: PathSegment[], service: EventService | undefined, type: Type | undefined, from: number | undefined, until: number | undefined, when: CompiledLogic | undefined, whenLogic: unknown, actions: CompiledAction[]): CompiledRule | undefined {
    const stateParts = this.statefulParts(raw, base, i, type);
    if (typeof raw.name !== 'string' || !service || !Array.isArray(raw.do)) return undefined;
    return {
      name: raw.name,
      ...(typeof raw.description === 'string' ? { description: raw.description } : {}),
      service: service.fullName,
      eventName: service.eventName,
      enabled: raw.enabled !== false,
      ...(from !== undefined && !Number.isNaN(from) ? { activeFrom: from } : {}),
      ...(until !== undefined && !Number.isNaN(until) ? { activeUntil: until } : {}),
      mode: raw.mode === 'shadow' ? 'shadow' : 'live',
      onFailure: raw.onFailure === 'retry' ? 'retry' : 'deadLetter',
      ...(when ? { when, whenLogic } : {}),
      ...stateParts,
      actions,
      line: this.source.position(base).line,
    };
  }

  /**
   * The action's own run-time checks (`normalize`, after the schema check with
   * coercion, as per event) at load: constant values as they are, templated
   * ones probed by the type they read (see action-params.ts).
   */
  checkParams(
    def: ActionDefinition,
    raw: Record<string, unknown>,
    constant: Record<string, unknown> | undefined,
    path: PathSegment[],
    type: Type | undefined,
    rule: unknown,
    skip: ReadonlySet<string> = new Set(),
  ): void {
    const env = (name: string, fallback: string | undefined): string | undefined => {
      const v = this.opts.env[name];
      return v !== undefined && v !== '' ? v : fallback;
    };
    const split = splitParams(raw, type, env);
    const validate = paramValidator(def.params);
    const schemaCheck = (p: Record<string, unknown>): { param: string; message: string } | undefined => {
      if (validate(p)) return undefined;
      const e = validate.errors![0]!;
      const ep = e.params as { additionalProperty?: unknown; missingProperty?: unknown; allowedValues?: unknown[] };
      const key = e.keyword === 'additionalProperties' ? ep.additionalProperty : e.keyword === 'required' ? ep.missingProperty : undefined;
      const param = [...e.instancePath.slice(1).split('/'), ...(typeof key === 'string' ? [key] : [])].filter((x) => x !== '').join('.');
      const message = e.keyword === 'enum' ? `must be one of ${(ep.allowedValues ?? []).map(String).join(', ')}` : (e.message ?? 'is invalid');
      return { param, message };
    };
    // a constant without unknown (unset) env values is checked as the run sees it: after the schema's coercion
    const useConstant = constant !== undefined && split.leaves.length === 0;
    const ctx = loadContext(type, typeof rule === 'string' ? rule : '', this.opts.env.AB_NAMESPACE);
    for (const p of checkActionParams(def, useConstant ? constant : split.base, useConstant ? [] : split.leaves, ctx, schemaCheck, skip)) {
      const fix = p.path[0] === 'userId' ? (userIdFix(type) ?? p.fix) : p.fix;
      this.report([...path, ...p.path], 'invalid-params', p.message, fix, { severity: p.severity });
    }
  }

  /** `limit`, `cooldown` and what the conditions read from the ledger. */
  statefulParts(raw: Record<string, unknown>, base: PathSegment[], i: number, type: Type | undefined): Pick<CompiledRule, 'limit' | 'cooldown' | 'stateUses' | 'stateKey'> {
    const limit = raw.limit !== undefined ? this.stateful.compileLimit(raw.limit, [...base, 'limit']) : undefined;
    const cooldown = raw.cooldown !== undefined ? this.stateful.compileCooldown(raw.cooldown, [...base, 'cooldown']) : undefined;
    const stateUses = this.stateful.usesOf(i);
    const stateKey = this.stateful.compileStateKey(raw.limit, raw.cooldown, base, (value, path) => this.compileValue(value, path, type), type);
    if (stateKey && typeof raw.name === 'string') this.#keyedRules.set(raw.name, stateKey.text);
    return { ...(limit ? { limit } : {}), ...(cooldown ? { cooldown } : {}), ...(stateUses ? { stateUses } : {}), ...(stateKey ? { stateKey } : {}) };
  }

  /** `activeFrom`/`activeUntil`: an instant that exists, with offset (the schema checked the shape). NaN when it is not one. */
  instant(value: unknown, path: PathSegment[]): number | undefined {
    if (typeof value !== 'string') return undefined;
    const r = parseInstant(value);
    if (r.ok) return r.ms;
    if (!this.schemaPaths.has(`/${path.join('/')}`)) this.report(path, 'instant', `${String(path[path.length - 1])}: ${r.reason}`, r.fix);
    return NaN;
  }

  compileLogic(logicValue: unknown): CompiledLogic {
    let exact = true; // JSON text identifies the value: no NaN, Infinity or -0 (JSON writes them as null or 0)
    const key = JSON.stringify(logicValue, (_k, v: unknown) => {
      if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) exact = false;
      return v;
    });
    if (!exact) return this.logic.compile(logicValue);
    let fn = this.#compiled.get(key);
    if (!fn) {
      fn = this.logic.compile(logicValue);
      this.#compiled.set(key, fn);
    }
    return fn;
  }

  // ---------------------------------------------------------------- env

  envValue(ref: Extract<TemplateRef, { kind: 'env' }>, path: readonly PathSegment[]): string {
    const forbidden = forbiddenEnvReason(ref.name);
    if (forbidden !== undefined) {
      this.report(path, 'forbidden-env', forbidden, FORBIDDEN_ENV_FIX);
      return '';
    }
    const v = this.opts.env[ref.name];
    if (v !== undefined && v !== '') {
      noteEnvRead(ref.name, v);
      return v;
    }
    if (ref.default !== undefined) {
      noteEnvRead(ref.name, ref.default);
      return ref.default;
    }
    const warn = this.opts.unsetEnv === 'warn';
    this.report(
      path,
      'unset-env',
      `environment variable ${ref.name} is not set (\${env.${ref.name}})`,
      `set ${ref.name}, or give a default: \${env.${ref.name}:-value}`,
      { severity: warn ? 'warning' : 'error' },
    );
    return '';
  }

  /** `when`: `${env.X}` strings substituted now; `${event...}` is refused there (use var). */
  substituteEnv(value: unknown, path: PathSegment[]): unknown {
    if (typeof value === 'string') {
      if (!value.includes('${')) return value;
      const { parts, problems } = parseTemplate(value);
      for (const p of problems) this.report(path, p.code, p.message, p.fix);
      if (problems.length > 0) return value;
      let out = '';
      for (const part of parts) {
        if (typeof part === 'string') out += part;
        else if (part.kind === 'env') out += this.envValue(part, path);
        else {
          this.report(path, 'template', `\${${part.raw}} cannot be used in "when": conditions read the event with var`, `write {"var": "${part.path.join('.')}"}`);
        }
      }
      return out;
    }
    if (Array.isArray(value)) return value.map((v, i) => this.substituteEnv(v, [...path, i]));
    if (isObject(value)) {
      const out: Record<string, unknown> = {};
      // the `by` of a count or streak is a template over the counted event (compiled with its env references as a key)
      const counter = path[path.length - 1] === 'count' || path[path.length - 1] === 'streak';
      for (const [k, v] of Object.entries(value)) out[k] = counter && k === 'by' ? v : this.substituteEnv(v, [...path, k]);
      return out;
    }
    return value;
  }

  // ---------------------------------------------------------------- paths

  checkSegments(segments: readonly string[], path: readonly PathSegment[]): boolean {
    const bad = segments.find((s) => FORBIDDEN_SEGMENTS.has(s));
    if (bad === undefined) return true;
    this.report(path, 'forbidden-segment', `the path segment "${bad}" is not allowed (it would read the object prototype)`, 'remove it: events have no such field');
    return false;
  }

  checkEventPath(type: Type | undefined, segments: readonly string[], path: readonly PathSegment[], written: string): void {
    if (!this.checkSegments(segments, path)) return;
    if (this.#itemName !== undefined && segments[0] === this.#itemName) return; // a forEach item: its shape is the list's
    if (segments[0] === 'facts' && this.#factNames) {
      // a fact's answer is AGS's (its spec's schema), not the event's
      if (segments[1] === undefined || !this.#factNames.has(segments[1])) this.report(path, 'fact', `${written}: the rule has no fact "${segments[1] ?? ''}"`, `its facts: ${[...this.#factNames].join(', ')}`);
      return;
    }
    if (!type || segments.length === 0) return;
    const r = checkPath(type, segments);
    if (r.ok) return;
    this.report(path, 'unknown-path', `${written}: ${r.message}`, r.candidates.length > 0 ? `did you mean ${r.candidates.map((c) => `"${c}"`).join(' or ')}?` : `fields: ${(r.fields ?? [...fieldsByJsonName(type).keys()]).join(', ')}`);
  }

  // ---------------------------------------------------------------- logic

  checkLogic(node: unknown, path: PathSegment[], type: Type | undefined, inIterator: boolean): void {
    if (Array.isArray(node)) {
      node.forEach((n, i) => this.checkLogic(n, [...path, i], type, inIterator));
      return;
    }
    if (!isObject(node)) return;
    const keys = Object.keys(node);
    if (keys.length !== 1) {
      this.report(path, 'logic', `a JSON Logic operation is a map with exactly one key (the operator); this one has ${keys.length === 0 ? 'none' : keys.join(', ')}`, 'wrap several conditions in {"and": [...]}');
      return;
    }
    const op = keys[0]!;
    const args = node[op];
    const argPath = [...path, op];
    if (!this.logic.hasOperator(op)) {
      this.report(path, 'unknown-operator', `unknown JSON Logic operator "${op}"`, didYouMean(op, this.logic.operators()) ?? 'see the operator list in docs/rule-language.md', { key: true });
      return;
    }
    const list: unknown[] = Array.isArray(args) ? (args as unknown[]) : [args];
    const listPath = (i: number): PathSegment[] => (Array.isArray(args) ? [...argPath, i] : argPath);
    for (const i of conditionArguments(op, list.length)) {
      const bad = notACondition(list[i], false);
      if (bad) this.report(listPath(i), bad.code, bad.message, bad.fix);
    }
    for (const p of timeLiteralProblems(op, list)) this.report(p.arg === undefined ? argPath : listPath(p.arg), p.code, p.message, p.fix);
    this.stateful.checkComparison(op, list, listPath);
    if (!inIterator) this.checkReadPaths(op, args, argPath, type);
    switch (op) {
      case 'var': {
        const p = list[0];
        if (p === undefined || p === null) return;
        if (typeof p !== 'string' && typeof p !== 'number') {
          this.report(listPath(0), 'logic', 'the path of var must be a literal string', 'write {"var": "payload.userId"}');
          return;
        }
        const text = String(p);
        const segments = text === '' ? [] : text.split('.');
        const climb = inIterator ? undefined : climbOutsideIterator(text);
        if (climb) this.report(listPath(0), climb.code, climb.message, climb.fix);
        else if (!inIterator && !text.startsWith('../')) this.checkEventPath(type, segments, listPath(0), `var "${text}"`);
        else this.checkSegments(segments, listPath(0));
        if (list.length > 1) this.checkLogic(list[1], listPath(1), type, inIterator);
        return;
      }
      case 'val':
      case 'get': {
        const keyArgs = op === 'val' ? list : list.slice(1, 2);
        keyArgs.forEach((k, n) => {
          const idx = op === 'val' ? n : n + 1;
          const flat = Array.isArray(k) ? k : [k];
          if (flat.some((s) => typeof s !== 'string' && typeof s !== 'number')) {
            this.report(listPath(idx), 'logic', `the keys of ${op} must be literal strings`);
          } else this.checkSegments(flat.map(String), listPath(idx));
        });
        if (op === 'get') this.checkLogic(list[0], listPath(0), type, inIterator);
        return;
      }

      case 'matches': {
        const [, pattern, flags] = list;
        if (typeof pattern === 'string' && (flags === undefined || typeof flags === 'string')) {
          try {
            this.logic.regex(pattern, flags);
          } catch (err) {
            this.report(listPath(1), 'bad-regex', `invalid regular expression: ${err instanceof LogicOperatorError ? err.reason : String(err)}`, 'matches uses RE2 syntax (linear time): no backreferences (\\1) or lookaround ((?=, (?!, (?<=); flags i, m, s');
          }
        }
        break;
      }
      default:
        if (StatefulChecks.isStateOperator(op) && typeof path[1] === 'number') {
          this.stateful.checkOperator(op, args, path, path[1]);
          return;
        }
        break;
    }
    if (ITERATOR_OPERATORS.has(op) && Array.isArray(args)) {
      this.checkLogic(args[0], [...argPath, 0], type, inIterator);
      args.slice(1).forEach((a, n) => this.checkLogic(a, [...argPath, n + 1], type, true));
      return;
    }
    list.forEach((a, n) => this.checkLogic(a, listPath(n), type, inIterator));
  }

  /** The literal event paths of `missing`, `missing_some`, `val` and `exists` (outside an iterator: inside, they read the element). */
  checkReadPaths(op: string, args: unknown, argPath: readonly PathSegment[], type: Type | undefined): void {
    const list: readonly unknown[] = Array.isArray(args) ? args : [args];
    if (op === 'val' || op === 'exists') this.checkKeyList(op, list, argPath, type);
    else if (op === 'missing' && Array.isArray(list[0])) this.checkMissingKeys(list[0] as unknown[], [...argPath, 0], type);
    else if (op === 'missing') this.checkMissingKeys(list, argPath, type, !Array.isArray(args));
    else if (op === 'missing_some' && Array.isArray(list[1])) this.checkMissingKeys(list[1] as unknown[], Array.isArray(args) ? [...argPath, 1] : argPath, type);
  }

  /**
   * The literal paths `missing` / `missing_some` read (a key, or a list key `[path, default]`),
   * checked as `var` paths: a typo would be missing on every event. `single`: the key is the
   * operator's whole argument (`{"missing": "x"}`).
   */
  checkMissingKeys(keys: readonly unknown[], at: readonly PathSegment[], type: Type | undefined, single = false): void {
    keys.forEach((key, i) => {
      const keyPath = single ? [...at] : [...at, i];
      const p: unknown = Array.isArray(key) ? (key as unknown[])[0] : key;
      const where = Array.isArray(key) ? [...keyPath, 0] : keyPath;
      if (typeof p !== 'string' || p === '' || p.startsWith('../')) return;
      this.checkEventPath(type, p.split('.'), where, `missing "${p}"`);
    });
  }

  /** The keys of `val` / `exists` (`["payload", "items"]`), checked as one event path outside an iterator. */
  checkKeyList(op: string, list: readonly unknown[], at: readonly PathSegment[], type: Type | undefined): void {
    const flat = list.flatMap((k) => (Array.isArray(k) ? (k as unknown[]) : [k]));
    if (flat.length === 0 || flat.some((s) => typeof s !== 'string' && typeof s !== 'number')) return;
    const segments = flat.map(String);
    this.checkEventPath(type, segments, [...at], `${op} ${JSON.stringify(segments)}`);
  }

  // ---------------------------------------------------------------- params

  /** `schema`: the JSON Schema of `value` when known (action parameters, one level): `'x-template': 'url'` compiles a URL template. */
  compileValue(value: unknown, path: PathSegment[], type: Type | undefined, schema?: JsonSchema): CompiledValue {
    if (typeof value === 'string') {
      if (!value.includes('${')) return { constant: true, value };
      const { parts, problems } = parseTemplate(value);
      for (const p of problems) this.report(path, p.code, p.message, p.fix);
      for (const part of parts) {
        if (typeof part !== 'string' && part.kind === 'event') this.checkEventPath(type, part.path, path, `\${${part.raw}}`);
      }
      if (schema?.[URL_TEMPLATE] === 'url') {
        const url = compileUrlTemplate(parts, (ref) => this.envValue(ref, path));
        if (url.problem) this.report(path, url.problem.code, url.problem.message, url.problem.fix);
        return url.value;
      }
      return compileString(parts, (ref) => this.envValue(ref, path));
    }
    if (Array.isArray(value)) {
      return compileContainer(value.map((v, i) => [i, this.compileValue(v, [...path, i], type)] as const), true);
    }
    if (isObject(value)) {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0] === '$logic') {
        const lp = [...path, '$logic'];
        const before = this.problems.length;
        const logicValue = this.substituteEnv(value.$logic, lp);
        this.checkLogic(logicValue, lp, type, false);
        if (this.problems.length !== before) return { constant: true, value: null };
        try {
          return compileLogicValue(this.compileLogic(logicValue), `$logic at ${describePath(path.slice(2))}`);
        } catch (err) {
          this.report(lp, 'logic', `the expression does not compile: ${(err as Error).message ?? String(err)}`);
          return { constant: true, value: null };
        }
      }
      const entries: (readonly [string, CompiledValue])[] = [];
      for (const k of keys) {
        if (FORBIDDEN_SEGMENTS.has(k)) {
          this.report([...path, k], 'forbidden-segment', `the key "${k}" is not allowed`, 'rename it', { key: true });
          continue;
        }
        const properties = schema?.properties as Record<string, JsonSchema> | undefined;
        entries.push([k, this.compileValue(value[k], [...path, k], type, properties?.[k])]);
      }
      return compileContainer(entries, false);
    }
    return { constant: true, value };
  }
}

/** The names of facts a condition reads (`{"var": "facts.<name>..."}`). */
function factNamesRead(logic: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (isObject(n)) {
      for (const [k, v] of Object.entries(n)) {
        const p: unknown = k === 'var' ? (Array.isArray(v) ? (v as unknown[])[0] : v) : undefined;
        if (typeof p === 'string' && p.startsWith('facts.')) out.add(p.split('.')[1] ?? '');
        walk(v);
      }
    }
  };
  walk(logic);
  return out;
}

/** The params of a forEach action with `${<as>...}` read as `${event.<as>...}` (the per-item data holds the item under that name). */
function bindItem(value: unknown, as: string): unknown {
  if (typeof value === 'string') return value.replace(new RegExp(`(^|[^$])\\$\\{(\\s*)${as}(?=[.}\\s])`, 'g'), `$1\${$2event.${as}`);
  if (Array.isArray(value)) return value.map((v) => bindItem(v, as));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bindItem(v, as)]));
  return value;
}

/** A fix for a value of the wrong type where a text is expected: `key: 5` -> quote it; `cooldown: 6` -> give the unit. */
function quoteFix(data: unknown, type: unknown, path: readonly PathSegment[]): string | undefined {
  const wantsText = type === 'string' || (Array.isArray(type) && type.includes('string'));
  if (!wantsText) return undefined;
  const last = path[path.length - 1];
  if (typeof data === 'number' && (last === 'cooldown' || last === 'duration' || last === 'per')) return `write a duration with its unit: "${data}h", "${data}m" or "PT${data}H"`;
  if (typeof data === 'number' || typeof data === 'boolean') return `write it as a text in quotes: "${String(data)}"`;
  return typeof data === 'object' && data !== null ? 'write one text, not a list or a map' : undefined;
}
