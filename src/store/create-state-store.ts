/**
 * Picks and opens the state store (`STATE_STORE`): `cloudsave` (checks its
 * Cloud Save permissions first), `redis` (waits for Redis to answer; ioredis
 * imported only then) or `memory` (with a warning in a live run saying what it
 * loses).
 */
import type { Logger } from 'pino';
import type { AgsClient } from '../ags/index.js';
import { CloudSaveStateStore } from './cloudsave-state-store.js';
import { probeCloudSavePermissions } from './cloudsave-probe.js';
import { MemoryStateStore } from './memory-state-store.js';
import type { StateStore, StoreKind } from './state-store.js';

export interface CreateStateStoreOptions {
  readonly kind: StoreKind;
  /** A live run (actions reach AGS): memory then warns. */
  readonly live: boolean;
  /** cloudsave: the logged-in client. Required for cloudsave. */
  readonly ags?: AgsClient;
  /** cloudsave: `AB_NAMESPACE`, where the records live and the permission probe runs. */
  readonly namespace: string;
  /** cloudsave: check the permissions at start. Default: true. */
  readonly probe?: boolean;
  /** redis: `REDIS_URL`. Required for redis. */
  readonly redisUrl?: string;
  /** redis: how long to wait for it at start, ms. Default: 5000. */
  readonly connectTimeoutMs?: number;
  /** memory: most partitions. Default: 100000. */
  readonly maxPartitions?: number;
  /** memory: most bytes of documents (estimated JSON size). Default: 256 MiB. */
  readonly maxBytes?: number;
  readonly logger?: Logger;
}

/** The store could not be opened (a setting to fix). The message says which. */
export class StateStoreStartError extends Error {
  override readonly name = 'StateStoreStartError';
}

/** What the memory store loses, said at start-up of a live run. */
export const MEMORY_STORE_WARNING =
  'STATE_STORE=memory in a live run: idempotency marks live in this process only. A restart or redeploy forgets them (events the sidecar redelivers are applied again), ' +
  'and replicas do not share them (an event delivered to two replicas is applied twice). Use STATE_STORE=cloudsave (the default) or redis for more than one replica or any restart.';

export async function createStateStore(options: CreateStateStoreOptions): Promise<StateStore> {
  switch (options.kind) {
    case 'memory':
      if (options.live) options.logger?.warn({ store: 'memory' }, MEMORY_STORE_WARNING);
      return new MemoryStateStore({ ...(options.maxPartitions !== undefined ? { maxPartitions: options.maxPartitions } : {}), ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}) });
    case 'redis': {
      if (!options.redisUrl) throw new StateStoreStartError('STATE_STORE=redis needs REDIS_URL');
      const { createRedisStateStore } = await import('./redis-state-store.js');
      const timeoutMs = options.connectTimeoutMs ?? 5000;
      const store = await createRedisStateStore({ url: options.redisUrl, ...(options.logger ? { logger: options.logger } : {}) });
      try {
        await store.ready(timeoutMs);
      } catch (error) {
        await store.close();
        throw new StateStoreStartError(
          `the state store at REDIS_URL did not answer within ${timeoutMs} ms (${error instanceof Error ? error.message : String(error)}): ` +
            'check REDIS_URL and that Redis is running, or unset REDIS_URL to use AGS Cloud Save',
        );
      }
      return store;
    }
    case 'cloudsave': {
      if (!options.ags) throw new StateStoreStartError('STATE_STORE=cloudsave needs AGS credentials (AB_CLIENT_ID, AB_CLIENT_SECRET)');
      if (options.probe ?? true) {
        try {
          await probeCloudSavePermissions(options.ags, options.namespace);
        } catch (error) {
          throw new StateStoreStartError(`cannot use AGS Cloud Save as the state store: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return new CloudSaveStateStore({ ags: options.ags, ...(options.logger ? { logger: options.logger } : {}) });
    }
  }
}
