import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryClusterView } from '../../../src/cluster/memoryView.js';

const view = new MemoryClusterView({
  namespaces: { payments: { 'kubernetes.io/metadata.name': 'payments', team: 'pay' } },
  pods: [
    { namespace: 'payments', name: 'db-0', labels: { app: 'db' } },
    { namespace: 'payments', name: 'api-0', labels: { app: 'api' } },
    { namespace: 'shop', name: 'db-0', labels: { app: 'db' } },
  ],
  policies: [
    { metadata: { name: 'a', namespace: 'payments' } },
    { metadata: { name: 'b' } },
  ],
  grants: [
    { namespace: 'payments', name: 'g1', ticket: 'INC-1', requestedBy: 'alice', grantedAt: undefined, expiresAt: undefined },
    { namespace: 'shop', name: 'g2', ticket: 'INC-1', requestedBy: 'bob', grantedAt: undefined, expiresAt: undefined },
  ],
});

describe('MemoryClusterView', () => {
  it('answers namespace labels, undefined for an unknown (or inherited-key) namespace', () => {
    assert.deepEqual(view.namespaceLabels('payments'), { 'kubernetes.io/metadata.name': 'payments', team: 'pay' });
    assert.equal(view.namespaceLabels('shop'), undefined);
    assert.equal(view.namespaceLabels('constructor'), undefined);
  });

  it('finds pods of one namespace by selector', () => {
    assert.deepEqual(view.podsMatching('payments', { matchLabels: { app: 'db' } }).map((p) => p.name), ['db-0']);
    assert.deepEqual(view.podsMatching('payments', {}).map((p) => p.name), ['db-0', 'api-0']);
    assert.deepEqual(view.podsMatching('payments', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] }).map((p) => p.name), ['api-0']);
    assert.deepEqual(view.podsMatching('empty', {}), []);
  });

  it('lists policies by namespace (no namespace means default)', () => {
    assert.deepEqual(view.policiesIn('payments').map((p) => p.metadata?.name), ['a']);
    assert.deepEqual(view.policiesIn('default').map((p) => p.metadata?.name), ['b']);
  });

  it('filters grant records on every given field', () => {
    assert.deepEqual(view.grantRecords({ ticket: 'INC-1' }).map((g) => g.name), ['g1', 'g2']);
    assert.deepEqual(view.grantRecords({ ticket: 'INC-1', namespace: 'shop' }).map((g) => g.name), ['g2']);
    assert.deepEqual(view.grantRecords({ requestedBy: 'carol' }), []);
  });

  it('is fresh unless the snapshot says stale', () => {
    assert.equal(view.stale(), false);
    assert.equal(new MemoryClusterView({ stale: true }).stale(), true);
  });
});
