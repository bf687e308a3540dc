/**
 * Two (or more) webhooks built by bench/view/webhookWorker.ts, each in its own process pinned to
 * core 0, against one fake API server (bench/view/clusterApiServer.ts) on core 1, loaded over HTTPS
 * by autocannon (bench/http/loadWorker.ts, core 1) with the same /validate body. The first party is
 * the baseline. Rounds interleave the parties (rotating the order), closed-loop rounds give the
 * throughput ratio, fixed-rate rounds at half the baseline's closed-loop rate give p50/p99; added
 * p99 is the median over rounds of (party p99 − baseline p99) in the same round.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdmissionReview } from '../../src/admission/types.js';
import { ensureCertificates, servingNames } from '../../src/tls/certs.js';
import { loadClient } from '../http/admissionBench.js';
import type { LoadResult } from '../http/loadWorker.js';
import { exitOf, firstMessage, freePort, httpsRequest, readCpuSeconds, readMemory, RssSampler, spawnNode, stderrTail, stopChild } from '../proc.js';
import { median } from '../stats.js';
import { benchReview, type ClusterDataset } from './dataset.js';
import type { WebhookOptions, WebhookReport } from './webhookWorker.js';

export interface PartySpec {
  name: string;
  /** Give this party a cluster view over the fake API server. */
  view: boolean;
  /** And plug pods and every NetworkPolicy into it. */
  pods: boolean;
}

export interface ComparisonConfig {
  workDir: string;
  dataset: ClusterDataset;
  /** Raw config for every party. */
  config: unknown;
  parties: PartySpec[];
  /** Grants MODIFIED per second on the policy watches during the rounds. */
  churnPerSecond: number;
  rounds: number;
  roundSeconds: number;
  warmupSeconds: number;
  connections: number;
  decisionBudgetMs: number;
  log: (line: string) => void;
}

export interface PartyResult {
  name: string;
  report: WebhookReport;
  /** The /validate answer's effect audit annotation, if any (shows what the analysis computed). */
  effect: string | undefined;
  idleRssMiB: number;
  peakRssUnderLoadMiB: number;
  closedRps: number;
  cpuUsPerRequest: number;
  fixedP50Ms: number;
  fixedP99Ms: number;
  fixedP999Ms: number;
  /** Median over fixed-rate rounds of this party's p99 minus the baseline's in the same round. */
  addedP99Ms: number;
  /** Median over closed rounds of this party's req/s over the baseline's. */
  rpsRatio: number;
}

export interface ComparisonResult {
  fixedRate: number;
  apiObjects: Record<string, number>;
  churned: number;
  parties: PartyResult[];
  problems: string[];
}

const SERVER_CORE = 0;
const SIDE_CORE = 1;
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

interface Round {
  party: string;
  mode: 'closed' | 'fixed';
  round: number;
  result: LoadResult;
  cpuUsPerRequest: number;
  peakRssKiB: number;
}

export async function compareWebhooks(config: ComparisonConfig): Promise<ComparisonResult> {
  const problems: string[] = [];
  const certs = await ensureCertificates({ dir: path.join(config.workDir, 'certs'), ...servingNames() });
  const ca = readFileSync(certs.paths.caCert, 'utf8');
  const kubeconfig = path.join(config.workDir, `view-${process.pid}-${Date.now()}.kubeconfig`);
  const api = spawnNode(here('./clusterApiServer.js'), [kubeconfig, JSON.stringify(config.dataset), String(config.churnPerSecond)], { core: SIDE_CORE, ipc: true });
  const children: ChildProcess[] = [api];
  try {
    const ready = await firstMessage<{ counts: Record<string, number> }>(api, 'fake API server');
    const body = JSON.stringify(benchReview(config.dataset));

    const webhooks: Array<{ spec: PartySpec; child: ChildProcess; report: WebhookReport; effect: string | undefined; idleRssMiB: number; peakRssKiB: number }> = [];
    for (const spec of config.parties) {
      const options: WebhookOptions = {
        port: await freePort(),
        certFile: certs.paths.cert,
        keyFile: certs.paths.key,
        config: config.config,
        ...(spec.view && { kubeconfig }),
        pods: spec.pods,
        dataset: config.dataset,
        decisionBudgetMs: config.decisionBudgetMs,
      };
      const child = spawnNode(here('./webhookWorker.js'), [JSON.stringify(options)], { core: SERVER_CORE, ipc: true, stdout: 'null', nodeFlags: ['--expose-gc'] });
      children.push(child);
      const report = await firstMessage<WebhookReport>(child, `webhook ${spec.name}`);
      if (!report.decision.allowed) problems.push(`${spec.name}: the benchmark admission was denied in-process: ${report.decision.message ?? ''}`);
      const answer = await httpsRequest(`${report.url}/validate`, { ca, method: 'POST', body, headers: { 'content-type': 'application/json' } });
      const verdict = answer.status === 200 ? (JSON.parse(answer.body) as AdmissionReview).response : undefined;
      if (verdict?.allowed !== true) problems.push(`${spec.name}: /validate answered ${answer.status}, allowed=${String(verdict?.allowed)}: ${verdict?.status?.message ?? answer.body.slice(0, 300)}`);
      config.log(
        `  ${spec.name}: synced in ${report.syncMs.toFixed(0)} ms (${JSON.stringify(report.cached)}), heap ${(report.heapAfterMiB - report.heapBeforeMiB).toFixed(1)} MiB held, ` +
          `RSS ${report.rssBeforeMiB.toFixed(0)} → ${report.rssAfterMiB.toFixed(0)} MiB; decision p50 ${report.decision.p50Us.toFixed(0)} µs p99 ${report.decision.p99Us.toFixed(0)} µs`,
      );
      webhooks.push({ spec, child, report, effect: verdict?.auditAnnotations?.effect, idleRssMiB: NaN, peakRssKiB: 0 });
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const w of webhooks) w.idleRssMiB = (readMemory(w.child.pid!)?.rssKiB ?? NaN) / 1024;

    const generator = spawnNode(here('../http/loadWorker.js'), [], { core: SIDE_CORE, ipc: true });
    children.push(generator);
    const load = loadClient(generator);
    const rounds: Round[] = [];
    const round = async (w: (typeof webhooks)[number], mode: Round['mode'], index: number, overallRate?: number): Promise<void> => {
      if (w.child.exitCode !== null) throw new Error(`${w.spec.name} webhook died: ${stderrTail(w.child)}`);
      const pid = w.child.pid!;
      const sampler = new RssSampler(pid);
      const cpuBefore = readCpuSeconds(pid) ?? 0;
      sampler.start();
      const result = await load({ url: `${w.report.url}/validate`, body, connections: config.connections, durationSeconds: config.roundSeconds, ...(overallRate !== undefined && { overallRate }) });
      const peakRssKiB = sampler.stop();
      w.peakRssKiB = Math.max(w.peakRssKiB, peakRssKiB);
      const cpuUsPerRequest = (((readCpuSeconds(pid) ?? cpuBefore) - cpuBefore) * 1e6) / Math.max(1, result.responses);
      if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
        problems.push(`${w.spec.name} ${mode} round ${index}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
      }
      config.log(
        `  ${w.spec.name.padEnd(22)} ${mode.padEnd(6)} r${index} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  ` +
          `${cpuUsPerRequest.toFixed(0)} µs cpu/req  peak RSS ${(peakRssKiB / 1024).toFixed(0)} MiB`,
      );
      rounds.push({ party: w.spec.name, mode, round: index, result, cpuUsPerRequest, peakRssKiB });
    };

    for (const w of webhooks) await load({ url: `${w.report.url}/validate`, body, connections: config.connections, durationSeconds: config.warmupSeconds });
    for (let r = 0; r < config.rounds; r++) for (const w of rotate(webhooks, r)) await round(w, 'closed', r);
    const baseline = webhooks[0]!.spec.name;
    const closedOf = (party: string): Round[] => rounds.filter((x) => x.mode === 'closed' && x.party === party);
    const fixedRate = Math.max(1, Math.round(median(closedOf(baseline).map((x) => x.result.rps)) / 2));
    for (let r = 0; r < config.rounds; r++) for (const w of rotate(webhooks, r)) await round(w, 'fixed', r, fixedRate);

    const api$ = firstMessage<{ churned: number }>(api, 'fake API server');
    api.send({ churned: true });
    const { churned } = await api$;

    const paired = (party: string, mode: Round['mode'], value: (r: Round) => number, combine: (a: number, b: number) => number): number => {
      const out: number[] = [];
      for (const r of rounds.filter((x) => x.mode === mode && x.party === party)) {
        const base = rounds.find((x) => x.mode === mode && x.party === baseline && x.round === r.round);
        if (base) out.push(combine(value(r), value(base)));
      }
      return median(out);
    };
    const parties: PartyResult[] = webhooks.map((w) => {
      const mine = (mode: Round['mode']): Round[] => rounds.filter((x) => x.mode === mode && x.party === w.spec.name);
      const fixed = mine('fixed');
      return {
        name: w.spec.name,
        report: w.report,
        effect: w.effect,
        idleRssMiB: w.idleRssMiB,
        peakRssUnderLoadMiB: w.peakRssKiB / 1024,
        closedRps: median(mine('closed').map((x) => x.result.rps)),
        cpuUsPerRequest: median(mine('closed').map((x) => x.cpuUsPerRequest)),
        fixedP50Ms: median(fixed.map((x) => x.result.p50Ms)),
        fixedP99Ms: median(fixed.map((x) => x.result.p99Ms)),
        fixedP999Ms: median(fixed.map((x) => x.result.p999Ms)),
        addedP99Ms: paired(w.spec.name, 'fixed', (x) => x.result.p99Ms, (a, b) => a - b),
        rpsRatio: paired(w.spec.name, 'closed', (x) => x.result.rps, (a, b) => a / b),
      };
    });
    return { fixedRate, apiObjects: ready.counts, churned, parties, problems };
  } finally {
    for (const child of children.reverse()) {
      if (child.connected) child.disconnect();
      await Promise.race([exitOf(child), new Promise((resolve) => setTimeout(resolve, 5_000))]);
      await stopChild(child, 'SIGKILL', 0);
    }
  }
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
