/**
 * Issue 14 end to end on a shared state store: a lifetime limit holds across
 * `kill -9` and across two replicas taking the same player's events at once,
 * and a limit counted under another key (`limit.key`: a country standing for a
 * party) holds across players handled by two replicas at once, on Redis and
 * on AGS Cloud Save (the AGS stand-in's admin records). Real
 * processes, a real redis-server, a real gRPC sender retrying UNAVAILABLE as
 * the sidecar does.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { useAgsStandIn } from '../support/ags-fixture.js';
import { describeWith, executable } from '../support/prereq.js';
import { documentKey } from '../../src/store/state-store.js';
import { LOGIN_SERVICE, builtApp, clientPool, deliverUntilOk, encode, loginEvent, pool, sharedApp, startRedis, stopAll, tempDir, userId } from './support.js';
import type { AppProcess, Encoded } from './support.js';

const RULES = `version: 1
rules:
  - name: first-login-bonus
    on: userLoggedIn
    limit: { count: 1, per: lifetime }
    do: [ { grantItem: { itemId: first-bonus, userId: "\${event.userId}" } } ]
  - name: third-login
    on: userLoggedIn
    when: { "==": [ { count: [ userLoggedIn, lifetime ] }, 3 ] }
    do: [ { grantItem: { itemId: third, userId: "\${event.userId}" } } ]
  - name: first-two-per-country
    on: userLoggedIn
    limit: { count: 2, per: lifetime, key: "\${event.payload.userAccount.country}" }
    do: [ { grantItem: { itemId: country-pioneer, userId: "\${event.userId}" } } ]
`;

const backends = [
  { name: 'redis', ready: [builtApp(), executable('redis-server', 'redis-server')] },
  { name: 'cloudsave', ready: [builtApp()] },
] as const;

for (const backend of backends) {
  describeWith(backend.ready, `e2e: stateful rules on a shared ${backend.name} state store`, () => {
    const ags = useAgsStandIn({ items: [{ id: 'first-bonus' }, { id: 'third' }, { id: 'country-pioneer' }] }, { resetAfterEach: false });
    let env: Record<string, string>;
    const clients = clientPool();

    beforeAll(async () => {
      const dir = tempDir('eer-e2e-state-shared-');
      const rulesFile = join(dir, 'rules.yaml');
      writeFileSync(rulesFile, RULES);
      env = { AB_BASE_URL: ags.url, AB_CLIENT_ID: ags.clientId, AB_CLIENT_SECRET: ags.clientSecret, AB_NAMESPACE: 'mygame', RULES_FILE: rulesFile, STATE_STORE: backend.name };
      if (backend.name === 'redis') env.REDIS_URL = (await startRedis({ persist: true })).url;
    });
    afterEach(() => clients.closeAll());
    afterAll(async () => {
      await stopAll();
    });
    // two replicas for the tests that need no process of their own (players and countries of their own: the state
    // they count is theirs); started by the first test that asks, stopped after the suite; the kill -9 test runs last
    // and kills B
    const replicaA = sharedApp(() => ({ env }));
    const replicaB = sharedApp(() => ({ env }));

    const granted = (user: string, item: string): number => ags.fulfillments.filter((f) => f.userId === user && f.itemId === item).length;

    it('two replicas taking one player\'s distinct events at once: one first-login bonus, one third-login grant', async () => {
      const apps: AppProcess[] = await Promise.all([replicaA(), replicaB()]);
      const replicas: grpc.Client[] = apps.map((a) => clients.connect(a));
      const users = [userId(), userId(), userId()];
      const events: Encoded[] = [];
      for (const u of users) for (let i = 0; i < 6; i++) events.push(await encode(LOGIN_SERVICE, loginEvent({ id: `${u}-${i}`, userId: u })));
      // each event twice (a redelivery), on either replica, all at once
      let k = 0;
      await pool(
        [...events, ...events].map((e) => () => deliverUntilOk(() => replicas[k++ % 2]!, e)),
        12,
      );
      for (const u of users) {
        expect(granted(u, 'first-bonus'), u).toBe(1);
        expect(granted(u, 'third'), u).toBe(1);
      }
      expect(ags.violations).toEqual([]);
    });

    it('limit.key: players of one country on two replicas at once, each event delivered twice: two grants per country, kept in the country\'s own record', async () => {
      const apps: AppProcess[] = await Promise.all([replicaA(), replicaB()]);
      const replicas: grpc.Client[] = apps.map((a) => clients.connect(a));
      const countries = ['JP', 'BR', 'SE'];
      const players = new Map<string, string[]>(countries.map((c) => [c, [userId(), userId(), userId(), userId()]]));
      const events: Encoded[] = [];
      for (const [country, users] of players) for (const u of users) events.push(await encode(LOGIN_SERVICE, loginEvent({ id: `${u}-c`, userId: u, country })));
      let k = 0;
      await pool(
        [...events, ...events].map((e) => () => deliverUntilOk(() => replicas[k++ % 2]!, e)),
        12,
      );
      for (const [country, users] of players) {
        expect(users.reduce((n, u) => n + granted(u, 'country-pioneer'), 0), country).toBe(2);
        for (const u of users) expect(granted(u, 'country-pioneer'), u).toBeLessThanOrEqual(1);
      }
      if (backend.name === 'cloudsave') {
        // one admin game record per country (k- and a hash of the value), none of it in the players' records
        const ids = ags.cloudSave.adminRecordIds();
        for (const c of countries) expect(ids).toContain(`-/extend-event-rules-state-${documentKey('k', c)}`);
        for (const users of players.values()) for (const u of users) expect(JSON.stringify(ags.cloudSave.adminRecord(u, 'extend-event-rules-state')?.value ?? {})).not.toContain('first-two-per-country');
      }
      expect(ags.violations).toEqual([]);
    });

    it('a lifetime limit and a lifetime count survive kill -9', async () => {
      const u = userId();
      // replica B, last of the suite: killed here (it never saw this player; A never saw it either)
      const first = await replicaB();
      await deliverUntilOk(() => clients.connect(first), await encode(LOGIN_SERVICE, loginEvent({ id: `${u}-1`, userId: u })));
      await deliverUntilOk(() => clients.connect(first), await encode(LOGIN_SERVICE, loginEvent({ id: `${u}-2`, userId: u })));
      expect(granted(u, 'first-bonus')).toBe(1);
      first.child.kill('SIGKILL');
      await first.exited;
      const second = await replicaA(); // a process that never saw this player
      const c = clients.connect(second);
      await deliverUntilOk(() => c, await encode(LOGIN_SERVICE, loginEvent({ id: `${u}-2`, userId: u }))); // a redelivery: not counted again
      expect(granted(u, 'third')).toBe(0);
      await deliverUntilOk(() => c, await encode(LOGIN_SERVICE, loginEvent({ id: `${u}-3`, userId: u })));
      expect(granted(u, 'first-bonus')).toBe(1);
      expect(granted(u, 'third')).toBe(1);
    });
  });
}
