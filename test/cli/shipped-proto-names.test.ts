/**
 * The shipped proto/ is AGS's generated contract: UserLoggedIn's `payload` is of type `AnonymousSchema19`.
 * A first-hour typo in a path (`payload.loginLocaton`) is said with the path the user wrote, not that
 * type name, by validate (a rule's `var`) and by explain/send/rule tests (the event data), with the
 * field meant.
 */
import { resolve } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/prereq.js';
import { runCommand, workspace } from './support.js';
import type { Workspace } from './support.js';

const SHIPPED = { PROTO_DIR: resolve(REPO_ROOT, 'proto') };
let ws: Workspace;
afterEach(() => ws?.remove());

const RULES = [
  'version: 1',
  'rules:',
  '  - name: welcome-pack-fr',
  '    on: userLoggedIn',
  '    when: { "==": [{ var: payload.loginLocaton.country }, FR] }',
  '    do: [ { grantItem: { itemId: welcome-pack } } ]',
  '',
].join('\n');

it('validate: a wrong path under payload names payload, not AnonymousSchema19', async () => {
  ws = workspace();
  ws.write('rules.yaml', RULES);
  const r = await runCommand(['validate', 'rules.yaml'], { cwd: ws.dir, env: SHIPPED });
  expect(r.stderr).toContain('error [unknown-path] rule "welcome-pack-fr": var "payload.loginLocaton.country": payload has no field "loginLocaton"\n    fix: did you mean "payload.loginLocation"?');
  expect(r.stderr).not.toContain('AnonymousSchema');
});

it('explain: data with a wrong field under payload names payload and the field meant', async () => {
  ws = workspace();
  ws.write('rules.yaml', RULES.replace('loginLocaton', 'loginLocation'));
  let r = await runCommand(['explain', 'userLoggedIn', '--data', '-', '--rules', 'rules.yaml'], { cwd: ws.dir, env: SHIPPED, stdin: '{"payload":{"loginLocaton":{"country":"FR"}}}' });
  expect(r.stderr).toContain('payload.loginLocaton: expected a field of payload (userAccount, userAuthentication, loginLocation; did you mean "loginLocation"?), got an object');
  r = await runCommand(['explain', 'userLoggedIn', '--data', '-', '--rules', 'rules.yaml'], { cwd: ws.dir, env: SHIPPED, stdin: '{"payload":"FR"}' });
  expect(r.stderr).toContain('payload: expected an object, got the string "FR"');
  expect(r.stderr).not.toContain('AnonymousSchema');
});
