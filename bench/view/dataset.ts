/**
 * The cluster the `view` and `effect` benchmarks run against, generated deterministically from a
 * few counts (so the fake API server and the webhook worker build the same objects on their side
 * of the wire without shipping them between processes):
 *   namespaces    ns-00000…, labels env (prod/staging), team (50 teams) and kubernetes.io/metadata.name
 *   grants        live temporary NetworkPolicies, spread over the namespaces, 500 requesters
 *   closed        GrantRecords closed an hour before `nowMs` (inside every re-creation cooldown, so
 *                 the view keeps them)
 *   pods          filler pods over the namespaces (Deployment-shaped names and labels, 5% Pending)
 *   effect        the effect-analysis namespace: `bench` with 1,000 pods and 200 ingress policies,
 *                 and 10 `other-N` namespaces (team core/edge) of 100 pods each for peers
 */
import type { V1Namespace, V1NetworkPolicy } from '@kubernetes/client-node';
import type { AdmissionReview } from '../../src/admission/types.js';
import { defaultConfig } from '../../src/config/load.js';
import { type GrantRecord, recordClosed, recordOpened } from '../../src/controller/grantRecord.js';
import type { PartialObjectMetadata } from '../../src/kube/metadataClient.js';
import { grantPolicy } from '../../test/helpers/fakeApiServer.js';
import { admissionReview } from '../http/reviews.js';

export interface ClusterDataset {
  namespaces: number;
  grants: number;
  closedRecords: number;
  pods: number;
  /** Adds the effect-analysis namespaces (pods and policies). */
  effect: boolean;
  /** Wall-clock "now" of the run: expiries and closings are relative to it (the webhook's clock is real). */
  nowMs: number;
}

export const EFFECT_NAMESPACE = 'bench';
export const EFFECT_PODS = 1_000;
export const EFFECT_POLICIES = 200;
export const PEER_NAMESPACES = 10;
export const PEER_PODS = 100;
const REQUESTERS = 500;
const APPS = 2_000;

/** The requester of the benchmark's admission: one of the dataset's, so quota counting has grants to count. */
export const BENCH_REQUESTER = 'user42@example.com';

export function namespaceName(i: number): string {
  return `ns-${String(i).padStart(5, '0')}`;
}

function namespace(name: string, labels: Record<string, string>, rv: number): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: `ns-uid-${name}`, resourceVersion: String(rv), creationTimestamp: new Date('2026-01-01T00:00:00Z'), labels: { 'kubernetes.io/metadata.name': name, ...labels } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

export function* namespaces(d: ClusterDataset): Generator<V1Namespace> {
  for (let i = 0; i < d.namespaces; i++) yield namespace(namespaceName(i), { env: i % 2 === 0 ? 'prod' : 'staging', team: `team-${i % 50}` }, 10 + i);
  if (d.effect) {
    yield namespace(EFFECT_NAMESPACE, { team: 'pay', env: 'prod' }, 5);
    for (let n = 0; n < PEER_NAMESPACES; n++) yield namespace(`other-${n}`, { team: n % 2 === 0 ? 'core' : 'edge' }, 6);
  }
}

/** Live grant i: in namespace i mod N, requested by one of 500 users, expiring 1–3 h after `nowMs`. */
export function liveGrant(i: number, d: ClusterDataset): V1NetworkPolicy {
  const policy = grantPolicy({
    namespace: namespaceName(i % Math.max(1, d.namespaces)),
    name: `grant-${String(i).padStart(6, '0')}`,
    uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    expiresAt: new Date(d.nowMs + 3_600_000 + (i % 7_200) * 1_000),
    grantedAt: new Date(d.nowMs - 600_000),
    ticket: `INC-${100_000 + i}`,
    requestedBy: `user${i % REQUESTERS}@example.com`,
  });
  policy.metadata!.resourceVersion = String(100_000 + i);
  policy.metadata!.annotations!['netpol-guard.io/ttl'] = '2h';
  return policy;
}

const RECORD_CONFIG = defaultConfig();

/** A grant that ended an hour ago (Expired), named like no live grant, with its own ticket. */
export function closedRecord(i: number, d: ClusterDataset): GrantRecord {
  const closedAt = d.nowMs - 3_600_000;
  const policy = grantPolicy({
    namespace: namespaceName(i % Math.max(1, d.namespaces)),
    name: `ended-${String(i).padStart(6, '0')}`,
    uid: `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`,
    expiresAt: new Date(closedAt),
    grantedAt: new Date(closedAt - 7_200_000),
    ticket: `CHG-${100_000 + i}`,
    requestedBy: `user${i % REQUESTERS}@example.com`,
  });
  const record = recordClosed(recordOpened(policy, new Date(closedAt - 7_200_000), RECORD_CONFIG), 'Expired', new Date(closedAt));
  record.metadata.resourceVersion = String(200_000 + i);
  return record;
}

/** The 200 ingress policies of the effect namespace: every pod there is already ingress-isolated. */
export function effectPolicy(k: number): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `pol-${k}`, namespace: EFFECT_NAMESPACE, uid: `pol-uid-${k}`, resourceVersion: String(300_000 + k) },
    spec: {
      podSelector: { matchLabels: { app: `app-${k % 50}` } },
      policyTypes: ['Ingress'],
      ingress: [{ _from: [{ podSelector: { matchLabels: { app: `app-${(k + 1) % 50}` } } }, { ipBlock: { cidr: `10.${k}.0.0/24` } }], ports: [{ protocol: 'TCP', port: 8000 + k }] }],
    },
  };
}

export function* policies(d: ClusterDataset): Generator<V1NetworkPolicy> {
  for (let i = 0; i < d.grants; i++) yield liveGrant(i, d);
  if (d.effect) for (let k = 0; k < EFFECT_POLICIES; k++) yield effectPolicy(k);
}

export function* records(d: ClusterDataset): Generator<GrantRecord> {
  for (let i = 0; i < d.closedRecords; i++) yield closedRecord(i, d);
}

/** A pod's metadata as the API server sends it for `as=PartialObjectMetadata` (managedFields included, as the server does). */
function podMetadata(namespace: string, app: string, suffix: string, labels: Record<string, string>, rv: number): PartialObjectMetadata {
  const replicaSet = `${app}-7d9f8c6b5`;
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {
      name: `${replicaSet}-${suffix}`,
      generateName: `${replicaSet}-`,
      namespace,
      uid: `pod-${namespace}-${suffix}`,
      resourceVersion: String(rv),
      creationTimestamp: new Date('2026-11-30T12:00:00Z'),
      labels: { app, 'pod-template-hash': '7d9f8c6b5', ...labels },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: replicaSet, uid: `rs-${app}`, controller: true, blockOwnerDeletion: true }],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: new Date('2026-11-30T12:00:00Z'),
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:generateName': {}, 'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} }, 'f:ownerReferences': {} } },
        },
      ],
    },
  };
}

/** Every pod (none Succeeded or Failed: the fake applies no phase selector, so all of them count). */
export function* pods(d: ClusterDataset): Generator<PartialObjectMetadata> {
  const teams = ['core', 'edge', 'pay', 'data'];
  for (let i = 0; i < d.pods; i++) {
    const app = `app-${i % APPS}`;
    yield podMetadata(namespaceName(i % Math.max(1, d.namespaces)), app, i.toString(36), { team: teams[i % 4]!, version: `v${i % 3}` }, 400_000 + i);
  }
  if (d.effect) {
    for (let i = 0; i < EFFECT_PODS; i++) yield podMetadata(EFFECT_NAMESPACE, `app-${i % 50}`, `e${i.toString(36)}`, { shard: String(i % 7) }, 300_000 + i);
    for (let n = 0; n < PEER_NAMESPACES; n++) for (let i = 0; i < PEER_PODS; i++) yield podMetadata(`other-${n}`, `app-${i % 50}`, `o${i.toString(36)}`, {}, 310_000 + n * PEER_PODS + i);
  }
}

/**
 * The benchmark's admission: CREATE of a narrow grant (stamped as /mutate leaves it) by one of the
 * dataset's requesters. In the view dataset it lands in a namespace that already has live grants;
 * in the effect dataset it opens app-3 of the effect namespace to app-7 in team=core namespaces.
 */
export function benchReview(d: ClusterDataset): AdmissionReview {
  const namespace = d.effect ? EFFECT_NAMESPACE : namespaceName(42 % Math.max(1, d.namespaces));
  const expiresAt = new Date(d.nowMs + 2 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const policy: V1NetworkPolicy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: 'allow-reporting-to-orders-db',
      namespace,
      labels: { 'netpol-guard.io/temporary': 'true' },
      annotations: {
        'netpol-guard.io/ttl': '2h',
        'netpol-guard.io/ticket': 'INC-4711',
        'netpol-guard.io/expires-at': expiresAt,
        'netpol-guard.io/granted-at': new Date(d.nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        'netpol-guard.io/requested-by': BENCH_REQUESTER,
      },
    },
    spec: {
      podSelector: { matchLabels: { app: d.effect ? 'app-3' : 'orders-db' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          _from: [
            { namespaceSelector: { matchLabels: { team: d.effect ? 'core' : 'team-3' } }, podSelector: { matchLabels: { app: 'app-7' } } },
            { ipBlock: { cidr: '198.51.100.0/24' } },
          ],
          ports: [{ protocol: 'TCP', port: 5432 }],
        },
      ],
    },
  };
  // The wire form: client-node's model names `from` `_from`.
  const wire = JSON.parse(JSON.stringify(policy).replaceAll('"_from":', '"from":')) as unknown;
  const review = admissionReview(wire);
  review.request!.userInfo.username = BENCH_REQUESTER;
  return review;
}

/** Wire JSON of a client-node model object (`_from` is `from` on the wire). */
export function toWire(object: unknown): string {
  return JSON.stringify(object).replaceAll('"_from":', '"from":');
}
