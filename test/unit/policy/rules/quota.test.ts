import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { MemoryClusterView } from '../../../../src/cluster/memoryView.js';
import type { LiveGrant } from '../../../../src/cluster/view.js';
import { API_PODS, GOOD_GRANT, HOUR, NOW, TCP_5432, config, egressPolicy, evaluate } from '../support.js';

const REQUESTED_BY = 'netpol-guard.io/requested-by';
const TEMPORARY = 'netpol-guard.io/temporary';

function live(name: string, overrides: Partial<LiveGrant> = {}): LiveGrant {
  return { namespace: 'payments', name, requestedBy: 'alice', ticket: `INC-${name.length}`, expiresAtMs: NOW.getTime() + HOUR, specSha256: 'h', ...overrides };
}

/** A grant named `name` as /validate sees it after the mutator: requested-by stamped, temporary label set. */
function grant(name: string, requester = 'alice', labelled = true): V1NetworkPolicy {
  const p = egressPolicy([{ to: [API_PODS], ports: [TCP_5432] }], { ...GOOD_GRANT, [REQUESTED_BY]: requester });
  p.metadata!.name = name;
  if (labelled) p.metadata!.labels = { [TEMPORARY]: 'true' };
  return p;
}

const QUOTA_2 = config({ quotas: { maxLiveGrantsPerNamespace: 2 } });
// holds: []: the webhook's view (grants, no pods or every NetworkPolicy), as quotas are judged there.
const TWO_OPEN = new MemoryClusterView({
  holds: [],
  liveGrants: [live('db-a', { ticket: 'INC-1', expiresAtMs: NOW.getTime() + 90 * 60_000 }), live('db-b', { ticket: 'INC-2', expiresAtMs: NOW.getTime() + 20 * 60_000 }), live('elsewhere', { namespace: 'shop' })],
});

describe('quota-namespace-exceeded', () => {
  it('denies a third grant in a namespace with a quota of 2, listing the two open ones soonest expiry first', () => {
    const evaluation = evaluate(grant('db-c'), { config: QUOTA_2, cluster: TWO_OPEN });
    assert.equal(evaluation.allowed, false);
    const finding = evaluation.findings.find((f) => f.ruleId === 'quota-namespace-exceeded');
    assert.ok(finding);
    assert.equal(finding.path, 'metadata.namespace');
    assert.equal(
      finding.reason,
      'payments already has 2 live grant(s) and profile default allows 2: db-b (ticket INC-2, expires in 20m), db-a (ticket INC-1, expires in 1h30m)',
    );
    assert.equal(finding.hint, 'revoke one (netpol-guard revoke NAME -n payments) or wait for one to expire');
  });

  it('admits the second grant (the other namespace does not count)', () => {
    const one = new MemoryClusterView({ holds: [], liveGrants: [live('db-a'), live('x', { namespace: 'shop' }), live('y', { namespace: 'shop' })] });
    assert.equal(evaluate(grant('db-b'), { config: QUOTA_2, cluster: one }).allowed, true);
  });

  it('an UPDATE of a grant already open never counts against itself, even over a lowered quota', () => {
    const three = new MemoryClusterView({ holds: [], liveGrants: [live('db-a'), live('db-b'), live('db-c')] });
    const updated = evaluate(grant('db-a'), { config: QUOTA_2, cluster: three, operation: 'UPDATE', oldPolicy: grant('db-a') });
    assert.equal(updated.findings.some((f) => f.ruleId === 'quota-namespace-exceeded'), false);
  });

  it('an UPDATE that turns a permanent policy into a grant counts like a CREATE', () => {
    const updated = evaluate(grant('perm'), { config: QUOTA_2, cluster: TWO_OPEN, operation: 'UPDATE', oldPolicy: grant('perm', 'alice', false) });
    assert.deepEqual(updated.findings.map((f) => f.ruleId), ['quota-namespace-exceeded']);
  });

  it('a CREATE whose name the view still lists (a stale entry) is not counted twice', () => {
    assert.equal(evaluate(grant('db-a'), { config: QUOTA_2, cluster: TWO_OPEN }).allowed, true);
  });

  it('a quota of 0 refuses every grant; unlimited (the default) never fires', () => {
    assert.equal(evaluate(grant('a'), { config: config({ quotas: { maxLiveGrantsPerNamespace: 0 } }), cluster: new MemoryClusterView({ holds: [] }) }).allowed, false);
    const many = new MemoryClusterView({ holds: [], liveGrants: Array.from({ length: 500 }, (_, i) => live(`g${i}`)) });
    assert.equal(evaluate(grant('new'), { cluster: many }).allowed, true);
  });

  it('lists at most 20 grants and counts the rest', () => {
    const many = new MemoryClusterView({ holds: [], liveGrants: Array.from({ length: 25 }, (_, i) => live(`g${String(i).padStart(2, '0')}`, { expiresAtMs: NOW.getTime() + (i + 1) * 60_000 })) });
    const reason = evaluate(grant('new'), { config: QUOTA_2, cluster: many }).findings[0]!.reason;
    assert.match(reason, /g19 \(ticket INC-3, expires in 20m\) and 5 more$/);
  });

  it('permanent principals make policies, not grants: no quota', () => {
    const cfg = config({ quotas: { maxLiveGrantsPerNamespace: 0 }, permanentPrincipals: { users: ['platform'] } });
    assert.equal(evaluate(grant('p'), { config: cfg, cluster: TWO_OPEN, user: { username: 'platform', groups: [] } }).allowed, true);
  });
});

describe('quota-requester-exceeded', () => {
  const QUOTA_1 = config({ quotas: { maxLiveGrantsPerRequester: 1 } });
  const view = new MemoryClusterView({ holds: [], liveGrants: [live('a', { namespace: 'shop', requestedBy: 'alice' }), live('b', { requestedBy: 'bob' })] });

  it('counts the stamped requester across namespaces', () => {
    const evaluation = evaluate(grant('new', 'alice'), { config: QUOTA_1, cluster: view });
    assert.deepEqual(evaluation.findings.map((f) => f.ruleId), ['quota-requester-exceeded']);
    assert.equal(evaluation.findings[0]!.path, 'metadata.annotations["netpol-guard.io/requested-by"]');
    assert.match(evaluation.findings[0]!.reason, /^alice already holds 1 live grant\(s\) and profile default allows 1: shop\/a \(ticket INC-1, expires in 1h\)$/);
    assert.equal(evaluate(grant('new', 'carol'), { config: QUOTA_1, cluster: view }).allowed, true);
  });

  it('splitting the work among many namespaces does not escape it', () => {
    const spread = new MemoryClusterView({ holds: [], liveGrants: ['n1', 'n2', 'n3'].map((ns) => live('g', { namespace: ns })) });
    const cfg = config({ quotas: { maxLiveGrantsPerRequester: 3 } });
    assert.equal(evaluate(grant('g'), { config: cfg, cluster: spread }).allowed, false);
  });
});
