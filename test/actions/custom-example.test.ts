/**
 * The worked custom action (examples/actions/set-profile-attributes.ts) end to
 * end, as a user adds it: a copy of the built project with the example in its
 * actions/ folder, compiled by `build-actions` (what `npm run build` runs);
 * then validate, explain, test and schema pick it up, and the server runs it
 * over gRPC against the AGS stand-in (PUT .../profiles/customAttributes).
 * `build-actions` and the last `validate` run as the project's bin; the other
 * offline commands (validate, explain, test, schema) run together in one
 * process of the project (runCommandsAt: its runCli, as its bin runs each), as
 * do the four of the edited-after-the-build test: one node start-up for each
 * group instead of one per command.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { FIXTURE_PROTO_DIR, FIXTURE_RULES_FILE } from '../support/app-fixture.js';
import { REPO_ROOT, describeWith } from '../support/prereq.js';
import { runBinAt, runCommandsAt } from '../cli/support.js';
import type { RunResult } from '../cli/support.js';
import { LOGIN_SERVICE, builtApp, callOnce, client, encode, loginEvent, startApp, stopAll, tempDir, userId } from '../e2e/support.js';

const EXAMPLE = resolve(REPO_ROOT, 'examples', 'actions', 'set-profile-attributes.ts');
const RULE = `
  - name: remember-country
    on: userLoggedIn
    do:
      - setProfileAttributes:
          attributes: { lastLoginCountry: "\${event.payload.loginLocation.country}" }
`;
const TESTS = `version: 1
env: { AB_NAMESPACE: mygame, ITEM_ID_TO_GRANT: item-1 }
cases:
  - name: the login country is remembered
    event: userLoggedIn
    data: { namespace: mygame, userId: 0123456789abcdef0123456789abcdef, payload: { loginLocation: { country: FR } } }
    expect:
      matched: [grant-item-on-login, remember-country]
      actions:
        - { rule: grant-item-on-login, action: grantItem }
        - rule: remember-country
          action: setProfileAttributes
          params: { namespace: mygame, userId: 0123456789abcdef0123456789abcdef, attributes: { lastLoginCountry: FR } }
          requests:
            - { method: PUT, path: /basic/v1/admin/namespaces/mygame/users/0123456789abcdef0123456789abcdef/profiles/customAttributes, body: { lastLoginCountry: FR } }
`;

describeWith(builtApp(), 'the worked custom action, end to end', () => {
  let project = '';
  const env = () => ({ PROTO_DIR: join(project, 'proto'), AB_NAMESPACE: 'mygame', ITEM_ID_TO_GRANT: 'item-1' });
  const bin = (args: string[]) => runBinAt(join(project, 'dist', 'cli', 'index.js'), args, { cwd: project, env: env() });
  /** The commands in one process of the project; nothing written beside their streams. */
  const commands = async (runs: { args: string[]; stdin?: string }[]) => {
    const { results, stray } = await runCommandsAt(project, runs, { cwd: project, env: env() });
    expect(stray).toBe('');
    return results;
  };
  /** The offline commands of the next three tests, all in one process of the project (run on first use). */
  let offline: Promise<Map<string, RunResult>> | undefined;
  const OFFLINE: Record<string, { args: string[]; stdin?: string }> = {
    validate: { args: ['validate'] },
    'validate bad.yaml': { args: ['validate', 'bad.yaml'] },
    explain: { args: ['explain', 'userLoggedIn', '--data', '-'], stdin: JSON.stringify({ namespace: 'mygame', userId: '0123456789abcdef0123456789abcdef', payload: { loginLocation: { country: 'FR' } } }) },
    test: { args: ['test'] },
    schema: { args: ['schema'] },
    'schema --write': { args: ['schema', '--write'] },
    'schema --check': { args: ['schema', '--check'] },
  };
  const ran = async (name: keyof typeof OFFLINE): Promise<RunResult> => {
    offline ??= (async () => {
      writeFileSync(join(project, 'bad.yaml'), `version: 1\nrules:\n  - name: r\n    on: userLoggedIn\n    do:\n      - setProfileAttributes: { attributs: { a: 1 } }\n`);
      const results = await commands(Object.values(OFFLINE));
      return new Map(Object.keys(OFFLINE).map((k, i) => [k, results[i]!]));
    })();
    return (await offline).get(name)!;
  };

  beforeAll(async () => {
    project = tempDir('eer-custom-action-');
    // the built project as a user has it, with the example copied into actions/
    cpSync(join(REPO_ROOT, 'dist'), join(project, 'dist'), { recursive: true, filter: (src) => !src.includes(`${join('dist', 'custom-actions')}`) });
    for (const f of ['package.json', 'tsconfig.json']) cpSync(join(REPO_ROOT, f), join(project, f));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(project, 'node_modules'), 'dir');
    cpSync(FIXTURE_PROTO_DIR, join(project, 'proto'), { recursive: true });
    writeFileSync(join(project, 'rules.yaml'), readFileSync(FIXTURE_RULES_FILE, 'utf8') + RULE);
    writeFileSync(join(project, 'rules.test.yaml'), TESTS);
    mkdirSync(join(project, 'actions'));
    cpSync(EXAMPLE, join(project, 'actions', 'set-profile-attributes.ts'));
    const built = await bin(['build-actions']);
    expect(built.stderr).toBe('');
    expect(built.code).toBe(0);
    expect(existsSync(join(project, 'dist', 'custom-actions', 'set-profile-attributes.js'))).toBe(true);
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('validate knows the action and checks its parameters against its schema', async () => {
    const ok = await ran('validate');
    const bad = await ran('validate bad.yaml');
    expect(ok.stdout).toBe(`${join(project, 'rules.yaml')}: valid: 3 rules on 2 events\n`);
    expect(ok.code).toBe(0);
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toMatch(/bad\.yaml:6:\d+: error .*"attributs"/);
  });

  it('explain plans its request; test passes a case expecting it', async () => {
    const explained = await ran('explain');
    const tested = await ran('test');
    expect(explained.code).toBe(0);
    expect(explained.stdout).toContain('setProfileAttributes #0');
    expect(explained.stdout).toContain('PUT /basic/v1/admin/namespaces/mygame/users/0123456789abcdef0123456789abcdef/profiles/customAttributes');
    expect(tested.stdout).toContain('✓ the login country is remembered');
    expect(tested.code).toBe(0);
  });

  it('schema includes it (with its description); --write then --check agree', async () => {
    const printed = await ran('schema');
    const written = await ran('schema --write');
    const checked = await ran('schema --check');
    const schema = JSON.parse(printed.stdout) as { $defs: { action: { properties: Record<string, { description?: string }> } } };
    expect(schema.$defs.action.properties.setProfileAttributes?.description).toContain('Update custom attributes of the user profile.');
    expect(written.code, written.stderr).toBe(0);
    expect(checked.code, checked.stderr).toBe(0);
  });

  it('the server loads it and runs it over gRPC: AGS gets the PUT with the attributes', async () => {
    const ags: AgsStandIn = await startAgsStandIn();
    try {
      const app = await startApp({
        main: join(project, 'dist', 'main.js'),
        env: {
          AB_BASE_URL: ags.url,
          AB_CLIENT_ID: ags.clientId,
          AB_CLIENT_SECRET: ags.clientSecret,
          AB_NAMESPACE: ags.namespace,
          ITEM_ID_TO_GRANT: 'item-1',
          RULES_FILE: join(project, 'rules.yaml'),
          PROTO_DIR: join(project, 'proto'),
          ACTIONS_DIR: join(project, 'actions'),
        },
      });
      ags.addItem({ id: 'item-1' });
      const user = userId();
      const event = { ...loginEvent({ id: userId(), userId: user, namespace: ags.namespace }), payload: { loginLocation: { country: 'FR' } } };
      const c = client(app.address);
      try {
        expect((await callOnce(c, await encode(LOGIN_SERVICE, event))).code).toBe(0);
      } finally {
        c.close();
      }
      await ags.waitFor(() => ags.successes('updateCustomAttributesPartially') === 1);
      const put = ags.serviceRequests().find((r) => r.operation === 'updateCustomAttributesPartially')!;
      expect(put.method).toBe('PUT');
      expect(put.path).toBe(`/basic/v1/admin/namespaces/${ags.namespace}/users/${user}/profiles/customAttributes`);
      expect(put.body).toEqual({ lastLoginCountry: 'FR' });
      expect(ags.violations).toEqual([]);
    } finally {
      await stopAll();
      await ags.close();
    }
  });

  it('edited after the build: every command and the server stop, naming the file and the fix (run npm run build)', async () => {
    const source = join(project, 'actions', 'set-profile-attributes.ts');
    const later = new Date(Date.now() + 60_000);
    utimesSync(source, later, later);
    const fix = 'custom action actions/set-profile-attributes.ts: changed since the last build\n    fix: run npm run build (npm start and npm test run it first)';
    const each = [['validate'], ['test'], ['schema'], ['explain', 'userLoggedIn']];
    const results = await commands(each.map((args) => ({ args })));
    each.forEach((args, i) => {
      expect(results[i]!.code, args[0]).toBe(1);
      expect(results[i]!.stderr, args[0]).toContain(fix);
    });
    const started = await startApp({ main: join(project, 'dist', 'main.js'), env: { RULES_FILE: join(project, 'rules.yaml'), PROTO_DIR: join(project, 'proto'), ACTIONS_DIR: join(project, 'actions') } }).then(
      () => 'started',
      (error: unknown) => String(error),
    );
    expect(started).toContain('changed since the last build');
    // rebuilt (compiled after the edit): loads again
    const earlier = new Date(Date.now() - 60_000);
    utimesSync(source, earlier, earlier);
    expect((await bin(['build-actions'])).code).toBe(0);
    expect((await bin(['validate'])).code).toBe(0);
  });
});
