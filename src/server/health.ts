import type { ClusterViewStatus } from '../cluster/informerView.js';
import type { ConfigSource, ConfigStatus } from '../config/store.js';
import type { TlsSource, TlsStatus } from '../tls/source.js';
import { methodNotAllowed } from './errors.js';
import type { ServerLifecycle } from './lifecycle.js';
import type { GuardFastify } from './types.js';

export interface HealthRoutesOptions {
  config: ConfigSource;
  tls: TlsSource;
  lifecycle: ServerLifecycle;
  /** The cluster view's state, when the webhook has one. */
  clusterView?: () => ClusterViewStatus;
}

export interface Readiness {
  ready: boolean;
  shuttingDown: boolean;
  config: ConfigStatus;
  tls: TlsStatus;
  clusterView?: ClusterViewStatus;
}

/**
 * Ready means: a valid config and a usable certificate are loaded and we are not shutting down.
 * A stale config or certificate (the file on disk changed to something invalid) does not make the
 * pod unready, since the last good one is still in force; the detail reports it.
 */
export function readiness(options: HealthRoutesOptions): Readiness {
  const config = options.config.status();
  const tls = options.tls.status();
  const shuttingDown = options.lifecycle.shuttingDown;
  const state: Readiness = { ready: config.loaded && tls.loaded && !shuttingDown, shuttingDown, config, tls };
  if (options.clusterView !== undefined) {
    // Not ready until synced, and not while stale: a replica whose view lags must leave the Service
    // rather than judge quotas and re-creations from old data (its cluster rules fail closed meanwhile).
    const view = options.clusterView();
    state.clusterView = view;
    if (view.stale) state.ready = false;
  }
  return state;
}

/** GET /healthz (the process answers) and GET /readyz (see readiness). */
export async function healthRoutes(app: GuardFastify, options: HealthRoutesOptions): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const state = readiness(options);
    reply.code(state.ready ? 200 : 503);
    return state;
  });
  methodNotAllowed(app, '/healthz', ['GET', 'HEAD']);
  methodNotAllowed(app, '/readyz', ['GET', 'HEAD']);
}

