/**
 * Issue #19's cost bound, measured: twelve clients post 100,000-element policies (3.5 MiB each,
 * closed loop) while the API server's normal traffic (a narrow grant to /validate, at a fixed
 * rate) is timed. The real server (`netpol-guard serve`, production log level, the manifests'
 * Node heap flag) runs pinned to core 0; each load runs in its own generator process on core 1.
 *
 * Two configs: the default (limits.maxPolicyElements 2000: the hostile body is denied as
 * policy-too-large after a count) and the limit raised out of the way (1,000,000: every hostile
 * body is checked and judged in full, as before the limit existed). Each config gets a quiet round
 * (normal traffic only) and a hostile round. The target: normal /validate p99 ≤ 250 ms under the
 * hostile load, and the server's peak RSS under the manifests' memory limit.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { AdmissionReview } from '../../src/admission/types.js';
import { ensureCertificates, servingNames } from '../../src/tls/certs.js';
import { freePort, httpsRequest, readCpuSeconds, RssSampler, spawnNode, stderrTail, stopChild, waitUntilServing } from '../proc.js';
import { loadClient } from './admissionBench.js';
import type { LoadResult } from './loadWorker.js';
import { admissionReview, userPolicy } from './reviews.js';

export interface HostileBenchConfig {
  repoRoot: string;
  workDir: string;
  roundSeconds: number;
  warmupSeconds: number;
  log: (line: string) => void;
}

export const HOSTILE_CLIENTS = 12;
export const HOSTILE_ELEMENTS = 100_000;
/** Normal admissions per second during a round (a busy cluster's NetworkPolicy writes, and more). */
export const NORMAL_RATE = 100;
/**
 * Many connections for a low rate: each sends its next request only after an answer, so with few
 * connections a stall would also delay the sends and hide the stall (coordinated omission). The
 * "answered" column shows the share of the scheduled requests that got an answer in the round.
 */
const NORMAL_CONNECTIONS = 50;
export const NORMAL_P99_TARGET_MS = 250;

export interface HostileRound {
  config: 'default limit' | 'limit raised';
  load: 'quiet' | 'hostile';
  normal: LoadResult;
  hostile: LoadResult | undefined;
  serverCpu: number;
  serverPeakRssMiB: number;
}

export interface HostileBenchResult {
  hostileBodyBytes: number;
  normalBodyBytes: number;
  /** From manifests/deployment.yaml, webhook container. */
  manifestMemoryLimitMiB: number;
  nodeOptions: string;
  /** The hostile body's answer under the default config (must be the policy-too-large denial). */
  hostileAnswer: string;
  rounds: HostileRound[];
  problems: string[];
}

/** The webhook container's memory limit and NODE_OPTIONS, so the subject runs as deployed. */
export function manifestLimits(repoRoot: string): { memoryLimitMiB: number; nodeOptions: string } {
  const docs = parseAllDocuments(readFileSync(path.join(repoRoot, 'manifests', 'deployment.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const deployment = docs.find((d) => d?.kind === 'Deployment');
  const webhook = (deployment?.spec?.template?.spec?.containers as Array<Record<string, any>>).find((c) => c.name === 'webhook');
  const memory = String(webhook?.resources?.limits?.memory ?? '');
  const match = /^(\d+)Mi$/.exec(memory);
  if (!match) throw new Error(`manifests/deployment.yaml: webhook memory limit "${memory}" is not in Mi`);
  const nodeOptions = String((webhook?.env as Array<{ name: string; value: string }>).find((e) => e.name === 'NODE_OPTIONS')?.value ?? '');
  return { memoryLimitMiB: Number(match[1]), nodeOptions };
}

/** One ingress rule with `n` ipBlock peers: what a hostile pod posts straight to port 8443. */
function hostileBody(n: number): string {
  const policy = userPolicy('narrow-grant') as { spec: { ingress: Array<{ from: unknown[] }> } };
  policy.spec.ingress[0]!.from = Array.from({ length: n }, (_, i) => ({ ipBlock: { cidr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32` } }));
  return JSON.stringify(admissionReview(policy));
}

export async function runHostileBench(config: HostileBenchConfig): Promise<HostileBenchResult> {
  const problems: string[] = [];
  const { memoryLimitMiB, nodeOptions } = manifestLimits(config.repoRoot);
  const certs = await ensureCertificates({ dir: path.join(config.workDir, 'hostile-certs'), ...servingNames() });
  const ca = readFileSync(certs.paths.caCert, 'utf8');
  const cli = path.join(config.repoRoot, 'dist', 'cli', 'main.js');
  const raisedConfig = path.join(config.workDir, 'limit-raised.yaml');
  writeFileSync(raisedConfig, 'limits:\n  maxPolicyElements: 1000000\n');

  const hostile = hostileBody(HOSTILE_ELEMENTS);
  const normal = JSON.stringify(admissionReview(userPolicy('narrow-grant')));
  const generators: ChildProcess[] = [];
  const newGenerator = () => {
    const child = spawnNode(fileURLToPath(new URL('./loadWorker.js', import.meta.url)), [], { core: 1, ipc: true });
    generators.push(child);
    return loadClient(child);
  };
  const normalLoad = newGenerator();
  const hostileLoad = newGenerator();
  const rounds: HostileRound[] = [];
  let hostileAnswer = '';
  try {
    for (const variant of ['default limit', 'limit raised'] as const) {
      const port = await freePort();
      const args = ['serve', '--port', String(port), '--host', '127.0.0.1', '--tls-cert', certs.paths.cert, '--tls-key', certs.paths.key, '--log-level', 'info'];
      if (variant === 'limit raised') args.push('--config', raisedConfig);
      const child = spawnNode(cli, args, { core: 0, stdout: 'null', nodeFlags: nodeOptions.split(/\s+/).filter(Boolean), cwd: config.workDir });
      const url = `https://127.0.0.1:${port}`;
      try {
        await waitUntilServing(`${url}/readyz`, ca, child);
        const answer = await httpsRequest(`${url}/validate`, { ca, method: 'POST', body: hostile, headers: { 'content-type': 'application/json' }, timeoutMs: 30_000 });
        const response = (JSON.parse(answer.body) as AdmissionReview).response;
        const summary = `HTTP ${answer.status}, allowed ${response?.allowed}, ${(response?.status?.message ?? '').split('\n')[1] ?? ''}`;
        if (variant === 'default limit') {
          hostileAnswer = summary;
          if (answer.status !== 200 || response?.allowed !== false || !/\[policy-too-large\]/.test(response?.status?.message ?? '')) {
            problems.push(`hostile body under the default config was not denied as policy-too-large: ${summary}`);
          }
        }
        const target = (body: string) => ({ url: `${url}/validate`, body });
        await normalLoad({ ...target(normal), connections: NORMAL_CONNECTIONS, durationSeconds: config.warmupSeconds });
        for (const load of ['quiet', 'hostile'] as const) {
          const sampler = new RssSampler(child.pid!);
          const cpuBefore = readCpuSeconds(child.pid!) ?? 0;
          sampler.start();
          const started = performance.now();
          const [normalResult, hostileResult] = await Promise.all([
            normalLoad({ ...target(normal), connections: NORMAL_CONNECTIONS, durationSeconds: config.roundSeconds, overallRate: NORMAL_RATE }),
            load === 'hostile' ? hostileLoad({ ...target(hostile), connections: HOSTILE_CLIENTS, durationSeconds: config.roundSeconds }) : Promise.resolve(undefined),
          ]);
          const seconds = (performance.now() - started) / 1000;
          const peakKiB = sampler.stop();
          if (child.exitCode !== null) throw new Error(`server (${variant}) died during the ${load} round: ${stderrTail(child)}`);
          const round: HostileRound = {
            config: variant,
            load,
            normal: normalResult,
            hostile: hostileResult,
            serverCpu: ((readCpuSeconds(child.pid!) ?? cpuBefore) - cpuBefore) / seconds,
            serverPeakRssMiB: peakKiB / 1024,
          };
          rounds.push(round);
          for (const [what, r] of [['normal', normalResult], ['hostile', hostileResult]] as const) {
            if (r && (r.errors > 0 || r.timeouts > 0 || r.non2xx > 0)) problems.push(`${variant} ${load} round, ${what} load: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
          }
          config.log(
            `  ${variant.padEnd(13)} ${load.padEnd(7)} normal ${fixed(normalResult.rps, 0)} req/s p50 ${fixed(normalResult.p50Ms, 1)} ms p99 ${fixed(normalResult.p99Ms, 1)} ms max ${fixed(normalResult.maxMs, 0)} ms` +
              (hostileResult ? ` | hostile ${fixed(hostileResult.rps, 1)} req/s p50 ${fixed(hostileResult.p50Ms, 0)} ms` : '') +
              ` | server cpu ${(round.serverCpu * 100).toFixed(0)}% peak RSS ${round.serverPeakRssMiB.toFixed(0)} MiB`,
          );
        }
      } finally {
        await stopChild(child);
      }
    }
  } finally {
    for (const g of generators) g.disconnect();
  }
  return {
    hostileBodyBytes: Buffer.byteLength(hostile),
    normalBodyBytes: Buffer.byteLength(normal),
    manifestMemoryLimitMiB: memoryLimitMiB,
    nodeOptions,
    hostileAnswer,
    rounds,
    problems,
  };
}

/** A figure, or a dash when a round got no answers to measure (quantiles of nothing are null). */
function fixed(value: number | null | undefined, digits: number): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '–';
}

/** The markdown section for BENCHMARKS.md. */
export function hostileTable(result: HostileBenchResult): string {
  const rows = result.rounds.map((r) => {
    const h = r.hostile;
    const withinP99 = r.normal.p99Ms <= NORMAL_P99_TARGET_MS ? 'yes' : '**no**';
    const withinRss = r.serverPeakRssMiB < result.manifestMemoryLimitMiB ? 'yes' : '**no**';
    const answered = r.normal.responses / (NORMAL_RATE * r.normal.elapsedSeconds);
    return `| ${r.config} | ${r.load} | ${fixed(r.normal.rps, 0)} (${fixed(answered * 100, 0)}% answered) | ${fixed(r.normal.p50Ms, 1)} | ${fixed(r.normal.p99Ms, 1)} | ${fixed(r.normal.maxMs, 0)} | ${withinP99} | ${fixed(h?.rps, 1)} | ${fixed(h?.p50Ms, 0)} | ${fixed(r.serverCpu * 100, 0)}% | ${fixed(r.serverPeakRssMiB, 0)} | ${withinRss} |`;
  });
  return [
    `Hostile body: one ingress rule with ${HOSTILE_ELEMENTS.toLocaleString('en-US')} ipBlock peers, ${(result.hostileBodyBytes / 1024 / 1024).toFixed(1)} MiB, posted by ${HOSTILE_CLIENTS} clients in a closed loop. ` +
      `Normal traffic: a narrow grant (${result.normalBodyBytes} bytes) to /validate at ${NORMAL_RATE} req/s over ${NORMAL_CONNECTIONS} connections. ` +
      `Server: \`serve --log-level info\` with NODE_OPTIONS \`${result.nodeOptions}\` (as in manifests/deployment.yaml). Answer to the hostile body under the default config: ${result.hostileAnswer}.`,
    '',
    `| config | load | normal req/s (of ${NORMAL_RATE} scheduled) | normal p50 ms | normal p99 ms | normal max ms | p99 ≤ ${NORMAL_P99_TARGET_MS} ms | hostile req/s | hostile p50 ms | server CPU | peak RSS MiB | RSS < ${result.manifestMemoryLimitMiB} Mi limit |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
