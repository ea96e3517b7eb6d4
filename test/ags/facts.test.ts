/**
 * The fact lookups (src/ags/facts.ts): each request conforms to AccelByte's
 * OpenAPI spec of its operation id (../shared/ags-openapi), and the permission
 * the docs name is the spec's `x-security`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { FACT_OPERATIONS, factFetcher } from '../../src/ags/facts.js';
import { AgsOpenApi, OPENAPI_DIR } from '../support/ags-openapi.js';
import { describeWith, sharedFile } from '../support/prereq.js';

const USER = '0123456789abcdef0123456789abcdef';
const SAMPLE: Record<string, string> = { itemId: 'season-pass-2027', statCodes: 'wins', tags: 'pvp', entitlementClazz: 'APP', platform: 'Steam' };

describeWith(sharedFile('ags-openapi/platform.json'), 'facts: each lookup is the spec\'s request, with the spec\'s permission', () => {
  it('method, path, query parameters and permission of every fact operation', () => {
    const spec = new AgsOpenApi();
    for (const def of Object.values(FACT_OPERATIONS)) {
      const params = Object.fromEntries(def.params.map((p) => [p, SAMPLE[p] ?? 'x']));
      const req = def.build('mygame', USER, params);
      expect(req.method).toBe('GET');
      const problems = spec.checkRequest({ method: req.method, path: req.path, query: req.query ?? {}, headers: {}, body: undefined, rawBody: '' });
      expect(problems, def.operation).toEqual([]);
      const doc = JSON.parse(readFileSync(resolve(OPENAPI_DIR, `${def.service}.json`), 'utf8')) as { paths: Record<string, Record<string, { operationId?: string; 'x-security'?: unknown }>> };
      const op = Object.values(doc.paths).flatMap((m) => Object.values(m)).find((o) => o.operationId === def.operation);
      expect(op, def.operation).toBeDefined();
      expect(JSON.stringify(op!['x-security'])).toContain(def.permission);
    }
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
