/**
 * `npm run build && tsc -p bench/tsconfig.json && node --expose-gc build/bench/clusterView.js [--namespaces N] [--grants N]`
 *
 * The webhook's cluster view at scale: sync time and heap per cached object for N namespaces and
 * M live grants (fed through in-memory list+watch sources, so the API server's own speed is not
 * measured), and the /validate decision's p50/p99 with the view (quota and re-creation rules
 * running) against without one. In-process, so the difference is what the view adds to an
 * admission request's latency; the HTTP path around it is the same either way.
 */
import { parseArgs } from 'node:util';
import type { V1Namespace, V1NetworkPolicy } from '@kubernetes/client-node';
import type { AdmissionRequest } from '../src/admission/types.js';
import { validateHandler } from '../src/admission/validate.js';
import { InformerClusterView } from '../src/cluster/informerView.js';
import { buildConfig } from '../src/config/load.js';
import type { GrantRecord } from '../src/controller/grantRecord.js';
import type { ListWatchSource } from '../src/kube/informer.js';
import { annotationKeys } from '../src/lifecycle/annotations.js';
import { quantileSorted } from './stats.js';

const { values } = parseArgs({ options: { namespaces: { type: 'string', default: '10000' }, grants: { type: 'string', default: '50000' }, iterations: { type: 'string', default: '20000' } } });
const NAMESPACES = Number(values.namespaces);
const GRANTS = Number(values.grants);
const ITERATIONS = Number(values.iterations);
const NOW = new Date('2026-12-01T09:00:00Z');

function staticSource<R>(items: R[]): ListWatchSource<R> {
  return {
    list: async (request) => {
      const start = Number(request.continueToken ?? 0);
      const page = items.slice(start, start + request.limit);
      const next = start + request.limit;
      return { items: page, continueToken: next < items.length ? String(next) : undefined, resourceVersion: '1' };
    },
    watch: () => {
      let end!: (v: unknown) => void;
      return { connected: Promise.resolve(true), ended: new Promise((r) => (end = r)), abort: () => end(null) };
    },
  };
}

function grant(namespace: string, name: string, requester: string, ticket: string): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      namespace,
      name,
      resourceVersion: '1',
      labels: { 'netpol-guard.io/temporary': 'true' },
      annotations: {
        'netpol-guard.io/ttl': '2h',
        'netpol-guard.io/expires-at': '2026-12-01T11:00:00Z',
        'netpol-guard.io/granted-at': '2026-12-01T09:00:00Z',
        'netpol-guard.io/requested-by': requester,
        'netpol-guard.io/ticket': ticket,
      },
    },
    spec: {
      podSelector: { matchLabels: { app: 'orders-db' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
    },
  };
}

function heapMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function decisionLatencies(run: () => void): { p50: number; p99: number } {
  for (let i = 0; i < 2_000; i++) run();
  const samples = new Float64Array(ITERATIONS);
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = process.hrtime.bigint();
    run();
    samples[i] = Number(process.hrtime.bigint() - t0) / 1e3;
  }
  samples.sort();
  return { p50: quantileSorted(samples, 0.5), p99: quantileSorted(samples, 0.99) };
}

async function main(): Promise<void> {
  if ((globalThis as { gc?: () => void }).gc === undefined) console.error('note: run with --expose-gc for exact heap figures');
  const configResult = buildConfig({ quotas: { maxLiveGrantsPerNamespace: 1_000, maxLiveGrantsPerRequester: 1_000 }, profiles: [{ name: 'prod', match: { namespaceSelector: { matchLabels: { env: 'prod' } } }, limits: { maxTTL: '2h' } }] });
  if (!configResult.ok) throw new Error(configResult.errors.join('; '));
  const config = configResult.config;

  const namespaces: V1Namespace[] = Array.from({ length: NAMESPACES }, (_, i) => ({ metadata: { name: `ns-${i}`, resourceVersion: '1', labels: { env: i % 2 === 0 ? 'prod' : 'staging', team: `team-${i % 50}`, 'kubernetes.io/metadata.name': `ns-${i}` } } }));
  const policies = Array.from({ length: GRANTS }, (_, i) => grant(`ns-${i % NAMESPACES}`, `grant-${i}`, `user-${i % 500}@example.com`, `INC-${i}`));
  const before = heapMiB();
  const view = new InformerClusterView({
    sources: { namespaces: staticSource(namespaces), policies: staticSource(policies), grantRecords: staticSource<GrantRecord>([]) },
    keys: annotationKeys(),
    guardWindowMs: config.limits.recreateCooldownMs,
    maxStalenessMs: 30_000,
  });
  const t0 = performance.now();
  view.start();
  await view.whenSynced();
  const syncMs = performance.now() - t0;
  const after = heapMiB();
  const cached = NAMESPACES + GRANTS;

  const object = grant('ns-2', 'new-grant', 'user-2@example.com', 'INC-999999');
  const request: AdmissionRequest = {
    uid: 'u',
    kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
    resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
    namespace: 'ns-2',
    operation: 'CREATE',
    userInfo: { username: 'user-2@example.com', groups: [] },
    object,
  };
  const withView = validateHandler(request, config, NOW, view);
  if (!withView.allowed || withView.profile !== 'prod') throw new Error(`unexpected verdict with the view: ${withView.message ?? withView.profile}`);
  const viewLatency = decisionLatencies(() => validateHandler(request, config, NOW, view));
  const noViewLatency = decisionLatencies(() => validateHandler(request, config, NOW));
  await view.stop();

  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  console.log(`cluster view: ${NAMESPACES} namespaces + ${GRANTS} live grants`);
  console.log(`  sync (list + index, in-memory sources): ${syncMs.toFixed(0)} ms`);
  console.log(`  heap held by the view: ${(after - before).toFixed(1)} MiB (${(((after - before) * 2 ** 20) / cached).toFixed(0)} bytes per cached object; the source arrays excluded)`);
  console.log(`  process RSS after: ${rssMiB.toFixed(0)} MiB`);
  console.log(`  /validate decision, quota + re-creation rules, profile by labels: p50 ${viewLatency.p50.toFixed(1)} µs, p99 ${viewLatency.p99.toFixed(1)} µs`);
  console.log(`  /validate decision without a view:                               p50 ${noViewLatency.p50.toFixed(1)} µs, p99 ${noViewLatency.p99.toFixed(1)} µs`);
  console.log(`  added p99: ${(viewLatency.p99 - noViewLatency.p99).toFixed(1)} µs (target <= 1000 µs)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
