/**
 * Issue 16, "Requests go where the rule says, and only there": event values in
 * an `http` action's URL are percent-encoded where they land (path segment,
 * query value, fragment); a template in the scheme, host or port is refused
 * at load with a fix; a value `.`/`..` filling a path segment is dead-lettered;
 * the resolved URL's origin is the literal one. Real rules compiler, real
 * executor, a real HTTP receiver recording the raw request line and Host.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { MemoryDeadLetterSink } from '../../src/delivery/dead-letters.js';
import { createExecutor } from '../../src/delivery/executor.js';
import { MemoryStateStore } from '../../src/store/memory-state-store.js';
import { loadCatalog } from '../../src/events/catalog.js';
import type { Catalog, DecodedEvent } from '../../src/events/types.js';
import { compileRulesText } from '../../src/rules/validate.js';
import type { RulesLoadResult } from '../../src/rules/validate.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { REPO_ROOT } from '../support/prereq.js';

const LOGGED_IN = 'accelbyte.iam.account.v1.UserAuthenticationUserLoggedInService';
const registry = createDefaultRegistry();
let catalog: Catalog;
let receiver: http.Server;
let base: string;
const received: { url: string; host: string | undefined }[] = [];

beforeAll(async () => {
  catalog = await loadCatalog({ dirs: [resolve(REPO_ROOT, 'proto')] });
  receiver = http.createServer((req, res) => {
    received.push({ url: req.url ?? '', host: req.headers.host });
    res.end('{}');
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => receiver.close(r));
});

function compile(url: string, env: Record<string, string> = {}): RulesLoadResult {
  const text = `version: 1
rules:
  - name: hook
    on: userLoggedIn
    do:
      - http: { method: GET, url: ${JSON.stringify(url)} }
`;
  return compileRulesText(text, 'rules.yaml', { catalog, registry, env, unsetEnv: 'error' });
}

function event(userId: string, displayName = 'Alice'): DecodedEvent {
  return { id: `e-${randomUUID()}`, name: 'userLoggedIn', namespace: 'mygame', userId, payload: { userAccount: { userId, displayName } } };
}

async function deliver(url: string, e: DecodedEvent, env: Record<string, string> = {}) {
  const loaded = compile(url, env);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const evaluation = loaded.rules.evaluate(LOGGED_IN, e);
  const deadLetters = new MemoryDeadLetterSink();
  const executor = createExecutor({ registry, store: new MemoryStateStore(), deadLetters, logger: createLogger({ level: 'silent' }), namespace: 'mygame', dryRun: false });
  received.length = 0;
  const report = await executor.run({ service: { fullName: LOGGED_IN, eventName: 'userLoggedIn' }, event: e, plan: evaluation.plan });
  return { evaluation, report, deadLetters };
}

describe('http action URLs (issue 16)', () => {
  it('a query value cannot add a parameter: userId "x&sig=forged"', async () => {
    const { report } = await deliver(`${base}/hook?user=\${event.userId}&sig=fixed`, event('x&sig=forged'));
    expect(report.actions[0]!.status).toBe('succeeded');
    expect(received).toHaveLength(1);
    const u = new URL(received[0]!.url, base);
    expect(u.searchParams.getAll('sig')).toEqual(['fixed']);
    expect(u.searchParams.get('user')).toBe('x&sig=forged');
  });

  it.each(['a/b', 'x?y=1', 'x#frag', '%2e%2e', '@evil.example', 'a b+c'])('a path value %j stays one segment, same host', async (value) => {
    const { report } = await deliver(`${base}/users/\${event.userId}/hook`, event(value));
    expect(report.actions[0]!.status).toBe('succeeded');
    expect(received).toHaveLength(1);
    expect(received[0]!.host).toBe(new URL(base).host);
    const segments = received[0]!.url.split('?')[0]!.split('/');
    expect(segments).toEqual(['', 'users', encodeURIComponent(value), 'hook']);
  });

  it('a fragment value is encoded too (never sent, never changes the query)', async () => {
    const { report } = await deliver(`${base}/hook?a=1#\${event.userId}`, event('x?b=2'));
    expect(report.actions[0]!.status).toBe('succeeded');
    expect(received[0]!.url).toBe('/hook?a=1');
  });

  it.each(['..', '.'])('a path segment %j is dead-lettered with the reason, nothing sent', async (value) => {
    const { report, deadLetters } = await deliver(`${base}/users/\${event.userId}/hook`, event(value));
    expect(report.outcome).toEqual({ kind: 'ok', deadLettered: [expect.objectContaining({ action: 'http' })] });
    expect(report.actions[0]!.status).toBe('deadLettered');
    expect(deadLetters.records[0]!.error.message).toMatch(/dot segment|"\." or "\.\."/);
    expect(received).toEqual([]);
  });

  it('a value percent-encoding cannot write (a lone surrogate, from a JSON body) is dead-lettered with the reason, nothing sent', async () => {
    const { evaluation, report, deadLetters } = await deliver(`${base}/users/\${event.userId}/hook?q=\${event.payload.userAccount.displayName}`, event('a\uD800b'));
    expect(evaluation.plan.map((p) => p.failure?.message)).toEqual([expect.stringMatching(/\$\{event\.userId\}.*lone surrogate/)]);
    expect(report.actions[0]!.status).toBe('deadLettered');
    expect(deadLetters.records[0]!.error.message).toMatch(/\$\{event\.userId\}.*lone surrogate/);
    expect(received).toEqual([]);
  });

  it.each([
    ['http://${event.payload.userAccount.displayName}.hooks.example/x'],
    ['http://hooks.example${event.payload.userAccount.displayName}'],
    ['http://hooks.example:${event.payload.userAccount.displayName}/x'],
    ['${event.payload.userAccount.displayName}'],
    ['http${event.payload.userAccount.displayName}://hooks.example/x'],
    ['https://user:${event.userId}@hooks.example/x'],
  ])('a template in the scheme, host or port is a load error with a fix: %s', (url) => {
    const loaded = compile(url);
    expect(loaded.ok).toBe(false);
    const problems = loaded.ok ? [] : loaded.problems;
    expect(problems.map((p) => p.code)).toContain('url-template');
    const p = problems.find((x) => x.code === 'url-template')!;
    expect(p.message).toMatch(/scheme, host or port/);
    expect(p.fix).toMatch(/https:\/\/hooks\.example\/users\/\$\{event\.userId\}/);
  });

  it('the origin may come from ${env.X} (an operator setting), event values after it', async () => {
    const { report } = await deliver('${env.HOOK_BASE}/u/${event.userId}', event('a/b'), { HOOK_BASE: base });
    expect(report.actions[0]!.status).toBe('succeeded');
    expect(received[0]!.url).toBe('/u/a%2Fb');
    expect(compile('${env.HOOK_HOST}${event.userId}', { HOOK_HOST: 'http://hooks.example' }).ok).toBe(false);
  });

  it('URLs without event values are as written', async () => {
    const { report } = await deliver(`${base}/plain/path?x=1`, event('u'));
    expect(report.actions[0]!.status).toBe('succeeded');
    expect(received[0]!.url).toBe('/plain/path?x=1');
  });
});
