/**
 * InformerClusterView: live grants through the HTTP fake API server (the real client-node list and
 * watch), namespaces and GrantRecords from in-memory list+watch sources; indexes kept current from
 * watch events; stale while unsynced or while watches fail, and fresh again after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { V1Namespace } from '@kubernetes/client-node';
import { InformerClusterView, projectEndedGrant } from '../../../src/cluster/informerView.js';
import type { GrantRecord } from '../../../src/controller/grantRecord.js';
import { annotationKeys } from '../../../src/lifecycle/annotations.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/kube/retry.js';
import { createPolicyApi, policySource, type PolicyApi } from '../../../src/sweeper/kubeApi.js';
import { FakeApiServer, grantPolicy } from '../../helpers/fakeApiServer.js';
import { memorySource } from '../../helpers/memorySource.js';

const NOW = Date.now();
const keys = annotationKeys();

function record(name: string, state: GrantRecord['status']['state'], closedAgoMs: number | undefined, policy = { namespace: 'payments', name: 'db' }, ticket = 'INC-1'): GrantRecord {
  return {
    apiVersion: 'netpol-guard.io/v1alpha1',
    kind: 'GrantRecord',
    metadata: { name, labels: { 'netpol-guard.io/state': state } },
    spec: {
      policy: { ...policy, uid: name },
      ticket,
      openedAt: '2026-01-01T00:00:00Z',
      observedAt: '2026-01-01T00:00:00Z',
      openedLate: false,
      admittedAccess: 'x',
      admittedSpec: { json: '{}', bytes: 2, truncated: false, sha256: 'admitted' },
    },
    status: {
      state,
      access: 'x',
      specSha256: 'latest',
      changes: [],
      omittedChanges: 0,
      ...(closedAgoMs !== undefined && { closedAt: new Date(NOW - closedAgoMs).toISOString().replace(/\.\d{3}Z$/, 'Z') }),
    },
  };
}

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let fake: FakeApiServer;
let api: PolicyApi;
before(async () => {
  fake = await FakeApiServer.start();
  api = createPolicyApi(fake.kubeConfig(), { retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 } });
});
after(async () => {
  api.close();
  await fake.stop();
});

describe('InformerClusterView', () => {
  it('syncs, indexes live grants, namespaces and recently closed records, and follows watch events', async () => {
    fake.reset();
    const expiry = new Date(NOW + 3_600_000);
    fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'a', expiresAt: expiry, ticket: 'inc-7', requestedBy: 'alice' }));
    fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'b', expiresAt: expiry, ticket: 'INC-8', requestedBy: 'bob' }));
    fake.putPolicy(grantPolicy({ namespace: 'shop', name: 'c', expiresAt: expiry, requestedBy: 'alice' }));
    fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'permanent', temporary: false }));
    const namespaces = memorySource<V1Namespace>([{ metadata: { name: 'payments', labels: { env: 'prod' } } }, { metadata: { name: 'shop' } }]);
    const records = memorySource<GrantRecord>([
      record('r-recent', 'Expired', 60_000),
      record('r-old', 'Revoked', 10 * 86_400_000, { namespace: 'payments', name: 'old' }),
      record('r-open', 'Open', undefined, { namespace: 'payments', name: 'live' }),
    ]);
    const view = new InformerClusterView({
      sources: { namespaces: namespaces.source, policies: policySource(api, undefined), grantRecords: records.source },
      keys,
      guardWindowMs: 3 * 86_400_000,
      maxStalenessMs: 30_000,
    });
    assert.equal(view.stale(), true, 'stale until synced');
    view.start();
    try {
      await view.whenSynced();
      assert.equal(view.stale(), false);
      assert.deepEqual(view.status().informers.map((i) => [i.name, i.synced, i.cached]), [
        ['namespaces', true, 2],
        ['grants', true, 3],
        ['grantrecords', true, 3],
      ]);
      assert.deepEqual(view.namespaceLabels('payments'), { env: 'prod' });
      assert.deepEqual(view.namespaceLabels('shop'), {});
      assert.equal(view.namespaceLabels('nope'), undefined);
      assert.deepEqual([...view.namespaceNames()].sort(), ['payments', 'shop']);

      const payments = view.liveGrantsIn('payments');
      assert.deepEqual(payments.map((g) => g.name).sort(), ['a', 'b'], 'only policies labelled temporary');
      const a = payments.find((g) => g.name === 'a')!;
      assert.equal(a.ticket, 'INC-7', 'normalized ticket');
      assert.equal(a.expiresAtMs, Math.floor(expiry.getTime() / 1000) * 1000);
      assert.match(a.specSha256, /^[0-9a-f]{64}$/);
      assert.deepEqual(view.liveGrantsBy('alice').map((g) => `${g.namespace}/${g.name}`).sort(), ['payments/a', 'shop/c']);

      // Closed within the guard window only; Open records are never ended grants.
      assert.deepEqual(view.endedGrantsNamed('payments', 'db').map((g) => [g.how, g.specSha256s]), [['Expired', ['admitted', 'latest']]]);
      assert.deepEqual(view.endedGrantsNamed('payments', 'old'), []);
      assert.deepEqual(view.endedGrantsNamed('payments', 'live'), []);
      assert.deepEqual(view.endedGrantsWithTicket('INC-1').map((g) => g.name), ['db']);

      // Watch events: a requester change moves the grant between buckets; a delete removes it.
      fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'a', expiresAt: expiry, ticket: 'INC-7', requestedBy: 'carol' }));
      fake.removePolicy('payments', 'b');
      await until('the watch events', () => view.liveGrantsIn('payments').length === 1 && view.liveGrantsBy('carol').length === 1);
      assert.deepEqual(view.liveGrantsBy('alice').map((g) => g.name), ['c']);
      // Losing the temporary label is leaving the live grants (the label selector's DELETED).
      fake.putPolicy(grantPolicy({ namespace: 'shop', name: 'c', temporary: false }));
      await until('the unlabelled grant to leave', () => view.liveGrantsIn('shop').length === 0);

      namespaces.push('MODIFIED', { metadata: { name: 'shop', labels: { env: 'prod' } } });
      assert.deepEqual(view.namespaceLabels('shop'), { env: 'prod' });
      records.push('MODIFIED', record('r-open', 'Revoked', 1_000, { namespace: 'payments', name: 'live' }, 'INC-1'));
      assert.deepEqual(view.endedGrantsNamed('payments', 'live').map((g) => g.how), ['Revoked']);
      assert.deepEqual(view.endedGrantsWithTicket('INC-1').map((g) => g.name).sort(), ['db', 'live']);
      records.push('DELETED', record('r-recent', 'Expired', 60_000));
      assert.deepEqual(view.endedGrantsNamed('payments', 'db'), []);
    } finally {
      await view.stop();
    }
  });

  it('turns stale while the policy watch keeps failing, and fresh again once it reconnects', async () => {
    fake.reset();
    fake.putPolicy(grantPolicy({ namespace: 'payments', name: 'a', expiresAt: new Date(NOW + 3_600_000) }));
    const view = new InformerClusterView({
      sources: { namespaces: memorySource<V1Namespace>([]).source, policies: policySource(api, undefined), grantRecords: memorySource<GrantRecord>([]).source },
      keys,
      guardWindowMs: 86_400_000,
      maxStalenessMs: 200,
    });
    view.start();
    try {
      await view.whenSynced();
      assert.equal(view.stale(), false);
      fake.failNext('watch', { status: 500, times: 1_000 });
      fake.failNext('list', { status: 500, times: 1_000 });
      fake.failWatches(500);
      await until('the view to turn stale', () => view.stale());
      assert.deepEqual(view.status().informers.filter((i) => i.stale).map((i) => i.name), ['grants']);
      fake.clearFaults();
      await until('the view to recover', () => !view.stale(), 60_000);
      assert.deepEqual(view.liveGrantsIn('payments').map((g) => g.name), ['a']);
    } finally {
      await view.stop();
    }
  });

  it('reading pods without a pod source is an error, not an empty answer', () => {
    const view = new InformerClusterView({
      sources: { namespaces: memorySource<V1Namespace>([]).source, policies: policySource(api, undefined), grantRecords: memorySource<GrantRecord>([]).source },
      keys,
      guardWindowMs: 1,
      maxStalenessMs: 1,
    });
    assert.throws(() => view.podsMatching('a', {}), /no pod source/);
    const withPods = new InformerClusterView({
      sources: { namespaces: memorySource<V1Namespace>([]).source, policies: policySource(api, undefined), grantRecords: memorySource<GrantRecord>([]).source },
      keys,
      guardWindowMs: 1,
      maxStalenessMs: 1,
      pods: { podsMatching: () => [{ namespace: 'a', name: 'p', labels: {} }], synced: () => true, stale: () => false },
    });
    assert.deepEqual(withPods.podsMatching('a', {}).map((p) => p.name), ['p']);
    assert.ok(withPods.status().informers.some((i) => i.name === 'pods'));
    // It says which parts it holds, so the rules reading the others are skipped, not fed "nothing".
    assert.equal(view.provides('pods'), false);
    assert.equal(withPods.provides('pods'), true);
    assert.equal(withPods.provides('policies'), false);
  });

  it('reading every NetworkPolicy without a policy source is an error; with one, its answer', () => {
    const sources = () => ({ namespaces: memorySource<V1Namespace>([]).source, policies: policySource(api, undefined), grantRecords: memorySource<GrantRecord>([]).source });
    const view = new InformerClusterView({ sources: sources(), keys, guardWindowMs: 1, maxStalenessMs: 1 });
    assert.throws(() => view.policiesIn('a'), /no source of every NetworkPolicy/);
    let stale = false;
    const withPolicies = new InformerClusterView({
      sources: sources(),
      keys,
      guardWindowMs: 1,
      maxStalenessMs: 1,
      allPolicies: { policiesIn: (ns) => (ns === 'a' ? [{ metadata: { namespace: 'a', name: 'baseline' } }] : []), synced: () => true, stale: () => stale },
    });
    assert.equal(withPolicies.provides('policies'), true);
    assert.deepEqual(withPolicies.policiesIn('a').map((p) => p.metadata?.name), ['baseline']);
    assert.deepEqual(withPolicies.policiesIn('b'), []);
    const before = withPolicies.status().informers.find((i) => i.name === 'policies');
    assert.deepEqual(before && { synced: before.synced, stale: before.stale }, { synced: true, stale: false });
    stale = true;
    assert.equal(withPolicies.status().informers.find((i) => i.name === 'policies')?.stale, true);
  });

  it('projectEndedGrant keeps only closed records with a readable closedAt inside the window', () => {
    assert.equal(projectEndedGrant(record('x', 'Open', undefined), 0), null);
    assert.equal(projectEndedGrant(record('x', 'Expired', undefined), 0), null);
    assert.equal(projectEndedGrant(record('x', 'Expired', 5_000), NOW - 1_000), null);
    assert.equal(projectEndedGrant(record('x', 'DeletedNotObserved', 5_000), NOW - 10_000)?.how, 'DeletedNotObserved');
  });
});
