import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { MemoryClusterView } from '../../../../src/cluster/memoryView.js';
import type { PodMeta } from '../../../../src/cluster/view.js';
import { analyzeEffect, type DirectionEffect } from '../../../../src/policy/effect/analyze.js';
import { describePorts } from '../../../../src/policy/effect/portAllow.js';
import { effectSummary } from '../../../../src/policy/effect/summary.js';
import { policy } from '../support.js';

/**
 * Hand-checked namespaces. The cluster: namespace `payments` (team: pay) with db-0, db-1 (app: db),
 * api-0 (app: api), job-0 (app: api, Succeeded); namespace `web` (team: front) with web-0, web-1
 * (app: web) and api-9 (app: api); namespace `core` (team: front) with nothing.
 */
const PODS: PodMeta[] = [
  { namespace: 'payments', name: 'db-0', labels: { app: 'db' } },
  { namespace: 'payments', name: 'db-1', labels: { app: 'db' }, phase: 'Pending' },
  { namespace: 'payments', name: 'api-0', labels: { app: 'api' }, phase: 'Running' },
  { namespace: 'payments', name: 'job-0', labels: { app: 'api' }, phase: 'Succeeded' },
  { namespace: 'web', name: 'web-0', labels: { app: 'web' } },
  { namespace: 'web', name: 'web-1', labels: { app: 'web' } },
  { namespace: 'web', name: 'api-9', labels: { app: 'api' } },
];
const NAMESPACES = { payments: { team: 'pay' }, web: { team: 'front' }, core: { team: 'front' } };

function view(policies: V1NetworkPolicy[] = [], pods: PodMeta[] = PODS): MemoryClusterView {
  return new MemoryClusterView({ namespaces: NAMESPACES, pods, policies });
}

function names(refs: readonly { namespace: string; name: string }[]): string[] {
  return refs.map((r) => `${r.namespace}/${r.name}`).sort();
}

function only(effect: ReturnType<typeof analyzeEffect>, direction: 'ingress' | 'egress'): DirectionEffect {
  const d = effect.directions.find((x) => x.direction === direction);
  assert.ok(d, `no ${direction} in effect`);
  return d;
}

const DB = { matchLabels: { app: 'db' } };
const TCP = (port: number) => ({ protocol: 'TCP', port });

describe('effect analysis on hand-checked namespaces', () => {
  it('ingress grant in a namespace without policies: targets are newly isolated and accept all ingress today', () => {
    const grant = policy({ podSelector: DB, ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [TCP(5432)] }] });
    const effect = analyzeEffect({ policy: grant, namespace: 'payments', cluster: view() });
    assert.deepEqual(effect.directions.map((d) => d.direction), ['ingress'], 'policyTypes default to Ingress only without egress rules');
    const d = only(effect, 'ingress');
    assert.deepEqual(names(d.targets), ['payments/db-0', 'payments/db-1'], 'a Pending pod is a target');
    assert.deepEqual(names(d.newlyIsolated), ['payments/db-0', 'payments/db-1']);
    assert.equal(d.groups.length, 1);
    assert.equal(d.groups[0]!.acceptsBefore, 'all ingress');
    assert.equal(d.groups[0]!.acceptsAfter, 'only 198.51.100.0/24 on TCP/5432');
    assert.equal(d.peers.addresses[4], 256n);
    // Nothing is newly allowed to a pod that accepted everything.
    assert.equal(d.delta.podConnections, 0);
    assert.equal(d.delta.addressConnections, 0n);
    assert.equal(effectSummary(effect), 'opens 2 pods ← 256 addresses on TCP/5432; 2 pods newly isolated');
  });

  it('a default-deny policy already isolates every pod: nothing newly isolated, every address × port is new', () => {
    const denyAll = policy({ podSelector: {}, policyTypes: ['Ingress'] }, undefined, 'default-deny');
    const grant = policy({ podSelector: DB, ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24', except: ['198.51.100.0/25'] } }], ports: [TCP(5432), TCP(5433)] }] });
    const d = only(analyzeEffect({ policy: grant, namespace: 'payments', cluster: view([denyAll]) }), 'ingress');
    assert.deepEqual(d.newlyIsolated, []);
    assert.deepEqual(d.groups[0]!.selectedBy, ['default-deny']);
    assert.equal(d.groups[0]!.acceptsBefore, 'no ingress');
    assert.equal(d.peers.ipBlocks[0]!.addresses, 128n);
    // 2 targets × 128 addresses × 2 ports.
    assert.equal(d.delta.addressConnections, 512n);
  });

  it('the union of policies: only what the existing policies do not already allow is new', () => {
    const existing = policy(
      { podSelector: DB, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [TCP(5432)] }] },
      undefined,
      'api-to-db',
    );
    const grant = policy({ podSelector: DB, ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 5432, endPort: 5434 }] }] });
    const d = only(analyzeEffect({ policy: grant, namespace: 'payments', cluster: view([existing]) }), 'ingress');
    assert.deepEqual(d.newlyIsolated, []);
    // Peers: every live pod of payments (job-0 has Succeeded and does not count).
    assert.deepEqual(names(d.peers.pods), ['payments/api-0', 'payments/db-0', 'payments/db-1']);
    const byPeer = new Map(d.delta.pods.flatMap((p) => p.peers.map((q) => [q.name, describePorts(p.ports)] as const)));
    assert.equal(byPeer.get('api-0'), 'TCP/5433-5434', 'api-0 already reached 5432');
    assert.equal(byPeer.get('db-0'), 'TCP/5432-5434');
    // 2 targets × (api-0: 2 ports + db-0: 3 + db-1: 3).
    assert.equal(d.delta.podConnections, 2 * (2 + 3 + 3));
  });

  it('namespaceSelector and podSelector in one peer intersect; as two peers they unite', () => {
    const oneTerm = policy({
      podSelector: DB,
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'front' } }, podSelector: { matchLabels: { app: 'api' } } }], ports: [TCP(5432)] }],
    });
    const one = only(analyzeEffect({ policy: oneTerm, namespace: 'payments', cluster: view() }), 'ingress');
    assert.deepEqual(names(one.peers.pods), ['web/api-9']);
    assert.deepEqual(one.peers.namespaces, ['core', 'web']);

    const twoTerms = policy({
      podSelector: DB,
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'front' } } }, { podSelector: { matchLabels: { app: 'api' } } }], ports: [TCP(5432)] }],
    });
    const two = only(analyzeEffect({ policy: twoTerms, namespace: 'payments', cluster: view() }), 'ingress');
    // Every pod of web (and core, empty) plus app=api of the policy's own namespace.
    assert.deepEqual(names(two.peers.pods), ['payments/api-0', 'web/api-9', 'web/web-0', 'web/web-1']);
    assert.deepEqual(two.peers.namespaces, ['core', 'payments', 'web']);
  });

  it('isolation is per direction: an egress grant isolates for egress even where ingress is already isolated', () => {
    const ingressOnly = policy({ podSelector: {}, policyTypes: ['Ingress'] }, undefined, 'deny-ingress');
    const grant = policy({ podSelector: DB, egress: [{ to: [{ ipBlock: { cidr: '203.0.113.7/32' } }], ports: [{ protocol: 'UDP', port: 53 }] }] });
    const effect = analyzeEffect({ policy: grant, namespace: 'payments', cluster: view([ingressOnly]) });
    // policyTypes default: Ingress always, Egress because there are egress rules.
    assert.deepEqual(effect.directions.map((d) => d.direction), ['ingress', 'egress']);
    const ingress = only(effect, 'ingress');
    assert.deepEqual(ingress.newlyIsolated, [], 'deny-ingress already isolates for ingress');
    assert.deepEqual(ingress.rules, [], 'the grant has no ingress rules: it only isolates for ingress');
    const egress = only(effect, 'egress');
    assert.deepEqual(names(egress.newlyIsolated), ['payments/db-0', 'payments/db-1']);
    assert.equal(egress.groups[0]!.acceptsBefore, 'all egress');
    assert.equal(egress.groups[0]!.acceptsAfter, 'only 203.0.113.7/32 on UDP/53');
  });

  it('explicit policyTypes win: egress rules are ignored under policyTypes [Ingress]', () => {
    const grant = policy({ podSelector: DB, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/24' } }] }], egress: [{}] });
    const effect = analyzeEffect({ policy: grant, namespace: 'payments', cluster: view() });
    assert.deepEqual(effect.directions.map((d) => d.direction), ['ingress']);
    // An existing policy of Egress type only does not isolate for ingress.
    const egressOnly = policy({ podSelector: DB, policyTypes: ['Egress'], egress: [{}] }, undefined, 'egress-only');
    const d = only(analyzeEffect({ policy: grant, namespace: 'payments', cluster: view([egressOnly]) }), 'ingress');
    assert.deepEqual(names(d.newlyIsolated), ['payments/db-0', 'payments/db-1']);
  });

  it('named ports: unresolved on metadata-only pods, resolved per pod with container ports', () => {
    const deny = policy({ podSelector: {}, policyTypes: ['Ingress'] }, undefined, 'default-deny');
    const grant = policy({ podSelector: DB, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.1/32' } }], ports: [{ port: 'pg' }] }] });
    const unresolved = only(analyzeEffect({ policy: grant, namespace: 'payments', cluster: view([deny]) }), 'ingress');
    assert.equal(unresolved.rules[0], '10.0.0.1/32 on TCP/pg (named port, not resolved)');
    assert.equal(unresolved.delta.addressConnections, 2n, 'each unresolved name counts one port');

    const pods: PodMeta[] = [
      { namespace: 'payments', name: 'db-0', labels: { app: 'db' }, containerPorts: [{ name: 'pg', containerPort: 5432 }] },
      { namespace: 'payments', name: 'db-1', labels: { app: 'db' }, containerPorts: [{ name: 'pg', containerPort: 6432, protocol: 'TCP' }] },
      { namespace: 'payments', name: 'db-2', labels: { app: 'db' }, containerPorts: [{ name: 'pg', containerPort: 5432, protocol: 'UDP' }] },
    ];
    const resolved = only(analyzeEffect({ policy: grant, namespace: 'payments', cluster: view([deny], pods) }), 'ingress');
    const perTarget = new Map(resolved.delta.addresses.map((a) => [a.targets.map((t) => t.name).join(','), describePorts(a.ports)]));
    assert.equal(perTarget.get('db-0'), 'TCP/5432');
    assert.equal(perTarget.get('db-1'), 'TCP/6432');
    assert.equal(perTarget.has('db-2'), false, 'a TCP named port does not match a UDP container port');
  });

  it('UPDATE: the stored version of the same policy is not one of the others', () => {
    const stored = policy({ podSelector: DB, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [TCP(5432)] }] });
    const updated = policy({ podSelector: DB, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [TCP(5432), TCP(5433)] }] });
    const d = only(analyzeEffect({ policy: updated, namespace: 'payments', cluster: view([stored]) }), 'ingress');
    // Without other policies the targets are isolated by this policy alone (as if new).
    assert.deepEqual(names(d.newlyIsolated), ['payments/db-0', 'payments/db-1']);
  });

  it('a target selector that matches nothing: no targets, summary says 0 pods', () => {
    const grant = policy({ podSelector: { matchLabels: { app: 'dbb' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [TCP(5432)] }] });
    const effect = analyzeEffect({ policy: grant, namespace: 'payments', cluster: view() });
    assert.deepEqual(only(effect, 'ingress').targets, []);
    assert.equal(effectSummary(effect), 'opens 0 pods ← 256 addresses on TCP/5432; 0 pods newly isolated');
  });
});
