/**
 * Issue 22.6-22.8 end to end, real processes (`node dist/main.js`, the AGS
 * stand-in, a gRPC sender), default store (Cloud Save):
 * - a partial AGS configuration refuses to start, naming every missing
 *   variable; a live run's first line names its namespace and store;
 * - AGS echoing the request's headers in an error body (and IAM echoing the
 *   Basic header in a 401): the bearer token and the Basic credential appear in
 *   no log line, exported span, dead letter, gRPC status nor start-up error;
 * - tokens revoked and IAM slow: the event is answered within its deadline,
 *   UNAVAILABLE, naming IAM;
 * - a userId with CR/LF or ANSI escapes is refused before sending (a dead
 *   letter with the reason); an event id of 100,000 characters is not written
 *   in full on the event's log lines.
 */
import { expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { describeWith } from '../support/prereq.js';
import { LOGIN_SERVICE, builtApp, callOnce, encode, loginEvent, runCli, sharedApp, startApp, userId, waitUntil, useLiveApps } from './support.js';
import type { AppProcess } from './support.js';

describeWith(builtApp(), 'e2e: the AGS boundary: configuration, secrets, deadlines, identifiers (issue 22.6-22.8)', () => {
  const { ags, clients, env } = useLiveApps({ clientSecret: 'stand-in-client-secret-22' });

  /** The CLI's stdout, run with the server's environment. */
  const cli = async (...args: string[]): Promise<string> => (await runCli(args, { env: env() })).stdout;

  /** Everything the app printed: JSON log lines and, with OTEL_TRACES_EXPORTER=console, the exported spans. */
  const printed = (app: AppProcess): string => `${app.logs.map((l) => JSON.stringify(l)).join('\n')}\n${app.stderr()}`;

  /**
   * One live app in the default configuration for the tests that need nothing else (its first line is read by the
   * first test that asks: it is a live run's first line whichever test starts it); the stand-in is reset after each
   * test, and a test reads only the log lines written since it began. The tokens it holds may have been revoked by the
   * slow-IAM test meanwhile: it logs in again on the 401, as after any revocation.
   */
  const liveApp = sharedApp(() => ({ env: env() }));

  it('AB_CLIENT_ID set, AB_CLIENT_SECRET missing: refuses to start naming each missing variable; never a silent dry run', async () => {
    const app = await startApp({ env: { AB_BASE_URL: ags.url, AB_CLIENT_ID: ags.clientId, ITEM_ID_TO_GRANT: 'item-1' }, waitServing: false });
    expect((await app.exited).code).toBe(1);
    expect(app.stderr()).toMatch(/cannot start: AB_CLIENT_SECRET, AB_NAMESPACE: are missing while AB_BASE_URL, AB_CLIENT_ID are set/);
    expect(app.logsMatching(/DRY RUN/)).toEqual([]);
    expect(ags.requests).toEqual([]);
  });

  it('the first line of a live run names its namespace and its store', async () => {
    const app = await liveApp();
    expect(app.logs[0]).toMatchObject({ live: true, namespace: 'mygame', store: 'cloudsave', msg: expect.stringMatching(/^live run: namespace mygame, state store cloudsave/) as unknown });
  });

  it('AGS echoes the request headers in error bodies: the bearer token reaches no log line, span, dead letter nor gRPC status', async () => {
    const app = await startApp({ env: env({ OTEL_TRACES_EXPORTER: 'console' }) });
    const c = clients.connect(app);
    // a permanent refusal (dead letter) and a transient one (the gRPC status the sidecar sees), both echoing the headers
    ags.fail('/fulfillment', [{ echoHeaders: 400 }, ...Array.from({ length: 4 }, () => ({ echoHeaders: 503 }))]);
    const permanent = await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: 'echo-400', userId: userId() })));
    expect(permanent.code).toBe(grpc.status.OK);
    const transient = await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: 'echo-503', userId: userId() })));
    expect(transient.code).toBe(grpc.status.UNAVAILABLE);
    const echoed = ags.requests.filter((r) => typeof r.answer === 'object' && JSON.stringify(r.answer).includes('Bearer stand-in-token'));
    expect(echoed.length).toBe(5); // the stand-in did echo the live token
    const token = /Bearer (\S+?)[,"]/.exec(JSON.stringify(echoed[0]!.answer))![1]!;
    expect(transient.details).toContain('Bearer [redacted]');
    expect(transient.details).not.toContain(token);
    await waitUntil('both events summarised and their spans exported', () => app.logsMatching(/rule\(s\) matched/).length >= 2 && app.logs.some((l) => l.unparsed === true && String(l.msg).includes('Bearer [redacted]')));
    expect(printed(app)).not.toContain(token);
    const letters = await cli('dead-letters', 'list', '--json');
    expect(letters).toContain('Bearer [redacted]');
    expect(letters).not.toContain(token);
  });

  it('IAM echoes the Basic header in a 401 at start-up: the start-up error names the setting, never the credential', async () => {
    ags.fail('/iam/v3/oauth/token', [{ echoHeaders: 401 }]);
    const app = await startApp({ env: env(), waitServing: false });
    expect((await app.exited).code).toBe(1);
    const basic = Buffer.from(`${ags.clientId}:${ags.clientSecret}`).toString('base64');
    expect(JSON.stringify(ags.requests[0]!.answer)).toContain(basic); // echoed
    expect(app.stderr()).toMatch(/AGS login \(IAM\) failed: 401/);
    expect(app.stderr()).toMatch(/Basic \[redacted\]/);
    expect(printed(app)).not.toContain(basic);
    expect(printed(app)).not.toContain(ags.clientSecret);
  });

  it('tokens revoked and IAM slow: the event is answered within its deadline, UNAVAILABLE, naming IAM (while IAM still holds the login)', async () => {
    const app = await startApp({ env: env({ EVENT_DEADLINE_MS: '1500' }) });
    const c = clients.connect(app);
    ags.revokeTokens();
    ags.setLoginDelay(20_000); // longer than AGS_TIMEOUT_MS (10 s): each login attempt would time out
    const answer = await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: 'slow-iam', userId: userId() })), 30_000);
    expect(answer.code).toBe(grpc.status.UNAVAILABLE);
    expect(answer.details).toMatch(/IAM/);
    // answered before IAM: the login is still waiting at the stand-in
    const logins = ags.requests.filter((r) => r.operation === 'login');
    expect(logins.length).toBeGreaterThan(0);
    expect(logins.at(-1)!.outcome).toBeUndefined();
    expect(ags.grants()).toBe(0);
  });

  it('a userId with CR/LF or ANSI escapes is refused before sending (dead letter with the reason); a 100,000-character event id is bounded in log lines', async () => {
    const app = await liveApp();
    const from = app.logs.length;
    const c = clients.connect(app);
    const hex = userId();
    const hostile = `${hex.slice(0, 16)}\r\nX-Injected: 1\u001b[31m${hex.slice(16)}`;
    expect((await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: 'crlf-user', userId: hostile })))).code).toBe(grpc.status.OK);
    expect(ags.serviceRequests().filter((r) => r.operation === 'fulfillItem')).toEqual([]);
    const letters = JSON.parse(await cli('dead-letters', 'list', '--json')) as { error: { message: string } }[];
    expect(letters).toHaveLength(1);
    expect(letters[0]!.error.message).toMatch(/refused before sending: userId .* is not an AGS user id \(32 lowercase hexadecimal characters\)/);

    const longId = 'e'.repeat(100_000);
    expect((await callOnce(c, await encode(LOGIN_SERVICE, loginEvent({ id: longId, userId: userId() })))).code).toBe(grpc.status.OK);
    await waitUntil('the long event summarised', () => app.logs.slice(from).filter((l) => /rule\(s\) matched/.test(String(l.msg))).length >= 2);
    expect(ags.grants()).toBe(1);
    const lines = app.logs.slice(from).filter((l) => typeof l.eventId === 'string' && l.eventId.startsWith('eee'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(JSON.stringify(l).length).toBeLessThan(2_000);
  });
});
