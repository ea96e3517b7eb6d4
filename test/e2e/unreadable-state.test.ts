/**
 * Issue 22.8 (remainder) end to end, default configuration (the Cloud Save
 * store): the player's record overwritten with stateful sections the product
 * cannot read (limits in `rules`, counts and streaks in `events`) fails closed:
 * events of that player are answered UNAVAILABLE, an error line names the
 * record, `event_rules_dedupe_store_errors_total` counts it; never read as
 * empty (which fired a `limit: { count: 1 }` rule a second time). Grants are
 * counted at the stand-in.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { describeWith } from '../support/prereq.js';
import { DEFAULT_RECORD_KEY } from '../../src/store/cloudsave-state-store.js';
import { LOGIN_SERVICE, builtApp, callOnce, deliverUntilOk, encode, loginEvent, metricValue, sharedApp, tempDir, userId, useLiveApps } from './support.js';
import type { AppProcess } from './support.js';

const RULES = `version: 1
rules:
  - name: first-login-gift
    on: userLoggedIn
    limit: { count: 1, per: lifetime }
    do:
      - grantItem: { itemId: item-1, userId: "\${event.userId}" }
  - name: login-streak
    on: userLoggedIn
    when: { ">=": [{ streak: [userLoggedIn, day] }, 3] }
    do:
      - grantItem: { itemId: item-1, userId: "\${event.userId}" }
`;

type Doc = Record<string, unknown>;
const SHAPES: ReadonlyArray<[string, (doc: Doc) => Doc]> = [
  ['rules: "garbage"', (doc) => ({ ...doc, rules: 'garbage' })],
  ['rules: []', (doc) => ({ ...doc, rules: [] })],
  ['a limit\'s track that is a string', (doc) => ({ ...doc, rules: { 'first-login-gift': 'x' } })],
  ['events: {userLoggedIn: {h: "x"}}', (doc) => ({ ...doc, events: { userLoggedIn: { n: 1, h: 'x' } } })],
];

describeWith(builtApp(), 'e2e: a state record whose stateful sections cannot be read fails closed (issue 22.8)', () => {
  const { ags, clients, env } = useLiveApps();
  // one app for the four shapes (none kills it, each has a player of its own and reads only that player's line)
  const app = sharedApp(() => {
    const rules = join(tempDir('eer-e2e-unreadable-state-'), 'rules.yaml');
    writeFileSync(rules, RULES);
    return { env: env({ RULES_FILE: rules }) };
  });
  const storeErrors = async (running: AppProcess): Promise<number> => metricValue(await running.metrics(), 'event_rules_dedupe_store_errors_total', { store: 'cloudsave' });

  it.each(SHAPES)('Cloud Save: the player record overwritten with %s: the next event is answered UNAVAILABLE, an error line names the record, the limit is never exceeded', async (_name, overwrite) => {
    const running = await app();
    const errorsBefore = await storeErrors(running);
    const user = userId();
    const c = clients.connect(running);
    await deliverUntilOk(() => c, await encode(LOGIN_SERVICE, loginEvent({ id: `first-${user}`, userId: user })));
    const grants = (): number => ags.fulfillments.filter((f) => f.userId === user).length;
    expect(grants()).toBe(1);

    const good = ags.cloudSave.adminRecord(user, DEFAULT_RECORD_KEY)!.value;
    ags.cloudSave.putAdminRecord(user, DEFAULT_RECORD_KEY, { ...good, doc: overwrite(good.doc as Doc) });
    const second = await encode(LOGIN_SERVICE, loginEvent({ id: `second-${user}`, userId: user }));
    for (let i = 0; i < 3; i++) expect((await callOnce(c, second)).code).toBe(grpc.status.UNAVAILABLE);
    expect(grants()).toBe(1); // read as empty, the limit would have granted again
    const line = await running.waitForLog(/cannot be read/, (l) => String(l.msg).includes(`/${user}`));
    expect(line.level).toBe('error');
    expect(String(line.msg)).toContain(`admin player record ${DEFAULT_RECORD_KEY} of mygame/${user}`);
    expect(String(line.msg)).toMatch(/section "(rules|events)"/);
    expect((await storeErrors(running)) - errorsBefore).toBeGreaterThanOrEqual(3);
  });
});
