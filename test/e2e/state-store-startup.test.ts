/**
 * Start-up checks of the state store and the dead letters (issue 13): the Cloud
 * Save permission probe names the missing permission, STATE_STORE=memory in a
 * live run says what it loses, an unwritable DEAD_LETTER_FILE stops the app.
 */
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { liveEnv, useAgsStandIn } from '../support/ags-fixture.js';
import { describeWith } from '../support/prereq.js';
import { builtApp, startApp, stopAll, tempDir } from './support.js';

describeWith(builtApp(), 'e2e: state store start-up (issue 13)', () => {
  const ags = useAgsStandIn();
  const env = (extra: Record<string, string> = {}): Record<string, string> => liveEnv(ags, extra);
  afterEach(async () => {
    await stopAll();
  });

  it.each([
    ['adminPutAdminPlayerRecordConcurrentHandlerV1', 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:CLOUDSAVE:RECORD [CREATE,READ,UPDATE,DELETE]'],
    ['adminGetAdminPlayerRecordV1', 'ADMIN:NAMESPACE:{namespace}:USER:{userId}:CLOUDSAVE:RECORD [CREATE,READ,UPDATE,DELETE]'],
    ['adminPutAdminGameRecordConcurrentHandlerV1', 'ADMIN:NAMESPACE:{namespace}:CLOUDSAVE:RECORD [CREATE,READ,UPDATE,DELETE]'],
    ['bulkGetAdminPlayerRecordByUserIdsV1', 'ADMIN:NAMESPACE:{namespace}:CLOUDSAVE:RECORD [CREATE,READ,UPDATE,DELETE]'],
  ])('the IAM client may not call %s: the app stops, naming %s', async (operation, permission) => {
    ags.deny([operation]);
    const app = await startApp({ env: env(), waitServing: false });
    expect((await app.exited).code).toBe(1);
    expect(app.stderr()).toContain(`lacks ${permission} in namespace mygame`);
    expect(app.stderr()).toMatch(/choose another STATE_STORE/);
  });

  it('STATE_STORE=memory in a live run: a warning says what it loses', async () => {
    const app = await startApp({ env: env({ STATE_STORE: 'memory' }) });
    const line = await app.waitForLog(/^STATE_STORE=memory in a live run/);
    expect(line.level).toBe('warn');
    expect(line.msg).toMatch(/restart or redeploy forgets them/);
    expect(line.msg).toMatch(/replicas do not share them/);
    expect(ags.serviceRequests().filter((q) => q.path.startsWith('/cloudsave/'))).toEqual([]);
  });

  it('STATE_STORE=memory: an unwritable DEAD_LETTER_FILE stops the app at start-up, naming it', async () => {
    const path = join(tempDir('eer-e2e-dlf-'), 'missing-dir', 'dead-letters.jsonl');
    const app = await startApp({ env: env({ STATE_STORE: 'memory', DEAD_LETTER_FILE: path }), waitServing: false });
    expect((await app.exited).code).toBe(1);
    expect(app.stderr()).toContain(`DEAD_LETTER_FILE: cannot write dead letter to ${path}`);
  });
});
