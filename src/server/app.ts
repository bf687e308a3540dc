import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { LogController, fastify, type FastifyBaseLogger } from 'fastify';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { ApprovalApi } from '../admission/approvalApi.js';
import { createAdmissionHandlers } from '../admission/grantRequests.js';
import { DEFAULT_ENVELOPE_LIMITS, type EnvelopeLimits } from '../admission/review.js';
import type { ClusterViewStatus } from '../cluster/informerView.js';
import type { ClusterView } from '../cluster/view.js';
import type { ConfigSource } from '../config/store.js';
import type { TlsMaterial, TlsSource } from '../tls/source.js';
import { connectionsCheckingIntervalMs, DEFAULT_SERVER_BOUNDS, serverBoundsProblems, type ServerBounds } from './bounds.js';
import { installErrorHandling } from './errors.js';
import { healthRoutes } from './health.js';
import { installLargeBodyGate } from './largeBodies.js';
import { ServerLifecycle } from './lifecycle.js';
import { GuardMetrics, metricsRoutes, type Endpoint } from './metrics.js';
import { ADMISSION_ENDPOINTS, admissionRoutes } from './routes.js';
import type { AdmissionHandlers, GuardFastify } from './types.js';

export type { AdmissionHandlers, GuardFastify, ServerAdmissionHandler } from './types.js';

export const DEFAULT_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

export interface BuildServerOptions {
  config: ConfigSource;
  tls: TlsSource;
  /** Default: the real handlers (NetworkPolicies, and GrantRequests with `approvalApi`). */
  handlers?: Partial<AdmissionHandlers>;
  /**
   * The API calls approvals need (SubjectAccessReview, a live GrantRequest read). Absent: GrantRequest
   * approvals and the controller's grants in profiles that require approval are refused (fail closed).
   */
  approvalApi?: ApprovalApi;
  /** The decision clock handed to handlers; default `() => new Date()`. */
  now?: () => Date;
  /** Default: a pino logger at info level writing JSON lines to stdout. */
  logger?: Logger;
  /** Default: a new Registry. Use one registry per server; metric names would collide. */
  registry?: Registry;
  /** Largest accepted request body in bytes (413 above it); default 4 MiB. */
  bodyLimit?: number;
  limits?: Partial<EnvelopeLimits>;
  /** Node process metrics (collectDefaultMetrics) on the registry; default true. */
  defaultMetrics?: boolean;
  /** Timeouts and the connection cap; each unset one takes DEFAULT_SERVER_BOUNDS' value. */
  bounds?: Partial<ServerBounds>;
  /** The read-only cluster view handed to handlers, with its status for /readyz and metrics. Absent: none. */
  clusterView?: ClusterView & { status(): ClusterViewStatus };
}

export interface GuardServer {
  /** The fastify instance: `inject()` for tests, `close()` to stop (see shutdownServer). */
  readonly app: GuardFastify;
  readonly metrics: GuardMetrics;
  readonly lifecycle: ServerLifecycle;
  /** Starts listening; resolves to the base URL (`https://host:port`) and the bound port. */
  listen(options: { port: number; host: string }): Promise<{ url: string; port: number }>;
}

/** TLS 1.2 is the floor: the API server speaks 1.3, and nothing older is safe. */
function secureContextOptions(material: TlsMaterial): SecureContextOptions {
  return { cert: material.cert, key: material.key, minVersion: 'TLSv1.2' };
}

/**
 * Builds the admission webhook server (not yet listening): routes for /validate and /mutate,
 * /healthz, /readyz and /metrics, JSON errors for every bad request, and certificate rotation
 * without restart (a reload swaps the secure context new connections use; open ones keep theirs).
 */
export async function buildServer(options: BuildServerOptions): Promise<GuardServer> {
  const logger = options.logger ?? pino();
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES;
  const bounds: ServerBounds = { ...DEFAULT_SERVER_BOUNDS, ...options.bounds };
  const problems = serverBoundsProblems(bounds);
  if (problems.length > 0) throw new Error(`invalid server bounds: ${problems.join('; ')}`);
  const lifecycle = new ServerLifecycle();
  const metrics = new GuardMetrics(
    options.registry ?? new Registry(),
    {
      configStale: () => options.config.status().stale,
      certificateNotAfter: () => options.tls.current().info.notAfter,
      caNotAfter: () => options.tls.caNotAfter?.(),
      tlsStale: () => options.tls.status().stale,
      ...(options.clusterView !== undefined && { clusterView: () => options.clusterView!.status() }),
    },
    { defaultMetrics: options.defaultMetrics },
  );
  const defaults = createAdmissionHandlers(options.approvalApi);
  const handlers: AdmissionHandlers = {
    validate: options.handlers?.validate ?? defaults.validate,
    mutate: options.handlers?.mutate ?? defaults.mutate,
  };

  // Passed to https.createServer: TLS options plus the http.Server options only settable there.
  const httpsOptions: TlsOptions & { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } = {
    ...secureContextOptions(options.tls.current()),
    handshakeTimeout: bounds.tlsHandshakeTimeoutMs,
    headersTimeout: bounds.headersTimeoutMs,
    requestTimeout: bounds.requestTimeoutMs,
    // Node enforces both timeouts only when it checks, every 30 s by default: a stalled request
    // would live up to 30 s past its timeout.
    connectionsCheckingInterval: connectionsCheckingIntervalMs(bounds),
  };
  const app: GuardFastify = fastify<HttpsServer, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    https: httpsOptions,
    loggerInstance: logger,
    // The audit line per decision replaces fastify's two lines per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    // Requests arriving on an open connection while draining are still answered: the API server
    // reuses keep-alive connections and a 503 there would fail an admission needlessly.
    return503OnClosing: false,
    // A slow or stalled client must not hold a connection forever (see ./bounds.ts).
    requestTimeout: bounds.requestTimeoutMs,
    keepAliveTimeout: bounds.keepAliveTimeoutMs,
  });
  app.server.headersTimeout = bounds.headersTimeoutMs;
  app.server.maxConnections = bounds.maxConnections;
  app.server.on('drop', () => metrics.connectionDropped());
  app.server.on('tlsClientError', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') metrics.connectionTimedOut('tls-handshake');
  });
  app.server.on('clientError', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') metrics.connectionTimedOut('request');
  });
  app.removeContentTypeParser('text/plain');
  installLargeBodyGate(app, { thresholdBytes: bounds.largeBodyBytes, slots: bounds.largeBodySlots });
  // While draining, tell each client to drop its connection after this answer so the close can
  // finish instead of waiting out keep-alive timeouts.
  // Callback style, not async: this runs on every response and a promise per answer costs more.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (lifecycle.shuttingDown) reply.header('connection', 'close');
    done(null, payload);
  });

  installErrorHandling(app, {
    bodyLimit,
    onClientError: (request, reason) => {
      const endpoint = endpointOf(request.routeOptions.url);
      if (endpoint) metrics.invalidRequest(endpoint, reason);
    },
  });
  await app.register(admissionRoutes, {
    config: options.config,
    handlers,
    now: options.now ?? (() => new Date()),
    metrics,
    limits: { ...DEFAULT_ENVELOPE_LIMITS, ...options.limits },
    ...(options.clusterView !== undefined && { cluster: options.clusterView }),
  });
  await app.register(healthRoutes, {
    config: options.config,
    tls: options.tls,
    lifecycle,
    ...(options.clusterView !== undefined && { clusterView: () => options.clusterView!.status() }),
  });
  await app.register(metricsRoutes, { registry: metrics.registry });

  const stopConfigMetrics = options.config.onReload((event) => metrics.configReload(event.ok));
  const stopTlsReload = options.tls.onReload((event) => {
    metrics.tlsReload(event.ok);
    if (event.ok) app.server.setSecureContext(secureContextOptions(event.value));
  });
  app.addHook('onClose', async () => {
    stopConfigMetrics();
    stopTlsReload();
  });

  return {
    app,
    metrics,
    lifecycle,
    async listen({ port, host }) {
      const url = await app.listen({ port, host });
      const bound = (app.server.address() as AddressInfo).port;
      return { url, port: bound };
    },
  };
}

function endpointOf(url: string | undefined): Endpoint | undefined {
  return ADMISSION_ENDPOINTS.find((e) => url === `/${e}`);
}
