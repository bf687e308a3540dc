/**
 * Effect analysis per admission (issue #20), in a fresh process: the effect namespace of
 * bench/view/dataset.ts (1,000 pods, 200 ingress policies; 10 peer namespaces of 100 pods) read
 * through a PodIndex-backed view as the webhook reads it, against the same pods with 0 policies as
 * the baseline. For each grant shape: analyzeEffect alone, and evaluatePolicy (every rule, the
 * analysis included), wall-time p50/p99 and mean CPU time over as many runs as the budget allows
 * (at least 100).
 *
 * usage: node --expose-gc analysisWorker.js BUDGET_MS   (IPC: sends one AnalysisReport)
 */
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { PodIndex } from '../../src/cluster/podIndex.js';
import { projectPod } from '../../src/cluster/podSource.js';
import { buildConfig } from '../../src/config/load.js';
import { analyzeEffect } from '../../src/policy/effect/analyze.js';
import { evaluatePolicy } from '../../src/policy/evaluate.js';
import { quantileSorted, SampleBuffer } from '../stats.js';
import { benchReview, type ClusterDataset, EFFECT_NAMESPACE, EFFECT_POLICIES, effectPolicy, namespaces, pods } from '../view/dataset.js';
import { IndexedView } from '../../test/helpers/indexedView.js';

export interface AnalysisPoint {
  shape: string;
  policies: number;
  runs: number;
  analysisP50Ms: number;
  analysisP99Ms: number;
  evaluateP50Ms: number;
  evaluateP99Ms: number;
  /** Mean CPU time (process.cpuUsage, every thread) per call: unlike wall time, not inflated when other work preempts the process. */
  analysisCpuMeanMs: number;
  evaluateCpuMeanMs: number;
  allowed: boolean;
  targets: number;
}

export interface AnalysisReport {
  pods: number;
  points: AnalysisPoint[];
}

const budgetMs = Number(process.argv[2] ?? '1000');
const dataset: ClusterDataset = { namespaces: 0, grants: 0, closedRecords: 0, pods: 0, effect: true, nowMs: Date.now() };
const index = new PodIndex();
for (const pod of pods(dataset)) index.upsert(projectPod(pod)!);
const namespaceLabels = new Map<string, Readonly<Record<string, string>>>();
for (const ns of namespaces(dataset)) namespaceLabels.set(ns.metadata!.name!, ns.metadata!.labels ?? {});
const existing = Array.from({ length: EFFECT_POLICIES }, (_, k) => effectPolicy(k));
const views = [
  { policies: EFFECT_POLICIES, view: new IndexedView(index, namespaceLabels, new Map([[EFFECT_NAMESPACE, existing]])) },
  { policies: 0, view: new IndexedView(index, namespaceLabels, new Map()) },
];
const built = buildConfig({}, 'bench');
if (!built.ok) throw new Error(built.errors.join('; '));
const config = built.config;

const shapes: { name: string; policy: V1NetworkPolicy }[] = [
  {
    name: 'typical grant (the webhook benchmark\'s: app-3 ← app-7 in team=core namespaces + a /24, TCP/5432)',
    policy: benchReview(dataset).request!.object as V1NetworkPolicy,
  },
  {
    name: 'wide grant (all 1,000 pods ← every pod of the namespace on 10 ports)',
    policy: {
      metadata: { name: 'grant', namespace: EFFECT_NAMESPACE },
      spec: { podSelector: {}, ingress: [{ _from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 9000, endPort: 9009 }] }] },
    },
  },
];

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const cpuMs = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e3;
};
const points: AnalysisPoint[] = [];
for (const shape of shapes) {
  for (const { policies, view } of views) {
    const evaluate = () =>
      evaluatePolicy({ operation: 'CREATE', policy: shape.policy, namespace: EFFECT_NAMESPACE, user: { username: 'u', groups: [] }, config, now: new Date(), cluster: view });
    const verdict = evaluate();
    const effect = analyzeEffect({ policy: shape.policy, namespace: EFFECT_NAMESPACE, cluster: view });
    for (let i = 0; i < 20; i++) analyzeEffect({ policy: shape.policy, namespace: EFFECT_NAMESPACE, cluster: view });
    const analysis = new SampleBuffer();
    const whole = new SampleBuffer();
    let analysisCpu = 0;
    let evaluateCpu = 0;
    const end = performance.now() + budgetMs;
    while (analysis.length < 100 || (performance.now() < end && analysis.length < 5_000)) {
      let c = process.cpuUsage();
      let t = process.hrtime.bigint();
      analyzeEffect({ policy: shape.policy, namespace: EFFECT_NAMESPACE, cluster: view });
      analysis.push(ms(t));
      analysisCpu += cpuMs(c);
      c = process.cpuUsage();
      t = process.hrtime.bigint();
      evaluate();
      whole.push(ms(t));
      evaluateCpu += cpuMs(c);
    }
    const a = analysis.sorted();
    const w = whole.sorted();
    points.push({
      shape: shape.name,
      policies,
      runs: a.length,
      analysisP50Ms: quantileSorted(a, 0.5),
      analysisP99Ms: quantileSorted(a, 0.99),
      evaluateP50Ms: quantileSorted(w, 0.5),
      evaluateP99Ms: quantileSorted(w, 0.99),
      analysisCpuMeanMs: analysisCpu / a.length,
      evaluateCpuMeanMs: evaluateCpu / w.length,
      allowed: verdict.allowed,
      targets: effect.directions.reduce((n, d) => n + d.targets.length, 0),
    });
  }
}
const report: AnalysisReport = { pods: index.size, points };
process.send?.(report, () => process.exit(0));
