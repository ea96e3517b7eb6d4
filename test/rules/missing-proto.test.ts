/**
 * `missing` / `missing_some` on events decoded from protobuf bytes (the
 * shipped AGS protos): decoding fills proto3 defaults, so a field the
 * publisher did not set reads "", 0, false or a message of defaults; those
 * count as missing, set values do not (issue 15).
 */
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { loadCatalog } from '../../src/events/catalog.js';
import { codec } from '../../src/events/codec.js';
import type { Catalog, EventService } from '../../src/events/types.js';
import { compileRulesText } from '../../src/rules/validate.js';
import { REPO_ROOT } from '../support/prereq.js';

let catalog: Catalog;
let login: EventService;
beforeAll(async () => {
  catalog = await loadCatalog({ dirs: [resolve(REPO_ROOT, 'proto')] });
  const r = catalog.resolve('userLoggedIn');
  if (!r.ok) throw new Error('userLoggedIn not in the shipped protos');
  login = r.service;
});

function decoded(json: Record<string, unknown>): Record<string, unknown> {
  const c = codec(login);
  return c.decode(c.encode(json));
}

describe('missing on decoded proto events', () => {
  it('reports unset strings, false, zero and an absent sub-message; not set ones', () => {
    const keys = ['payload.userAccount.emailAddress', 'payload.userAccount.displayName', 'payload.userAuthentication.refresh', 'version', 'payload.loginLocation', 'payload.userAccount', 'namespace'];
    const r = compileRulesText(
      `version: 1
rules:
  - name: m
    on: userLoggedIn
    when: { missing: ${JSON.stringify(keys)} }
    do: [{ log: { message: x } }]
  - name: some-of-two
    on: userLoggedIn
    when: { "!": { missing_some: [1, ["payload.userAccount.emailAddress", "payload.userAccount.displayName"]] } }
    do: [{ log: { message: y } }]
`,
      'rules.yaml',
      { catalog, registry: createDefaultRegistry(), env: {}, unsetEnv: 'error' },
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const event = decoded({ namespace: 'mygame', payload: { userAccount: { displayName: 'Player One' }, userAuthentication: { refresh: false } } });
    // decoding filled the defaults: nothing is absent
    expect((event.payload as Record<string, Record<string, unknown>>).userAccount!.emailAddress).toBe('');
    expect((event.payload as Record<string, unknown>).loginLocation).toEqual({ country: '', state: '', city: '' });
    const result = r.rules.evaluate(login.fullName, event, { trace: true });
    expect(result.outcomes.map((o) => [o.rule, o.outcome])).toEqual([
      ['m', 'matched'],
      ['some-of-two', 'matched'],
    ]);
    expect(result.outcomes[0]!.condition!.result).toEqual(['payload.userAccount.emailAddress', 'payload.userAuthentication.refresh', 'version', 'payload.loginLocation']);
    const none = decoded({ namespace: 'mygame', payload: { userAccount: { emailAddress: 'a@b.c', displayName: 'P' } } });
    expect(r.rules.evaluate(login.fullName, none).outcomes.map((o) => o.outcome)).toEqual(['matched', 'matched']);
    const neither = decoded({ namespace: 'mygame' });
    expect(r.rules.evaluate(login.fullName, neither).outcomes.map((o) => o.outcome)).toEqual(['matched', 'notMatched']);
  });
});
