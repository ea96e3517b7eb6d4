/**
 * Back-pressure toward AGS end to end (issue 23: "a per-service concurrency or rate bound, configurable, that
 * turns pressure into UNAVAILABLE rather than retry storms"): the real server (`node dist/main.js`, default
 * Cloud Save store), a gRPC sender, the AGS stand-in holding or throttling Platform and counting effects.
 */
import * as grpc from '@grpc/grpc-js';
import { expect, it } from 'vitest';
import { describeWith } from '../support/prereq.js';
import { LOGIN_SERVICE, appliedCalls, builtApp, callOnce, deadLetters, deliverUntilOk, encode, loginEvent, startApp, userId, useLiveApps, waitUntil } from './support.js';

describeWith(builtApp(), 'e2e: AGS back-pressure (AGS_MAX_IN_FLIGHT, AGS_QUEUE_WAIT_MS)', () => {
  const { ags, clients, env } = useLiveApps();
  const fulfillments = (user: string): number => ags.serviceRequests().filter((r) => r.operation === 'fulfillItem' && r.path.includes(`/users/${user}/`)).length;
  const applied = (user: string): number => appliedCalls(ags, 'fulfillItem', user);

  it('a grant that finds its service full past AGS_QUEUE_WAIT_MS is answered UNAVAILABLE unsent; redelivered later it is granted once', async () => {
    const vars = env({ AGS_MAX_IN_FLIGHT: '1', AGS_QUEUE_WAIT_MS: '300' });
    const app = await startApp({ env: vars });
    const [a, b] = [userId(), userId()];
    const eventA = await encode(LOGIN_SERVICE, loginEvent({ id: `pressure-a-${a}`, userId: a }));
    const eventB = await encode(LOGIN_SERVICE, loginEvent({ id: `pressure-b-${b}`, userId: b }));
    let release!: () => void;
    ags.fail(/\/fulfillment$/, [{ proceed: true, until: new Promise<void>((r) => (release = r)) }]); // AGS slow on A's grant
    const c = clients.connect(app);
    const answerA = callOnce(c, eventA);
    await waitUntil("A's grant held at AGS", () => fulfillments(a) === 1);
    const answerB = await callOnce(c, eventB);
    expect(answerB.code).toBe(grpc.status.UNAVAILABLE);
    expect(answerB.details).toMatch(/busy/);
    expect(fulfillments(b)).toBe(0); // refused before sending: nothing can have been applied
    release();
    expect((await answerA).code).toBe(grpc.status.OK);
    await deliverUntilOk(() => clients.connect(app), eventB); // the sidecar's redelivery
    expect([applied(a), applied(b)]).toEqual([1, 1]);
    expect(await deadLetters(vars)).toEqual([]);
    await app.waitForLogs(/busy/, 1);
  });

  it('a 429 with Retry-After holds Platform: events that arrive during the hold wait behind one probe instead of each being throttled (no retry storm)', async () => {
    const vars = env({ AGS_QUEUE_WAIT_MS: '20000' });
    const app = await startApp({ env: vars });
    const users = Array.from({ length: 8 }, () => userId());
    const events = await Promise.all(users.map((u, i) => encode(LOGIN_SERVICE, loginEvent({ id: `throttled-${i}-${u}`, userId: u }))));
    const throttled = (): number => ags.serviceRequests().filter((r) => r.operation === 'fulfillItem' && r.outcome === 429).length;
    ags.always(/\/fulfillment$/, { status: 429, headers: { 'retry-after': '1' }, body: { errorCode: 20000, errorMessage: 'too many requests' } }); // the namespace's rate limit is spent
    const c = clients.connect(app);
    const first = callOnce(c, events[0]!);
    await waitUntil('the first grant throttled', () => throttled() === 1);
    const rest = Promise.all(events.slice(1).map((e) => callOnce(c, e)));
    await waitUntil('3 throttled answers', () => throttled() >= 3);
    ags.always(); // the limit's minute is over
    expect((await first).code).toBe(grpc.status.OK);
    expect((await rest).map((r) => r.code)).toEqual(Array(7).fill(grpc.status.OK));
    // one request a Retry-After while throttled (the probe, and the throttled call's own retry): without the hold,
    // the 7 later events each ran into the 429 at once, and again on every retry
    expect(throttled()).toBeLessThanOrEqual(5);
    expect(users.map(applied)).toEqual(Array(8).fill(1));
  });
});
