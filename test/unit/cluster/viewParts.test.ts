/**
 * The webhook's view with its pod and policy parts wired as `serve` wires them: every NetworkPolicy
 * from one informer (the real client-node list+watch against the fake API server) that serves the
 * live grants and the effect analysis, and a PodSource over the metadata-only fake. Then /validate
 * through that view: a grant isolating Pending pods is denied as isolates-pods, admitted once a
 * baseline policy arrives by watch, with its effect summary in the audit annotation and line.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { V1Namespace, V1NetworkPolicy } from '@kubernetes/client-node';
import type { AdmissionRequest } from '../../../src/admission/types.js';
import { validateHandler } from '../../../src/admission/validate.js';
import { InformerClusterView, projectPolicy } from '../../../src/cluster/informerView.js';
import { PodSource } from '../../../src/cluster/podSource.js';
import type { GrantRecord } from '../../../src/controller/grantRecord.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/kube/retry.js';
import { annotationKeys } from '../../../src/lifecycle/annotations.js';
import { auditFields } from '../../../src/server/audit.js';
import { createPolicyApi, policySource, type PolicyApi } from '../../../src/sweeper/kubeApi.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { FakeClusterApi } from '../../helpers/fakeClusterApi.js';
import { memorySource } from '../../helpers/memorySource.js';
import { config, NOW } from '../policy/support.js';
import { waitFor } from '../sweeper/support.js';

const keys = annotationKeys();

let policiesApi: FakeApiServer;
let podsApi: FakeClusterApi;
let api: PolicyApi;
before(async () => {
  policiesApi = await FakeApiServer.start();
  podsApi = await FakeClusterApi.start({ recordRequests: false });
  api = createPolicyApi(policiesApi.kubeConfig(), { retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 } });
});
after(async () => {
  api.close();
  await policiesApi.stop();
  await podsApi.close();
});

function viewWith(options: { pods?: PodSource; watchAllPolicies?: boolean; namespaces?: V1Namespace[] }): InformerClusterView {
  return new InformerClusterView({
    sources: { namespaces: memorySource<V1Namespace>(options.namespaces ?? []).source, policies: policySource(api, undefined), grantRecords: memorySource<GrantRecord>([]).source },
    keys,
    guardWindowMs: 86_400_000,
    maxStalenessMs: 30_000,
    ...(options.pods !== undefined && { pods: options.pods }),
    ...(options.watchAllPolicies !== undefined && { watchAllPolicies: options.watchAllPolicies }),
  });
}

describe('every NetworkPolicy in the view: one informer for live grants and the analysis', () => {
  it('lists and watches without the temporary label selector; live grants are still only the temporary ones', async () => {
    policiesApi.reset();
    const expiry = new Date(Date.now() + 3_600_000);
    policiesApi.putPolicy(grantPolicy({ namespace: 'payments', name: 'grant-a', expiresAt: expiry, requestedBy: 'alice' }));
    policiesApi.putPolicy(grantPolicy({ namespace: 'payments', name: 'baseline', temporary: false, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(2_000) } }));
    policiesApi.putPolicy(grantPolicy({ namespace: 'shop', name: 'deny-all', temporary: false }));
    const view = viewWith({ watchAllPolicies: true });
    assert.equal(view.provides('policies'), true);
    assert.equal(view.provides('pods'), false);
    view.start();
    try {
      await view.whenSynced();
      for (const request of [...policiesApi.requestsFor('list'), ...policiesApi.requestsFor('watch')]) {
        assert.equal(request.query.labelSelector ?? '', '', `${request.route} asks for every policy`);
      }
      assert.equal(policiesApi.requestsFor('list').length, 1, 'one list serves both parts');
      assert.deepEqual(view.liveGrantsIn('payments').map((g) => g.name), ['grant-a']);
      assert.deepEqual(view.liveGrantsBy('alice').map((g) => g.name), ['grant-a']);
      assert.deepEqual(view.policiesIn('payments').map((p) => p.metadata?.name).sort(), ['baseline', 'grant-a']);
      assert.deepEqual(view.policiesIn('shop').map((p) => p.metadata?.name), ['deny-all']);
      assert.deepEqual(view.policiesIn('nowhere'), []);
      // Kept as namespace, name and spec: no annotations (kubectl's last-applied copy), no labels.
      const baseline = view.policiesIn('payments').find((p) => p.metadata?.name === 'baseline')!;
      assert.deepEqual(Object.keys(baseline).sort(), ['metadata', 'spec']);
      assert.deepEqual(baseline.metadata, { namespace: 'payments', name: 'baseline' });
      assert.deepEqual({ ...baseline.spec?.podSelector?.matchLabels }, { app: 'client' });
      const counts = Object.fromEntries(view.status().informers.map((i) => [i.name, [i.synced, i.cached]]));
      assert.deepEqual(counts, { namespaces: [true, 0], grants: [true, 1], grantrecords: [true, 0], policies: [true, 3] });

      // A policy gaining the temporary label becomes a live grant; losing it, it stays a policy.
      policiesApi.putPolicy(grantPolicy({ namespace: 'shop', name: 'deny-all', expiresAt: expiry, requestedBy: 'alice' }));
      policiesApi.putPolicy(grantPolicy({ namespace: 'payments', name: 'grant-a', temporary: false }));
      await waitFor(() => view.liveGrantsIn('shop').length === 1 && view.liveGrantsIn('payments').length === 0, 'the label changes', 20_000);
      assert.deepEqual(view.liveGrantsBy('alice').map((g) => g.name), ['deny-all']);
      assert.equal(view.policiesIn('payments').length, 2);
      policiesApi.removePolicy('payments', 'baseline');
      await waitFor(() => view.policiesIn('payments').length === 1, 'the delete', 20_000);
      assert.deepEqual(view.status().informers.find((i) => i.name === 'policies')?.cached, 2);
      assert.deepEqual(view.status().informers.find((i) => i.name === 'grants')?.cached, 1);
    } finally {
      await view.stop();
    }
  });

  it('a policy source given from outside and watchAllPolicies are one part twice: refused', () => {
    assert.throws(
      () =>
        new InformerClusterView({
          sources: { namespaces: memorySource<V1Namespace>([]).source, policies: policySource(api, undefined), grantRecords: memorySource<GrantRecord>([]).source },
          keys,
          guardWindowMs: 1,
          maxStalenessMs: 1,
          watchAllPolicies: true,
          allPolicies: { policiesIn: () => [], synced: () => true, stale: () => false },
        }),
      /give one/,
    );
  });

  it('projectPolicy keeps namespace, name and spec only', () => {
    const policy: V1NetworkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: 'a', name: 'b', labels: { x: 'y' }, annotations: { big: 'z' }, managedFields: [{ manager: 'kubectl' }] },
      spec: { podSelector: {} },
    };
    assert.deepEqual(projectPolicy(policy), { metadata: { namespace: 'a', name: 'b' }, spec: { podSelector: {} } });
  });
});

describe('pods in the view, and /validate through it', () => {
  const request = (object: V1NetworkPolicy): AdmissionRequest => ({
    uid: 'u-1',
    kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
    resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
    namespace: 'shop',
    operation: 'CREATE',
    userInfo: { username: 'dev@example.com', groups: [] },
    object,
  });
  const grant = (selector: Record<string, string>): V1NetworkPolicy => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { namespace: 'shop', name: 'debug-db', annotations: { 'netpol-guard.io/ticket': 'INC-1', 'netpol-guard.io/expires-at': '2026-11-23T19:00:00Z' } },
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ['Ingress'],
      ingress: [{ _from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
    },
  });

  it('is stale until the pod source has synced, counts its pods, and the effect rules judge live pods', async () => {
    policiesApi.reset();
    for (const name of ['db-0', 'db-1', 'db-2']) podsApi.putPod({ namespace: 'shop', name, labels: { app: 'db' }, phase: 'Pending' });
    podsApi.putPod({ namespace: 'shop', name: 'db-old', labels: { app: 'db' }, phase: 'Succeeded' });
    podsApi.putPod({ namespace: 'shop', name: 'api-0', labels: { app: 'api' }, phase: 'Running' });
    const pods = new PodSource({ kubeConfig: podsApi.kubeConfig() });
    const view = viewWith({ pods, watchAllPolicies: true, namespaces: [{ metadata: { name: 'shop' } }] });
    view.start();
    try {
      // The view's own informers sync; without the pods it is not whole.
      await waitFor(() => view.status().informers.filter((i) => i.name !== 'pods').every((i) => i.synced), 'the view\'s own informers', 20_000);
      assert.equal(view.stale(), true, 'stale while the pod source has not started');
      let synced = false;
      void view.whenSynced().then(() => (synced = true));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(synced, false, 'whenSynced waits for the pods');
      pods.start();
      await view.whenSynced();
      assert.equal(view.stale(), false);
      assert.deepEqual(view.status().informers.find((i) => i.name === 'pods'), { name: 'pods', synced: true, stale: false, cached: 4 });

      const cfg = config();
      const isolating = validateHandler(request(grant({ app: 'db' })), cfg, NOW, view);
      assert.equal(isolating.allowed, false);
      assert.deepEqual(isolating.findings.map((f) => f.ruleId), ['isolates-pods']);
      assert.match(isolating.message!, /newly isolates 3 pod\(s\) for ingress \(db-0, db-1, db-2\)/);

      const typo = validateHandler(request(grant({ app: 'dbb' })), cfg, NOW, view);
      assert.equal(typo.allowed, true);
      assert.deepEqual(typo.findings.map((f) => [f.ruleId, f.action]), [['target-selects-nothing', 'warn']]);
      assert.equal(typo.warnings.length, 1);

      // A baseline arrives by watch: the same grant is admitted and says what it opens.
      policiesApi.putPolicy({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { namespace: 'shop', name: 'db-baseline' },
        spec: { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'], ingress: [{ _from: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }] },
      });
      await waitFor(() => view.policiesIn('shop').length === 1, 'the baseline', 20_000);
      const admitted = validateHandler(request(grant({ app: 'db' })), cfg, NOW, view);
      assert.equal(admitted.allowed, true, admitted.message);
      assert.deepEqual(admitted.findings, []);
      const summary = 'opens 3 pods ← 256 addresses on TCP/5432; 0 pods newly isolated';
      assert.equal(admitted.auditAnnotations.effect, summary);
      assert.equal(auditFields('validate', request(grant({ app: 'db' })), 'allowed', 1, admitted).effect, summary);

      // A pod that completes leaves the targets (the watch sends it as DELETED).
      podsApi.putPod({ namespace: 'shop', name: 'db-2', labels: { app: 'db' }, phase: 'Failed' });
      await waitFor(() => view.podsMatching('shop', { matchLabels: { app: 'db' } }).length === 2, 'db-2 to leave', 20_000);
      assert.equal(validateHandler(request(grant({ app: 'db' })), cfg, NOW, view).auditAnnotations.effect, 'opens 2 pods ← 256 addresses on TCP/5432; 0 pods newly isolated');
    } finally {
      await view.stop();
      await pods.stop();
    }
  });

  it('without the pod part the effect rules are skipped, never fed "no pods", and no effect is written', async () => {
    policiesApi.reset();
    const view = viewWith({ namespaces: [{ metadata: { name: 'shop' } }] });
    view.start();
    try {
      await view.whenSynced();
      const decision = validateHandler(request(grant({ app: 'nothing-has-this' })), config(), NOW, view);
      assert.equal(decision.allowed, true);
      assert.deepEqual(decision.findings, []);
      assert.equal(decision.auditAnnotations.effect, undefined);
      assert.deepEqual(decision.warnings, []);
    } finally {
      await view.stop();
    }
  });
});
