import type { Logger } from 'pino';
import type { GuardConfig } from '../config/types.js';
import { loadKubeContext } from '../kube/kubeConfig.js';
import { RULES, type RuleId } from '../policy/rules/index.js';
import type { RuleDefinition } from '../policy/rules/types.js';
import { InformerClusterView } from './informerView.js';
import { kubeClusterViewSources } from './kubeSources.js';
import { PodSource } from './podSource.js';
import { type BuiltView, ReloadingClusterView } from './reloadingView.js';
import { type ViewSettings, viewSettings } from './viewSettings.js';

/** auto: a view when credentials are found; required: exit without them; off: never. */
export type ClusterViewMode = 'auto' | 'required' | 'off';
export const CLUSTER_VIEW_MODES: readonly ClusterViewMode[] = ['auto', 'required', 'off'];

export interface WebhookView {
  /** The view the server reads; across config reloads the same object (see ReloadingClusterView). */
  view: ReloadingClusterView;
  /** A reloaded config: rebuilds the view when what it is built from changed. Returns what changed. */
  reconfigure(config: GuardConfig): string[];
  /** Stop the informers, the staleness logger and the connections. */
  close(): Promise<void>;
}

export type WebhookViewResult = { ok: true; webhookView: WebhookView | undefined } | { ok: false; error: string };

/** How often the staleness of the view is checked for a log line (the metric and /readyz read it live). */
const STALENESS_LOG_INTERVAL_MS = 5_000;

/**
 * The webhook's cluster view, started: informers over the API server with the kubeconfig (or the
 * pod's ServiceAccount). Without credentials in `auto` mode the webhook runs without a view and
 * says once which rules it therefore skips. With clusterView.pods (the default) the view also
 * holds every live pod (metadata only, PodSource) and every NetworkPolicy, for the effect rules.
 */
export function startWebhookView(options: { mode: ClusterViewMode; kubeconfig: string | undefined; config: GuardConfig; logger: Logger }): WebhookViewResult {
  const { mode, config, logger } = options;
  const clusterRules = (RULES as readonly RuleDefinition<RuleId>[]).filter((r) => r.needs === 'cluster').map((r) => r.id);
  const withoutView = (why: string): WebhookViewResult => {
    logger.warn({ skippedRules: clusterRules, reason: why }, `no cluster view (${why}): rules ${clusterRules.join(', ')} are skipped and profiles matching on namespace labels cannot match`);
    return { ok: true, webhookView: undefined };
  };
  if (mode === 'off') return withoutView('--cluster-view off');
  const kube = loadKubeContext(options.kubeconfig);
  if (!kube.ok) {
    if (mode === 'required') return { ok: false, error: `--cluster-view required: ${kube.error}` };
    return withoutView(kube.error);
  }
  const kubeConfig = kube.context.kubeConfig;
  const { sources, close } = kubeClusterViewSources(kubeConfig);
  const viewLogger = logger.child({ component: 'cluster-view' });
  const pods = new SharedPodSources((maxStalenessMs) => new PodSource({ kubeConfig, maxStalenessMs, logger: viewLogger }));
  const build = (settings: ViewSettings): BuiltView => {
    const podSource = settings.pods ? pods.acquire(settings.maxStalenessMs) : undefined;
    const view = new InformerClusterView({
      sources,
      keys: settings.keys,
      guardWindowMs: settings.guardWindowMs,
      maxStalenessMs: settings.maxStalenessMs,
      logger: viewLogger,
      ...(podSource !== undefined && { pods: podSource, watchAllPolicies: true }),
    });
    view.start();
    const parts = settings.pods ? 'namespaces, every NetworkPolicy, closed GrantRecords and every live pod (metadata)' : 'namespaces, live grants and closed GrantRecords (clusterView.pods false: the effect rules are skipped)';
    logger.info({ server: kube.context.server, pods: settings.pods }, `cluster view starting: ${parts}; /readyz is false until it has synced`);
    const started = Date.now();
    view.whenSynced().then(
      () => logger.info({ syncMs: Date.now() - started, informers: view.status().informers }, 'cluster view synced'),
      () => undefined,
    );
    return {
      view,
      async close() {
        await view.stop();
        if (podSource !== undefined) await pods.release(podSource);
      },
    };
  };
  const view = new ReloadingClusterView({ settings: viewSettings(config), build, logger: viewLogger });
  let wasStale = false;
  const timer = setInterval(() => {
    const status = view.status();
    if (!status.synced) return;
    if (status.stale && !wasStale) logger.error({ informers: status.informers }, 'cluster view is stale: a watch has been broken longer than clusterView.maxStaleness; rules that need it now follow clusterView.onUnavailable');
    if (!status.stale && wasStale) logger.info({ informers: status.informers }, 'cluster view is current again');
    wasStale = status.stale;
  }, STALENESS_LOG_INTERVAL_MS);
  timer.unref();
  return {
    ok: true,
    webhookView: {
      view,
      reconfigure: (next) => view.reconfigure(viewSettings(next)),
      async close() {
        clearInterval(timer);
        await view.close();
        close();
      },
    },
  };
}

/**
 * Pod sources shared by the views a reload builds: pods do not depend on the annotation prefix or
 * the guard window, so a rebuild for those keeps the synced pod informer (no second copy of every
 * pod, no relist) and only a changed maxStaleness starts a new one. Counted: the last view to let
 * go of a source stops it.
 */
export class SharedPodSources<S extends { start(): void; stop(): Promise<void> } = PodSource> {
  private newest: { source: S; maxStalenessMs: number; users: number } | undefined;
  private readonly entries = new Map<S, { maxStalenessMs: number; users: number }>();

  constructor(private readonly create: (maxStalenessMs: number) => S) {}

  /** The newest source when it has this staleness threshold, else a new one, started. */
  acquire(maxStalenessMs: number): S {
    const newest = this.newest;
    if (newest !== undefined && newest.maxStalenessMs === maxStalenessMs) {
      newest.users++;
      return newest.source;
    }
    const source = this.create(maxStalenessMs);
    source.start();
    const entry = { source, maxStalenessMs, users: 1 };
    this.newest = entry;
    this.entries.set(source, entry);
    return source;
  }

  /** One view lets go of `source`; the last one stops it. */
  async release(source: S): Promise<void> {
    const entry = this.entries.get(source);
    if (entry === undefined || --entry.users > 0) return;
    this.entries.delete(source);
    if (this.newest?.source === source) this.newest = undefined;
    await source.stop();
  }
}

export { guardWindowMs } from './viewSettings.js';
