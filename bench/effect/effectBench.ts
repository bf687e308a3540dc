/**
 * `node --expose-gc build/bench/effect/effectBench.js [--pods 100000]`
 *
 * 1. Effect analysis per admission: a namespace of 1,000 pods and 200 policies (plus 10 other
 *    namespaces of 100 pods for peers), read through a PodIndex-backed view as the webhook would.
 *    Target: ≤ 20 ms per admission.
 * 2. The pod source: metadata-only list+watch of N pods from a local fake API server (same
 *    process, so the sync time includes the fake's own serialisation), heap held after sync.
 *    Target: 100,000 pods in ≤ 100 MiB and ≤ 10 s.
 */
import { parseArgs } from 'node:util';
import type { V1LabelSelector, V1NetworkPolicy } from '@kubernetes/client-node';
import { PodIndex } from '../../src/cluster/podIndex.js';
import { PodSource } from '../../src/cluster/podSource.js';
import type { ClusterView, EndedGrant, LiveGrant, PodMeta } from '../../src/cluster/view.js';
import { buildConfig } from '../../src/config/load.js';
import { analyzeEffect } from '../../src/policy/effect/analyze.js';
import { evaluatePolicy } from '../../src/policy/evaluate.js';
import { FakeClusterApi } from '../../test/helpers/fakeClusterApi.js';

/** The webhook's shape of view: pods from a PodIndex, namespaces and policies from maps. */
class IndexedView implements ClusterView {
  constructor(
    private readonly pods: PodIndex,
    private readonly namespaces: Map<string, Record<string, string>>,
    private readonly policies: Map<string, V1NetworkPolicy[]>,
  ) {}
  namespaceLabels(namespace: string) {
    return this.namespaces.get(namespace);
  }
  namespaceNames() {
    return [...this.namespaces.keys()];
  }
  podsMatching(namespace: string, selector: V1LabelSelector): readonly PodMeta[] {
    return this.pods.podsMatching(namespace, selector);
  }
  policiesIn(namespace: string) {
    return this.policies.get(namespace) ?? [];
  }
  provides() {
    return true;
  }
  liveGrantsIn(): readonly LiveGrant[] {
    return [];
  }
  liveGrantsBy(): readonly LiveGrant[] {
    return [];
  }
  endedGrantsNamed(): readonly EndedGrant[] {
    return [];
  }
  endedGrantsWithTicket(): readonly EndedGrant[] {
    return [];
  }
  stale() {
    return false;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function analysisBench(): void {
  const index = new PodIndex();
  const namespaces = new Map<string, Record<string, string>>([['bench', { team: 'pay' }]]);
  for (let i = 0; i < 1000; i++) index.upsert({ namespace: 'bench', name: `p-${i}`, labels: { app: `app-${i % 50}`, shard: String(i % 7), 'pod-template-hash': `h${i % 50}` } });
  for (let n = 0; n < 10; n++) {
    namespaces.set(`other-${n}`, { team: n % 2 === 0 ? 'core' : 'edge' });
    for (let i = 0; i < 100; i++) index.upsert({ namespace: `other-${n}`, name: `q-${i}`, labels: { app: `app-${i % 50}` } });
  }
  const existing: V1NetworkPolicy[] = [];
  for (let k = 0; k < 200; k++) {
    existing.push({
      metadata: { name: `pol-${k}`, namespace: 'bench' },
      spec: {
        podSelector: { matchLabels: { app: `app-${k % 50}` } },
        policyTypes: ['Ingress'],
        ingress: [{ _from: undefined, ports: [{ protocol: 'TCP', port: 8000 + k }], ...{ from: [{ podSelector: { matchLabels: { app: `app-${(k + 1) % 50}` } } }, { ipBlock: { cidr: `10.${k}.0.0/24` } }] } } as never],
      },
    });
  }
  const view = new IndexedView(index, namespaces, new Map([['bench', existing]]));
  const config = buildConfig({}, 'bench');
  if (!config.ok) throw new Error(config.errors.join('; '));
  const shapes: { name: string; policy: V1NetworkPolicy }[] = [
    {
      name: 'typical grant (20 targets, peers app-7 in team=core namespaces + a /24, TCP/5432)',
      policy: {
        metadata: { name: 'grant', namespace: 'bench', annotations: { 'netpol-guard.io/ttl': '2h', 'netpol-guard.io/ticket': 'INC-1' } },
        spec: {
          podSelector: { matchLabels: { app: 'app-3' } },
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'core' } }, podSelector: { matchLabels: { app: 'app-7' } } }, { ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] }] as never,
        },
      },
    },
    {
      name: 'wide grant (all 1,000 pods ← every pod of the namespace on 10 ports)',
      policy: {
        metadata: { name: 'grant', namespace: 'bench' },
        spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 9000, endPort: 9009 }] }] as never },
      },
    },
  ];
  console.log('| shape | analysis p50 | analysis p99 | evaluatePolicy p50 | evaluatePolicy p99 |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const shape of shapes) {
    const analysis: number[] = [];
    const whole: number[] = [];
    for (let i = 0; i < 20; i++) analyzeEffect({ policy: shape.policy, namespace: 'bench', cluster: view });
    for (let i = 0; i < 200; i++) {
      let t = process.hrtime.bigint();
      analyzeEffect({ policy: shape.policy, namespace: 'bench', cluster: view });
      analysis.push(Number(process.hrtime.bigint() - t) / 1e6);
      t = process.hrtime.bigint();
      evaluatePolicy({ operation: 'CREATE', policy: shape.policy, namespace: 'bench', user: { username: 'u', groups: [] }, config: config.config, now: new Date(), cluster: view });
      whole.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    analysis.sort((a, b) => a - b);
    whole.sort((a, b) => a - b);
    const f = (ms: number) => `${ms.toFixed(2)} ms`;
    console.log(`| ${shape.name} | ${f(percentile(analysis, 0.5))} | ${f(percentile(analysis, 0.99))} | ${f(percentile(whole, 0.5))} | ${f(percentile(whole, 0.99))} |`);
  }
}

async function podSourceBench(count: number, pageSize: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const fake = await FakeClusterApi.start({ recordRequests: false });
  const teams = ['core', 'edge', 'pay', 'data'];
  for (let i = 0; i < count; i++) {
    const app = `app-${i % 2000}`;
    fake.putPod({ namespace: `ns-${i % 500}`, name: `${app}-7d9f8c6b5-${i.toString(36)}`, labels: { app, 'pod-template-hash': `7d9f${i % 2000}`, team: teams[i % 4]!, version: `v${i % 3}` }, phase: i % 20 === 0 ? 'Pending' : 'Running' });
  }
  gc();
  const before = process.memoryUsage().heapUsed;
  const started = Date.now();
  const source = new PodSource({ kubeConfig: fake.kubeConfig(), pageSize });
  source.start();
  await source.whenSynced();
  const syncMs = Date.now() - started;
  gc();
  const held = process.memoryUsage().heapUsed - before;
  // One lookup, to show the index answers.
  const t = process.hrtime.bigint();
  const matched = source.index.podsMatching('ns-7', { matchLabels: { app: 'app-7' } }).length;
  const lookupUs = Number(process.hrtime.bigint() - t) / 1e3;
  console.log(`| ${count.toLocaleString('en')} pods | ${pageSize} | ${(syncMs / 1000).toFixed(2)} s | ${(held / 2 ** 20).toFixed(1)} MiB | ${source.index.size.toLocaleString('en')} indexed, lookup ${lookupUs.toFixed(0)} µs (${matched} matched) |`);
  await source.stop();
  await fake.close();
}

const { values } = parseArgs({ options: { pods: { type: 'string', multiple: true }, 'page-size': { type: 'string', multiple: true } } });
const sizes = (values.pods ?? ['10000', '100000']).map(Number);
console.log('## Effect analysis per admission (1,000 pods and 200 policies in the namespace, 1,000 pods elsewhere)\n');
analysisBench();
console.log('\n## Pod source: metadata-only list+watch, heap held after sync\n');
console.log('| pods | page size | sync | heap held | index |');
console.log('| --- | ---: | ---: | ---: | --- |');
const pageSizes = (values['page-size'] ?? ['500']).map(Number);
for (const n of sizes) for (const pageSize of pageSizes) await podSourceBench(n, pageSize);
