/**
 * The AGS transport's undici loading: undici's internal modules (the lean way), and its public index
 * when a later undici moved them (`loadUndici` with a loader that cannot find them), each making real
 * requests to a local HTTP server on loopback.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport, TransportError, UNDICI_INTERNAL_MODULES, loadUndici, logUndiciFallback } from '../../src/ags/transport.js';
import type { UndiciParts } from '../../src/ags/transport.js';

const nodeRequire = createRequire(import.meta.url);
const realRequire = (id: string): unknown => nodeRequire(id) as unknown;

/** A loader as a later undici would leave it: its internal modules are not where undici 7 keeps them. */
function movedInternals(loaded: string[]): (id: string) => unknown {
  return (id) => {
    loaded.push(id);
    if ((UNDICI_INTERNAL_MODULES as readonly string[]).includes(id)) throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
    return realRequire(id);
  };
}

let server: Server;
let base = '';
/** Requests the server saw: method, path with query, a header, body. */
const seen: { method: string; url: string; header: string | undefined; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', header: req.headers['x-probe'] as string | undefined, body: Buffer.concat(chunks).toString('utf8') });
      if (req.url?.startsWith('/hang')) return; // never answers: the attempt's timeout
      if (req.url?.startsWith('/chunked')) {
        // three chunks (no content-length), with a multi-byte character cut across two of them
        res.writeHead(201, { 'content-type': 'application/json' });
        const text = Buffer.from(`{"a":"${'x'.repeat(70_000)}","b":"é${'y'.repeat(70_000)}"}`);
        const cut = text.indexOf('é') + 1; // inside the two bytes of é
        res.write(text.subarray(0, cut));
        setImmediate(() => {
          res.write(text.subarray(cut, cut + 1000));
          setImmediate(() => res.end(text.subarray(cut + 1000)));
        });
        return;
      }
      res.writeHead(req.url?.startsWith('/missing') ? 404 : 200, { 'content-type': 'application/json', 'x-answer': 'yes' });
      res.end(JSON.stringify({ path: req.url }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('AGS transport: undici loaded by its internal modules, or its public index when they moved', () => {
  it('undici 7 (the pinned major): the internal modules, not the index', () => {
    const loaded: string[] = [];
    const parts = loadUndici((id) => {
      loaded.push(id);
      return realRequire(id);
    });
    expect(parts.from).toBe('internal');
    expect(loaded).toEqual([...UNDICI_INTERNAL_MODULES]);
  });

  it.each([
    ['cannot be loaded', (loaded: string[]) => movedInternals(loaded)],
    ['are not functions', (loaded: string[]) => (id: string) => (loaded.push(id), (UNDICI_INTERNAL_MODULES as readonly string[]).includes(id) ? {} : realRequire(id))],
  ])('internal modules that %s: the public index', (_name, loader) => {
    const loaded: string[] = [];
    const parts = loadUndici(loader(loaded));
    expect(parts.from).toBe('index');
    expect(loaded.at(-1)).toBe('undici');
  });

  it('the fallback is logged: one warning naming the modules and why, once per process; nothing when the internal modules are used', () => {
    const lines: { obj: object; msg: string }[] = [];
    const logger = { warn: (obj: object, msg: string): void => void lines.push({ obj, msg }) };
    expect(logUndiciFallback(logger, loadUndici())).toBe(false);
    const fallback = loadUndici(movedInternals([]));
    expect(fallback.fallbackReason).toContain(`Cannot find module '${UNDICI_INTERNAL_MODULES[0]}'`);
    expect(logUndiciFallback(logger, fallback)).toBe(true);
    expect(logUndiciFallback(logger, fallback)).toBe(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toContain(UNDICI_INTERNAL_MODULES[0]);
    expect(lines[0]?.msg).toContain("Cannot find module 'undici/lib/dispatcher/agent.js'");
    expect(lines[0]?.msg).toMatch(/public index/);
    const notFunctions = loadUndici((id) => ((UNDICI_INTERNAL_MODULES as readonly string[]).includes(id) ? {} : realRequire(id)));
    expect(notFunctions.fallbackReason).toBe('it exports object instead of a function');
  });

  const both: ReadonlyArray<[string, () => UndiciParts]> = [
    ['internal modules', () => loadUndici()],
    ['public index (fallback)', () => loadUndici(movedInternals([]))],
  ];

  it.each(both)('through the %s: GET with a query, POST with a body, an error status, headers both ways', async (_name, parts) => {
    const undici = parts();
    const transport = new HttpTransport({ undici });
    try {
      seen.length = 0;
      const got = await transport.send({ url: new URL(`${base}/platform/items?limit=100&offset=200`), method: 'GET', headers: { 'x-probe': 'get' }, timeoutMs: 10_000 });
      expect(got.status).toBe(200);
      expect(got.headers['x-answer']).toBe('yes');
      expect(JSON.parse(got.text)).toEqual({ path: '/platform/items?limit=100&offset=200' });

      const posted = await transport.send({ url: new URL(`${base}/fulfillment`), method: 'POST', headers: { 'content-type': 'application/json', 'x-probe': 'post' }, body: '{"quantity":1}', timeoutMs: 10_000 });
      expect(posted.status).toBe(200);

      const missing = await transport.send({ url: new URL(`${base}/missing/thing`), method: 'GET', headers: {}, timeoutMs: 10_000 });
      expect(missing.status).toBe(404);

      expect(seen).toEqual([
        { method: 'GET', url: '/platform/items?limit=100&offset=200', header: 'get', body: '' },
        { method: 'POST', url: '/fulfillment', header: 'post', body: '{"quantity":1}' },
        { method: 'GET', url: '/missing/thing', header: undefined, body: '' },
      ]);
    } finally {
      transport.close();
    }
  });

  it.each(both)('through the %s: an answer in several chunks is read whole; past maxBodyBytes it is cut; a refused connection is "network"', async (_name, parts) => {
    const whole = new HttpTransport({ undici: parts() });
    const capped = new HttpTransport({ undici: parts(), maxBodyBytes: 1000 });
    try {
      const got = await whole.send({ url: new URL(`${base}/chunked`), method: 'GET', headers: {}, timeoutMs: 10_000 });
      expect(got.status).toBe(201);
      expect(got.headers['content-type']).toBe('application/json');
      expect(JSON.parse(got.text)).toEqual({ a: 'x'.repeat(70_000), b: `é${'y'.repeat(70_000)}` });
      const cut = await capped.send({ url: new URL(`${base}/chunked`), method: 'GET', headers: {}, timeoutMs: 10_000 });
      expect(cut.text).toBe(`{"a":"${'x'.repeat(994)}`);
      // a port nothing listens on: the server's own, closed after reading its number
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as { port: number }).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const refused = await whole.send({ url: new URL(`http://127.0.0.1:${port}/x`), method: 'GET', headers: {}, timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TransportError);
      expect(refused).toMatchObject({ kind: 'network' });
    } finally {
      whole.close();
      capped.close();
    }
  });

  it.each(both)('through the %s: no answer within the attempt\'s timeout is a TransportError "timeout"; an aborted signal "aborted"', async (_name, parts) => {
    const transport = new HttpTransport({ undici: parts() });
    try {
      const late = await transport.send({ url: new URL(`${base}/hang`), method: 'GET', headers: {}, timeoutMs: 200 }).catch((e: unknown) => e);
      expect(late).toBeInstanceOf(TransportError);
      expect(late).toMatchObject({ kind: 'timeout' });
      const controller = new AbortController();
      const pending = transport.send({ url: new URL(`${base}/hang-abort`), method: 'GET', headers: {}, timeoutMs: 60_000, signal: controller.signal });
      await waitUntilSeen('/hang-abort');
      controller.abort();
      await expect(pending).rejects.toMatchObject({ kind: 'aborted' });
    } finally {
      transport.close();
    }
  });
});

/** Waits until the server saw a request to `path` (conditions, not time). */
async function waitUntilSeen(path: string): Promise<void> {
  while (!seen.some((s) => s.url === path)) await new Promise((r) => setImmediate(r));
}
