#!/usr/bin/env node
// Applies, to the project in the given folder (default: the working directory),
// the edits a user makes following README.md: the walkthrough's rule in
// rules.yaml ("1. Write a rule"), its rules.test.yaml ("4. Test it"), a filled-in
// .env (quick start), a downloaded .proto in proto/ ("Events and protos") and a
// custom action in actions/ (the worked example). .ci/run then checks that the
// product's tests still pass on the edited project: they must use their own
// fixtures, never the user's files.
//   node scripts/readme-walkthrough.mjs [project-dir]
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = resolve(process.argv[2] ?? '.');
const here = fileURLToPath(new URL('..', import.meta.url));

// 1. Write a rule
const rule = `
  - name: welcome-pack-fr
    description: A welcome pack for players logging in from France.
    on: userLoggedIn
    when:
      and:
        - "==": [{ var: namespace }, "\${env.AB_NAMESPACE}"]
        - "==": [{ var: payload.loginLocation.country }, "FR"]
    do:
      - grantItem:
          itemId: \${env.WELCOME_PACK_ITEM_ID:-welcome-pack}
          userId: \${event.userId}
`;
const rules = join(dir, 'rules.yaml');
if (!readFileSync(rules, 'utf8').includes('name: welcome-pack-fr')) appendFileSync(rules, rule);

// 4. Test it (the README's file, the deliberate mistake left out so `test` passes)
writeFileSync(
  join(dir, 'rules.test.yaml'),
  `version: 1
rules: rules.yaml
env:
  AB_NAMESPACE: mygame
  ITEM_ID_TO_GRANT: item-1
cases:
  - name: a login from France gets the welcome pack
    event: userLoggedIn
    data:
      namespace: mygame
      userId: 0123456789abcdef0123456789abcdef
      payload: { loginLocation: { country: FR } }
    expect:
      matched: [grant-item-on-login, welcome-pack-fr]
      actions:
        - rule: grant-item-on-login
          action: grantItem
        - rule: welcome-pack-fr
          action: grantItem
          params:
            namespace: mygame
            userId: 0123456789abcdef0123456789abcdef
            itemId: welcome-pack
            quantity: 1
            source: REWARD
            useTransactionId: false
          requests:
            - method: POST
              path: /platform/admin/namespaces/mygame/users/0123456789abcdef0123456789abcdef/fulfillment
              body: { itemId: welcome-pack, quantity: 1, source: REWARD }

  - name: another namespace gets nothing
    event: userLoggedIn
    data: { namespace: othergame }
    expect: { nothing: true }
`,
);

// Quick start: .env from .env.template, filled in (credentials that reach nothing)
const env = readFileSync(join(dir, '.env.template'), 'utf8')
  .replace(/^AB_BASE_URL=.*$/m, 'AB_BASE_URL=http://127.0.0.1:9')
  .replace(/^AB_CLIENT_ID=.*$/m, 'AB_CLIENT_ID=walkthrough-client')
  .replace(/^AB_CLIENT_SECRET=.*$/m, 'AB_CLIENT_SECRET=walkthrough-secret')
  .replace(/^AB_NAMESPACE=.*$/m, 'AB_NAMESPACE=walkthrough')
  .replace(/^ITEM_ID_TO_GRANT=.*$/m, 'ITEM_ID_TO_GRANT=walkthrough-item');
writeFileSync(join(dir, '.env'), env);

// Events and protos: another event's .proto downloaded into proto/
mkdirSync(join(dir, 'proto', 'acme', 'quest', 'v1'), { recursive: true });
writeFileSync(
  join(dir, 'proto', 'acme', 'quest', 'v1', 'quest.proto'),
  `syntax = "proto3";
package acme.quest.v1;
import "google/protobuf/empty.proto";
message QuestCompleted {
  string id = 1;
  string namespace = 2;
  string user_id = 3 [json_name = "userId"];
  string quest_code = 4 [json_name = "questCode"];
}
service QuestCompletedService {
  rpc OnMessage(QuestCompleted) returns (google.protobuf.Empty);
}
`,
);

// Custom actions: the worked example copied into actions/
const example = join(here, 'examples', 'actions', 'set-profile-attributes.ts');
if (existsSync(example)) {
  mkdirSync(join(dir, 'actions'), { recursive: true });
  copyFileSync(example, join(dir, 'actions', 'set-profile-attributes.ts'));
}

console.log(`applied the README walkthrough's edits to ${dir}`);
