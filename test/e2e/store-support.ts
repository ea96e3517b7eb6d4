/** End-to-end helpers about the state store: its marks in Redis or Cloud Save, and AGS calls that are not the store's. */
import { Redis } from 'ioredis';
import { markIn as ledgerMark } from '../../src/delivery/action-ledger.js';
import type { StateDocument } from '../../src/store/state-store.js';
import { DEFAULT_RECORD_KEY } from '../../src/store/cloudsave-state-store.js';
import type { AgsStandIn, RecordedRequest } from '../support/ags-stand-in.js';

/** A ledger entry as stored: `s` c/d/x/f, `e` retention end, `l` lease end (ms since epoch). */
export interface Mark {
  readonly s: 'c' | 'd' | 'x' | 'f';
  readonly e: number;
  readonly l?: number;
  readonly u?: number;
  readonly n?: number;
}

/** The state store's own calls (Cloud Save admin records, bulk reads of players' records included). */
export function isStoreCall(q: RecordedRequest): boolean {
  return /^\/cloudsave\/v1\/admin\/namespaces\/[^/]+\/(users\/([^/]+\/)?)?(concurrent\/)?adminrecords\//.test(q.path);
}

/** Service requests other than the state store's: the actions' effects and lookups. */
export function actionCalls(ags: AgsStandIn): RecordedRequest[] {
  return ags.serviceRequests().filter((q) => !isStoreCall(q));
}

function markIn(doc: unknown, key: string): Mark | undefined {
  return ledgerMark(doc as StateDocument | undefined, key);
}

/** The mark of an idempotency key in a player's Cloud Save admin record. */
export function cloudSaveMark(ags: AgsStandIn, userId: string | undefined, key: string): Mark | undefined {
  return markIn(ags.cloudSave.adminRecord(userId, DEFAULT_RECORD_KEY)?.value.doc, key);
}

/** The mark of an idempotency key in a player's Redis document (key prefix `eer:`). */
export async function redisMark(url: string, userId: string | undefined, key: string, namespace = 'mygame'): Promise<Mark | undefined> {
  const r = new Redis(url);
  try {
    const d = await r.hget(`eer:s:${namespace}:${userId ?? '-'}`, 'd');
    return d ? markIn(JSON.parse(d), key) : undefined;
  } finally {
    r.disconnect();
  }
}
