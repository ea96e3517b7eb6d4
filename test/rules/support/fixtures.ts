import { resolve } from 'node:path';
import { ActionRegistry } from '../../../src/actions/registry.js';
import type { ActionDefinition } from '../../../src/actions/types.js';
import { loadCatalog } from '../../../src/events/catalog.js';
import type { Catalog } from '../../../src/events/types.js';
import type { RuleSet } from '../../../src/rules/rule-set.js';
import { compileRulesText } from '../../../src/rules/validate.js';
import { REPO_ROOT } from '../../support/prereq.js';
import { workspace } from '../../support/workspace.js';
import type { Workspace } from '../../support/workspace.js';

export const FIXTURES = resolve(REPO_ROOT, 'test/rules/fixtures');
export const PROTO_DIR = resolve(FIXTURES, 'proto');
export const LOGIN = 'test.events.v1.UserLoggedInService';
export const MATCH = 'test.events.v1.MatchEndedService';

let catalog: Promise<Catalog> | undefined;
/** The real catalog over the fixture proto (loaded once per test file). */
export function fixtureCatalog(): Promise<Catalog> {
  catalog ??= loadCatalog({ dirs: [PROTO_DIR] });
  return catalog;
}

/** `text` compiled on `catalog` with `registry`, no environment (an unset `${env...}` is an error); throws the problems when invalid. */
export function compileOrThrow(text: string, catalog: Catalog, registry: ActionRegistry): RuleSet {
  const r = compileRulesText(text, 'rules.yaml', { catalog, registry, env: {}, unsetEnv: 'error' });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.rules;
}

export function testAction(name: string, params: Record<string, unknown>): ActionDefinition {
  return {
    name,
    description: `test action ${name}`,
    params,
    usesAgs: false,
    normalize: (p) => p,
    plan: () => [],
    execute: () => Promise.resolve({}),
  };
}

/** A registry with two small actions shaped like the built-ins. */
export function testRegistry(): ActionRegistry {
  return new ActionRegistry()
    .register(
      testAction('grant', {
        type: 'object',
        additionalProperties: false,
        required: ['itemId'],
        properties: {
          itemId: { type: 'string', minLength: 1, description: 'item' },
          quantity: { type: 'integer', minimum: 1 },
          source: { type: 'string', enum: ['REWARD', 'PURCHASE'] },
          userId: { type: 'string' },
          metadata: { type: 'object' },
          tags: { type: 'array', items: { type: 'string' } },
        },
      }),
    )
    .register(
      testAction('log', {
        type: 'object',
        additionalProperties: false,
        required: ['message'],
        properties: { message: { type: 'string' }, level: { type: 'string', enum: ['info', 'warn'] } },
      }),
    );
}

/** A temp directory (`remove()` deletes it). */
export function tempDir(): Workspace {
  return workspace('rules-test-');
}

/** A login event as the codec decodes it (json names, defaults filled). */
export function loginEvent(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'evt-1',
    version: 1,
    namespace: 'mygame',
    timestamp: '2026-12-01T10:00:00Z',
    userId: 'user-1',
    payload: {
      loginLocation: { country: 'FR', city: 'Paris' },
      items: [{ itemId: 'sword', count: 2 }],
      tags: ['vip', 'steam:123'],
      attributes: { tier: 'gold' },
      extra: { campaign: { code: 'XMAS' } },
      count: 3,
      platform: 'STEAM',
    },
    ...over,
  };
}
