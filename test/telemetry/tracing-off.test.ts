/**
 * Issue 6, "tracing off costs nothing measurable": with no exporter chosen,
 * the built app starts without loading the OpenTelemetry SDK at all (only
 * the API); with an exporter (console, zipkin) the SDK is loaded. Checked in
 * a fresh `node` process that starts the app (dry run, no AGS) and lists the
 * `@opentelemetry/*` packages in the module cache (the SDK packages are
 * CommonJS, so an `import()` of them lands in `require.cache`). The three
 * tracing-off configurations share one probe process, started one after the
 * other, the cache listed after each: it only grows, so a start that loaded
 * the SDK shows in its own list and every list after it (startTracing
 * decides per call, from its options; there is no once-per-process state).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { describeWith } from '../support/prereq.js';
import { DIST_MAIN, PROTO_DIR, RULES_FILE, builtApp, tempDir } from '../e2e/support.js';

const PROBE = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { startApp } = await import(process.env.PROBE_MAIN);
const lists = [];
for (const env of JSON.parse(process.env.PROBE_ENVS)) {
  const app = await startApp({ env });
  const packages = new Set();
  for (const file of Object.keys(require.cache)) {
    const m = /node_modules\\/(@opentelemetry\\/[^/]+)\\//.exec(file);
    if (m) packages.add(m[1]);
  }
  await app.shutdown('probe done');
  lists.push([...packages].sort());
}
process.stdout.write('PROBE ' + JSON.stringify(lists) + '\\n');
`;

/**
 * Starts the app in a fresh process with each of `extras` over the base env in turn (each start shut down before
 * the next); returns the `@opentelemetry/*` packages loaded after each start.
 */
async function loadedPackagesEach(...extras: Record<string, string>[]): Promise<string[][]> {
  const dir = tempDir('eer-telemetry-off-');
  const probe = join(dir, 'probe.mjs');
  writeFileSync(probe, PROBE);
  const envs = extras.map((extra, i) => ({
    PORT: '0',
    ENABLE_PROMETHEUS: 'false',
    PROTO_DIR,
    RULES_FILE,
    RULES_WATCH: 'false',
    DEAD_LETTER_FILE: join(dir, `dead-letters-${i}.jsonl`),
    LOG_LEVEL: 'silent',
    ...extra,
  }));
  const child = spawn(process.execPath, [probe], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', PROBE_MAIN: pathToFileURL(DIST_MAIN).href, PROBE_ENVS: JSON.stringify(envs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((res) => child.once('close', (c) => res(c)));
  const line = out.split('\n').find((l) => l.startsWith('PROBE '));
  if (code !== 0 || !line) throw new Error(`probe failed (exit ${code}): ${err.slice(-1500)} ${out.slice(-500)}`);
  return JSON.parse(line.slice('PROBE '.length)) as string[][];
}

/** The packages one start with `extra` loaded, in a process of its own. */
async function loadedPackages(extra: Record<string, string>): Promise<string[]> {
  return (await loadedPackagesEach(extra))[0]!;
}

describeWith(builtApp(), 'tracing off loads no OpenTelemetry SDK (issue 6)', () => {
  // the default, OTEL_TRACES_EXPORTER=none, and ENABLE_ZIPKIN=false with a Zipkin endpoint: one probe, three starts
  let off: Promise<string[][]> | undefined;
  const offLists = (): Promise<string[][]> =>
    (off ??= loadedPackagesEach({}, { OTEL_TRACES_EXPORTER: 'none' }, { ENABLE_ZIPKIN: 'false', OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://127.0.0.1:1/api/v2/spans' }));

  it('no exporter (the default): only @opentelemetry/api is loaded', async () => {
    const [loaded] = await offLists();
    expect(loaded).toEqual(['@opentelemetry/api']);
  });

  it('OTEL_TRACES_EXPORTER=none and ENABLE_ZIPKIN=false with a Zipkin endpoint: still only the API', async () => {
    const [, none, zipkinOff] = await offLists();
    expect(none).toEqual(['@opentelemetry/api']);
    expect(zipkinOff).toEqual(['@opentelemetry/api']);
  });

  it('OTEL_TRACES_EXPORTER=console: the SDK is loaded (so the checks above can fail)', async () => {
    const loaded = await loadedPackages({ OTEL_TRACES_EXPORTER: 'console' });
    expect(loaded).toContain('@opentelemetry/sdk-node');
    expect(loaded).toContain('@opentelemetry/sdk-trace-base');
    expect(loaded).toContain('@opentelemetry/propagator-b3');
  });

  it('a Zipkin endpoint (the templates\' setting) turns tracing on: SDK and Zipkin exporter loaded', async () => {
    const loaded = await loadedPackages({ OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://127.0.0.1:1/api/v2/spans' });
    expect(loaded).toContain('@opentelemetry/sdk-node');
    expect(loaded).toContain('@opentelemetry/exporter-zipkin');
  });
});
