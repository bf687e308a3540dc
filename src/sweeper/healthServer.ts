import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { SweeperHealth } from './sweeper.js';

/**
 * `/healthz` and `/metrics` for the watch-mode sidecar. Plain HTTP on purpose: neither carries a
 * secret, the kubelet probes it, and Prometheus scrapes it without a client certificate. It
 * serves nothing else.
 */
export interface HealthServerOptions {
  host: string;
  port: number;
  /** A function when the registry is rebuilt over time (the controller's restarts on a config change). */
  registry: Registry | (() => Registry);
  health: () => SweeperHealth;
}

export interface HealthServer {
  /** The bound address (useful with port 0). */
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      const health = options.health();
      res
        .writeHead(health.healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(req.method === 'HEAD' ? undefined : `${JSON.stringify(health)}\n`);
      return;
    }
    if (path === '/metrics') {
      const registry = typeof options.registry === 'function' ? options.registry() : options.registry;
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics unavailable: ${err instanceof Error ? err.message : String(err)}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
  });
  // Probes and scrapes are tiny; do not let a slow client hold a socket open.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
