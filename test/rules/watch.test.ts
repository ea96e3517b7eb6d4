import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callRaw, rawClient, startHost } from '../server/support.js';
import { loadRules } from '../../src/rules/load.js';
import type { RulesLoadResult } from '../../src/rules/load.js';
import type { RuleSet } from '../../src/rules/rule-set.js';
import { watchRules } from '../../src/rules/watch.js';
import type { RulesWatcher } from '../../src/rules/watch.js';
import type { RulesCompileOptions } from '../../src/rules/validate.js';
import { LOGIN, fixtureCatalog, tempDir, testRegistry } from './support/fixtures.js';
import { waitFor } from '../support/wait.js';

/** Waits for a reload (test/support/wait.ts), argument order of this file. */
const waitForReload = (cond: () => boolean, what: string, timeoutMs?: number): Promise<true> => waitFor(what, cond, timeoutMs);

const rulesText = (names: string[]) =>
  `version: 1\nrules:\n${names.map((n) => `  - name: ${n}\n    on: userLoggedIn\n    do: [{ log: { message: ${n} } }]\n`).join('')}`;

let opts: RulesCompileOptions;
beforeAll(async () => {
  opts = { catalog: await fixtureCatalog(), registry: testRegistry(), env: {}, unsetEnv: 'error' };
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

describe('watchRules', () => {
  it('swaps in a valid file, reports an invalid one (the caller keeps the old set), ignores unchanged saves', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const file = tmp.write('rules.yaml', rulesText(['one']));
    const first = await loadRules({ ...opts, file });
    expect(first.ok).toBe(true);
    let current = (first as { rules: RuleSet }).rules;
    const results: RulesLoadResult[] = [];
    const watcher: RulesWatcher = watchRules({
      ...opts,
      file,
      debounceMs: 50,
      onReload(result) {
        results.push(result);
        if (result.ok) current = result.rules;
      },
    });
    cleanups.push(() => watcher.close());

    // a valid change: swapped in
    writeFileSync(file, rulesText(['one', 'two']));
    await waitForReload(() => results.length === 1, 'the first reload');
    expect(results[0]!.ok).toBe(true);
    expect(current.rulesFor(LOGIN).map((r) => r.name)).toEqual(['one', 'two']);

    // an invalid change: problems reported, the old set stays in use
    writeFileSync(file, rulesText(['one', 'two']).replace('userLoggedIn', 'userLogedIn'));
    await waitForReload(() => results.length === 2, 'the second reload');
    const bad = results[1]!;
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.problems.map((p) => [p.code, p.line])).toEqual([['unknown-event', 4]]);
    expect(current.rulesFor(LOGIN).map((r) => r.name)).toEqual(['one', 'two']);

    // an editor-style save (write a temp file, rename over) with new content
    const staged = join(tmp.dir, '.rules.yaml.tmp');
    writeFileSync(staged, rulesText(['three']));
    renameSync(staged, file);
    await waitForReload(() => results.length === 3, 'the third reload');
    expect(current.rulesFor(LOGIN).map((r) => r.name)).toEqual(['three']);

    // saving the same content does not reload; the next real change is the 4th result
    writeFileSync(file, rulesText(['three']));
    writeFileSync(join(tmp.dir, 'other.txt'), 'unrelated');
    writeFileSync(file, rulesText(['three']));
    writeFileSync(file, rulesText(['four']));
    await waitForReload(() => current.rulesFor(LOGIN)[0]?.name === 'four', 'the fourth rule set');
    expect(results).toHaveLength(4);
  });

  it('close() stops reporting', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const file = tmp.write('rules.yaml', rulesText(['one']));
    const results: RulesLoadResult[] = [];
    const watcher = watchRules({ ...opts, file, debounceMs: 10, onReload: (r) => results.push(r) });
    watcher.close();
    writeFileSync(file, rulesText(['two']));
    // a second watcher proves the change was observable; the closed one stays silent
    const seen: RulesLoadResult[] = [];
    const probe = watchRules({ ...opts, file, debounceMs: 10, onReload: (r) => seen.push(r) });
    cleanups.push(() => probe.close());
    writeFileSync(file, rulesText(['three']));
    await waitForReload(() => seen.length >= 1, 'the probe reload');
    expect(results).toEqual([]);
  });
});

/** Waits for a result whose first LOGIN rule is `name` (a valid reload of that file). */
function loaded(results: RulesLoadResult[], name: string): () => boolean {
  return () => results.some((r) => r.ok && r.rules.rulesFor(LOGIN)[0]?.name === name);
}

function watchInto(file: string, extra: Partial<Parameters<typeof watchRules>[0]> = {}): RulesLoadResult[] {
  const results: RulesLoadResult[] = [];
  const watcher = watchRules({ ...opts, file, debounceMs: 30, settleMs: 30, ...extra, onReload: (r) => results.push(r) });
  cleanups.push(() => watcher.close());
  return results;
}

describe('watchRules never serves a wrong file', () => {
  const VIP_ONLY = `version: 1
rules:
  - name: vip-only
    on: userLoggedIn
    do: [{ log: { message: vip } }]
    when: { "==": [ { var: namespace }, "vip" ] }
`;

  it('a file written in place in two chunks is loaded only once complete (the half file, a rule without its when, never)', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const file = tmp.write('rules.yaml', rulesText(['one']));
    const cut = VIP_ONLY.indexOf('    when:');
    let fd: number | undefined;
    let settles = 0;
    const results = watchInto(file, {
      // the writer's second chunk lands between the watcher's two reads
      settle: () => {
        settles++;
        if (fd !== undefined) {
          writeSync(fd, VIP_ONLY.slice(cut));
          closeSync(fd);
          fd = undefined;
        }
        return Promise.resolve();
      },
    });
    fd = openSync(file, 'w'); // truncates in place, like an editor writing over the file
    writeSync(fd, VIP_ONLY.slice(0, cut)); // valid YAML: a rule that matches every event
    await waitForReload(loaded(results, 'vip-only'), 'the complete file');
    expect(settles).toBeGreaterThanOrEqual(2);
    for (const r of results) {
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.rules.evaluate(LOGIN, { namespace: 'not-vip', payload: {} }).plan).toEqual([]);
    }
  });

  it('follows a symlinked RULES_FILE: edits of the target in its own directory (in place and rename over) reload', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const real = join(tmp.dir, 'config', 'rules.yaml');
    mkdirSync(join(tmp.dir, 'config'));
    mkdirSync(join(tmp.dir, 'app'));
    writeFileSync(real, rulesText(['one']));
    const link = join(tmp.dir, 'app', 'rules.yaml');
    symlinkSync(real, link);
    const results = watchInto(link);
    writeFileSync(real, rulesText(['in-place']));
    await waitForReload(loaded(results, 'in-place'), 'the in-place edit of the target');
    writeFileSync(join(tmp.dir, 'config', '.tmp'), rulesText(['renamed']));
    renameSync(join(tmp.dir, 'config', '.tmp'), real);
    await waitForReload(loaded(results, 'renamed'), 'the rename over the target');
    // the link itself re-pointed at another file
    writeFileSync(join(tmp.dir, 'config', 'other.yaml'), rulesText(['relinked']));
    symlinkSync(join(tmp.dir, 'config', 'other.yaml'), join(tmp.dir, 'app', '.link'));
    renameSync(join(tmp.dir, 'app', '.link'), link);
    await waitForReload(loaded(results, 'relinked'), 'the re-pointed link');
    writeFileSync(join(tmp.dir, 'config', 'other.yaml'), rulesText(['new-target']));
    await waitForReload(loaded(results, 'new-target'), 'an edit of the new target');
  });

  it('follows a Kubernetes ConfigMap mount: rules.yaml -> ..data/rules.yaml, ..data -> ..2026_x swapped atomically', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const mount = join(tmp.dir, 'mount');
    mkdirSync(join(mount, '..2026_01'), { recursive: true });
    writeFileSync(join(mount, '..2026_01', 'rules.yaml'), rulesText(['one']));
    symlinkSync('..2026_01', join(mount, '..data'));
    symlinkSync('..data/rules.yaml', join(mount, 'rules.yaml'));
    const results = watchInto(join(mount, 'rules.yaml'));
    // what the kubelet does: a new timestamped dir, a temp link to it, renamed over ..data, the old dir removed
    for (const [n, name] of [[2, 'two'], [3, 'three']] as const) {
      mkdirSync(join(mount, `..2026_0${n}`));
      writeFileSync(join(mount, `..2026_0${n}`, 'rules.yaml'), rulesText([name]));
      symlinkSync(`..2026_0${n}`, join(mount, '..data_tmp'));
      renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
      rmSync(join(mount, `..2026_0${n - 1}`), { recursive: true });
      await waitForReload(loaded(results, name), `ConfigMap update ${n}`);
    }
  });

  it('a FIFO at the path is refused without blocking (a problem, the old rules stay), and the next regular file loads', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const file = tmp.write('rules.yaml', rulesText(['one']));
    const results = watchInto(file);
    execFileSync('mkfifo', [join(tmp.dir, 'pipe')]);
    renameSync(join(tmp.dir, 'pipe'), file);
    await waitForReload(() => results.some((r) => !r.ok), 'the refusal');
    const refused = results.find((r) => !r.ok);
    expect(refused?.ok === false && refused.problems.map((p) => p.message)).toEqual([`${file} is a FIFO (named pipe): the rules file must be a regular file`]);
    writeFileSync(join(tmp.dir, '.tmp'), rulesText(['after']));
    renameSync(join(tmp.dir, '.tmp'), file);
    await waitForReload(loaded(results, 'after'), 'the regular file after the FIFO');
  });

  it('a file over 16 MiB is refused from its size, without being read', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const file = tmp.write('rules.yaml', rulesText(['one']));
    const results = watchInto(file);
    const fd = openSync(join(tmp.dir, '.big'), 'w');
    writeSync(fd, 'x', 16 * 1024 * 1024 + 10); // sparse: 16 MiB + 11 bytes
    closeSync(fd);
    renameSync(join(tmp.dir, '.big'), file);
    await waitForReload(() => results.some((r) => !r.ok), 'the refusal');
    const refused = results.find((r) => !r.ok);
    expect(refused?.ok === false && refused.problems.map((p) => [p.code, p.message])).toEqual([['limits', 'the file is 16777227 bytes: the limit is 16777216 (16 MiB)']]);
  });

  it('gRPC calls keep being answered while a large file is compiled', async () => {
    const host = await startHost({ catalog: opts.catalog });
    const client = rawClient(host.address);
    cleanups.push(() => void host.host.shutdown(0));
    cleanups.push(() => client.close());
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const file = tmp.write('rules.yaml', rulesText(['one']));
    const order: string[] = [];
    const answers: Promise<unknown>[] = [];
    const path = `/${LOGIN}/OnMessage`;
    const results = watchInto(file, {
      onCompiling() {
        order.push('compiling');
        // calls made once compiling has started must be answered before it ends
        for (let i = 0; i < 3; i++) {
          answers.push(
            callRaw(client, path, new Uint8Array(0)).then((r) => {
              order.push(r.code === grpc.status.OK ? 'answered' : `code ${r.code}`);
            }),
          );
        }
      },
    });
    // 10,000 rules (the bench's large file, docs/performance.md): about a second of compiling in 10 ms slices, while a
    // loopback call takes milliseconds (was 20,000)
    const names = Array.from({ length: 10_000 }, (_, i) => `big-${i}`);
    writeFileSync(join(tmp.dir, '.tmp'), rulesText(names));
    renameSync(join(tmp.dir, '.tmp'), file);
    await waitForReload(() => results.length > 0, 'the big reload', 120_000);
    order.push('reloaded');
    await Promise.all(answers);
    expect(results[0]!.ok).toBe(true);
    expect(order).toEqual(['compiling', 'answered', 'answered', 'answered', 'reloaded']);
  }, 180_000);
});

describe('watchRules reloads on a change of a topic schema (typed topics, issue 25)', () => {
  const TOPIC_RULES = `version: 1
rules:
  - name: chest
    on: { topic: weekly-reset }
    when: { "==": [ { var: body.userId }, "u" ] }
    do: [{ log: { message: chest } }]
`;
  const problems = (r: RulesLoadResult | undefined): string => (r && !r.ok ? r.problems.map((p) => p.message).join('\n') : '');

  it('a schema added, changed, broken, removed, and the folder removed: each reloads, a bad schema is a rejected reload', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const file = tmp.write('rules.yaml', TOPIC_RULES);
    expect((await loadRules({ ...opts, file })).ok).toBe(true);
    const results = watchInto(file);
    const schemaFile = join(tmp.dir, 'topics', 'weekly-reset.schema.json');

    // the folder and a schema without userId: the rule reads a path the schema does not have
    mkdirSync(join(tmp.dir, 'topics'));
    writeFileSync(schemaFile, JSON.stringify({ type: 'object', properties: { playerId: { type: 'string' } } }));
    await waitForReload(() => results.some((r) => !r.ok), 'the reload rejected by the new schema');
    expect(problems(results.find((r) => !r.ok))).toContain('has no field "userId"');

    // the schema fixed: a valid reload
    const before = results.length;
    writeFileSync(schemaFile, JSON.stringify({ type: 'object', properties: { userId: { type: 'string' } } }));
    await waitForReload(() => results.slice(before).some((r) => r.ok), 'the reload with the fixed schema');

    // a schema that is not JSON: rejected, with the file named
    const fixed = results.length;
    writeFileSync(schemaFile, '{ not json');
    await waitForReload(() => results.slice(fixed).some((r) => !r.ok), 'the reload rejected by the broken schema');
    expect(problems(results.slice(fixed).find((r) => !r.ok))).toContain("weekly-reset.schema.json cannot type the topic's body");

    // the schema removed: untyped again, valid
    const broken = results.length;
    rmSync(schemaFile);
    await waitForReload(() => results.slice(broken).some((r) => r.ok), 'the reload without the schema');

    // a schema renamed in (editor-style save) and then the whole folder removed
    const removed = results.length;
    writeFileSync(join(tmp.dir, 'topics', '.tmp'), JSON.stringify({ type: 'object', properties: { other: { type: 'string' } } }));
    renameSync(join(tmp.dir, 'topics', '.tmp'), schemaFile);
    await waitForReload(() => results.slice(removed).some((r) => !r.ok), 'the reload rejected by the renamed-in schema');
    const renamed = results.length;
    rmSync(join(tmp.dir, 'topics'), { recursive: true, force: true });
    await waitForReload(() => results.slice(renamed).some((r) => r.ok), 'the reload without the folder');
  });
});
