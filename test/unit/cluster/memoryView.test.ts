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
  liveGrants: [
    { namespace: 'payments', name: 'g1', ticket: 'INC-1', requestedBy: 'alice', expiresAtMs: undefined, specSha256: 'a' },
    { namespace: 'shop', name: 'g2', ticket: 'INC-1', requestedBy: 'bob', expiresAtMs: undefined, specSha256: 'b' },
    { namespace: 'shop', name: 'g3', ticket: 'INC-2', requestedBy: 'alice', expiresAtMs: undefined, specSha256: 'c' },
  ],
  endedGrants: [
    { namespace: 'shop', name: 'old', ticket: 'INC-9', specSha256s: ['x'], how: 'Expired', closedAtMs: 0, closedBy: undefined },
    { namespace: 'payments', name: 'old', ticket: 'INC-9', specSha256s: ['y'], how: 'Revoked', closedAtMs: 0, closedBy: 'carol' },
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

  it('lists live grants by namespace and by requester', () => {
    assert.deepEqual(view.liveGrantsIn('shop').map((g) => g.name), ['g2', 'g3']);
    assert.deepEqual(view.liveGrantsBy('alice').map((g) => g.name), ['g1', 'g3']);
    assert.deepEqual(view.liveGrantsBy('carol'), []);
  });

  it('finds ended grants by namespace and name, and by ticket', () => {
    assert.deepEqual(view.endedGrantsNamed('payments', 'old').map((g) => g.how), ['Revoked']);
    assert.deepEqual(view.endedGrantsWithTicket('INC-9').map((g) => g.namespace), ['shop', 'payments']);
    assert.deepEqual(view.endedGrantsNamed('payments', 'g1'), []);
  });

  it('is fresh unless the snapshot says stale', () => {
    assert.equal(view.stale(), false);
    assert.equal(new MemoryClusterView({ stale: true }).stale(), true);
  });
});
