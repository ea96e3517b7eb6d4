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

it('explain, samples, send and rule tests on an AGS event the shipped excerpt does not have name the file to download', async () => {
  ws = workspace();
  ws.write('rules.yaml', RULES.replace('loginLocaton', 'loginLocation'));
  const fix = '"userAccountCreated" is an AGS event of asyncapi/accelbyte/iam/account/v1/account.proto in https://github.com/AccelByte/accelbyte-api-proto: download it to proto/accelbyte/iam/account/v1/account.proto (PROTO_DIR)';
  const e = await runCommand(['explain', 'userAccountCreated', '--rules', 'rules.yaml'], { cwd: ws.dir, env: SHIPPED });
  expect(e.stderr).toContain(`unknown event "userAccountCreated": ${fix}`);
  const s = await runCommand(['samples', 'userAccountCreated'], { cwd: ws.dir, env: SHIPPED });
  expect(s.stderr).toContain(fix);
  ws.write('rules.test.yaml', 'version: 1\nrules: rules.yaml\ncases:\n  - name: a\n    event: userAccountCreated\n    expect: { nothing: true }\n');
  const t = await runCommand(['test'], { cwd: ws.dir, env: SHIPPED });
  expect(t.stderr).toContain(`rules.test.yaml:5:12: unknown event "userAccountCreated": ${fix}`);
  // a misspelt loaded event keeps its did-you-mean
  const typo = await runCommand(['explain', 'userLogedIn', '--rules', 'rules.yaml'], { cwd: ws.dir, env: SHIPPED });
  expect(typo.stderr).toContain('unknown event "userLogedIn"; did you mean "userLoggedIn"? (samples --list shows every event)');
});
