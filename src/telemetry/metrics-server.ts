/**
 * The Prometheus endpoint: plain node:http on PROMETHEUS_PORT (default 8080),
 * path PROMETHEUS_ENDPOINT (default /metrics), as the templates serve it.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

/** The templates' metrics port and path (`PROMETHEUS_PORT`, `PROMETHEUS_ENDPOINT` defaults). */
export const DEFAULT_METRICS_PORT = 8080;
export const DEFAULT_METRICS_PATH = '/metrics';

/** Why the metrics port cannot be bound when another process holds it: what to do, with the variables. */
const METRICS_PORT_IN_USE = 'the port is already in use (by another process: an earlier npm start still running?); stop it, or set PROMETHEUS_PORT to a free port (ENABLE_PROMETHEUS=false: no metrics)';

export interface MetricsServerOptions {
  readonly metrics: Metrics;
  /** Port. Default 8080; 0 picks a free one. */
  readonly port?: number;
  /** Bind address. Default `0.0.0.0`. */
  readonly host?: string;
  /** Path. Default `/metrics`. */
  readonly path?: string;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const path = options.path ?? DEFAULT_METRICS_PATH;
  const registry = options.metrics.registry;
  // node:http loaded here, not at import: the CLI's commands load this folder and serve no metrics
  const { createServer } = await import('node:http');
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || url !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: the metrics are at ${path}\n`);
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
    );
  });
  server.keepAliveTimeout = 5_000;
  const port = options.port ?? DEFAULT_METRICS_PORT;
  const host = options.host ?? '0.0.0.0';
  await new Promise<void>((resolvePromise, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => reject(err.code === 'EADDRINUSE' ? new Error(`cannot serve metrics on ${host}:${String(port)}: ${METRICS_PORT_IN_USE}`) : err);
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolvePromise();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.closeAllConnections();
        server.close(() => resolvePromise());
      }),
  };
}
