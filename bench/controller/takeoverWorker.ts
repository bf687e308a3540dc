/**
 * A takeover with COUNT live grants, in a fresh process: the real Sweeper (standby, informer over
 * policyServer.js), GrantRecorder (over grantRecordServer.js, seeded with a record per grant) and
 * LeaderElector. The Lease is held by a silent earlier leader whose lease runs out shortly, so the
 * measured process is a warm standby that acquires it. Times from "lease acquired":
 *   loaded     records listed and reconciled with the live grants (history resumes from here)
 *   dueDone    the DUE grants already past their expiry deleted (and their Events written)
 *   idle       every record write those deletions caused settled
 *
 * usage: node takeoverWorker.js COUNT DUE POLICY_KUBECONFIG RECORD_KUBECONFIG   (IPC: one TakeoverReport)
 */
import { KubeConfig, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { defaultConfig } from '../../src/config/load.js';
import { leaderWork } from '../../src/controller/controllerLoop.js';
import { KubeGrantRecordClient } from '../../src/controller/grantRecordClient.js';
import { LeaderElector } from '../../src/controller/leaderElection.js';
import { LeaseApiError, type LeaseClient, type LeaseRef } from '../../src/controller/leaseClient.js';
import { GrantRecorder } from '../../src/controller/recorder.js';
import { realSleep } from '../../src/kube/clock.js';
import { Sweeper } from '../../src/sweeper/sweeper.js';
import { readMemory } from '../proc.js';
import { RETENTION_MS } from './dataset.js';

export interface TakeoverReport {
  count: number;
  due: number;
  /** Standby start to its informer synced (the schedule full before any leadership). */
  standbySyncSeconds: number;
  loadedSeconds: number;
  dueDoneSeconds: number;
  idleSeconds: number;
  deletions: number;
  recordsClosed: number;
  rssKiB: number;
  hwmKiB: number;
}

const [countText, dueText, policyKubeconfig, recordKubeconfig] = process.argv.slice(2);
const count = Number(countText);
const due = Number(dueText);
if (!Number.isInteger(count) || !Number.isInteger(due) || policyKubeconfig === undefined || recordKubeconfig === undefined) {
  process.stderr.write('usage: takeoverWorker.js COUNT DUE POLICY_KUBECONFIG RECORD_KUBECONFIG\n');
  process.exit(2);
}

/** One Lease in memory, with the API server's resourceVersion rule: the election logic is what runs. */
class MemoryLease implements LeaseClient {
  private lease: V1Lease | undefined;
  private rv = 1;
  constructor(initial: V1Lease) {
    this.lease = this.store(initial);
  }
  async get(): Promise<V1Lease> {
    await Promise.resolve();
    if (this.lease === undefined) throw new LeaseApiError('get lease', undefined, 404);
    return structuredCloneLease(this.lease);
  }
  async create(_ref: LeaseRef, lease: V1Lease): Promise<V1Lease> {
    await Promise.resolve();
    if (this.lease !== undefined) throw new LeaseApiError('create lease', undefined, 409);
    return structuredCloneLease((this.lease = this.store(lease)));
  }
  async update(_ref: LeaseRef, lease: V1Lease): Promise<V1Lease> {
    await Promise.resolve();
    if (this.lease?.metadata?.resourceVersion !== lease.metadata?.resourceVersion) throw new LeaseApiError('update lease', undefined, 409);
    return structuredCloneLease((this.lease = this.store(lease)));
  }
  private store(lease: V1Lease): V1Lease {
    return { ...structuredCloneLease(lease), metadata: { ...lease.metadata, resourceVersion: String(this.rv++) } };
  }
}

function structuredCloneLease(lease: V1Lease): V1Lease {
  const micro = (t: Date | undefined): V1MicroTime | undefined => (t === undefined ? undefined : new V1MicroTime(t.getTime()));
  const spec = lease.spec === undefined ? undefined : { ...lease.spec };
  if (spec) {
    const acquireTime = micro(spec.acquireTime);
    const renewTime = micro(spec.renewTime);
    if (acquireTime) spec.acquireTime = acquireTime;
    if (renewTime) spec.renewTime = renewTime;
  }
  return { ...lease, metadata: { ...lease.metadata }, ...(spec ? { spec } : {}) };
}

const logger = pino({ level: 'warn' });
const config = defaultConfig();
const policyConfig = new KubeConfig();
policyConfig.loadFromFile(policyKubeconfig);
const recordConfig = new KubeConfig();
recordConfig.loadFromFile(recordKubeconfig);
const registry = new Registry();
let recordsClosed = 0;
const recorderLogger = pino(
  { level: 'info' },
  { write: (line: string) => void (line.includes('"grant record written"') && line.includes('"state":"Expired"') && recordsClosed++) },
);
let serverNow: () => Date = () => new Date();
const recorder = new GrantRecorder({
  client: KubeGrantRecordClient.fromKubeConfig(recordConfig),
  config,
  now: () => serverNow(),
  logger: recorderLogger,
  retentionMs: RETENTION_MS,
  sleep: realSleep,
});
const sweeper = new Sweeper({ observer: recorder, kubeConfig: policyConfig, config, registry, logger, standby: true, concurrency: 4 });
serverNow = () => sweeper.serverNow();

const t0 = process.hrtime.bigint();
const since = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e9;
await sweeper.start();
await sweeper.synced();
const standbySyncSeconds = since(t0);

const LEASE_MS = 15_000;
// The earlier leader renewed 14 s ago and then went silent: the lease runs out in about a second.
const lease = new MemoryLease({
  metadata: { namespace: 'netpol-guard', name: 'netpol-guard-controller' },
  spec: { holderIdentity: 'earlier-leader', leaseDurationSeconds: LEASE_MS / 1000, acquireTime: new V1MicroTime(Date.now() - 60_000), renewTime: new V1MicroTime(Date.now() - 14_000), leaseTransitions: 3 },
});
let acquired: bigint | undefined;
let announce: () => void = () => {};
const leading = new Promise<void>((resolve) => (announce = resolve));
const work = leaderWork(sweeper, recorder);
const shutdown = new AbortController();
const elector = new LeaderElector({
  client: lease,
  lease: { namespace: 'netpol-guard' },
  identity: 'bench-standby',
  timing: { leaseDurationMs: LEASE_MS, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
  onStartedLeading: (signal) => {
    acquired = process.hrtime.bigint();
    announce();
    return work(signal);
  },
});
const ended = elector.run(shutdown.signal);
await leading;
const deletionsNow = async (): Promise<number> => {
  const metric = (await registry.getSingleMetric('netpol_guard_sweeper_deletions_total')?.get())?.values ?? [];
  return metric.reduce((sum, v) => sum + v.value, 0);
};
// Measured side by side: the deletions must not wait for the records to load.
const dueDone = (async () => {
  while ((await deletionsNow()) < due) await new Promise((resolve) => setTimeout(resolve, 2));
  return since(acquired!);
})();
await recorder.whenLoaded();
const loadedSeconds = since(acquired!);
const dueDoneSeconds = await dueDone;
while (recordsClosed < due) await new Promise((resolve) => setTimeout(resolve, 2));
await recorder.idle();
const idleSeconds = since(acquired!);
const memory = readMemory(process.pid);
const report: TakeoverReport = {
  count,
  due,
  standbySyncSeconds,
  loadedSeconds,
  dueDoneSeconds,
  idleSeconds,
  deletions: await deletionsNow(),
  recordsClosed,
  rssKiB: memory?.rssKiB ?? NaN,
  hwmKiB: memory?.hwmKiB ?? NaN,
};
shutdown.abort();
await ended;
await sweeper.stop();
process.send?.(report, () => process.exit(0));
