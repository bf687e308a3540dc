/**
 * The `effect` section (issue #20):
 *   1. effect analysis per admission for a namespace of 1,000 pods and 200 policies, against the
 *      same pods with 0 policies (bench/effect/analysisWorker.ts, fresh process on core 0);
 *   2. the pod part of the view at N pods: sync time and memory of the real PodSource over a fake
 *      API server serving PartialObjectMetadataList pages (bench/effect/podWorker.ts);
 *   3. admission p99 of the webhook with Pods (and every NetworkPolicy) in its view against the
 *      same view without them (bench/view/webhookComparison.ts), on a request in the 1,000-pod
 *      namespace, so the analysis runs on every request.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitOf, firstMessage, spawnNode, stderrTail } from '../proc.js';
import { table, type Verdict } from '../report.js';
import { type ClusterDataset, EFFECT_PODS, EFFECT_POLICIES, PEER_NAMESPACES, PEER_PODS } from '../view/dataset.js';
import { comparisonTable } from '../view/viewBench.js';
import { compareWebhooks, type ComparisonResult } from '../view/webhookComparison.js';
import type { AnalysisReport } from './analysisWorker.js';
import type { PodSourceReport } from './podWorker.js';

export interface EffectBenchConfig {
  workDir: string;
  /** Pod counts for the pod-source measurement (one fresh process and fake server each). */
  podSizes: number[];
  analysisBudgetMs: number;
  /** Filler pods in the admission comparison's cluster (besides the effect namespaces' 2,000). */
  admissionPods: number;
  rounds: number;
  roundSeconds: number;
  warmupSeconds: number;
  connections: number;
  decisionBudgetMs: number;
  log: (line: string) => void;
}

export interface EffectBenchResult {
  analysis: AnalysisReport | undefined;
  podSources: PodSourceReport[];
  admission: ComparisonResult | undefined;
  admissionDataset: ClusterDataset;
  problems: string[];
}

export const EFFECT_TARGETS = { analysisMs: 20, pods: 100_000, podMemoryMiB: 100, podSyncSeconds: 10 };
const WORKER_CORE = 0;
const SERVER_CORE = 1;
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

export async function runEffectBench(config: EffectBenchConfig): Promise<EffectBenchResult> {
  const problems: string[] = [];

  config.log('  effect analysis, 1,000 pods, 200 vs 0 policies');
  const analysis = await runWorker<AnalysisReport>('./analysisWorker.js', [String(config.analysisBudgetMs)], 'analysis worker');
  for (const p of analysis.points) config.log(`    ${p.policies} policies, ${p.shape.slice(0, 40)}…: analysis p50 ${p.analysisP50Ms.toFixed(2)} ms p99 ${p.analysisP99Ms.toFixed(2)} ms (${p.runs} runs)`);

  const podSources: PodSourceReport[] = [];
  for (const size of config.podSizes) {
    const dataset: ClusterDataset = { namespaces: 500, grants: 0, closedRecords: 0, pods: size, effect: false, nowMs: Date.now() };
    const kubeconfig = path.join(config.workDir, `pods-${size}.kubeconfig`);
    const api = spawnNode(here('../view/clusterApiServer.js'), [kubeconfig, JSON.stringify(dataset)], { core: SERVER_CORE, ipc: true });
    try {
      await firstMessage(api, 'fake API server');
      const report = await runWorker<PodSourceReport>('./podWorker.js', [kubeconfig, String(size)], `pod source ${size}`);
      if (report.indexed !== size) problems.push(`pod source ${size}: ${report.indexed} pods indexed after sync`);
      config.log(
        `  pod source ${size.toLocaleString('en-US')} pods: synced ${report.syncSeconds.toFixed(2)} s, heap held ${report.heapHeldMiB.toFixed(1)} MiB, ` +
          `RSS +${report.rssHeldMiB.toFixed(0)} MiB (${report.rssAfterMiB.toFixed(0)} MiB, peak ${report.hwmMiB.toFixed(0)} MiB)`,
      );
      podSources.push(report);
    } finally {
      if (api.connected) api.disconnect();
      await exitOf(api);
    }
  }

  const admissionDataset: ClusterDataset = { namespaces: 500, grants: 1_000, closedRecords: 1_000, pods: config.admissionPods, effect: true, nowMs: Date.now() };
  config.log(`  admission with and without pods in the view (${(config.admissionPods + EFFECT_PODS + PEER_NAMESPACES * PEER_PODS).toLocaleString('en-US')} pods)`);
  const admission = await compareWebhooks({
    workDir: config.workDir,
    dataset: admissionDataset,
    config: {},
    parties: [
      { name: 'view without pods', view: true, pods: false },
      { name: 'view with pods', view: true, pods: true },
    ],
    churnPerSecond: 0,
    rounds: config.rounds,
    roundSeconds: config.roundSeconds,
    warmupSeconds: config.warmupSeconds,
    connections: config.connections,
    decisionBudgetMs: config.decisionBudgetMs,
    log: config.log,
  });
  problems.push(...admission.problems);
  const withPods = admission.parties[1];
  if (withPods !== undefined && withPods.effect === undefined) problems.push('view with pods: /validate carried no effect audit annotation (the analysis did not run)');
  const expected = { pods: admissionDataset.pods + EFFECT_PODS + PEER_NAMESPACES * PEER_PODS, policies: admissionDataset.grants + EFFECT_POLICIES };
  if (withPods !== undefined && (withPods.report.cached.pods !== expected.pods || withPods.report.cached.policies !== expected.policies)) {
    problems.push(`view with pods: holds ${withPods.report.cached.pods} pods and ${withPods.report.cached.policies} policies after sync, expected ${expected.pods} and ${expected.policies}`);
  }
  return { analysis, podSources, admission, admissionDataset, problems };
}

async function runWorker<T>(script: string, args: string[], what: string): Promise<T> {
  const child = spawnNode(here(script), args, { core: WORKER_CORE, ipc: true, stdout: 'null', nodeFlags: ['--expose-gc'] });
  const report = await firstMessage<T>(child, what);
  const code = await exitOf(child);
  if (code !== 0) throw new Error(`${what} exited with ${code}: ${stderrTail(child)}`);
  return report;
}

const f = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');

/** Rows for the Targets table (issue #20). */
export function effectVerdicts(result: EffectBenchResult): Verdict[] {
  const t = EFFECT_TARGETS;
  const out: Verdict[] = [];
  for (const p of result.analysis?.points ?? []) {
    if (p.policies === 0) continue;
    const shape = p.shape.replace(/ \(.*$/, '');
    out.push({ target: `effect analysis, ${shape}, 1,000 pods / 200 policies: evaluatePolicy p99 ≤ ${t.analysisMs} ms`, result: `${f(p.evaluateP99Ms)} ms`, met: p.evaluateP99Ms <= t.analysisMs });
    out.push({ target: `… mean CPU per admission ≤ ${t.analysisMs} ms`, result: `${f(p.evaluateCpuMeanMs)} ms`, met: p.evaluateCpuMeanMs <= t.analysisMs });
  }
  const big = result.podSources.find((p) => p.pods === t.pods);
  if (big) {
    out.push({ target: `${t.pods.toLocaleString('en-US')} pods held in ≤ ${t.podMemoryMiB} MiB`, result: `${f(big.heapHeldMiB, 1)} MiB heap (RSS +${f(big.rssHeldMiB, 0)} MiB)`, met: big.heapHeldMiB <= t.podMemoryMiB });
    out.push({ target: `${t.pods.toLocaleString('en-US')} pods synced in ≤ ${t.podSyncSeconds} s`, result: `${f(big.syncSeconds)} s`, met: big.syncSeconds <= t.podSyncSeconds });
  }
  return out;
}

export function effectText(result: EffectBenchResult, plan: { rounds: number; roundSeconds: number; connections: number }): string {
  const out: string[] = [];
  const t = EFFECT_TARGETS;
  if (result.analysis) {
    const points = result.analysis.points;
    const rows = points
      .filter((p) => p.policies > 0)
      .map((p) => {
        const base = points.find((b) => b.shape === p.shape && b.policies === 0);
        return [
          p.shape,
          String(p.targets),
          `${f(p.analysisP50Ms)} / ${f(p.analysisP99Ms)} / ${f(p.analysisCpuMeanMs)}`,
          `${f(p.evaluateP50Ms)} / ${f(p.evaluateP99Ms)} / ${f(p.evaluateCpuMeanMs)}`,
          base ? `${f(base.analysisP50Ms)} / ${f(base.analysisP99Ms)} / ${f(base.analysisCpuMeanMs)}` : '–',
          base ? `${f(p.analysisP50Ms / base.analysisP50Ms)}× / ${f(p.analysisP99Ms / base.analysisP99Ms)}× / ${f(p.analysisCpuMeanMs / base.analysisCpuMeanMs)}×` : '–',
        ];
      });
    out.push(
      `### Analysis per admission: 1,000 pods and 200 policies in the namespace (${result.analysis.pods.toLocaleString('en-US')} pods in view)`,
      '',
      'analyzeEffect alone and evaluatePolicy (every rule, the analysis included), in a fresh process on core 0, over a PodIndex-backed view; ' +
        'baseline: the same pods with 0 policies in the namespace (every target then newly isolated). Wall-time p50 / p99 and mean CPU time per call (every thread), ms; ' +
        'the ratio is 200 policies over 0 policies.',
      '',
      table(['grant', 'targets', 'analysis, 200 policies', 'evaluatePolicy, 200 policies', 'analysis, 0 policies', 'analysis ratio'], rows),
      '',
    );
  }
  if (result.podSources.length > 0) {
    out.push(
      '### The pod part of the view',
      '',
      'The real PodSource (metadata-only list of /api/v1/pods, 500 per page, then a watch) in a fresh process on core 0 against the fake API server over HTTPS on core 1; ' +
        'pods over 500 namespaces, Deployment-shaped metadata (generateName, ownerReferences, managedFields, 4 labels). Heap and RSS held: after sync and a full GC, minus before.',
      '',
      table(
        ['pods', 'sync (s, CPU s)', 'heap held (MiB)', 'heap per pod (B)', 'RSS held (MiB)', 'peak RSS (MiB)', `target: ${t.pods.toLocaleString('en-US')} pods ≤ ${t.podMemoryMiB} MiB, ≤ ${t.podSyncSeconds} s`],
        result.podSources.map((p) => [
          p.pods.toLocaleString('en-US'),
          `${f(p.syncSeconds)} (${p.syncCpuSeconds === undefined ? '–' : f(p.syncCpuSeconds)})`,
          f(p.heapHeldMiB, 1),
          f((p.heapHeldMiB * 2 ** 20) / p.pods, 0),
          f(p.rssHeldMiB, 0),
          f(p.hwmMiB, 0),
          p.pods === t.pods ? (p.heapHeldMiB <= t.podMemoryMiB && p.syncSeconds <= t.podSyncSeconds ? 'met' : '**missed**') : '',
        ]),
      ),
      '',
    );
  }
  if (result.admission) {
    const d = result.admissionDataset;
    const withPods = result.admission.parties[1];
    out.push(
      '### Admission with and without Pods in the view',
      '',
      `Two webhooks with a cluster view (${d.namespaces + 11} namespaces, ${d.grants.toLocaleString('en-US')} live grants, ${d.closedRecords.toLocaleString('en-US')} closed records), ` +
        `one also with the pod source and every NetworkPolicy plugged in (${(d.pods + EFFECT_PODS + PEER_NAMESPACES * PEER_PODS).toLocaleString('en-US')} pods, 200 policies in the request's namespace). ` +
        `Request: /validate of a grant CREATE in the 1,000-pod namespace (default config), so the webhook with pods runs the effect analysis on every request. ` +
        `${plan.rounds} closed-loop and ${plan.rounds} fixed-rate interleaved rounds of ${plan.roundSeconds} s, ${plan.connections} connections, as in the view section.` +
        (withPods?.effect !== undefined ? ` Its audit annotation: "${withPods.effect}".` : ''),
      '',
      comparisonTable(result.admission),
      '',
    );
  }
  return out.join('\n');
}
