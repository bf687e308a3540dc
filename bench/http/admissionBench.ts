/**
 * Load on the admission webhook: the real server (`netpol-guard serve` from dist/, production
 * default log level, logs to /dev/null) against a bare fastify HTTPS baseline, both pinned to core
 * 0, loaded by autocannon in a process pinned to core 1. Rounds interleave the parties (rotating
 * the order each round) so drift from other work on the machine hits both alike; results are
 * medians of rounds, and ratios are medians of same-round pairs.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jsonpatch from 'fast-json-patch';
import type { AdmissionReview, JsonPatchOperation } from '../../src/admission/types.js';
import { ensureCertificates, servingNames } from '../../src/tls/certs.js';
import { summariseProfile, type MeasuredProfile } from '../profile.js';
import {
  freePort,
  httpsRequest,
  readCpuSeconds,
  readMemory,
  RssSampler,
  spawnNode,
  stderrTail,
  stopChild,
  waitUntilServing,
  type MemoryStatus,
} from '../proc.js';
import { max, median } from '../stats.js';
import type { LoadRequest, LoadResult } from './loadWorker.js';
import { admissionReview, userPolicy, type PolicyKind } from './reviews.js';

export interface AdmissionBenchConfig {
  repoRoot: string;
  workDir: string;
  rounds: number;
  fixedRounds: number;
  roundSeconds: number;
  warmupSeconds: number;
  connections: number;
  /** Also run the real server at log level warn (no audit line) in the closed-loop rounds. */
  quietVariant: boolean;
  /** Profile both servers (--cpu-prof) in one extra closed-loop round each per scenario. */
  profile: boolean;
  log: (line: string) => void;
}

export type Party = 'baseline' | 'subject' | 'subject-warn';
export const SUBJECT_LOG_LEVEL = 'info';
const SERVER_CORE = 0;
const GENERATOR_CORE = 1;

export interface RoundStats extends LoadResult {
  party: Party;
  mode: 'closed' | 'fixed';
  round: number;
  /** Share of one core the server process used during the round. */
  serverCpu: number;
  /** Server CPU time per answered request, µs: unaffected by how much of the core it got. */
  cpuUsPerRequest: number;
  /** Highest server VmRSS sampled during the round, MiB. */
  serverPeakRssMiB: number;
}

export interface PartySummary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** Worst single response over all rounds. */
  maxMs: number;
  /** Highest server VmRSS in any of these rounds, MiB. */
  peakRssMiB: number;
  serverCpu: number;
  cpuUsPerRequest: number;
  generatorCpu: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

export interface ScenarioResult {
  name: string;
  endpoint: 'validate' | 'mutate';
  policy: PolicyKind;
  requestBytes: number;
  responseBytes: number;
  closed: Partial<Record<Party, PartySummary>>;
  /** Median over rounds of subject rps / baseline rps in the same round. */
  closedRatio: number;
  /**
   * Median over rounds of baseline CPU per request / subject CPU per request: the throughput ratio
   * both would reach if each had a core to itself, whatever else ran on the machine.
   */
  cpuRatio: number;
  closedRatioQuiet: number | undefined;
  cpuRatioQuiet: number | undefined;
  /** Requests per second for the fixed-rate rounds: half the baseline's closed-loop median. */
  fixedRate: number;
  fixed: Partial<Record<Party, PartySummary>>;
  rounds: RoundStats[];
}

export interface PartyMemory {
  idleMiB: number;
  /** Highest VmRSS sampled (every 50 ms) during this party's measured rounds. */
  peakUnderLoadMiB: number;
  /** VmHWM at the end: the peak over the process's whole life, startup included. */
  hwmMiB: number;
}

export interface AdmissionBenchResult {
  scenarios: ScenarioResult[];
  memory: Partial<Record<Party, PartyMemory>>;
  profiles: Array<{ scenario: string; baseline: MeasuredProfile; subject: MeasuredProfile; quiet: MeasuredProfile | undefined }>;
  /** Anything that makes the numbers invalid (errors, non-2xx, a failed server): exit non-zero. */
  problems: string[];
}

interface Scenario {
  name: string;
  endpoint: 'validate' | 'mutate';
  policy: PolicyKind;
  body: string;
  responseBytes: number;
}

interface ServerHandle {
  party: Party;
  child: ChildProcess;
  pid: number;
  url: string;
  idle: MemoryStatus;
  peakRssKiB: number;
}

const MiB = (kib: number): number => kib / 1024;

export async function runAdmissionBench(config: AdmissionBenchConfig): Promise<AdmissionBenchResult> {
  const problems: string[] = [];
  const certs = await ensureCertificates({ dir: path.join(config.workDir, 'certs'), ...servingNames() });
  const ca = readFileSync(certs.paths.caCert, 'utf8');
  const tlsArgs = ['--tls-cert', certs.paths.cert, '--tls-key', certs.paths.key];
  const cli = path.join(config.repoRoot, 'dist', 'cli', 'main.js');

  const startSubject = async (party: Party, logLevel: string, nodeFlags: string[] = []): Promise<ServerHandle> => {
    const port = await freePort();
    const child = spawnNode(cli, ['serve', '--port', String(port), '--host', '127.0.0.1', ...tlsArgs, '--log-level', logLevel], {
      core: SERVER_CORE,
      stdout: 'null',
      nodeFlags,
      cwd: config.workDir,
    });
    return serving(party, child, `https://127.0.0.1:${port}`);
  };
  const serving = async (party: Party, child: ChildProcess, url: string): Promise<ServerHandle> => {
    await waitUntilServing(`${url}/readyz`, ca, child);
    return { party, child, pid: child.pid!, url, idle: readMemory(child.pid!)!, peakRssKiB: 0 };
  };

  const servers: ServerHandle[] = [];
  let generator: ChildProcess | undefined;
  try {
    const subject = await startSubject('subject', SUBJECT_LOG_LEVEL);
    servers.push(subject);
    const scenarios = await buildScenarios(subject.url, ca);

    const sizes: Record<string, number> = {};
    for (const s of scenarios) sizes[`/${s.endpoint} ${Buffer.byteLength(s.body)}`] = s.responseBytes;
    const startBaseline = async (nodeFlags: string[] = []): Promise<ServerHandle> => {
      const port = await freePort();
      const child = spawnNode(
        fileURLToPath(new URL('./baselineServer.js', import.meta.url)),
        [String(port), certs.paths.cert, certs.paths.key, JSON.stringify(sizes)],
        { core: SERVER_CORE, stdout: 'null', nodeFlags },
      );
      return serving('baseline', child, `https://127.0.0.1:${port}`);
    };
    const baseline = await startBaseline();
    servers.push(baseline);
    for (const s of scenarios) {
      const answer = await httpsRequest(`${baseline.url}/${s.endpoint}`, postOptions(ca, s.body));
      const bytes = Buffer.byteLength(answer.body);
      if (answer.status !== 200 || bytes !== s.responseBytes) {
        throw new Error(`baseline answered ${s.name} with HTTP ${answer.status}, ${bytes} bytes (the real server: ${s.responseBytes})`);
      }
    }
    const quiet = config.quietVariant ? await startSubject('subject-warn', 'warn') : undefined;
    if (quiet) servers.push(quiet);
    // Idle memory after start-up and one request per scenario, before any load.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const server of servers) server.idle = readMemory(server.pid) ?? server.idle;

    generator = spawnNode(fileURLToPath(new URL('./loadWorker.js', import.meta.url)), [], { core: GENERATOR_CORE, ipc: true });
    const load = loadClient(generator);

    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      const rounds: RoundStats[] = [];
      const round = async (server: ServerHandle, mode: RoundStats['mode'], index: number, overallRate?: number): Promise<RoundStats> => {
        if (server.child.exitCode !== null) throw new Error(`${server.party} server died: ${stderrTail(server.child)}`);
        const sampler = new RssSampler(server.pid);
        const cpuBefore = readCpuSeconds(server.pid) ?? 0;
        sampler.start();
        const result = await load({
          url: `${server.url}/${scenario.endpoint}`,
          body: scenario.body,
          connections: config.connections,
          durationSeconds: config.roundSeconds,
          ...(overallRate !== undefined ? { overallRate } : {}),
        });
        const roundPeakKiB = sampler.stop();
        server.peakRssKiB = Math.max(server.peakRssKiB, roundPeakKiB);
        const serverCpu = ((readCpuSeconds(server.pid) ?? cpuBefore) - cpuBefore) / result.elapsedSeconds;
        const cpuUsPerRequest = (serverCpu * 1e6) / result.rps;
        const stats: RoundStats = { ...result, party: server.party, mode, round: index, serverCpu, cpuUsPerRequest, serverPeakRssMiB: MiB(roundPeakKiB) };
        if (stats.non2xx > 0 || stats.errors > 0 || stats.timeouts > 0) {
          problems.push(`${scenario.name} ${mode} round ${index} on ${server.party}: ${stats.non2xx} non-2xx, ${stats.errors} errors, ${stats.timeouts} timeouts`);
        }
        config.log(
          `  ${scenario.name.padEnd(18)} ${mode.padEnd(6)} r${index} ${server.party.padEnd(12)} ${stats.rps.toFixed(0).padStart(6)} req/s  p50 ${stats.p50Ms.toFixed(2)} ms  p99 ${stats.p99Ms.toFixed(2)} ms  server cpu ${(serverCpu * 100).toFixed(0)}% (${cpuUsPerRequest.toFixed(0)} µs/req)  gen cpu ${(stats.generatorCpu * 100).toFixed(0)}%`,
        );
        rounds.push(stats);
        return stats;
      };

      const closedParties = [baseline, subject, ...(quiet ? [quiet] : [])];
      for (const server of closedParties) {
        await load({ url: `${server.url}/${scenario.endpoint}`, body: scenario.body, connections: config.connections, durationSeconds: config.warmupSeconds });
      }
      for (let r = 0; r < config.rounds; r++) {
        for (const server of rotate(closedParties, r)) await round(server, 'closed', r);
      }
      const closed = summarise(rounds, 'closed');
      const fixedRate = Math.max(1, Math.round((closed.baseline?.rps ?? 0) / 2));
      for (let r = 0; r < config.fixedRounds; r++) {
        for (const server of rotate([baseline, subject], r)) await round(server, 'fixed', r, fixedRate);
      }
      results.push({
        name: scenario.name,
        endpoint: scenario.endpoint,
        policy: scenario.policy,
        requestBytes: Buffer.byteLength(scenario.body),
        responseBytes: scenario.responseBytes,
        closed,
        closedRatio: pairedRatio(rounds, 'subject', (r) => r.rps),
        cpuRatio: pairedRatio(rounds, 'subject', (r) => 1 / r.cpuUsPerRequest),
        closedRatioQuiet: quiet ? pairedRatio(rounds, 'subject-warn', (r) => r.rps) : undefined,
        cpuRatioQuiet: quiet ? pairedRatio(rounds, 'subject-warn', (r) => 1 / r.cpuUsPerRequest) : undefined,
        fixedRate,
        fixed: summarise(rounds, 'fixed'),
        rounds,
      });
    }

    const memory: Partial<Record<Party, PartyMemory>> = {};
    for (const server of servers) {
      const now = readMemory(server.pid);
      memory[server.party] = { idleMiB: MiB(server.idle.rssKiB), peakUnderLoadMiB: MiB(server.peakRssKiB), hwmMiB: MiB(now?.hwmKiB ?? NaN) };
    }
    for (const server of servers.splice(0)) await stopChild(server.child);

    const profiles: AdmissionBenchResult['profiles'] = [];
    if (config.profile) {
      for (const scenario of scenarios) {
        const profileOf = async (party: Party, start: (flags: string[]) => Promise<ServerHandle>): Promise<MeasuredProfile | undefined> => {
          const dir = path.join(config.workDir, 'profiles', `${party}-${scenario.name.replace(/\W+/g, '-')}`);
          mkdirSync(dir, { recursive: true });
          const server = await start(['--cpu-prof', '--cpu-prof-dir', dir]);
          servers.push(server);
          const target = { url: `${server.url}/${scenario.endpoint}`, body: scenario.body, connections: config.connections };
          await load({ ...target, durationSeconds: config.warmupSeconds });
          const measured = await load({ ...target, durationSeconds: config.roundSeconds });
          const measuredEnd = performance.now();
          servers.splice(servers.indexOf(server), 1);
          await stopChild(server.child);
          // The window reaches back from the profile's end (the exit) to the start of the measured
          // round; after the round the server only idles and shuts down.
          const lastSeconds = measured.elapsedSeconds + (performance.now() - measuredEnd) / 1000;
          const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
          if (file === undefined) {
            config.log(`  no profile written for ${party} ${scenario.name} (the server did not exit normally)`);
            return undefined;
          }
          config.log(`  profiled ${party} ${scenario.name}: ${path.join(dir, file)}`);
          return { summary: summariseProfile(path.join(dir, file), { lastSeconds }), units: measured.responses };
        };
        const baseProfile = await profileOf('baseline', startBaseline);
        const subjectProfile = await profileOf('subject', (flags) => startSubject('subject', SUBJECT_LOG_LEVEL, flags));
        const quietProfile = config.quietVariant ? await profileOf('subject-warn', (flags) => startSubject('subject-warn', 'warn', flags)) : undefined;
        if (baseProfile && subjectProfile) profiles.push({ scenario: scenario.name, baseline: baseProfile, subject: subjectProfile, quiet: quietProfile });
      }
    }
    return { scenarios: results, memory, profiles, problems };
  } finally {
    for (const server of servers) await stopChild(server.child);
    generator?.disconnect();
  }
}

function postOptions(ca: string, body: string): Parameters<typeof httpsRequest>[1] {
  return { ca, method: 'POST', body, headers: { 'content-type': 'application/json' } };
}

/**
 * The request bodies, checked against the real server: /mutate must allow and patch; /validate
 * gets the object as it is after that patch (what the API server sends after mutation) and must
 * allow it. A benchmark of a denial or an error path would measure the wrong thing.
 */
async function buildScenarios(subjectUrl: string, ca: string): Promise<Scenario[]> {
  const scenarios: Scenario[] = [];
  for (const policy of ['narrow-grant', 'rules-100'] as const) {
    const original = userPolicy(policy);
    const mutateBody = JSON.stringify(admissionReview(original));
    const mutated = await post(subjectUrl, 'mutate', mutateBody, ca);
    const patchText = mutated.review.response?.patch;
    if (patchText === undefined) throw new Error(`/mutate returned no patch for ${policy}`);
    const patch = JSON.parse(Buffer.from(patchText, 'base64').toString('utf8')) as JsonPatchOperation[];
    const stored = jsonpatch.applyPatch(structuredClone(original), patch as jsonpatch.Operation[], true, false).newDocument;
    const validateBody = JSON.stringify(admissionReview(stored));
    const validated = await post(subjectUrl, 'validate', validateBody, ca);
    scenarios.push(
      { name: `validate ${policy}`, endpoint: 'validate', policy, body: validateBody, responseBytes: validated.bytes },
      { name: `mutate ${policy}`, endpoint: 'mutate', policy, body: mutateBody, responseBytes: mutated.bytes },
    );
  }
  return scenarios;
}

async function post(url: string, endpoint: string, body: string, ca: string): Promise<{ review: AdmissionReview; bytes: number }> {
  const answer = await httpsRequest(`${url}/${endpoint}`, postOptions(ca, body));
  if (answer.status !== 200) throw new Error(`/${endpoint} answered HTTP ${answer.status}: ${answer.body.slice(0, 500)}`);
  const review = JSON.parse(answer.body) as AdmissionReview;
  if (review.response?.allowed !== true) {
    throw new Error(`/${endpoint} did not allow the benchmark policy: ${review.response?.status?.message ?? answer.body.slice(0, 500)}`);
  }
  return { review, bytes: Buffer.byteLength(answer.body) };
}

export function loadClient(generator: ChildProcess): (request: Omit<LoadRequest, 'id'>) => Promise<LoadResult> {
  let nextId = 0;
  const pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();
  generator.on('message', (message: { ok: true; result: LoadResult } | { ok: false; id: number; error: string }) => {
    const id = message.ok ? message.result.id : message.id;
    const waiter = pending.get(id);
    pending.delete(id);
    if (message.ok) waiter?.resolve(message.result);
    else waiter?.reject(new Error(`load generator: ${message.error}`));
  });
  generator.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`load generator exited (${code}): ${stderrTail(generator)}`));
    pending.clear();
  });
  return (request) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      generator.send({ ...request, id });
    });
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function summarise(rounds: RoundStats[], mode: RoundStats['mode']): Partial<Record<Party, PartySummary>> {
  const out: Partial<Record<Party, PartySummary>> = {};
  for (const party of ['baseline', 'subject', 'subject-warn'] as const) {
    const mine = rounds.filter((r) => r.mode === mode && r.party === party);
    if (mine.length === 0) continue;
    const med = (pick: (r: RoundStats) => number): number => median(mine.map(pick));
    const sum = (pick: (r: RoundStats) => number): number => mine.reduce((acc, r) => acc + pick(r), 0);
    out[party] = {
      rps: med((r) => r.rps),
      p50Ms: med((r) => r.p50Ms),
      p99Ms: med((r) => r.p99Ms),
      p999Ms: med((r) => r.p999Ms),
      maxMs: max(mine.map((r) => r.maxMs)),
      peakRssMiB: max(mine.map((r) => r.serverPeakRssMiB)),
      serverCpu: med((r) => r.serverCpu),
      cpuUsPerRequest: med((r) => r.cpuUsPerRequest),
      generatorCpu: med((r) => r.generatorCpu),
      non2xx: sum((r) => r.non2xx),
      errors: sum((r) => r.errors),
      timeouts: sum((r) => r.timeouts),
    };
  }
  return out;
}

/** Median over closed-loop rounds of value(party) / value(baseline) within the same round. */
function pairedRatio(rounds: RoundStats[], party: Party, value: (r: RoundStats) => number): number {
  const ratios: number[] = [];
  for (const r of rounds.filter((x) => x.mode === 'closed' && x.party === party)) {
    const base = rounds.find((x) => x.mode === 'closed' && x.party === 'baseline' && x.round === r.round);
    if (base && value(base) > 0) ratios.push(value(r) / value(base));
  }
  return median(ratios);
}
