/**
 * Issue 25 at load time: `on: { topic }` and `on: { schedule }` compile
 * against the shipped protos alone (nothing copied into proto/), conditions see
 * the parsed body, topic names and publish bodies are checked against what AGS
 * accepts, and the Task Scheduler's handler named as an event gets the
 * Service Extension hint (issue 26's last item).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/events/catalog.js';
import { AGS_SPECS_DIR, itWith, sharedFile } from '../support/prereq.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { renderRulesSchema } from '../../src/cli/schema.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { topicEvent, withCustomEvents } from '../../src/custom-events/index.js';
import { partitionOf } from '../../src/pipeline/evaluate.js';
import { fixtureCatalog } from './support/fixtures.js';

const CONSUMER = 'accelbyte/extend/async_messaging/consumer_service.proto';
const SCHEDULER = 'accelbyte/extend/task_scheduler/v1/task_scheduler.proto';

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: createDefaultRegistry(), env: {}, unsetEnv: 'error' };
});

const compile = (rules: string) => compileRulesText(`version: 1\nrules:\n${rules}`, 'rules.yaml', opts);

describe('rules on topics and scheduled tasks', () => {
  it("the issue's two rules compile and the topic rule decides on the parsed body", () => {
    const r = compile(`  - name: announce-login
    on: userLoggedIn
    do:
      - publishMessage: { topic: player-activity, body: { kind: login, userId: "\${event.userId}" } }
  - name: reward-activity
    on: { topic: player-activity }
    when: { "==": [ { var: body.kind }, "login" ] }
    do:
      - grantItem: { itemId: activity-item, userId: "\${event.body.userId}" }
`);
    expect(r.ok ? [] : r.problems).toEqual([]);
    if (!r.ok) return;
    expect([...r.rules.services].sort()).toEqual(['test.events.v1.UserLoggedInService', 'topic:player-activity']);
    const u = '0123456789abcdef0123456789abcdef';
    const login = r.rules.evaluate('topic:player-activity', topicEvent('player-activity', JSON.stringify({ kind: 'login', userId: u }), {}));
    expect(login.plan.map((p) => [p.action, p.params])).toEqual([['grantItem', { itemId: 'activity-item', userId: u }]]);
    expect(r.rules.evaluate('topic:player-activity', topicEvent('player-activity', '{"kind":"logout"}', {})).plan).toEqual([]);
    // a body that is not JSON is the string; bodyText is always the raw text
    const plain = topicEvent('player-activity', 'not json', {});
    expect([plain.body, plain.bodyText]).toEqual(['not json', 'not json']);
  });

  it('a message is keyed by its message id when the metadata has one, else by topic and body', () => {
    expect(topicEvent('t', '{}', { messageId: 'abc' }).id).toBe('msg:t:abc');
    const a = topicEvent('t', '{"a":1}', { SentTimestamp: '1' }).id;
    expect(a).toMatch(/^sha256:/);
    expect(topicEvent('t', '{"a":1}', { SentTimestamp: '2' }).id).toBe(a);
    expect(topicEvent('u', '{"a":1}', {}).id).not.toBe(a);
  });

  it("whose record: body.userId, else the PlayerId metadata key", () => {
    const u = '0123456789abcdef0123456789abcdef';
    const v = 'fedcba9876543210fedcba9876543210';
    expect(partitionOf(topicEvent('t', JSON.stringify({ userId: u }), { PlayerId: v }), 'ns')).toEqual({ namespace: 'ns', userId: u });
    expect(partitionOf(topicEvent('t', '{}', { PlayerId: v }), 'ns')).toEqual({ namespace: 'ns', userId: v });
    expect(partitionOf(topicEvent('t', 'text', {}), 'ns')).toEqual({ namespace: 'ns' });
  });

  it('topic names and bodies AGS refuses are reported at validate, with a fix', () => {
    const r = compile(`  - name: bad-topic
    on: { topic: "player activity!" }
    do: [ { log: { message: hi } } ]
  - name: bad-publish
    on: userLoggedIn
    do:
      - publishMessage: { topic: "a.b", body: {} }
  - name: too-large
    on: userLoggedIn
    do:
      - publishMessage: { topic: ok, body: "${'x'.repeat(262_145)}" }
`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.problems.map((p) => `${p.rule}: ${p.message} | ${p.fix ?? ''}`).join('\n');
    expect(text).toContain('bad-topic: topic name "player activity!" has characters other than ASCII letters, digits, _ and -');
    expect(text).toContain('"player-activity"');
    expect(text).toContain('bad-publish: ');
    expect(text).toMatch(/too-large: .*262145 bytes: AGS messages \(Amazon SNS\) take at most 262144/);
  });

  it('a scheduled rule compiles; the payload is parsed like a topic body', () => {
    const r = compile(`  - name: weekly
    on: { schedule: weekly-reset-task }
    when: { "==": [ { var: payload.season }, "s3" ] }
    do:
      - publishMessage: { topic: weekly-reset, body: { season: "\${event.payload.season}" } }
`);
    expect(r.ok ? [] : r.problems).toEqual([]);
    if (!r.ok) return;
    expect([...r.rules.services]).toEqual(['schedule:weekly-reset-task']);
    const plan = r.rules.evaluate('schedule:weekly-reset-task', { id: 'run:1', runId: '1', payload: { season: 's3' }, payloadText: '{"season":"s3"}' }).plan;
    expect(plan.map((p) => p.params)).toEqual([{ topic: 'weekly-reset', body: { season: 's3' } }]);
  });

  it.each(['ScheduledTaskHandler', 'accelbyte.extend.task_scheduler.v1.ScheduledTaskHandler', 'RunScheduledTask', 'scheduledTaskRequest'])(
    'on: %s says the Task Scheduler is a Service Extension feature and points to schedule and topic rules',
    (name) => {
      const r = compile(`  - name: sched\n    on: ${name}\n    do: [ { log: { message: hi } } ]\n`);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toMatchObject({ code: 'unknown-event' });
      expect(r.problems[0]!.fix).toContain('a Service Extension feature');
      expect(r.problems[0]!.fix).toContain('on: { schedule: TASK_NAME }');
      expect(r.problems[0]!.fix).toContain('on: { topic: NAME }');
    },
  );

  itWith([sharedFile(`ags-event-specs/${CONSUMER}`), sharedFile(`ags-event-specs/${SCHEDULER}`)], 'the wire services are in the catalog once, even when PROTO_DIR holds copies of their protos', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eer-custom-protos-'));
    for (const rel of [CONSUMER, SCHEDULER]) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      copyFileSync(join(AGS_SPECS_DIR, rel), join(dir, rel));
    }
    const base = await loadCatalog({ dirs: [dir] });
    expect(base.services.map((s) => s.path)).toEqual(['/accelbyte.extend.async_messaging.AsyncMessagingConsumerService/onMessage']);
    const c = withCustomEvents(base);
    rmSync(dir, { recursive: true, force: true });
    expect(c.services.filter((s) => s.path === '/accelbyte.extend.async_messaging.AsyncMessagingConsumerService/onMessage')).toHaveLength(1);
    expect(c.services.filter((s) => s.path === '/accelbyte.extend.task_scheduler.v1.ScheduledTaskHandler/RunScheduledTask')).toHaveLength(1);
    expect(withCustomEvents(c)).toBe(c);
  });
});

describe('typed topics: topics/NAME.schema.json beside the rules file types body', () => {
  const schema = {
    type: 'object',
    properties: { userId: { type: 'string' }, week: { type: 'string' }, rewards: { type: 'array', items: { type: 'object', properties: { itemId: { type: 'string' } } } }, extra: { type: 'object' } },
  };
  function inDir(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'eer-typed-topics-'));
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), text);
    }
    return dir;
  }
  const rules = (body: string) => `version: 1\nrules:\n  - name: chest\n    on: { topic: weekly-reset }\n${body}`;

  it('an unknown body path is reported with did-you-mean; a path into a string is reported; known paths, lists and open objects pass', () => {
    const dir = inDir({ 'topics/weekly-reset.schema.json': JSON.stringify(schema) });
    const bad = compileRulesText(rules(`    when: { "==": [ { var: body.userid }, "x" ] }\n    do:\n      - grantItem: { itemId: chest, userId: "\${event.body.week.number}" }\n`), join(dir, 'rules.yaml'), opts);
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    const text = bad.problems.map((p) => `${p.code}: ${p.message} | ${p.fix ?? ''}`).join('\n');
    expect(text).toMatch(/WeeklyResetBody has no field "userid".*body\.userId/s);
    expect(text).toContain('body.week is a string: it has no field "number"');
    const good = compileRulesText(rules(`    when: { "==": [ { var: body.rewards.0.itemId }, "x" ] }\n    do:\n      - grantItem: { itemId: chest, userId: "\${event.body.userId}" }\n      - log: { message: "\${event.body.extra.anything}" }\n`), join(dir, 'rules.yaml'), opts);
    expect(good.ok ? [] : good.problems).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('without a schema any body path passes; a schema that is not JSON is reported at the rule', () => {
    const open = inDir({});
    expect(compileRulesText(rules('    when: { "==": [ { var: body.anything.at.all }, 1 ] }\n    do: [ { log: { message: hi } } ]\n'), join(open, 'rules.yaml'), opts).ok).toBe(true);
    const broken = inDir({ 'topics/weekly-reset.schema.json': '{ not json' });
    const r = compileRulesText(rules('    do: [ { log: { message: hi } } ]\n'), join(broken, 'rules.yaml'), opts);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]!.message).toContain('weekly-reset.schema.json cannot type the topic\'s body');
    rmSync(open, { recursive: true, force: true });
    rmSync(broken, { recursive: true, force: true });
  });
  it('publishMessage to a typed topic: the body\'s constant parts are checked against the schema; templated values are not known yet', () => {
    const strict = { type: 'object', required: ['userId', 'week'], additionalProperties: false, properties: { userId: { type: 'string' }, week: { type: 'string' }, count: { type: 'integer' } } };
    const dir = inDir({ 'topics/weekly-reset.schema.json': JSON.stringify(strict) });
    const publisher = (body: string) => `version: 1\nrules:\n  - name: announce\n    on: userLoggedIn\n    do:\n      - publishMessage: { topic: weekly-reset, body: ${body} }\n`;
    const bad = compileRulesText(publisher('{ userId: "${event.userId}", count: "three", wek: 1 }'), join(dir, 'rules.yaml'), opts);
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    const text = bad.problems.map((p) => `${p.message} @${p.line}`).join('\n');
    expect(text).toContain("publishMessage: body must have required property 'week'");
    expect(text).toContain('publishMessage: body must NOT have additional properties');
    expect(text).toContain('publishMessage: body.count must be integer');
    expect(text).toContain('weekly-reset.schema.json');
    expect(bad.problems.every((p) => p.code === 'invalid-params' && p.line === 6)).toBe(true);
    const good = compileRulesText(publisher('{ userId: "${event.userId}", week: "2026-W49", count: 3 }'), join(dir, 'rules.yaml'), opts);
    expect(good.ok ? [] : good.problems).toEqual([]);
    // another topic, or no schema: any body
    expect(compileRulesText(publisher('{ anything: 1 }').replace('topic: weekly-reset', 'topic: other'), join(dir, 'rules.yaml'), opts).ok).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });
  it('schema --write with typed topics: the editor\'s schema types publishMessage\'s body per topic and offers the topic names', () => {
    const strict = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', required: ['userId'], additionalProperties: false, properties: { userId: { type: 'string' }, count: { type: 'integer' } } };
    const dir = inDir({ 'topics/weekly-reset.schema.json': JSON.stringify(strict), 'topics/broken.schema.json': '{ nope' });
    const schema = JSON.parse(renderRulesSchema(createDefaultRegistry(), join(dir, 'topics'))) as Record<string, unknown>;
    const { $id: _id, ...rest } = schema;
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(rest);
    const doc = (body: unknown, topic = 'weekly-reset') => ({ version: 1, rules: [{ name: 'r', on: 'userLoggedIn', do: [{ publishMessage: { topic, body } }] }] });
    expect(validate(doc({ userId: '${event.userId}', count: 3 }))).toBe(true);
    expect(validate(doc({ userId: '${event.userId}', count: '${event.payload.n}' }))).toBe(true); // a template where an integer goes: known per event
    expect(validate(doc({ count: 'three' }))).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain('userId');
    expect(validate(doc({ userId: 'u', extra: 1 }))).toBe(false);
    expect(validate(doc({ anything: 1 }, 'other-topic'))).toBe(true);
    expect(validate(doc('${event.payload.body}'))).toBe(true);
    expect(JSON.stringify(schema)).toContain('"examples":["weekly-reset"]');
    // without topics/: the product's schema, unchanged
    expect(renderRulesSchema(createDefaultRegistry(), join(dir, 'none'))).toBe(renderRulesSchema(createDefaultRegistry()));
    rmSync(dir, { recursive: true, force: true });
  });
});
