import type { Logger } from 'pino';
import type { GuardConfig } from '../config/types.js';
import { loadKubeContext } from '../kube/kubeConfig.js';
import { RULES, type RuleId } from '../policy/rules/index.js';
import type { RuleDefinition } from '../policy/rules/types.js';
import { InformerClusterView } from './informerView.js';
import { kubeClusterViewSources } from './kubeSources.js';
import type { PodMetaSource } from './view.js';

/** auto: a view when credentials are found; required: exit without them; off: never. */
export type ClusterViewMode = 'auto' | 'required' | 'off';
export const CLUSTER_VIEW_MODES: readonly ClusterViewMode[] = ['auto', 'required', 'off'];

export interface WebhookView {
  view: InformerClusterView;
  /** Stop the informers, the staleness logger and the connections. */
  close(): Promise<void>;
}

export type WebhookViewResult = { ok: true; webhookView: WebhookView | undefined } | { ok: false; error: string };

/** How often the staleness of the view is checked for a log line (the metric and /readyz read it live). */
const STALENESS_LOG_INTERVAL_MS = 5_000;

/**
 * The webhook's cluster view, started: informers over the API server with the kubeconfig (or the
 * pod's ServiceAccount). Without credentials in `auto` mode the webhook runs without a view and
 * says once which rules it therefore skips. `pods`: the effect analysis' pod source, when built.
 */
export function startWebhookView(options: {
  mode: ClusterViewMode;
  kubeconfig: string | undefined;
  config: GuardConfig;
  logger: Logger;
  pods?: PodMetaSource;
}): WebhookViewResult {
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
  const { sources, close } = kubeClusterViewSources(kube.context.kubeConfig);
  const view = new InformerClusterView({
    sources,
    keys: config.keys,
    guardWindowMs: guardWindowMs(config),
    maxStalenessMs: config.clusterView.maxStalenessMs,
    logger: logger.child({ component: 'cluster-view' }),
    ...(options.pods !== undefined && { pods: options.pods }),
  });
  view.start();
  logger.info({ server: kube.context.server }, 'cluster view starting: namespaces, live grants and closed GrantRecords; /readyz is false until it has synced');
  const started = Date.now();
  view.whenSynced().then(
    () => logger.info({ syncMs: Date.now() - started, informers: view.status().informers }, 'cluster view synced'),
    () => undefined,
  );
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
      async close() {
        clearInterval(timer);
        await view.stop();
        close();
      },
    },
  };
}

/** How far back closed GrantRecords are kept: the longest recreateCooldown of the top level and every profile. */
export function guardWindowMs(config: GuardConfig): number {
  return Math.max(config.limits.recreateCooldownMs, ...config.profiles.map((p) => p.config.limits.recreateCooldownMs));
}
