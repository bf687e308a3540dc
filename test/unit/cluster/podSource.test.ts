import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PodIndex } from '../../../src/cluster/podIndex.js';
import { LIVE_POD_FIELD_SELECTOR, PodSource } from '../../../src/cluster/podSource.js';
import { METADATA_LIST_ACCEPT, METADATA_WATCH_ACCEPT, MetadataClient } from '../../../src/kube/metadataClient.js';
import { FakeClusterApi } from '../../helpers/fakeClusterApi.js';

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function names(pods: readonly { namespace: string; name: string }[]): string[] {
  return pods.map((p) => `${p.namespace}/${p.name}`).sort();
}

describe('PodIndex', () => {
  it('answers selectors by namespace, with matchLabels narrowed by the label index and expressions checked', () => {
    const index = new PodIndex();
    index.upsert({ namespace: 'a', name: 'db-0', labels: { app: 'db', tier: 'x' } });
    index.upsert({ namespace: 'a', name: 'db-1', labels: { app: 'db' } });
    index.upsert({ namespace: 'a', name: 'web-0', labels: { app: 'web' } });
    index.upsert({ namespace: 'b', name: 'db-0', labels: { app: 'db' } });
    assert.deepEqual(names(index.podsMatching('a', { matchLabels: { app: 'db' } })), ['a/db-0', 'a/db-1']);
    assert.deepEqual(names(index.podsMatching('a', { matchLabels: { app: 'db' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] })), ['a/db-1']);
    assert.deepEqual(names(index.podsMatching('a', {})), ['a/db-0', 'a/db-1', 'a/web-0']);
    assert.deepEqual(names(index.podsMatching('a', { matchLabels: { app: 'nope' } })), []);
    assert.deepEqual(names(index.podsMatching('c', {})), []);
    // A relabel moves the pod between posting lists; a removal takes it out.
    index.upsert({ namespace: 'a', name: 'db-1', labels: { app: 'web' } });
    assert.deepEqual(names(index.podsMatching('a', { matchLabels: { app: 'db' } })), ['a/db-0']);
    assert.deepEqual(names(index.podsMatching('a', { matchLabels: { app: 'web' } })), ['a/db-1', 'a/web-0']);
    index.remove('a', 'db-0');
    assert.deepEqual(names(index.podsMatching('a', { matchLabels: { app: 'db' } })), []);
    assert.equal(index.size, 3);
    // A label named like an Object member is a label, not a prototype property.
    index.upsert({ namespace: 'a', name: 'odd', labels: { constructor: 'x' } });
    assert.deepEqual(names(index.podsMatching('a', { matchLabels: { constructor: 'x' } })), ['a/odd']);
  });
});

describe('PodSource against the fake API server', () => {
  let fake: FakeClusterApi;
  before(async () => {
    fake = await FakeClusterApi.start();
  });
  after(async () => {
    await fake.close();
  });

  it('lists and watches metadata only, excludes Succeeded/Failed server-side, and follows changes', async () => {
    for (let i = 0; i < 7; i++) fake.putPod({ namespace: 'shop', name: `db-${i}`, labels: { app: 'db' }, phase: 'Running' });
    fake.putPod({ namespace: 'shop', name: 'pending', labels: { app: 'db' }, phase: 'Pending' });
    fake.putPod({ namespace: 'shop', name: 'done', labels: { app: 'db' }, phase: 'Succeeded' });
    fake.putPod({ namespace: 'shop', name: 'crashed', labels: { app: 'db' }, phase: 'Failed' });
    const source = new PodSource({ kubeConfig: fake.kubeConfig(), pageSize: 3 });
    source.start();
    try {
      await source.whenSynced();
      assert.equal(source.stale(), false);
      const db = names(source.index.podsMatching('shop', { matchLabels: { app: 'db' } }));
      assert.equal(db.length, 8, 'seven running pods and the pending one');
      assert.ok(db.includes('shop/pending') && !db.includes('shop/done') && !db.includes('shop/crashed'));

      const lists = fake.requests.filter((r) => r.path === '/api/v1/pods' && r.query.watch === undefined);
      assert.equal(lists.length, 3, 'eight live pods in pages of three');
      for (const r of lists) {
        assert.equal(r.accept, METADATA_LIST_ACCEPT);
        assert.equal(r.query.fieldSelector, LIVE_POD_FIELD_SELECTOR);
      }
      const watch = fake.requests.find((r) => r.path === '/api/v1/pods' && r.query.watch === 'true');
      assert.ok(watch);
      assert.equal(watch.accept, METADATA_WATCH_ACCEPT);
      assert.equal(watch.query.fieldSelector, LIVE_POD_FIELD_SELECTOR);

      fake.putPod({ namespace: 'shop', name: 'web-0', labels: { app: 'web' } });
      await until(() => source.index.podsMatching('shop', { matchLabels: { app: 'web' } }).length === 1, 'the added pod');
      fake.putPod({ namespace: 'shop', name: 'db-0', labels: { app: 'web' }, phase: 'Running' });
      await until(() => source.index.podsMatching('shop', { matchLabels: { app: 'web' } }).length === 2, 'the relabelled pod');
      // A pod that completes leaves the field selection: the watch says DELETED.
      fake.putPod({ namespace: 'shop', name: 'db-1', labels: { app: 'db' }, phase: 'Succeeded' });
      await until(() => !names(source.index.podsMatching('shop', {})).includes('shop/db-1'), 'the completed pod to go');
      fake.removePod('shop', 'db-2');
      await until(() => !names(source.index.podsMatching('shop', {})).includes('shop/db-2'), 'the deleted pod to go');
      assert.equal(source.index.podsMatching('shop', { matchLabels: { app: 'db' } }).length, 5);
    } finally {
      await source.stop();
    }
  });

  it('refuses a list that is not metadata (a server or proxy that ignored the Accept header)', async () => {
    const client = new MetadataClient(fake.kubeConfig());
    // Asking for a path the fake answers with full objects: the check is on the answer's kind.
    await assert.rejects(
      () => client.listPage('/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies', { limit: 10, continueToken: undefined }),
      /expected PartialObjectMetadataList, got NetworkPolicyList/,
    );
  });
});
