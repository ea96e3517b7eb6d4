/**
 * Issue 16, "Requests go where the rule says": every templated path segment of
 * every AGS action stays one segment. A value `.` or `..` (or empty) is refused
 * as a permanent ActionParamError (dead letter naming the parameter, nothing
 * sent); any other value (`a/b`, `%2e%2e`, `x?y#z`) is percent-encoded into
 * one segment, as the stand-in sees on the wire (its raw request path).
 *
 * The path parameters are found, not listed: each string parameter of each
 * action is set to a marker, and those whose marker lands in the planned path
 * are the path parameters. The table of base parameters must cover every
 * registered action that calls AGS, so a new action fails here until added.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgsClient } from '../../src/ags/client.js';
import { ops } from '../../src/ags/operations.js';
import { AgsPathSegmentError } from '../../src/ags/errors.js';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import type { ActionContext } from '../../src/actions/types.js';
import { MemoryDeadLetterSink } from '../../src/delivery/dead-letters.js';
import { createExecutor } from '../../src/delivery/executor.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import type { PlannedAction } from '../../src/rules/types.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';

const USER = '0123456789abcdef0123456789abcdef';

/** Valid parameters of every AGS action (path parameters included, found below). */
const BASE: Readonly<Record<string, Record<string, unknown>>> = {
  grantItem: { itemId: 'item-1', quantity: 1 },
  grantEntitlement: { itemId: 'item-1', quantity: 1 },
  creditWallet: { currencyCode: 'COINS', amount: 5 },
  updateStat: { statCode: 'kills', value: 1 },
  unlockAchievement: { achievementCode: 'first-win' },
  notifyUser: { topicName: 'news', message: 'hi' },
  banUser: { ban: 'CHAT_SEND', reason: 'CHEATING', duration: '1h' },
  grantSeasonExp: { exp: 10 },
  writePlayerRecord: { key: 'progress', value: { level: 1 } },
};
/** Forms of an action that reach other operations. */
const VARIANTS: Readonly<Record<string, readonly Record<string, unknown>[]>> = {
  grantItem: [{}, { useTransactionId: true }],
  notifyUser: [{}, { message: undefined, topicName: undefined, templateSlug: 'welcome' }],
  updateStat: [{}, { additionalKey: 'season-1' }],
  writePlayerRecord: [{}, { merge: true }],
};

const registry = createDefaultRegistry();
const agsActions = registry.names().filter((n) => registry.get(n)!.usesAgs);

function ctxFor(event: Record<string, unknown> = { userId: USER }): ActionContext {
  return { event, eventName: 'userLoggedIn', namespace: 'mygame', rule: 'r', idempotencyKey: 'evt-1:r:0', logger: createLogger({ level: 'silent' }) };
}

function paramsOf(action: string, variant: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const p: Record<string, unknown> = { ...BASE[action], ...variant, ...extra };
  for (const k of Object.keys(p)) if (p[k] === undefined) delete p[k];
  return p;
}

/** The parameters whose value lands in the planned path of this form of the action. */
function pathParams(action: string, variant: Record<string, unknown>): string[] {
  const def = registry.get(action)!;
  const props = Object.keys((def.params.properties ?? {}));
  const found: string[] = [];
  for (const name of props) {
    const marker = `marker${name}`;
    let path: string;
    try {
      const p = def.normalize(paramsOf(action, variant, { [name]: marker }), ctxFor());
      path = def.plan(p, ctxFor()).map((r) => r.path).join(' ');
    } catch {
      continue; // not a free string parameter
    }
    if (path.includes(marker)) found.push(name);
  }
  return found;
}

const cases: { action: string; variant: Record<string, unknown>; param: string }[] = [];
for (const action of agsActions) for (const variant of VARIANTS[action] ?? [{}]) for (const param of pathParams(action, variant)) cases.push({ action, variant, param });

describe('path segments of AGS actions (issue 16)', () => {
  let ags: AgsStandIn;
  let client: AgsClient;
  beforeAll(async () => {
    ags = await startAgsStandIn({ strictUserIds: false });
    client = new AgsClient({ baseUrl: ags.url, clientId: ags.clientId, clientSecret: ags.clientSecret, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.close();
    await ags.close();
  });

  it('the table covers every AGS action, and every action has path parameters', () => {
    expect(agsActions.filter((a) => BASE[a] === undefined)).toEqual([]);
    for (const action of agsActions) expect(cases.filter((c) => c.action === action).map((c) => c.param)).toContain('userId');
    expect(cases.map((c) => `${c.action}.${c.param}`)).toEqual(expect.arrayContaining(['creditWallet.currencyCode', 'creditWallet.namespace', 'updateStat.statCode', 'unlockAchievement.achievementCode', 'writePlayerRecord.key']));
  });

  async function runOne(action: string, params: Record<string, unknown>) {
    const deadLetters = new MemoryDeadLetterSink();
    const executor = createExecutor({ registry, store: new MemoryStateStore(), deadLetters, logger: createLogger({ level: 'silent' }), ags: client, namespace: 'mygame' });
    const plan: PlannedAction[] = [{ rule: 'r', index: 0, key: `${action}#0`, action, params, mode: 'live', onFailure: 'deadLetter' }];
    const report = await executor.run({ service: { fullName: 'svc', eventName: 'userLoggedIn' }, event: { id: `evt-${randomUUID()}`, userId: USER }, plan });
    return { report, deadLetters };
  }

  for (const bad of ['..', '.', ' .. ']) {
    it.each(cases)(`${JSON.stringify(bad)} in $action $param ($variant): dead-lettered with the reason, nothing sent`, async ({ action, variant, param }) => {
      ags.reset();
      const { report, deadLetters } = await runOne(action, paramsOf(action, variant, { [param]: bad }));
      expect(report.outcome).toEqual({ kind: 'ok', deadLettered: [expect.objectContaining({ action })] });
      expect(report.actions[0]).toMatchObject({ status: 'deadLettered' });
      expect(deadLetters.records).toHaveLength(1);
      expect(deadLetters.records[0]!.error).toMatchObject({ name: 'ActionParamError' });
      expect(deadLetters.records[0]!.error.message).toContain(`"${param}"`);
      expect(deadLetters.records[0]!.error.message).toMatch(/dot segment/);
      expect(ags.serviceRequests()).toEqual([]);
    });
  }

  const identifiers = cases.filter((c) => c.param === 'userId' || c.param === 'namespace');
  const others = cases.filter((c) => c.param !== 'userId' && c.param !== 'namespace');

  for (const bad of ['a/b%2e%2e?x#y', `${USER}\r\nX-Injected: 1`, `\u001b[31m${USER}`, 'not-a-user id']) {
    it.each(identifiers)(`${JSON.stringify(bad)} as $action $param ($variant): refused before sending, permanently, with the reason (issue 22.7)`, async ({ action, variant, param }) => {
      ags.reset();
      const { report, deadLetters } = await runOne(action, paramsOf(action, variant, { [param]: bad }));
      expect(report.outcome).toEqual({ kind: 'ok', deadLettered: [expect.objectContaining({ action })] });
      expect(report.actions[0]).toMatchObject({ status: 'deadLettered' });
      expect(deadLetters.records[0]!.error.message).toMatch(param === 'userId' ? /refused before sending: userId .* is not an AGS user id/ : /refused before sending: namespace .* is not an AGS namespace/);
      expect([...deadLetters.records[0]!.error.message].filter((ch) => ch === '\r' || ch === '\n' || ch === '\u001b')).toEqual([]);
      expect(ags.serviceRequests()).toEqual([]);
    });
  }

  it.each(others)('$action $param ($variant): "a/b%2e%2e?x#y" stays one encoded segment on the wire', async ({ action, variant, param }) => {
    ags.reset();
    await runOne(action, paramsOf(action, variant, { [param]: 'plain' }));
    const reference = ags.serviceRequests()[0]!.rawPath.split('/');
    ags.reset();
    const value = 'a/b%2e%2e?x#y';
    const { report } = await runOne(action, paramsOf(action, variant, { [param]: value }));
    expect(report.actions[0]!.status).not.toBe('retriable');
    const sent = ags.serviceRequests();
    expect(sent).toHaveLength(1);
    const segments = sent[0]!.rawPath.split('/');
    expect(segments).toHaveLength(reference.length);
    expect(segments[reference.indexOf('plain')]).toBe(encodeURIComponent(value));
  });

  it('the operation builders refuse dot segments themselves (defence in depth, permanent)', () => {
    expect(() => ops.creditUserWallet('mygame', '..', 'COINS', { amount: 1 })).toThrow(AgsPathSegmentError);
    expect(() => ops.sendSpecificUserFreeformNotificationV1Admin('mygame', '.', { topicName: 't', message: 'm' })).toThrow(AgsPathSegmentError);
    expect(() => ops.adminPutPlayerRecordHandlerV1('mygame', USER, '', {})).toThrow(AgsPathSegmentError);
    try {
      ops.fulfillItemsV3('mygame', USER, '..', { items: [] });
    } catch (e) {
      expect(e).toMatchObject({ retriable: false });
    }
    expect(ops.creditUserWallet('mygame', '...', 'COINS', { amount: 1 }).path).toBe('/platform/admin/namespaces/mygame/users/.../wallets/COINS/credit');
  });
});
