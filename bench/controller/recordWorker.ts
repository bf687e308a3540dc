/**
 * One history case in a fresh process, with the real GrantRecorder and KubeGrantRecordClient
 * against bench/controller/grantRecordServer.ts:
 *   open   COUNT live grants and no records (a first install, or a takeover after records were
 *          lost): load, reconcile, write COUNT records
 *   prune  no live grants and COUNT closed records, half of them past the retention: load,
 *          reconcile, delete that half
 * The time runs from the start of leadership (actWhile) to the last write settled.
 *
 * usage: node --expose-gc recordWorker.js open|prune COUNT KUBECONFIG   (IPC: sends one RecordReport)
 */
import { KubeConfig, type V1NetworkPolicy } from '@kubernetes/client-node';
import { pino } from 'pino';
import { defaultConfig } from '../../src/config/load.js';
import { KubeGrantRecordClient } from '../../src/controller/grantRecordClient.js';
import { GrantRecorder } from '../../src/controller/recorder.js';
import { realSleep } from '../../src/kube/clock.js';
import { readCpuSeconds, readMemory } from '../proc.js';
import { benchGrant, BENCH_NOW, RETENTION_MS } from './dataset.js';

export type RecordMode = 'open' | 'prune';

export interface RecordReport {
  mode: RecordMode;
  count: number;
  /** From actWhile to the records loaded and reconciled (writes queued). */
  loadSeconds: number;
  /** From actWhile to every write settled. */
  seconds: number;
  cpuSeconds: number;
  /** Writes the recorder logged as done (creates, or prunes). */
  writes: number;
  /** Writes that gave up after their retries. */
  failures: number;
  rssBeforeKiB: number;
  hwmKiB: number;
  /** Heap held after the case (after a full GC) minus before it, per record in the cache. */
  heapBytesPerRecord: number;
}

const [mode, countText, kubeconfigFile] = process.argv.slice(2) as [RecordMode | undefined, string | undefined, string | undefined];
const count = Number(countText);
if ((mode !== 'open' && mode !== 'prune') || !Number.isInteger(count) || count < 1 || kubeconfigFile === undefined) {
  process.stderr.write('usage: recordWorker.js open|prune COUNT KUBECONFIG\n');
  process.exit(2);
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

let writes = 0;
let failures = 0;
// Counting the recorder's own log lines: what it says it did is what the report counts.
const logger = pino(
  { level: 'info' },
  {
    write(line: string) {
      if (line.includes('"grant record opened"') || line.includes('"grant record pruned')) writes++;
      else if (line.includes('could not write grant record') || line.includes('could not prune grant record')) failures++;
    },
  },
);
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfigFile);
const config = defaultConfig();
const live: V1NetworkPolicy[] = mode === 'open' ? Array.from({ length: count }, (_, i) => benchGrant(i)) : [];
const recorder = new GrantRecorder({
  client: KubeGrantRecordClient.fromKubeConfig(kubeConfig),
  config,
  now: () => new Date(BENCH_NOW + (Date.now() - startedWall)),
  logger,
  retentionMs: RETENTION_MS,
  sleep: realSleep,
});
const startedWall = Date.now();

gc();
const heapBefore = process.memoryUsage().heapUsed;
const rssBeforeKiB = readMemory(process.pid)?.rssKiB ?? NaN;
const cpuBefore = readCpuSeconds(process.pid) ?? NaN;
const leadership = new AbortController();
const started = process.hrtime.bigint();
const acting = recorder.actWhile(leadership.signal, () => live);
await recorder.whenLoaded();
const loadSeconds = Number(process.hrtime.bigint() - started) / 1e9;
await recorder.idle();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpuSeconds = (readCpuSeconds(process.pid) ?? NaN) - cpuBefore;
// `live` stays referenced until here, so the difference is what the recorder (and the client's
// pooled connections, a fixed cost) holds, not the grants the informer would hold anyway.
gc();
const heapAfter = process.memoryUsage().heapUsed;
const cached = mode === 'open' ? count : count / 2;
const report: RecordReport = {
  mode,
  count,
  loadSeconds,
  seconds,
  cpuSeconds,
  writes,
  failures,
  rssBeforeKiB,
  hwmKiB: readMemory(process.pid)?.hwmKiB ?? NaN,
  heapBytesPerRecord: (heapAfter - heapBefore) / cached,
};
live.length = 0;
leadership.abort();
await acting;
process.send?.(report, () => process.exit(0));
