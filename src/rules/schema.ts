/**
 * The JSON Schema of the rules file, generated from the action registry so
 * each action's parameters are described (VS Code hovers and completion via
 * the `# yaml-language-server: $schema=./rules.schema.json` line). Wherever an
 * action expects a non-string or a constrained string, the schema also accepts
 * a `${...}` reference and a `{ $logic: ... }` computed value; the values are
 * checked against the action's own schema once resolved (at load when
 * constant, per event otherwise).
 */
import type { ActionRegistry } from '../actions/index.js';
import type { JsonSchema } from '../actions/index.js';
import { CUSTOM_OPERATORS } from './logic.js';
import { CUSTOM_ON_SCHEMAS } from '../custom-events/index.js';
import { DURATION_SYNTAX } from '../time/index.js';

/** Upper bound on rules in one file (the schema's `maxItems`). */
export const MAX_RULES = 100_000;

const ISO_INSTANT = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$';

const STRING_CONSTRAINTS = ['enum', 'const', 'pattern', 'format', 'minLength', 'maxLength'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function needsAlternatives(s: JsonSchema): boolean {
  const t = s.type;
  if (t === 'string') return STRING_CONSTRAINTS.some((k) => k in s);
  return true;
}

/** Adds the `${...}` and `$logic` alternatives below a params schema (its root stays a map). */
export function relaxParamsSchema(schema: JsonSchema, root = true): JsonSchema {
  const out: JsonSchema = { ...schema };
  if (isObject(schema.properties)) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, isObject(v) ? relaxParamsSchema(v, false) : v]));
  }
  if (isObject(schema.items)) out.items = relaxParamsSchema(schema.items, false);
  if (isObject(schema.additionalProperties)) out.additionalProperties = relaxParamsSchema(schema.additionalProperties, false);
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = schema[k];
    if (Array.isArray(list)) out[k] = list.map((s: unknown) => (isObject(s) ? relaxParamsSchema(s, true) : s));
  }
  if (root || !needsAlternatives(schema)) return out;
  const wrapper: JsonSchema = { anyOf: [out, { $ref: '#/$defs/reference' }, { $ref: '#/$defs/computed' }] };
  if (typeof schema.description === 'string') wrapper.description = schema.description;
  return wrapper;
}

/** A rule's state: `limit`, `cooldown` (kept in the state store) and `facts` (AGS lookups about the player). */
function stateProperties(): Record<string, JsonSchema> {
  return {
  limit: {
    description: 'At most `count` firings of this rule per player (or per `key`) per window (a firing: matched and its actions planned). The record lives in the state store (STATE_STORE), shared by replicas.',
    type: 'object',
    additionalProperties: false,
    required: ['count', 'per'],
    properties: {
      count: { description: 'Most firings in one window: up to 100,000 per day, week, month or lifetime (a counter per period: the record does not grow); up to 900 with a rolling window (24h, P7D: the record keeps the latest 900 to 1000 firings of a rule).', type: 'integer', minimum: 1, maximum: 100000 },
      per: { description: `day, week (ISO, from Monday), month (calendar periods in timeZone), lifetime, or a duration (a rolling window ending now): ${DURATION_SYNTAX}.`, type: 'string', minLength: 1 },
      timeZone: { description: 'IANA time zone of day/week/month (Asia/Tokyo). Default UTC.', type: 'string', minLength: 1 },
      resetAt: { description: 'Local time HH:MM at which day/week/month start (e.g. "05:00"). Default "00:00".', type: 'string' },
      key: { $ref: '#/$defs/stateKey' },
    },
  },
  cooldown: {
    description: `At least this duration between two firings of this rule for the player (${DURATION_SYNTAX}); or { duration, key } to count under another key.`,
    type: ['string', 'object'],
    // if/then/else rather than anyOf: a typo in the map form is reported as such, not as "must be string"
    if: { type: 'string' },
    then: { minLength: 1 },
    else: {
      additionalProperties: false,
      required: ['duration'],
      properties: {
        duration: { description: `At least this duration between two firings: ${DURATION_SYNTAX}.`, type: 'string', minLength: 1 },
        key: { $ref: '#/$defs/stateKey' },
      },
    },
  },
  facts: {
    description: 'Named read-only AGS lookups about the event\'s player, read by the condition as facts.<name> (fetched only when the condition reads them, once per event; a failed lookup is retried, never read as false): <name>: { <AGS operation id>: { parameters } }. See docs/facts.md.',
    type: 'object',
    additionalProperties: { type: 'object', minProperties: 1, maxProperties: 1, additionalProperties: { type: 'object', additionalProperties: { type: 'string' } } },
  },
  };
}

/** One rule (`$defs/rule`): fresh objects per call, as the caller may change its schema. */
/** `on: { topic }` offering the typed topics' names. */
function withTopicExamples(schemas: readonly JsonSchema[], topics: readonly string[]): JsonSchema[] {
  return schemas.map((s) => {
    const props = isObject(s.properties) ? s.properties : {};
    return isObject(props.topic) ? { ...s, properties: { ...props, topic: { ...props.topic, examples: topics } } } : s;
  });
}

function ruleSchema(topics: readonly string[] = []): JsonSchema {
  return {
  description: 'One rule: on an event, when a condition holds, do actions.',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'on', 'do'],
  properties: {
    name: {
      description: 'Unique name of the rule: used in logs, metrics, dead letters and idempotency keys (renaming a rule makes its actions run again for redelivered events).',
      type: 'string',
      minLength: 1,
      maxLength: 200,
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$',
    },
    description: { description: 'Free text: what the rule is for.', type: 'string' },
    on: {
      description: 'The event: its name (`userLoggedIn`), short service name (`UserAuthenticationUserLoggedInService`) or full service name. `extend-event-rules samples --list` lists the loaded events; the .proto of another event goes into proto/. Or `{ topic: NAME }`: a custom event of Extend Async Messaging; or `{ schedule: TASK_NAME }`: a run of a Service Extension\'s scheduled task (docs/custom-events.md).',
      anyOf: [{ type: 'string', minLength: 1 }, ...(topics.length > 0 ? withTopicExamples(CUSTOM_ON_SCHEMAS, topics) : CUSTOM_ON_SCHEMAS)],
    },
    enabled: { description: 'false: the rule is ignored (its event is not served for it). Default true.', type: 'boolean' },
    activeFrom: {
      description: 'ISO 8601 instant with offset (2026-12-01T00:00:00+00:00): before it the rule is inactive.',
      type: 'string',
      pattern: ISO_INSTANT,
    },
    activeUntil: {
      description: 'ISO 8601 instant with offset: from it on (exclusive end) the rule is inactive.',
      type: 'string',
      pattern: ISO_INSTANT,
    },
    mode: {
      description: 'live (default): actions run. shadow: actions are planned and recorded, never executed.',
      enum: ['live', 'shadow'],
    },
    onFailure: {
      description: 'When an action fails permanently: deadLetter (default) records the event in the dead-letter file and acknowledges it; retry asks Kafka to redeliver.',
      enum: ['deadLetter', 'retry'],
    },
    ...stateProperties(),
    when: { $ref: '#/$defs/logic', description: 'Optional JSON Logic condition over the decoded event (read fields with {"var": "path"}); ${env.X} strings are substituted at load.' },
    do: {
      description: 'Actions, run in order. Each item is a one-key map: action name -> parameters.',
      type: 'array',
      minItems: 1,
      items: { $ref: '#/$defs/action' },
    },
  },
  };
}

/** One action of `do` (`$defs/action`): the fan-out and identity keys, and each registered action with its parameters. */
function actionSchema(names: readonly string[], actionProps: Record<string, JsonSchema>): JsonSchema {
  return {
  description: `One action: ${names.join(', ')}.`,
  type: 'object',
  minProperties: 1,
  maxProperties: 5,
  additionalProperties: false,
  properties: {
    forEach: {
      description: 'Fan-out: one action per item of a list of the event ("${event.payload.userIds}"); an item is ${item} (or the `as` name: ${member.userId}). Each item\'s action has its own idempotency key, from the item\'s value (not its position): reordering the list never runs one twice.',
      type: 'string',
      pattern: '^\\$\\{\\s*event\\.',
    },
    as: { description: 'The name an item of forEach is read under (default item): as: member, then ${member.userId}.', type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    max: { description: 'Most items forEach walks (default 100): a longer list ends the rule in a dead letter with the reason, none of its actions run.', type: 'integer', minimum: 1, maximum: 10000 },
    id: {
      description: 'Optional stable identity of this action within its rule (its idempotency key): keep it when inserting, removing or reordering other actions. Default: the action name and its ordinal among same-named actions of the rule (grantItem#0).',
      type: 'string',
      pattern: '^[A-Za-z0-9_.:-]+$',
    },
    ...actionProps,
  },
};
}

/** The whole rules file's JSON Schema (draft 2020-12), including every registered action's parameters. */
/** Options of {@link buildRulesSchema}. */
export interface RulesSchemaOptions {
  /**
   * The typed topics (`topics/NAME.schema.json`: topic -> its body's JSON
   * Schema): an editor then completes and checks `publishMessage`'s `body` for
   * each (`${...}` and `$logic` allowed at every value, as in every
   * parameter) and offers their names for `topic` and `on: { topic }`.
   * Default: none (the product's own rules.schema.json).
   */
  readonly topics?: Readonly<Record<string, JsonSchema>>;
}

/** `publishMessage`'s body typed per topic: one if/then per typed topic. */
function typedPublishBodies(params: JsonSchema, topics: Readonly<Record<string, JsonSchema>>): JsonSchema {
  const names = Object.keys(topics).sort();
  if (names.length === 0) return params;
  const props = isObject(params.properties) ? params.properties : {};
  return {
    ...params,
    properties: { ...props, topic: { ...(isObject(props.topic) ? props.topic : {}), examples: names } },
    allOf: names.map((name) => {
      const { $schema: _s, $id: _i, ...body } = topics[name]!;
      return { if: { properties: { topic: { const: name } }, required: ['topic'] }, then: { properties: { body: relaxParamsSchema({ description: `The body of topic ${name} (topics/${name}.schema.json).`, ...body }, false) } } };
    }),
  };
}

export function buildRulesSchema(registry: ActionRegistry, options: RulesSchemaOptions = {}): JsonSchema {
  const actions = registry.list();
  const actionProps: Record<string, JsonSchema> = {};
  for (const a of actions) {
    let params = relaxParamsSchema({ type: 'object', ...a.params });
    if (a.name === 'publishMessage' && options.topics) params = typedPublishBodies(params, options.topics);
    const perm = a.permission ? ` Needs the IAM permission ${a.permission}.` : '';
    actionProps[a.name] = { ...params, description: `${a.description}${perm}` };
  }
  const operators = Object.entries(CUSTOM_OPERATORS)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/extend-event-rules/rules.schema.json',
    title: 'extend-event-rules rules file',
    description: 'When an AGS event arrives, each rule listening on it is checked (`when`) and its actions (`do`) run in order. Generated by `extend-event-rules schema --write`: do not edit.',
    type: 'object',
    additionalProperties: false,
    required: ['version', 'rules'],
    properties: {
      version: { description: 'Version of the rules file format. Only 1 exists.', const: 1 },
      rules: {
        description: 'The rules, evaluated in file order for each event.',
        type: 'array',
        maxItems: MAX_RULES,
        items: { $ref: '#/$defs/rule' },
      },
    },
    $defs: {
      rule: ruleSchema(Object.keys(options.topics ?? {}).sort()),
      action: actionSchema(actions.map((a) => a.name), actionProps),
      logic: {
        description: `A JSON Logic expression (jsonlogic.com) with extra operators:\n${operators}`,
      },
      reference: {
        description: 'A reference resolved per event (${event.path}) or at load (${env.NAME}, ${env.NAME:-default}).',
        type: 'string',
        pattern: '\\$\\{\\s*(event|env)\\b',
      },
      stateKey: {
        description: 'Whose counter: a text or template resolved per event (${event.payload.partyId}); a constant (global) counts game-wide. Default: the event\'s player (${event.userId}). limit and cooldown of one rule take the same key.',
        type: 'string',
        minLength: 1,
      },
      computed: {
        description: 'A value computed per event by JSON Logic.',
        type: 'object',
        additionalProperties: false,
        required: ['$logic'],
        properties: { $logic: { $ref: '#/$defs/logic' } },
      },
    },
  };
}
