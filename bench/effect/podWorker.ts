/**
 * The pod part of the webhook's view at scale, in a fresh process: the real PodSource
 * (src/cluster/podSource.ts: MetadataClient list+watch of /api/v1/pods as PartialObjectMetadata,
 * projected and indexed) against bench/view/clusterApiServer.ts over HTTPS. Reports the sync time
 * (start to listed and watching), the heap and RSS the synced source holds (after a full GC, minus
 * before), the peak RSS of the sync, and one podsMatching lookup.
 *
 * usage: node --expose-gc podWorker.js KUBECONFIG EXPECTED_PODS   (IPC: sends one PodSourceReport)
 */
import { KubeConfig } from '@kubernetes/client-node';
import { PodSource } from '../../src/cluster/podSource.js';
import { readMemory } from '../proc.js';

export interface PodSourceReport {
  pods: number;
  indexed: number;
  syncSeconds: number;
  /** CPU time of this process during the sync (every thread): what the sync costs, whatever the load. */
  syncCpuSeconds: number;
  heapHeldMiB: number;
  rssHeldMiB: number;
  rssAfterMiB: number;
  hwmMiB: number;
  lookupUs: number;
  lookupMatched: number;
}

const [kubeconfigFile, expectedText] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined || kubeconfigFile === undefined) throw new Error('usage: node --expose-gc podWorker.js KUBECONFIG EXPECTED_PODS');
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfigFile);

gc();
const heapBefore = process.memoryUsage().heapUsed;
const rssBeforeKiB = readMemory(process.pid)!.rssKiB;
const source = new PodSource({ kubeConfig });
const started = performance.now();
const cpuBefore = process.cpuUsage();
source.start();
await source.whenSynced();
const syncSeconds = (performance.now() - started) / 1000;
const syncCpu = process.cpuUsage(cpuBefore);
gc();
const heapAfter = process.memoryUsage().heapUsed;
const memory = readMemory(process.pid)!;
const t = process.hrtime.bigint();
const matched = source.index.podsMatching('ns-00007', { matchLabels: { app: 'app-7' } }).length;
const lookupUs = Number(process.hrtime.bigint() - t) / 1e3;
const report: PodSourceReport = {
  pods: Number(expectedText),
  indexed: source.index.size,
  syncSeconds,
  syncCpuSeconds: (syncCpu.user + syncCpu.system) / 1e6,
  heapHeldMiB: (heapAfter - heapBefore) / 2 ** 20,
  rssHeldMiB: (memory.rssKiB - rssBeforeKiB) / 1024,
  rssAfterMiB: memory.rssKiB / 1024,
  hwmMiB: memory.hwmKiB / 1024,
  lookupUs,
  lookupMatched: matched,
};
await source.stop();
process.send?.(report, () => process.exit(0));
