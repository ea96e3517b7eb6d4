/**
 * The fact lookups (src/ags/facts.ts): each request conforms to AccelByte's
 * OpenAPI spec of its operation id (../shared/ags-openapi, or the excerpt of
 * AccelByte's spec vendored in test/fixtures/ags-openapi for a service the
 * shared specs lack: the Group service), and the permission the docs name is
 * the spec's `x-security`. Group membership is also read through the real
 * AGS client from the AGS stand-in, whose answers are checked against the
 * excerpt: each documented answer is the fact's value, a refusal the spec does
 * not document as "not a member" is an error, a 503 is transient.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgsClient } from '../../src/ags/client.js';
import { FACT_OPERATIONS, GROUP_INFORMATION_REQUIRED, factFetcher } from '../../src/ags/facts.js';
import type { FactOperation } from '../../src/ags/facts.js';
import { AgsOpenApi, OPENAPI_DIR } from '../support/ags-openapi.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { REPO_ROOT, describeWith, sharedFile } from '../support/prereq.js';
import { clientFor } from './helpers.js';

/** Excerpts of AccelByte's specs vendored in the repository (test/fixtures/ags-openapi/README.md). */
const VENDORED_DIR = resolve(REPO_ROOT, 'test/fixtures/ags-openapi');
const VENDORED = new Set(readdirSync(VENDORED_DIR).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')));

const USER = '0123456789abcdef0123456789abcdef';
const SAMPLE: Record<string, string> = { itemId: 'season-pass-2027', statCodes: 'wins', tags: 'pvp', entitlementClazz: 'APP', platform: 'Steam' };

/** The lookup's request conforms to the spec in `dir`, and its permission and client scopes are the spec's `x-security`. */
function checkAgainstSpec(def: FactOperation, spec: AgsOpenApi, dir: string): void {
  const params = Object.fromEntries(def.params.map((p) => [p, SAMPLE[p] ?? 'x']));
  const req = def.build('mygame', USER, params);
  expect(req.method).toBe('GET');
  expect(spec.find(req.method, req.path)?.operationId, def.operation).toBe(def.operation);
  const problems = spec.checkRequest({ method: req.method, path: req.path, query: req.query ?? {}, headers: {}, body: undefined, rawBody: '' });
  expect(problems, def.operation).toEqual([]);
  const doc = JSON.parse(readFileSync(resolve(dir, `${def.service}.json`), 'utf8')) as { paths: Record<string, Record<string, { operationId?: string; 'x-security'?: unknown }>> };
  const op = Object.values(doc.paths).flatMap((m) => Object.values(m)).find((o) => o.operationId === def.operation);
  expect(op, def.operation).toBeDefined();
  const security = [op!['x-security']].flat() as Array<{ userPermissions?: string | string[]; iamClientScopes?: string[] }>;
  expect(security.flatMap((x) => [x.userPermissions ?? []].flat()), def.operation).toEqual(def.permission === '' ? [] : [def.permission]);
  expect(security.flatMap((x) => x.iamClientScopes ?? []), def.operation).toEqual(def.clientScopes ?? []);
}

describe('facts: a lookup of a service the shared specs lack is checked against the vendored excerpt of AccelByte\'s spec', () => {
  it('every lookup\'s service is a shared spec or a vendored excerpt; the vendored ones: method, path, query and permission', () => {
    const spec = new AgsOpenApi(VENDORED_DIR);
    const vendored = Object.values(FACT_OPERATIONS).filter((d) => VENDORED.has(d.service));
    expect(vendored.map((d) => d.operation)).toEqual(['AdminGetUserGroupStatusInformationV2']);
    for (const def of vendored) checkAgainstSpec(def, spec, VENDORED_DIR);
    // the answer's required fields the lookup reads are the spec's
    const doc = JSON.parse(readFileSync(resolve(VENDORED_DIR, 'group.json'), 'utf8')) as { definitions: Record<string, { required?: string[] }> };
    expect([...GROUP_INFORMATION_REQUIRED]).toEqual(doc.definitions['models.GetUserGroupInformationResponseV1']!.required);
    // the documented "not a member" answers: 404 with these error codes
    const op = spec.byId('AdminGetUserGroupStatusInformationV2')!;
    expect(FACT_OPERATIONS.AdminGetUserGroupStatusInformationV2!.definite).toEqual([{ status: 404, errorCodes: [73034, 73433], value: { member: false } }]);
    expect(JSON.stringify(op.responses['404'])).toMatch(/73433.*member group not found.*73034.*user not belong to any group/);
  });
});

describe('facts: group membership read from the AGS stand-in through the real client, answers checked against the excerpt', () => {
  let ags: AgsStandIn;
  let client: AgsClient;
  const spec = new AgsOpenApi(VENDORED_DIR);
  const GROUP = 'raid-guild-7';
  beforeAll(async () => {
    ags = await startAgsStandIn();
    client = clientFor(ags).client;
  });
  afterAll(async () => {
    client.close();
    await ags.close();
  });
  const lookup = { rule: 'r', name: 'guild', operation: 'AdminGetUserGroupStatusInformationV2', params: { groupId: GROUP } };
  const fetchFor = async (user: string) => (await factFetcher((op) => client.request(op), 'mygame')([lookup], { userId: user })).get('r')!.guild;
  const member = (n: number) => `${'0'.repeat(31)}${n.toString(16)}`;

  it('JOINED: member with AGS\'s answer; JOIN or INVITE: not a member; in no group (73034) or in others (73433): definitely not a member', async () => {
    ags.reset();
    ags.groups.set(`${member(1)}/${GROUP}`, { memberRoleId: ['raider'] });
    ags.groups.set(`${member(2)}/${GROUP}`, { status: 'INVITE' });
    ags.groups.set(`${member(3)}/another-guild`, {});
    expect(await fetchFor(member(1))).toEqual({ value: { member: true, groupId: GROUP, userId: member(1), status: 'JOINED', memberRoleId: ['raider'], joinedAt: expect.any(String) } });
    expect(await fetchFor(member(2))).toEqual({ value: expect.objectContaining({ member: false, status: 'INVITE' }) });
    expect(await fetchFor(member(3))).toEqual({ value: { member: false } });
    expect(await fetchFor(member(4))).toEqual({ value: { member: false } });
    const lookups = ags.serviceRequests();
    expect(lookups.map((r) => [r.operation, r.outcome, (r.answer as { errorCode?: number } | undefined)?.errorCode])).toEqual([
      ['AdminGetUserGroupStatusInformationV2', 200, undefined],
      ['AdminGetUserGroupStatusInformationV2', 200, undefined],
      ['AdminGetUserGroupStatusInformationV2', 404, 73433],
      ['AdminGetUserGroupStatusInformationV2', 404, 73034],
    ]);
    for (const r of lookups) {
      expect(spec.checkRequest(r), r.path).toEqual([]);
      expect(spec.checkResponse('AdminGetUserGroupStatusInformationV2', r.outcome as number, r.answer), r.path).toEqual([]);
    }
    expect(ags.violations).toEqual([]);
  });

  it('a refusal the spec does not document as "not a member" is an error, never false; a 503 rejects (UNAVAILABLE, redelivered)', async () => {
    ags.reset();
    const u = member(5);
    // a 404 without the spec's codes (a gateway's), and the spec's 403 73036: permanent, the rule reading it ends in error
    ags.fail(`/users/${u}/groups/`, [{ status: 404 }, { status: 403, body: { errorCode: 73036, errorMessage: 'insufficient member role permission' } }]);
    expect(await fetchFor(u)).toEqual({ error: expect.stringMatching(/AdminGetUserGroupStatusInformationV2 \(AGS Group\) failed: 404/) });
    expect(await fetchFor(u)).toEqual({ error: expect.stringMatching(/403 errorCode 73036/) });
    ags.always(/\/group\//, { status: 503 });
    await expect(fetchFor(u)).rejects.toMatchObject({ retriable: true, status: 503 });
    ags.always();
    // a 200 without the declared fields cannot be read: transient (redelivered), never "not a member"; without status: a member
    ags.fail(`/users/${u}/groups/`, [{ status: 200, body: {} }, { status: 200, body: { groupId: GROUP, userId: u, memberRoleId: [], joinedAt: '2026-01-01T00:00:00Z' } }]);
    await expect(fetchFor(u)).rejects.toMatchObject({ retriable: true, kind: 'unreadable', message: expect.stringMatching(/lacks the declared field\(s\) groupId, joinedAt, memberRoleId, userId/) });
    expect(await fetchFor(u)).toEqual({ value: expect.objectContaining({ member: true, groupId: GROUP }) });
  });
});

describeWith(sharedFile('ags-openapi/platform.json'), 'facts: each lookup is the spec\'s request, with the spec\'s permission', () => {
  it('method, path, query parameters and permission of every fact operation', () => {
    const spec = new AgsOpenApi();
    for (const def of Object.values(FACT_OPERATIONS)) if (!VENDORED.has(def.service)) checkAgainstSpec(def, spec, OPENAPI_DIR);
  });

  it('the fetcher sends each distinct request once per event; a permanent failure is the fact\'s error, a transient one rejects (redelivered)', async () => {
    const sent: string[] = [];
    const fetch = factFetcher(async (op) => {
      sent.push(`${op.operation} ${op.path}?${new URLSearchParams(op.query ?? {}).toString()}`);
      return Promise.resolve({ owned: true });
    }, 'mygame');
    const lookups = [
      { rule: 'a', name: 'pass', operation: 'getUserEntitlementOwnershipByItemId', params: { itemId: 'p' } },
      { rule: 'b', name: 'pass', operation: 'getUserEntitlementOwnershipByItemId', params: { itemId: 'p' } },
    ];
    const got = await fetch(lookups, { userId: USER });
    expect(sent).toHaveLength(1);
    expect(got.get('a')).toEqual({ pass: { value: { owned: true } } });
    expect(got.get('b')).toEqual({ pass: { value: { owned: true } } });
    const permanent = factFetcher(() => Promise.reject(Object.assign(new Error('getUserEntitlementOwnershipByItemId failed: 403'), { retriable: false })), 'mygame');
    expect((await permanent(lookups, { userId: USER })).get('a')).toEqual({ pass: { error: expect.stringMatching(/403/) } });
    const transient = factFetcher(() => Promise.reject(Object.assign(new Error('503'), { retriable: true })), 'mygame');
    await expect(transient(lookups, { userId: USER })).rejects.toThrow(/503/);
    expect((await fetch(lookups, {})).get('a')).toEqual({ pass: { error: expect.stringMatching(/no player/) } });
  });
});

describeWith(sharedFile('ags-openapi/platform.json'), 'facts: an answer that is not the spec\'s success shape is never a value', () => {
  let ags: AgsStandIn;
  let client: AgsClient;
  beforeAll(async () => {
    ags = await startAgsStandIn();
    client = clientFor(ags).client;
  });
  afterAll(async () => {
    client.close();
    await ags.close();
  });
  const fetchOne = async (operation: string, params: Record<string, string>) =>
    (await factFetcher((op) => client.request(op), 'mygame')([{ rule: 'r', name: 'f', operation, params }], { userId: USER })).get('r')!.f;

  it('a proxy\'s HTML page, an empty body, an error body or a body without the declared fields (200): retriable (redelivered), never read as the fact', async () => {
    const html = { status: 200, body: '<html><body>OK</body></html>', headers: { 'content-type': 'text/html' } };
    const cases: Array<[string, Record<string, string>, RegExp, unknown[]]> = [
      // TimedOwnership requires `owned`: a 200 without it is not "not owned"
      ['getUserEntitlementOwnershipByItemId', { itemId: 'season-pass-2027' }, /ownership\/byItemId/, [{}, { errorCode: 20000, errorMessage: 'internal' }, [true]]],
      // CurrencyWallet[]: an object is not the list of wallets, an item without its balance cannot be read
      ['queryUserCurrencyWallets', {}, /wallets\/currencies\/summary/, [{}, [{ currencyCode: 'COINS' }]]],
      // UserStatItemPagingSlicedResult requires `data`
      ['getUserStatItems', { statCodes: 'wins' }, /\/statitems/, [{}, []]],
      // UserProfilePrivateInfo: an object
      ['getUserProfileInfo', {}, /\/profiles/, [[], 'null']],
      // UserResponseV3 requires (among others) userId, country, bans
      ['AdminGetUserByUserIdV3', {}, /\/iam\/v3\/admin\/namespaces\/mygame\/users\/[0-9a-f]+$/, [{ errorCode: 20008, errorMessage: 'user not found' }]],
    ];
    for (const [operation, params, path, bodies] of cases) {
      ags.reset();
      // every attempt answers the same: the client's own retries end in a retriable failure
      for (const answer of [html, { status: 200 }, ...bodies.map((body) => ({ status: 200, body }))]) {
        ags.always(path, answer);
        await expect(fetchOne(operation, params), `${operation} ${JSON.stringify(answer)}`).rejects.toMatchObject({ retriable: true, kind: 'unreadable' });
      }
      ags.always();
    }
  });
});

describe('facts: one request per distinct lookup per event', () => {
  it('two rules naming the same lookup with their parameters in another order share one request', async () => {
    const sent: unknown[] = [];
    const fetch = factFetcher((op) => {
      sent.push(op.query);
      return Promise.resolve({ owned: true });
    }, 'mygame');
    const op = 'getUserEntitlementOwnershipByItemId';
    const facts = await fetch(
      [
        { rule: 'a', name: 'pass', operation: op, params: { itemId: 'season-pass', platform: 'steam' } },
        { rule: 'b', name: 'pass', operation: op, params: { platform: 'steam', itemId: 'season-pass' } },
      ],
      { userId: '0123456789abcdef0123456789abcdef' },
    );
    expect(sent).toEqual([{ itemId: 'season-pass', platform: 'steam' }]);
    expect(facts.get('a')!.pass).toEqual({ value: { owned: true } });
    expect(facts.get('b')!.pass).toEqual({ value: { owned: true } });
  });
});
