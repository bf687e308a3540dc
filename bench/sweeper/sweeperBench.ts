/**
 * Sweeper pass cost: for each size, a fake API server (own process, core 1) holds the grants, and
 * each pass runs in a fresh process (core 0): the real sweeper, the bare client loop and the raw
 * loop, in rotating order per round. Ratios are medians of same-round pairs.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summariseProfile, type MeasuredProfile } from '../profile.js';
import { exitOf, firstMessage, spawnNode, stderrTail, stopChild } from '../proc.js';
import { max, median } from '../stats.js';
import { expiredCount } from './dataset.js';
import type { PassMode, PassReport } from './passWorker.js';

export interface SweeperBenchConfig {
  workDir: string;
  sizes: number[];
  rounds: number;
  /** Profile one bare-loop and one sweeper pass at the largest size. */
  profile: boolean;
  log: (line: string) => void;
}

export const PASS_MODES: readonly PassMode[] = ['client-loop', 'sweeper', 'raw-loop'];

export interface ModeSummary {
  seconds: number;
  cpuSeconds: number;
  rssBeforeMiB: number;
  /** Median over the rounds of each pass's VmHWM (its peak RSS). */
  peakRssMiB: number;
  /** The highest VmHWM of any round: garbage collection timing makes peaks vary between runs. */
  peakRssMaxMiB: number;
}

export interface SweeperSizeResult {
  count: number;
  pages: number;
  /** JSON bytes of all pages (as the raw loop received them). */
  dataMiB: number;
  populateSeconds: number;
  modes: Record<PassMode, ModeSummary>;
  /** Median of same-round sweeper / client-loop. */
  ratio: number;
  /** The same for CPU time: robust against other work taking the core away. */
  cpuRatio: number;
  /** Median of same-round sweeper / raw-loop. */
  ratioRaw: number;
  reports: PassReport[];
}

export interface SweeperBenchResult {
  sizes: SweeperSizeResult[];
  profile: { count: number; baseline: MeasuredProfile; subject: MeasuredProfile } | undefined;
  problems: string[];
}

const PASS_CORE = 0;
const FAKE_CORE = 1;
const MiB = (kib: number): number => kib / 1024;

export async function runSweeperBench(config: SweeperBenchConfig): Promise<SweeperBenchResult> {
  const problems: string[] = [];
  const results: SweeperSizeResult[] = [];
  let profile: SweeperBenchResult['profile'];
  const biggest = Math.max(...config.sizes);
  for (const count of config.sizes) {
    const kubeconfig = path.join(config.workDir, `kubeconfig-${count}.json`);
    const fake = spawnNode(fileURLToPath(new URL('./fakeListServer.js', import.meta.url)), [String(count), kubeconfig], {
      core: FAKE_CORE,
      ipc: true,
    });
    try {
      const ready = await firstMessage<{ ready: boolean; populateSeconds: number }>(fake, 'fake API server');
      config.log(`  fake API server holds ${count} grants (populated in ${ready.populateSeconds.toFixed(1)} s)`);
      const reports: PassReport[] = [];
      for (let r = 0; r < config.rounds; r++) {
        for (const mode of rotate(PASS_MODES, r)) {
          const report = await runPass(mode, kubeconfig, []);
          const problem = checkPass(report, count);
          if (problem) problems.push(`${count} grants, ${mode} round ${r}: ${problem}`);
          reports.push(report);
          config.log(
            `  ${String(count).padStart(6)} grants r${r} ${mode.padEnd(11)} ${report.seconds.toFixed(3).padStart(7)} s (cpu ${report.cpuSeconds.toFixed(3)} s)  rss before ${MiB(report.rssBeforeKiB).toFixed(0)} MiB  peak ${MiB(report.hwmKiB).toFixed(0)} MiB`,
          );
        }
      }
      if (config.profile && count === biggest) {
        const profileOf = async (mode: PassMode): Promise<MeasuredProfile | undefined> => {
          const dir = path.join(config.workDir, 'profiles', `${mode}-${count}`);
          mkdirSync(dir, { recursive: true });
          const report = await runPass(mode, kubeconfig, ['--cpu-prof', '--cpu-prof-dir', dir]);
          const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
          if (file === undefined) return undefined;
          config.log(`  profiled a ${mode} pass over ${count} grants: ${path.join(dir, file)}`);
          return { summary: summariseProfile(path.join(dir, file), { lastSeconds: report.seconds }), units: report.items };
        };
        const baseline = await profileOf('client-loop');
        const subject = await profileOf('sweeper');
        if (baseline && subject) profile = { count, baseline, subject };
      }
      const summarise = (mode: PassMode): ModeSummary => {
        const mine = reports.filter((r) => r.mode === mode);
        return {
          seconds: median(mine.map((r) => r.seconds)),
          cpuSeconds: median(mine.map((r) => r.cpuSeconds)),
          rssBeforeMiB: median(mine.map((r) => MiB(r.rssBeforeKiB))),
          peakRssMiB: median(mine.map((r) => MiB(r.hwmKiB))),
          peakRssMaxMiB: max(mine.map((r) => MiB(r.hwmKiB))),
        };
      };
      const paired = (denominator: PassMode, value: (r: PassReport) => number = (r) => r.seconds): number => {
        const ratios: number[] = [];
        for (let r = 0; r < config.rounds; r++) {
          const subject = reports.filter((x) => x.mode === 'sweeper')[r];
          const base = reports.filter((x) => x.mode === denominator)[r];
          if (subject && base) ratios.push(value(subject) / value(base));
        }
        return median(ratios);
      };
      const raw = reports.find((r) => r.mode === 'raw-loop');
      results.push({
        count,
        pages: raw?.pages ?? NaN,
        dataMiB: (raw?.bytes ?? NaN) / 1024 / 1024,
        populateSeconds: ready.populateSeconds,
        modes: { sweeper: summarise('sweeper'), 'client-loop': summarise('client-loop'), 'raw-loop': summarise('raw-loop') },
        ratio: paired('client-loop'),
        cpuRatio: paired('client-loop', (r) => r.cpuSeconds),
        ratioRaw: paired('raw-loop'),
        reports,
      });
    } finally {
      if (fake.connected) fake.disconnect();
      await stopChild(fake, 'SIGTERM');
    }
  }
  return { sizes: results, profile, problems };
}

async function runPass(mode: PassMode, kubeconfig: string, nodeFlags: string[]): Promise<PassReport> {
  const child = spawnNode(fileURLToPath(new URL('./passWorker.js', import.meta.url)), [mode, kubeconfig], {
    core: PASS_CORE,
    ipc: true,
    stdout: 'null',
    nodeFlags,
  });
  const report = await firstMessage<PassReport>(child, `${mode} pass`);
  const code = await exitOf(child);
  if (code !== 0) throw new Error(`${mode} pass exited with ${code}: ${stderrTail(child)}`);
  return report;
}

/** What makes a pass's numbers meaningless: it did not see every grant, or the sweeper misjudged. */
function checkPass(report: PassReport, count: number): string | undefined {
  if (report.items !== count) return `saw ${report.items} grants, expected ${count}`;
  const s = report.summary;
  if (report.mode !== 'sweeper') return undefined;
  if (!s) return 'no pass summary';
  const expired = expiredCount(count);
  if (!s.complete || s.failed > 0 || s.invalid > 0 || s.dryRun !== expired || s.kept !== count - expired) {
    return `unexpected summary ${JSON.stringify(s)} (expected ${expired} dry-run deletions, ${count - expired} kept)`;
  }
  return undefined;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
