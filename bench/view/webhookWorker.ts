/**
 * The webhook under test for the `view` and `effect` benchmarks, in a fresh process, built as
 * `serve` builds it: buildServer (fastify over TLS, the real handlers, pino at info to stdout,
 * which the parent sends to /dev/null) with, when a kubeconfig is given, an InformerClusterView
 * over kubeClusterViewSources (client-node against bench/view/clusterApiServer.ts), optionally with
 * the pod source (src/cluster/podSource.ts, metadata-only list+watch) and every NetworkPolicy
 * plugged in as its `pods` and `allPolicies` parts.
 *
 * Before serving it measures what the view costs the process: sync time (start to every informer
 * listed and watching), heap held after a full GC, RSS; and the /validate decision in-process
 * (validateHandler on the benchmark's admission, with its view or none), whose p50/p99 in µs are
 * the latency the view adds to each request without the network's noise around it.
 *
 * usage: node --expose-gc webhookWorker.js OPTIONS_JSON   (IPC: sends one WebhookReport once serving; exits on disconnect)
 */
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { AdmissionRequest } from '../../src/admission/types.js';
import { validateHandler } from '../../src/admission/validate.js';
import { InformerClusterView } from '../../src/cluster/informerView.js';
import { kubeClusterViewSources } from '../../src/cluster/kubeSources.js';
import { PodSource } from '../../src/cluster/podSource.js';
import { guardWindowMs } from '../../src/cluster/webhookView.js';
import { buildConfig } from '../../src/config/load.js';
import { ConfigStore } from '../../src/config/store.js';
import { buildServer } from '../../src/server/app.js';
import { shutdownServer } from '../../src/server/shutdown.js';
import { TlsFileSource } from '../../src/tls/source.js';
import { readMemory } from '../proc.js';
import { quantileSorted, SampleBuffer } from '../stats.js';
import { BenchPolicySource } from './allPolicies.js';
import { benchReview, type ClusterDataset } from './dataset.js';

export interface WebhookOptions {
  port: number;
  certFile: string;
  keyFile: string;
  /** The raw config (YAML's data), validated by buildConfig like a file. */
  config: unknown;
  /** Absent: no cluster view (the baseline). */
  kubeconfig?: string;
  /** Plug the pod source and every NetworkPolicy into the view. */
  pods: boolean;
  dataset: ClusterDataset;
  /** Time budget for the in-process decision measurement. */
  decisionBudgetMs: number;
}

export interface WebhookReport {
  url: string;
  /** Start of the informers to every one synced, ms (0 without a view). */
  syncMs: number;
  /** CPU time of the process during the sync (every thread), ms. */
  syncCpuMs: number;
  /** Objects the view holds: per informer. */
  cached: Record<string, number>;
  /** After a full GC, before the view started and after it synced. */
  heapBeforeMiB: number;
  heapAfterMiB: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  /** VmHWM after the sync: the peak of the sync itself. */
  hwmAfterSyncMiB: number;
  /** Wall-time p50/p99 and mean CPU time (every thread, so GC helpers included) per decision, µs. */
  decision: { iterations: number; p50Us: number; p99Us: number; cpuMeanUs: number; allowed: boolean; effect: string | undefined; message: string | undefined };
}

const options = JSON.parse(process.argv[2] ?? '{}') as WebhookOptions;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const MiB = (bytes: number): number => bytes / 2 ** 20;

const logger = pino({ level: 'info' });
const built = buildConfig(options.config, 'bench config');
if (!built.ok) throw new Error(built.errors.join('; '));
const config = built.config;
const review = benchReview(options.dataset);
const request = review.request as AdmissionRequest;

gc();
const heapBefore = process.memoryUsage().heapUsed;
const rssBeforeKiB = readMemory(process.pid)?.rssKiB ?? NaN;

let view: InformerClusterView | undefined;
let closeView = async (): Promise<void> => undefined;
let syncMs = 0;
let syncCpuMs = 0;
const cached: Record<string, number> = {};
if (options.kubeconfig !== undefined) {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(options.kubeconfig);
  const { sources, close } = kubeClusterViewSources(kubeConfig);
  const maxStalenessMs = config.clusterView.maxStalenessMs;
  const podSource = options.pods ? new PodSource({ kubeConfig, maxStalenessMs, logger: logger.child({ component: 'pods' }) }) : undefined;
  const policySource = options.pods ? new BenchPolicySource(sources.policies, maxStalenessMs) : undefined;
  view = new InformerClusterView({
    sources,
    keys: config.keys,
    guardWindowMs: guardWindowMs(config),
    maxStalenessMs,
    logger: logger.child({ component: 'cluster-view' }),
    ...(podSource !== undefined && {
      pods: { podsMatching: (ns, selector) => podSource.index.podsMatching(ns, selector), synced: () => podSource.synced(), stale: () => podSource.stale() },
    }),
    ...(policySource !== undefined && { allPolicies: policySource }),
  });
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  view.start();
  podSource?.start();
  policySource?.start();
  await Promise.all([view.whenSynced(), podSource?.whenSynced(), policySource?.whenSynced()]);
  syncMs = performance.now() - started;
  const syncCpu = process.cpuUsage(cpuBefore);
  syncCpuMs = (syncCpu.user + syncCpu.system) / 1e3;
  for (const informer of view.status().informers) cached[informer.name] = informer.cached;
  if (podSource) cached.pods = podSource.index.size;
  if (policySource) cached.policies = policySource.size;
  const v = view;
  closeView = async () => {
    await Promise.all([v.stop(), podSource?.stop(), policySource?.stop()]);
    close();
  };
}
gc();
const heapAfter = process.memoryUsage().heapUsed;
const afterSync = readMemory(process.pid);

// The decision alone, in-process: warm up, then as many as the budget allows (at least 200).
const now = (): Date => new Date();
const first = validateHandler(request, config, now(), view);
const samples = new SampleBuffer();
for (let i = 0; i < 200; i++) validateHandler(request, config, now(), view);
const budgetEnd = performance.now() + options.decisionBudgetMs;
const cpuBefore = process.cpuUsage();
while ((samples.length < 200 || performance.now() < budgetEnd) && samples.length < 20_000) {
  const t0 = process.hrtime.bigint();
  validateHandler(request, config, now(), view);
  samples.push(Number(process.hrtime.bigint() - t0) / 1e3);
}
const decisionCpu = process.cpuUsage(cpuBefore);
const sorted = samples.sorted();

const tls = TlsFileSource.open({ certFile: options.certFile, keyFile: options.keyFile, logger });
if (!tls.ok) throw new Error(tls.errors.join('; '));
const store = ConfigStore.fromConfig(config);
const server = await buildServer({ config: store, tls: tls.source, logger, ...(view !== undefined && { clusterView: view }) });
const { url } = await server.listen({ port: options.port, host: '127.0.0.1' });

const report: WebhookReport = {
  url,
  syncMs,
  syncCpuMs,
  cached,
  heapBeforeMiB: MiB(heapBefore),
  heapAfterMiB: MiB(heapAfter),
  rssBeforeMiB: rssBeforeKiB / 1024,
  rssAfterMiB: (afterSync?.rssKiB ?? NaN) / 1024,
  hwmAfterSyncMiB: (afterSync?.hwmKiB ?? NaN) / 1024,
  decision: {
    iterations: sorted.length,
    p50Us: quantileSorted(sorted, 0.5),
    p99Us: quantileSorted(sorted, 0.99),
    cpuMeanUs: (decisionCpu.user + decisionCpu.system) / sorted.length,
    allowed: first.allowed,
    effect: first.effect,
    message: first.message,
  },
};
process.send?.(report);
process.on('disconnect', () => {
  shutdownServer(server, { timeoutMs: 2_000, drainDelayMs: 0, logger })
    .then(closeView)
    .finally(() => {
      store.close();
      tls.source.close();
      process.exit(0);
    });
});
