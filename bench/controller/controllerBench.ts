/**
 * Controller costs (issue #15): GrantRecord writing and pruning at scale, and a takeover with many
 * live grants. Each case runs in a fresh process on core 0 against fake API servers in their own
 * processes on core 1 (real HTTPS, real client-node), and is checked against the servers' state
 * afterwards: a case that did not write or delete exactly what it should is a problem, not a time.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig } from '../../src/config/load.js';
import { exitOf, firstMessage, spawnNode, stderrTail, stopChild } from '../proc.js';
import { median } from '../stats.js';
import { closedRecord, openRecord } from './dataset.js';
import type { RecordMode, RecordReport } from './recordWorker.js';
import type { TakeoverReport } from './takeoverWorker.js';

export interface ControllerBenchConfig {
  workDir: string;
  /** Records written (open) and pruned (prune) per case. */
  recordCounts: number[];
  takeoverCounts: number[];
  rounds: number;
  log: (line: string) => void;
}

export interface RecordCaseResult {
  mode: RecordMode;
  count: number;
  /** Medians over the rounds. */
  seconds: number;
  loadSeconds: number;
  cpuSeconds: number;
  writesPerSecond: number;
  peakRssMiB: number;
  heapBytesPerRecord: number;
  reports: RecordReport[];
}

export interface TakeoverCaseResult {
  count: number;
  due: number;
  standbySyncSeconds: number;
  loadedSeconds: number;
  dueDoneSeconds: number;
  idleSeconds: number;
  peakRssMiB: number;
  reports: TakeoverReport[];
}

export interface ControllerBenchResult {
  records: RecordCaseResult[];
  takeovers: TakeoverCaseResult[];
  problems: string[];
}

const WORKER_CORE = 0;
const SERVER_CORE = 1;
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

export async function runControllerBench(config: ControllerBenchConfig): Promise<ControllerBenchResult> {
  const problems: string[] = [];
  const records: RecordCaseResult[] = [];
  const takeovers: TakeoverCaseResult[] = [];
  const guard = defaultConfig();

  for (const count of config.recordCounts) {
    for (const mode of ['open', 'prune'] as const) {
      const reports: RecordReport[] = [];
      for (let r = 0; r < config.rounds; r++) {
        const seed = path.join(config.workDir, `records-${mode}-${count}.json`);
        if (mode === 'prune') writeFileSync(seed, JSON.stringify(Array.from({ length: count }, (_, i) => closedRecord(i, guard))));
        const kubeconfig = path.join(config.workDir, `records-${mode}-${count}.kubeconfig`);
        const server = spawnNode(here('./grantRecordServer.js'), [kubeconfig, mode === 'prune' ? seed : '-'], { core: SERVER_CORE, ipc: true });
        try {
          await firstMessage(server, 'grantrecords server');
          const report = await runWorker<RecordReport>('./recordWorker.js', [mode, String(count), kubeconfig], `${mode} ${count}`);
          const stored = await ask<{ count: number; byState: Record<string, number> }>(server, { count: true });
          const expected = mode === 'open' ? count : count / 2;
          if (stored.count !== expected || report.writes !== (mode === 'open' ? count : count / 2) || report.failures > 0) {
            problems.push(`${mode} ${count} r${r}: server holds ${stored.count} records (expected ${expected}), ${report.writes} writes, ${report.failures} failures`);
          }
          reports.push(report);
          config.log(
            `  ${mode.padEnd(5)} ${String(count).padStart(7)} records r${r}: ${report.seconds.toFixed(2)} s (loaded ${report.loadSeconds.toFixed(2)} s, cpu ${report.cpuSeconds.toFixed(2)} s), ` +
              `${Math.round(report.writes / report.seconds)} writes/s, peak ${(report.hwmKiB / 1024).toFixed(0)} MiB, ${Math.round(report.heapBytesPerRecord)} B heap/record`,
          );
        } finally {
          if (server.connected) server.disconnect();
          await stopChild(server, 'SIGTERM');
        }
      }
      records.push({
        mode,
        count,
        seconds: median(reports.map((x) => x.seconds)),
        loadSeconds: median(reports.map((x) => x.loadSeconds)),
        cpuSeconds: median(reports.map((x) => x.cpuSeconds)),
        writesPerSecond: median(reports.map((x) => x.writes / x.seconds)),
        peakRssMiB: median(reports.map((x) => x.hwmKiB / 1024)),
        heapBytesPerRecord: median(reports.map((x) => x.heapBytesPerRecord)),
        reports,
      });
    }
  }

  for (const count of config.takeoverCounts) {
    const due = Math.max(1, Math.round(count / 100));
    const reports: TakeoverReport[] = [];
    for (let r = 0; r < config.rounds; r++) {
      const nowMs = Date.now();
      const seed = path.join(config.workDir, `takeover-${count}.json`);
      writeFileSync(seed, JSON.stringify(Array.from({ length: count }, (_, i) => openRecord(i, guard, nowMs))));
      const policyKubeconfig = path.join(config.workDir, `takeover-policies-${count}.kubeconfig`);
      const recordKubeconfig = path.join(config.workDir, `takeover-records-${count}.kubeconfig`);
      const policies = spawnNode(here('./policyServer.js'), [String(count), String(due), String(nowMs), policyKubeconfig], { core: SERVER_CORE, ipc: true });
      const recordServer = spawnNode(here('./grantRecordServer.js'), [recordKubeconfig, seed], { core: SERVER_CORE, ipc: true });
      try {
        await Promise.all([firstMessage(policies, 'policy server'), firstMessage(recordServer, 'grantrecords server')]);
        const report = await runWorker<TakeoverReport>('./takeoverWorker.js', [String(count), String(due), policyKubeconfig, recordKubeconfig], `takeover ${count}`);
        const left = await ask<{ count: number }>(policies, { count: true });
        const stored = await ask<{ count: number; byState: Record<string, number> }>(recordServer, { count: true });
        if (left.count !== count - due || report.deletions !== due || (stored.byState.Expired ?? 0) !== due || stored.count !== count) {
          problems.push(
            `takeover ${count} r${r}: ${left.count} grants left (expected ${count - due}), ${report.deletions} deletions, ` +
              `${stored.byState.Expired ?? 0} records Expired of ${stored.count} (expected ${due} of ${count})`,
          );
        }
        reports.push(report);
        config.log(
          `  takeover ${count} grants r${r}: standby synced in ${report.standbySyncSeconds.toFixed(2)} s; after the lease: records loaded ${(report.loadedSeconds * 1000).toFixed(0)} ms, ` +
            `${due} due deleted ${(report.dueDoneSeconds * 1000).toFixed(0)} ms, records settled ${(report.idleSeconds * 1000).toFixed(0)} ms; peak ${(report.hwmKiB / 1024).toFixed(0)} MiB`,
        );
      } finally {
        for (const child of [policies, recordServer]) {
          if (child.connected) child.disconnect();
          await stopChild(child, 'SIGTERM');
        }
      }
    }
    takeovers.push({
      count,
      due,
      standbySyncSeconds: median(reports.map((x) => x.standbySyncSeconds)),
      loadedSeconds: median(reports.map((x) => x.loadedSeconds)),
      dueDoneSeconds: median(reports.map((x) => x.dueDoneSeconds)),
      idleSeconds: median(reports.map((x) => x.idleSeconds)),
      peakRssMiB: median(reports.map((x) => x.hwmKiB / 1024)),
      reports,
    });
  }
  return { records, takeovers, problems };
}

async function runWorker<T>(script: string, args: string[], what: string): Promise<T> {
  const child = spawnNode(here(script), args, { core: WORKER_CORE, ipc: true, stdout: 'null', nodeFlags: ['--expose-gc'] });
  const report = await firstMessage<T>(child, what);
  const code = await exitOf(child);
  if (code !== 0) throw new Error(`${what} exited with ${code}: ${stderrTail(child)}`);
  return report;
}

function ask<T>(child: ChildProcess, message: object): Promise<T> {
  const answer = firstMessage<T>(child, 'server');
  child.send(message);
  return answer;
}

/** The markdown tables of a controller run. */
export function controllerTables(result: ControllerBenchResult): string {
  const lines = [
    '| case | records | loaded (s) | total (s) | CPU (s) | writes/s | peak RSS (MiB) | heap per record (B) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...result.records.map(
      (r) =>
        `| ${r.mode} | ${r.count.toLocaleString('en-US')} | ${r.loadSeconds.toFixed(2)} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ` +
        `${Math.round(r.writesPerSecond)} | ${r.peakRssMiB.toFixed(0)} | ${Math.round(r.heapBytesPerRecord)} |`,
    ),
    '',
    '| takeover | live grants | due | standby sync (s) | records loaded (ms after lease) | due deleted (ms) | records settled (ms) | peak RSS (MiB) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...result.takeovers.map(
      (t) =>
        `| | ${t.count.toLocaleString('en-US')} | ${t.due} | ${t.standbySyncSeconds.toFixed(2)} | ${(t.loadedSeconds * 1000).toFixed(0)} | ` +
        `${(t.dueDoneSeconds * 1000).toFixed(0)} | ${(t.idleSeconds * 1000).toFixed(0)} | ${t.peakRssMiB.toFixed(0)} |`,
    ),
  ];
  return lines.join('\n');
}
