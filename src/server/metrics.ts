import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { AdmissionOperation } from '../admission/types.js';
import type { ClusterViewStatus } from '../cluster/informerView.js';
import type { Finding } from '../policy/findings.js';
import { methodNotAllowed } from './errors.js';
import type { GuardFastify } from './types.js';

export type Endpoint = 'validate' | 'mutate';
/** allowed/denied: the decision sent back; error: the handler failed and the server answered 500. */
export type Verdict = 'allowed' | 'denied' | 'error';

/**
 * Sub-millisecond to one second: a decision is pure CPU work, typically well under a millisecond,
 * and the webhook timeout (2–3 s) is the ceiling that matters.
 */
export const LATENCY_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export interface MetricsSources {
  /** Whether the config in force is stale (the last reload of the file failed). */
  configStale: () => boolean;
  /** Expiry of the certificate being served. */
  certificateNotAfter: () => Date;
  /** Expiry of the CA in the caBundle, when the server knows its file. */
  caNotAfter?: () => Date | undefined;
  /** Whether the certificate files on disk are refused and the previous pair is still served. */
  tlsStale: () => boolean;
  /** The cluster view's state; absent when the webhook runs without one (its gauges are then not exported). */
  clusterView?: () => ClusterViewStatus;
}

/**
 * Every metric the webhook exports, on one dedicated Registry (never the global one, so tests and
 * embedders can build several servers in one process).
 */
export class GuardMetrics {
  readonly registry: Registry;
  readonly #requests: Counter<'endpoint' | 'operation' | 'verdict'>;
  readonly #latency: Histogram<'endpoint'>;
  readonly #invalid: Counter<'endpoint' | 'reason'>;
  readonly #violations: Counter<'endpoint' | 'rule' | 'action'>;
  readonly #configReloads: Counter<'result'>;
  readonly #tlsReloads: Counter<'result'>;
  readonly #droppedConnections: Counter;
  readonly #timedOut: Counter<'phase'>;
  readonly #analysisTooLarge: Counter;

  constructor(registry: Registry, sources: MetricsSources, options: { defaultMetrics?: boolean } = {}) {
    this.registry = registry;
    const registers = [registry];
    this.#requests = new Counter({
      name: 'netpol_guard_admission_requests_total',
      help: 'AdmissionReviews answered, by endpoint, operation and verdict (allowed, denied, error).',
      labelNames: ['endpoint', 'operation', 'verdict'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'netpol_guard_admission_duration_seconds',
      help: 'Time from receiving an AdmissionReview to having its answer, by endpoint.',
      labelNames: ['endpoint'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.#invalid = new Counter({
      name: 'netpol_guard_admission_invalid_requests_total',
      help: 'Requests to an admission endpoint rejected with a 4xx before any decision, by reason.',
      labelNames: ['endpoint', 'reason'],
      registers,
    });
    this.#violations = new Counter({
      name: 'netpol_guard_rule_violations_total',
      help: 'Rule findings in admission decisions, by rule id and the action taken (deny, warn).',
      labelNames: ['endpoint', 'rule', 'action'],
      registers,
    });
    this.#configReloads = new Counter({
      name: 'netpol_guard_config_reloads_total',
      help: 'Config file reloads after a change on disk, by result (success, failure).',
      labelNames: ['result'],
      registers,
    });
    new Gauge({
      name: 'netpol_guard_config_stale',
      help: '1 when the config file on disk is invalid and the last good config is still in force.',
      registers,
      collect() {
        this.set(sources.configStale() ? 1 : 0);
      },
    });
    this.#tlsReloads = new Counter({
      name: 'netpol_guard_tls_reloads_total',
      help: 'Certificate/key reloads after a change on disk, by result (success, failure).',
      labelNames: ['result'],
      registers,
    });
    new Gauge({
      name: 'netpol_guard_tls_certificate_not_after_seconds',
      help: 'Deprecated: netpol_guard_tls_not_after_timestamp_seconds{certificate="serving"}. Expiry of the serving certificate in use, as a Unix timestamp.',
      registers,
      collect() {
        this.set(Math.floor(sources.certificateNotAfter().getTime() / 1000));
      },
    });
    new Gauge({
      name: 'netpol_guard_tls_not_after_timestamp_seconds',
      help: 'Expiry (notAfter) as a Unix timestamp, by certificate: serving (the pair in use) and ca (the CA file beside it, when given with --tls-ca or generated).',
      labelNames: ['certificate'],
      registers,
      collect() {
        this.reset();
        this.set({ certificate: 'serving' }, Math.floor(sources.certificateNotAfter().getTime() / 1000));
        const ca = sources.caNotAfter?.();
        if (ca !== undefined) this.set({ certificate: 'ca' }, Math.floor(ca.getTime() / 1000));
      },
    });
    new Gauge({
      name: 'netpol_guard_tls_stale',
      help: '1 when the certificate files on disk are refused (unusable, expired or not valid yet) and the previous pair is still served.',
      registers,
      collect() {
        this.set(sources.tlsStale() ? 1 : 0);
      },
    });
    this.#droppedConnections = new Counter({
      name: 'netpol_guard_connections_dropped_total',
      help: 'Connections closed on arrival because the server already held its maximum (--max-connections).',
      registers,
    });
    this.#timedOut = new Counter({
      name: 'netpol_guard_connections_timed_out_total',
      help: 'Connections closed for being too slow, by phase: tls-handshake, request (headers or body not received in time).',
      labelNames: ['phase'],
      registers,
    });
    for (const phase of ['tls-handshake', 'request']) this.#timedOut.inc({ phase }, 0);
    this.#analysisTooLarge = new Counter({
      name: 'netpol_guard_effect_analysis_too_large_total',
      help: 'Validations whose effect analysis ran out of limits.maxAnalysisWork; the rules reading it then denied or warned (clusterView.onUnavailable).',
      registers,
    });
    // Both results exported from the start, so alerts on failure see 0 rather than no series.
    for (const result of ['success', 'failure']) {
      this.#configReloads.inc({ result }, 0);
      this.#tlsReloads.inc({ result }, 0);
    }
    const clusterView = sources.clusterView;
    if (clusterView !== undefined) {
      new Gauge({
        name: 'netpol_guard_cluster_view_stale',
        help: '1 while the cluster view is not synced or a watch has been broken longer than clusterView.maxStaleness; rules that need it then deny or warn (clusterView.onUnavailable).',
        registers,
        collect() {
          this.set(clusterView().stale ? 1 : 0);
        },
      });
      new Gauge({
        name: 'netpol_guard_cluster_view_objects',
        help: 'Objects held (projected) in the cluster view, by informer: namespaces, grants (live), grantrecords (closed).',
        labelNames: ['informer'],
        registers,
        collect() {
          for (const informer of clusterView().informers) this.set({ informer: informer.name }, informer.cached);
        },
      });
    }
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  }

  observeDecision(endpoint: Endpoint, operation: AdmissionOperation, verdict: Verdict, seconds: number, findings: readonly Finding[], analysisTooLarge = false): void {
    this.#requests.inc({ endpoint, operation, verdict });
    this.#latency.observe({ endpoint }, seconds);
    for (const finding of findings) this.#violations.inc({ endpoint, rule: finding.ruleId, action: finding.action });
    if (analysisTooLarge) this.#analysisTooLarge.inc();
  }

  invalidRequest(endpoint: Endpoint, reason: string): void {
    this.#invalid.inc({ endpoint, reason });
  }

  configReload(ok: boolean): void {
    this.#configReloads.inc({ result: ok ? 'success' : 'failure' });
  }

  tlsReload(ok: boolean): void {
    this.#tlsReloads.inc({ result: ok ? 'success' : 'failure' });
  }

  connectionDropped(): void {
    this.#droppedConnections.inc();
  }

  connectionTimedOut(phase: 'tls-handshake' | 'request'): void {
    this.#timedOut.inc({ phase });
  }
}

/** GET /metrics in the Prometheus text format. */
export async function metricsRoutes(app: GuardFastify, options: { registry: Registry }): Promise<void> {
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', options.registry.contentType);
    return options.registry.metrics();
  });
  methodNotAllowed(app, '/metrics', ['GET', 'HEAD']);
}
