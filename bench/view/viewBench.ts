/**
 * The `view` section (issue #16): what the webhook's read-only cluster view costs. The same
 * webhook with no view (baseline) and with a view of N namespaces, M live grants and K closed
 * GrantRecords, synced through the real informers and client-node from a fake API server over
 * HTTPS (bench/view/webhookComparison.ts), then loaded with the same /validate: a grant CREATE by a
 * requester with live grants, in a namespace with live grants, under a config with both quotas and
 * a profile chosen by namespace labels, so every rule that reads the view runs on every request.
 */
import type { Verdict } from '../report.js';
import { compareWebhooks, type ComparisonResult, type PartyResult } from './webhookComparison.js';
import type { ClusterDataset } from './dataset.js';

export interface ViewBenchConfig {
  workDir: string;
  namespaces: number;
  grants: number;
  closedRecords: number;
  churnPerSecond: number;
  rounds: number;
  roundSeconds: number;
  warmupSeconds: number;
  connections: number;
  decisionBudgetMs: number;
  log: (line: string) => void;
}

export interface ViewBenchResult {
  dataset: ClusterDataset;
  comparison: ComparisonResult;
  problems: string[];
}

/** Quotas high enough to allow, so the quota rules count and list on every request; a profile by labels. */
export const VIEW_BENCH_CONFIG = {
  quotas: { maxLiveGrantsPerNamespace: 1_000, maxLiveGrantsPerRequester: 1_000 },
  profiles: [{ name: 'prod', match: { namespaceSelector: { matchLabels: { env: 'prod' } } }, limits: { maxTTL: '4h' } }],
};

export async function runViewBench(config: ViewBenchConfig): Promise<ViewBenchResult> {
  const dataset: ClusterDataset = { namespaces: config.namespaces, grants: config.grants, closedRecords: config.closedRecords, pods: 0, effect: false, nowMs: Date.now() };
  const comparison = await compareWebhooks({
    workDir: config.workDir,
    dataset,
    config: VIEW_BENCH_CONFIG,
    parties: [
      { name: 'no view', view: false, pods: false },
      { name: 'view', view: true, pods: false },
    ],
    churnPerSecond: config.churnPerSecond,
    rounds: config.rounds,
    roundSeconds: config.roundSeconds,
    warmupSeconds: config.warmupSeconds,
    connections: config.connections,
    decisionBudgetMs: config.decisionBudgetMs,
    log: config.log,
  });
  const problems = [...comparison.problems];
  const view = comparison.parties[1];
  const expected = config.namespaces + config.grants + config.closedRecords;
  const held = view ? (view.report.cached.namespaces ?? 0) + (view.report.cached.grants ?? 0) + (view.report.cached.grantrecords ?? 0) : 0;
  if (held !== expected) problems.push(`view: holds ${held} objects after sync, expected ${expected} (${JSON.stringify(view?.report.cached)})`);
  return { dataset, comparison, problems };
}

const f = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const count = (n: number): string => n.toLocaleString('en-US');

/** Per-party rows: memory, sync, in-process decision, HTTP latency and throughput. */
export function comparisonTable(result: ComparisonResult): string {
  const baseline = result.parties[0];
  const row = (p: PartyResult): string => {
    const r = p.report;
    const objects = Object.values(r.cached).reduce((a, b) => a + b, 0);
    const heapHeld = r.heapAfterMiB - r.heapBeforeMiB;
    const rssOverBaseline = baseline === undefined || p === baseline ? NaN : p.idleRssMiB - baseline.idleRssMiB;
    return (
      `| ${p.name} | ${count(objects)} | ${objects > 0 ? `${f(r.syncMs / 1000)} (${r.syncCpuMs === undefined ? '–' : f(r.syncCpuMs / 1000)})` : '–'} | ${objects > 0 ? f(heapHeld, 1) : '–'} | ${objects > 0 ? f((heapHeld * 2 ** 20) / objects, 0) : '–'} | ` +
      `${f(p.idleRssMiB, 0)}${Number.isFinite(rssOverBaseline) ? ` (+${f(rssOverBaseline, 0)})` : ''} | ${f(p.peakRssUnderLoadMiB, 0)} | ${f(r.hwmAfterSyncMiB, 0)} | ` +
      `${f(r.decision.p50Us, 0)} / ${f(r.decision.p99Us, 0)} / ${f(r.decision.cpuMeanUs, 0)} | ${f(p.fixedP50Ms)} / ${f(p.fixedP99Ms)} | ${p === baseline ? '–' : f(p.addedP99Ms)} | ` +
      `${f(p.closedRps, 0)} (${p === baseline ? '1.00' : f(p.rpsRatio)}×) | ${f(p.cpuUsPerRequest, 0)} |`
    );
  };
  return [
    '| webhook | objects in view | sync (s, CPU s) | heap held (MiB) | heap per object (B) | idle RSS (MiB, vs baseline) | peak RSS under load (MiB) | VmHWM after sync (MiB) | decision p50 / p99 / mean CPU (µs, in-process) | HTTPS p50 / p99 (ms) at ' +
      `${result.fixedRate} req/s | added p99 (ms) | closed-loop req/s (ratio) | CPU µs/request |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...result.parties.map(row),
  ].join('\n');
}

/** Rows for the Targets table (issue #16: ≤ 1 ms added p99). */
export function viewVerdicts(result: ViewBenchResult): Verdict[] {
  const [baseline, view] = result.comparison.parties;
  if (baseline === undefined || view === undefined) return [];
  const decisionAdded = (view.report.decision.p99Us - baseline.report.decision.p99Us) / 1000;
  return [
    {
      target: `view of ${count(result.dataset.namespaces)} namespaces + ${count(result.dataset.grants)} grants: ≤ 1 ms added /validate p99 (HTTPS, same-round pairs)`,
      result: `${f(view.addedP99Ms)} ms (${f(view.fixedP99Ms)} vs ${f(baseline.fixedP99Ms)} ms)`,
      met: view.addedP99Ms <= 1,
    },
    { target: '… and in-process decision p99 added ≤ 1 ms', result: `${f(decisionAdded, 3)} ms`, met: decisionAdded <= 1 },
  ];
}

export function viewText(result: ViewBenchResult, plan: { rounds: number; roundSeconds: number; connections: number; churnPerSecond: number }): string {
  const d = result.dataset;
  const view = result.comparison.parties[1];
  return [
    `Subject: the webhook as \`serve\` builds it (buildServer, TLS, pino at info to /dev/null) in a fresh process on core 0, with an InformerClusterView over ` +
      `client-node, fed by a fake API server over HTTPS in its own process on core 1 (bench/view/clusterApiServer.ts: paginated lists, 500 per page, and open watches; ` +
      `${plan.churnPerSecond} grants MODIFIED per second on the policy watch during the rounds, ${count(result.comparison.churned)} in all). ` +
      `View: ${count(d.namespaces)} namespaces, ${count(d.grants)} live grants (${count(d.grants / Math.max(1, d.namespaces))} per namespace, 500 requesters), ` +
      `${count(d.closedRecords)} GrantRecords closed an hour ago. Baseline: the same webhook, same config, no view (the view's rules are skipped). ` +
      `Request: /validate of a grant CREATE in a namespace with live grants by a requester with ${count(Math.ceil(d.grants / 500))} of them; config with both quotas and a profile chosen by namespace labels. ` +
      `${plan.rounds} closed-loop and ${plan.rounds} fixed-rate (half the baseline's closed-loop rate) interleaved rounds of ${plan.roundSeconds} s per webhook, ${plan.connections} connections, medians; ` +
      'added p99 = median over rounds of (view p99 − baseline p99) in the same round. Heap per object = heap held after sync and a full GC, over every cached object. ' +
      'Decision = validateHandler alone in the same process, before serving (what the view adds without the network around it); mean CPU counts every thread of the process (GC helpers included), so it is not inflated when other work preempts the process.',
    '',
    comparisonTable(result.comparison),
    '',
    view === undefined
      ? ''
      : `Target (issue #16): ≤ 1 ms added p99 — HTTPS ${f(view.addedP99Ms)} ms, in-process decision ${f((view.report.decision.p99Us - (result.comparison.parties[0]?.report.decision.p99Us ?? NaN)) / 1000, 3)} ms.`,
  ].join('\n');
}
