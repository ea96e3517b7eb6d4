/**
 * The product's tests run on their own copy of the project as shipped
 * (test/fixtures/app: rules.yaml, rules.test.yaml, proto/), never on the
 * project root's files: those are the user's to edit, and what checks them is
 * `extend-event-rules validate` and `extend-event-rules test` (`make test`).
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderRulesSchema } from '../../src/cli/schema.js';
import { REPO_ROOT } from './prereq.js';

export const APP_FIXTURE = resolve(REPO_ROOT, 'test', 'fixtures', 'app');
export const FIXTURE_RULES_FILE = resolve(APP_FIXTURE, 'rules.yaml');
export const FIXTURE_RULES_TEST_FILE = resolve(APP_FIXTURE, 'rules.test.yaml');
export const FIXTURE_PROTO_DIR = resolve(APP_FIXTURE, 'proto');

/** The files of a project that belong to its user (replaced by {@link useAppFixture}). */
export const USER_FILES = ['rules.yaml', 'rules.test.yaml', 'rules.schema.json', 'proto', 'actions', '.env'] as const;

/**
 * Makes `dir` (a copy of the project, e.g. a Docker build context) hold the
 * fixture's user files instead of whatever the user put in the project root,
 * the schema generated from the built-in actions, and an empty actions/ folder.
 */
export function useAppFixture(dir: string): void {
  for (const name of USER_FILES) rmSync(join(dir, name), { recursive: true, force: true });
  cpSync(APP_FIXTURE, dir, { recursive: true });
  mkdirSync(join(dir, 'actions'), { recursive: true });
  writeFileSync(join(dir, 'rules.schema.json'), renderRulesSchema());
}

/** The worked custom action (README, "custom actions"), as a user copies it into actions/. */
export const EXAMPLE_ACTION = resolve(REPO_ROOT, 'examples', 'actions', 'set-profile-attributes.ts');
