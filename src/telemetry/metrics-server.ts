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
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_METRICS_PORT, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
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
