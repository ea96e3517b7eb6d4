/**
 * AccelByte's OpenAPI specs as the oracle of every AGS request: each action in
 * each of its forms (every parameter it documents used at least once) runs
 * against the AGS stand-in; every request captured on the wire must be an
 * operation of the specs (method + path template) with only declared query
 * parameters and a body valid against the operation's body schema, and every
 * answer the stand-in gave must fit the operation's response schema. The
 * labels (plans, metrics, logs) are the specs' operation ids and each action's
 * permission is the union of its operations' documented permissions.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { AgsClient } from '../../src/ags/client.js';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import type { ActionContext, ActionDefinition } from '../../src/actions/types.js';
import { AgsOpenApi, specsPresent } from '../support/ags-openapi.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { ACTION_FORMS } from '../support/action-forms.js';
import { REPO_ROOT, describeWith, sharedFile } from '../support/prereq.js';
import { USER, captureLogger, clientFor } from './helpers.js';

const registry = createDefaultRegistry();
const NOW = Date.parse('2026-03-01T12:00:00Z');


/**
 * The action entries of every YAML example in the docs, templates replaced by
 * plausible values (`${env.X_URL}` by a URL, other references by text).
 */
function docsActionExamples(): Array<{ file: string; action: string; params: Record<string, unknown> }> {
  const files = [resolve(REPO_ROOT, 'README.md'), ...readdirSync(resolve(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => resolve(REPO_ROOT, 'docs', f))];
  const out: Array<{ file: string; action: string; params: Record<string, unknown> }> = [];
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return v.replace(/\$\{([^}]*)\}/g, (_m, ref: string) => (/url/i.test(ref) ? 'https://example.com/hook' : ref.startsWith('env.') ? 'item-1' : 'x'));
    }
    if (Array.isArray(v)) return v.map(fill);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  const collect = (file: string, doList: unknown): void => {
    if (!Array.isArray(doList)) return;
    for (const entry of doList) {
      if (entry === null || typeof entry !== 'object') continue;
      for (const [action, params] of Object.entries(entry as Record<string, unknown>)) {
        if (action === 'id' || params === null || typeof params !== 'object') continue;
        out.push({ file, action, params: fill(params) as Record<string, unknown> });
      }
    }
  };
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(/```ya?ml\n([\s\S]*?)```/g)) {
      let doc: unknown;
      try {
        doc = parseYaml(m[1]!);
      } catch {
        continue;
      }
      if (doc === null || typeof doc !== 'object') continue;
      const d = doc as { do?: unknown; rules?: unknown };
      collect(file, d.do);
      if (Array.isArray(d.rules)) for (const r of d.rules) if (r !== null && typeof r === 'object') collect(file, (r as { do?: unknown }).do);
    }
  }
  return out;
}

const withUser = (params: Record<string, unknown>) => ({ ...params, userId: USER, namespace: 'mygame' });

describeWith(sharedFile('ags-openapi/platform.json'), 'AGS requests conform to AccelByte\'s OpenAPI specs', () => {
  let spec: AgsOpenApi;
  let ags: AgsStandIn;
  let client: AgsClient;
  const { logger } = captureLogger();
  const ctx = (): ActionContext => ({
    event: { userId: USER, namespace: 'mygame' },
    eventName: 'userLoggedIn',
    namespace: 'mygame',
    rule: 'conformance',
    idempotencyKey: `evt-${randomUUID()}:conformance:0`,
    ags: client,
    logger,
    now: () => NOW,
  });

  beforeAll(async () => {
    spec = new AgsOpenApi();
    ags = await startAgsStandIn();
    client = clientFor(ags).client;
  });
  afterAll(async () => {
    client.close();
    await ags.close();
  });

  it('finds the specs', () => {
    expect(specsPresent()).toBe(true);
    expect(spec.operations.length).toBeGreaterThan(1000);
  });

  it('the forms use every parameter of every AGS action', () => {
    for (const def of registry.list().filter((d) => d.usesAgs)) {
      const used = new Set(ACTION_FORMS.filter(([a]) => a === def.name).flatMap(([, p]) => Object.keys(p)));
      const documented = Object.keys(def.params.properties as object).filter((k) => k !== 'userId' && k !== 'namespace');
      expect(documented.filter((k) => !used.has(k)), def.name).toEqual([]);
    }
  });

  it.each(ACTION_FORMS.map(([a, p]) => [a, p] as const))('%s %j: every request on the wire and every answer fit the specs', async (action, params) => {
    ags.reset();
    const def = registry.get(action) as ActionDefinition;
    for (const form of [params, withUser(params)]) {
      const c = ctx();
      const normalized = def.normalize(form, c);
      const plan = def.plan(normalized, c);
      await def.execute(normalized, c);
      const sent = ags.serviceRequests().slice(-plan.length);
      expect(sent).toHaveLength(plan.length);
      sent.forEach((req, i) => {
        const op = spec.find(req.method, req.path);
        expect(op?.operationId, `${req.method} ${req.path}`).toBeDefined();
        // labels: plans, the stand-in's route and the metrics all use the spec's operation id
        expect(plan[i]!.operation).toBe(op!.operationId);
        expect(req.operation).toBe(op!.operationId);
        expect(spec.checkRequest(req)).toEqual([]);
        expect(typeof req.outcome === 'number' && req.outcome >= 200 && req.outcome < 300, `answer ${String(req.outcome)}`).toBe(true);
        expect(spec.checkResponse(op!.operationId, req.outcome as number, req.answer)).toEqual([]);
      });
    }
    expect(ags.violations).toEqual([]);
  });

  it('every action example of the docs (README.md, docs/*.md) sends what the specs accept', async () => {
    const examples = docsActionExamples();
    expect(examples.length).toBeGreaterThan(10);
    const agsActions = registry.list().filter((d) => d.usesAgs).map((d) => d.name);
    for (const { file, action, params } of examples.filter((e) => agsActions.includes(e.action))) {
      ags.reset();
      const def = registry.get(action)!;
      const c = ctx();
      let normalized;
      try {
        normalized = def.normalize(params, c);
      } catch (err) {
        throw new Error(`${file}: ${action} ${JSON.stringify(params)}: ${(err as Error).message}`, { cause: err });
      }
      await def.execute(normalized, c).catch(() => undefined); // unknown items may be refused: the request is what is checked
      for (const req of ags.serviceRequests()) expect(spec.checkRequest(req), `${file}: ${action}`).toEqual([]);
      expect(ags.violations, `${file}: ${action}`).toEqual([]);
    }
  });

  it('the token call is the spec\'s token operation with declared form fields only', async () => {
    ags.reset();
    await client.login();
    const login = ags.requests.find((r) => r.operation === 'login')!;
    expect(spec.find(login.method, login.path)?.operationId).toBe('TokenGrantV3');
    expect(spec.checkRequest(login)).toEqual([]);
  });

  it('each action\'s permission is what the specs document for its operations', () => {
    const opsOf = new Map<string, Set<string>>();
    for (const [action, params] of ACTION_FORMS) {
      const def = registry.get(action)!;
      const c = ctx();
      for (const p of def.plan(def.normalize(params, c), c)) {
        if (!opsOf.has(action)) opsOf.set(action, new Set());
        opsOf.get(action)!.add(p.operation);
      }
    }
    for (const [action, ops] of opsOf) {
      const perms = [...ops].flatMap((id) => spec.byId(id)!.permissions);
      const resource = new Set(perms.map((p) => p.replace(/ \[.*$/, '')));
      expect(resource.size, action).toBe(1);
      const actionsNeeded = [...new Set(perms.flatMap((p) => /\[(.*)\]$/.exec(p)![1]!.split(',')))].sort();
      expect(registry.get(action)!.permission, action).toBe(`${[...resource][0]!} [${actionsNeeded.join(',')}]`);
    }
  });
});
