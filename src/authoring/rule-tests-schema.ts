/**
 * The JSON Schema of rule-test files (`rules.test.yaml`, see README.md "Test
 * it"): completion, hovers and checks in editors (.vscode/settings.json
 * associates it). Built from the keys the loader accepts
 * (rule-tests.ts), so the two cannot disagree on a key; written to
 * `rules.test.schema.json` by `npm run docs`, and a test fails when the
 * committed file is stale. The loader stays the authority (it also checks
 * events, data and rule names against the catalog and the rules).
 */
import type { JsonSchema } from '../actions/index.js';
import { ACTION_KEYS, CASE_KEYS, EXPECT_KEYS, REQUEST_KEYS, TOP_KEYS } from './rule-tests.js';

const env: JsonSchema = {
  type: 'object',
  description: 'Values of `${env.X}` (the case\'s over the file\'s over the process environment). Set every variable your rules read: the results then do not depend on the machine.',
  additionalProperties: { type: ['string', 'number', 'boolean'] },
};
const now: JsonSchema = { type: 'string', description: 'The evaluation clock, an ISO 8601 instant (2026-12-01T00:00:00Z). Default: the current time.' };
const base: JsonSchema = {
  enum: ['sample', 'defaults'],
  description: 'How partial data is filled: `sample` (default) from the sample event, `defaults` with proto defaults (empty strings, zeros).',
};
const names = (description: string): JsonSchema => ({ type: 'array', items: { type: 'string' }, description });

const REQUEST: Record<string, JsonSchema> = {
  operation: { type: 'string', description: 'AGS operation id (fulfillItem), or http.' },
  method: { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], description: 'HTTP method.' },
  path: { type: 'string', description: 'Path below AB_BASE_URL (or the URL of an http action).' },
  query: { type: 'object', description: 'Query parameters (only those written are compared, unless exact: true).' },
  body: { description: 'JSON body (only the keys written are compared, in nested objects too, unless exact: true).' },
  headers: { type: 'object', description: 'Headers (only those written are compared, unless exact: true).' },
  exact: { type: 'boolean', default: false, description: 'true: the body, query and headers written must equal the request\'s (no key more). Default false: only the keys written are compared.' },
};
const ACTION: Record<string, JsonSchema> = {
  rule: { type: 'string', description: 'The rule that plans the action.' },
  action: { type: 'string', description: 'The action name (grantItem).' },
  mode: { enum: ['live', 'shadow'], default: 'live', description: 'shadow for the actions of a shadow rule.' },
  params: { type: 'object', description: 'The parameters after the action\'s defaults (compared exactly).' },
  requests: { type: 'array', description: 'The requests the action would send, in order.', items: { type: 'object' } },
};
const EXPECT: Record<string, JsonSchema> = {
  matched: names('Names of the matching rules (exact set, any order).'),
  actions: { type: 'array', description: 'The planned actions, in plan order (exact list).', items: { type: 'object' } },
  errors: names('Rules whose evaluation fails (default: none; an unexpected error fails the case).'),
  nothing: { const: true, description: 'No rule matches, no action.' },
  suppressed: names('Rules that matched but were held back by their limit or cooldown (exact set).'),
};
const entry = (field: 'event' | 'rule', description: string): JsonSchema => ({
  type: 'array',
  description,
  items: {
    type: 'object',
    additionalProperties: false,
    required: [field, 'at'],
    properties: {
      [field]: { type: 'string', description: field === 'event' ? 'The event name.' : 'The rule name.' },
      at: { type: 'string', description: 'When, an ISO 8601 instant (2026-12-01T00:00:00Z).' },
      ...(field === 'event' ? { data: { type: 'object', description: 'The event as JSON, for the counts whose `where` reads it (an entry without data is `{}` to a `where`).' } } : {}),
    },
  },
});
const history: JsonSchema = {
  type: 'object',
  description: 'Each player\'s record before the case\'s event, by user id (for stateful rules: limit, cooldown, count, streak).',
  additionalProperties: {
    type: 'object',
    additionalProperties: false,
    properties: {
      events: entry('event', 'Events the player sent before.'),
      firings: entry('rule', 'Rules that fired for the player before.'),
    },
  },
};
const CASE: Record<string, JsonSchema> = {
  name: { type: 'string', minLength: 1, description: 'Unique, shown in the report.' },
  event: { type: 'string', description: 'The event: a name (userLoggedIn), a service name or a method path (`extend-event-rules samples --list`).' },
  data: { type: 'object', description: 'Partial event JSON (json or proto field names); the rest is filled (see base).' },
  base,
  now,
  env,
  history,
  facts: { type: 'object', description: 'The answers of the AGS lookups the rules read (`facts`), by fact name: facts: { pass: { owned: true } }. A rule reading a fact missing here ends in error.' },
  expect: { type: 'object', description: 'What must happen: matched, actions, errors, suppressed, or nothing: true.' },
};
const TOP: Record<string, JsonSchema> = {
  version: { const: 1, description: 'The format version: 1.' },
  rules: { type: 'string', description: 'The rules file, relative to this file. Default: X.yaml beside X.test.yaml, else RULES_FILE.' },
  env,
  now,
  base,
  cases: { type: 'array', minItems: 1, description: 'The test cases.', items: { type: 'object' } },
};

/** A closed object schema over exactly `keys`, each described in `props` (a key without a description is a bug: throws). */
function closed(keys: readonly string[], props: Record<string, JsonSchema>, extra: JsonSchema = {}): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const key of keys) {
    const p = props[key];
    if (!p) throw new Error(`rule-tests schema: no description of the key "${key}"`);
    properties[key] = p;
  }
  return { type: 'object', additionalProperties: false, properties, ...extra };
}

/** The schema of rule-test files (JSON Schema 2020-12). */
export function buildRuleTestsSchema(): JsonSchema {
  const request = closed(REQUEST_KEYS, REQUEST);
  const action = closed(ACTION_KEYS, { ...ACTION, requests: { ...ACTION.requests!, items: request } }, { required: ['rule', 'action'] });
  const expect = closed(EXPECT_KEYS, { ...EXPECT, actions: { ...EXPECT.actions!, items: action } }, { minProperties: 1 });
  const testCase = closed(CASE_KEYS, { ...CASE, expect: { ...CASE.expect!, ...expect } }, { required: ['name', 'event', 'expect'] });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/extend-event-rules/rules.test.schema.json',
    title: 'extend-event-rules rule tests',
    description: 'Offline tests of the rules: each case\'s event goes through the rules and the actions are planned, nothing is sent. Run them with `extend-event-rules test`. Generated by `npm run docs`: do not edit.',
    ...closed(TOP_KEYS, { ...TOP, cases: { ...TOP.cases!, items: testCase } }, { required: ['version', 'cases'] }),
  };
}

/** The schema file's exact text (what `npm run docs` writes and the drift test compares). */
export function renderRuleTestsSchema(): string {
  return `${JSON.stringify(buildRuleTestsSchema(), null, 2)}\n`;
}
