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
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AgsClient } from '../../src/ags/client.js';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import type { ActionContext, ActionDefinition } from '../../src/actions/types.js';
import { AgsOpenApi, specsPresent } from '../support/ags-openapi.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { ACTION_FORMS } from '../support/action-forms.js';
import { describeWith, sharedFile } from '../support/prereq.js';
import { USER, captureLogger, clientFor } from './helpers.js';

const registry = createDefaultRegistry();
const NOW = Date.parse('2026-03-01T12:00:00Z');


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
    idempotencyKey: `evt-${Math.random().toString(36).slice(2)}:conformance:0`,
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
