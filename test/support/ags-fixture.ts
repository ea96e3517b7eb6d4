/**
 * The AGS stand-in as a suite fixture, and the environment of a live app
 * pointed at it: the one way tests set them up.
 *
 * ```ts
 * describeWith(builtApp(), 'e2e: ...', () => {
 *   const ags = useAgsStandIn();                 // started beforeAll, reset afterEach, closed afterAll
 *   it('...', async () => {
 *     const app = await startApp({ env: liveEnv(ags, { STATE_STORE: 'memory' }) });
 *     ...
 *     expect(ags.grants()).toBe(1);
 *   });
 * });
 * ```
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { AgsClient } from '../../src/ags/client.js';
import { startAgsStandIn } from './ags-stand-in.js';
import type { AgsStandIn, AgsStandInOptions } from './ags-stand-in.js';

/**
 * Starts an AGS stand-in before the suite's tests (127.0.0.1, port 0), resets
 * it after each test (requests, effects, scripted answers, fault rate; tokens
 * stay valid), closes it after the suite. Call it first in the suite: hooks
 * run in reverse order after the tests, so the suite's own afterAll (stopping
 * the app processes) runs before the stand-in closes.
 *
 * Returns the stand-in itself, usable as soon as `beforeAll` has run (a
 * forwarding proxy: reading it at collection time throws).
 */
export function useAgsStandIn(options: AgsStandInOptions = {}, hooks: { readonly resetAfterEach?: boolean } = {}): AgsStandIn {
  let current: AgsStandIn | undefined;
  beforeAll(async () => {
    current = await startAgsStandIn(options);
  });
  if (hooks.resetAfterEach ?? true)
    afterEach(() => {
      current?.reset();
    });
  afterAll(async () => {
    await current?.close();
    current = undefined;
  });
  return new Proxy({} as AgsStandIn, {
    get(_target, prop) {
      if (!current) throw new Error(`the AGS stand-in is read before beforeAll started it (${String(prop)})`);
      const value: unknown = Reflect.get(current, prop, current);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(current) : value;
    },
  });
}

/**
 * The environment of a live run against the stand-in: its URL and client
 * credentials, namespace `mygame`, `ITEM_ID_TO_GRANT=item-1` (the fixture's
 * rules grant it), then `extra` over them.
 */
export function liveEnv(ags: Pick<AgsStandIn, 'url' | 'clientId' | 'clientSecret'>, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    AB_BASE_URL: ags.url,
    AB_CLIENT_ID: ags.clientId,
    AB_CLIENT_SECRET: ags.clientSecret,
    AB_NAMESPACE: 'mygame',
    ITEM_ID_TO_GRANT: 'item-1',
    ...extra,
  };
}

/**
 * The AGS stand-in of {@link useAgsStandIn} (not reset between tests) and a
 * factory of AGS clients pointed at it (retry backoff 1 ms), all closed after
 * the suite: the set-up of tests that drive a store or the client directly.
 */
export function useAgsClients(options: AgsStandInOptions = {}): { readonly ags: AgsStandIn; readonly client: () => AgsClient } {
  const ags = useAgsStandIn(options, { resetAfterEach: false });
  const clients: AgsClient[] = [];
  afterAll(() => {
    for (const c of clients.splice(0)) c.close();
  });
  return {
    ags,
    client: (): AgsClient => {
      const c = new AgsClient({ baseUrl: ags.url, clientId: ags.clientId, clientSecret: ags.clientSecret, backoffBaseMs: 1 });
      clients.push(c);
      return c;
    },
  };
}
