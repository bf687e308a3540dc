import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approvedPolicy, owningRequestUid, policyNameCandidates } from '../../../src/approval/policyForRequest.js';
import { approversOf, closedStatus, nextStep, requiredApprovals } from '../../../src/approval/requestDecision.js';
import { annotationKeys } from '../../../src/lifecycle/annotations.js';
import { approval, at, grantRequest, REQUEST_UID } from './fixtures.js';

const PROFILE = { required: 2, pendingTtlMs: 60 * 60_000 };
const keys = annotationKeys();
const now = (minutes: number): Date => new Date(at(minutes));

describe('approvals: the next step of a request', () => {
  it('one approval of two waits, until the lapse time', () => {
    const step = nextStep(grantRequest({ phase: 'Pending', requiredApprovals: 2, approvals: [approval('bob', 5)] }), PROFILE, now(10));
    assert.deepEqual(step, { kind: 'wait', until: now(60) });
  });

  it('the second distinct approval approves, the clock starting at ITS stamp, not at the request nor at now', () => {
    const request = grantRequest({ phase: 'Pending', requiredApprovals: 2, approvals: [approval('bob', 5), approval('dave', 12)] });
    const step = nextStep(request, PROFILE, now(20));
    assert.equal(step.kind, 'approve');
    assert.equal(step.kind === 'approve' && step.status.phase, 'Approved');
    assert.equal(step.kind === 'approve' && step.status.approvedAt, at(12));
    assert.equal(step.kind === 'approve' && step.status.expiresAt, at(42), '30m from the second approval');
    assert.deepEqual(step.kind === 'approve' && step.status.approvals, request.status!.approvals, 'approvals are kept as written');
  });

  it('a double approval by one person counts once; the requester\'s own approval never counts', () => {
    for (const approvals of [[approval('bob', 1), approval('bob', 2)], [approval('alice', 1), approval('bob', 2)]]) {
      const step = nextStep(grantRequest({ phase: 'Pending', requiredApprovals: 2, approvals }), PROFILE, now(3));
      assert.equal(step.kind, 'wait', JSON.stringify(approvals));
    }
  });

  it('lapses after pendingTTL without enough approvals, and an approval stamped after the lapse time is too late', () => {
    const lapsed = nextStep(grantRequest({ phase: 'Pending', requiredApprovals: 2, approvals: [approval('bob', 5)] }), PROFILE, now(60));
    assert.equal(lapsed.kind, 'lapse');
    assert.equal(lapsed.kind === 'lapse' && lapsed.status.phase, 'Lapsed');
    assert.equal(lapsed.kind === 'lapse' && lapsed.status.closedAt, at(60));
    assert.match(lapsed.kind === 'lapse' ? lapsed.status.message! : '', /1 of 2 approvals within 1h/);
    const late = nextStep(grantRequest({ phase: 'Pending', requiredApprovals: 2, approvals: [approval('bob', 5), approval('dave', 61)] }), PROFILE, now(62));
    assert.equal(late.kind, 'lapse');
    const justInTime = nextStep(grantRequest({ phase: 'Pending', requiredApprovals: 2, approvals: [approval('bob', 5), approval('dave', 59)] }), PROFILE, now(62));
    assert.equal(justInTime.kind, 'approve', 'stamped before the lapse: approved even when the controller looks later');
  });

  it('the approvers named on the policy: every distinct one in order, never the requester', () => {
    const request = grantRequest({ phase: 'Approved', approvals: [approval('bob', 1), approval('bob', 2), approval('alice', 3), approval('dave', 4)] });
    assert.deepEqual(approversOf(request), ['bob', 'dave']);
  });

  it('a denial ends a Pending request Denied, unless the approvals had already made it enough before it', () => {
    const denial = { by: 'carol', at: at(8), reason: 'use the replica' };
    const denied = nextStep(grantRequest({ phase: 'Pending', requiredApprovals: 2, approvals: [approval('bob', 5)], denial }), PROFILE, now(9));
    assert.equal(denied.kind, 'deny');
    assert.deepEqual(denied.kind === 'deny' && [denied.status.phase, denied.status.closedAt, denied.status.message], ['Denied', at(9), 'denied by carol: use the replica']);
    const deniedFirst = nextStep(grantRequest({ phase: 'Pending', requiredApprovals: 2, approvals: [approval('bob', 5), approval('dave', 12)], denial }), PROFILE, now(13));
    assert.equal(deniedFirst.kind, 'deny', 'the no came before the second yes');
    const approvedFirst = nextStep(grantRequest({ phase: 'Pending', requiredApprovals: 2, approvals: [approval('bob', 5), approval('dave', 7)], denial }), PROFILE, now(13));
    assert.equal(approvedFirst.kind, 'approve', 'enough before the denial: approved');
  });

  it('needs the most of the profile now, the count at filing, and one', () => {
    assert.equal(requiredApprovals(grantRequest({ requiredApprovals: 2 }), { required: 1, pendingTtlMs: 1 }), 2);
    assert.equal(requiredApprovals(grantRequest({ requiredApprovals: 1 }), { required: 2, pendingTtlMs: 1 }), 2);
    assert.equal(requiredApprovals(grantRequest({}), { required: 0, pendingTtlMs: 1 }), 1, 'a request is never opened unreviewed');
    const oneOfThree = grantRequest({ phase: 'Pending', requiredApprovals: 3, approvals: [approval('bob', 1), approval('dave', 2)] });
    assert.equal(nextStep(oneOfThree, PROFILE, now(3)).kind, 'wait');
  });

  it('Approved without a policy: open it while the expiry is ahead; expire without opening once it passed', () => {
    const approved = grantRequest({ phase: 'Approved', requiredApprovals: 2, approvedAt: at(12), approvals: [approval('bob', 5), approval('dave', 12)] });
    assert.deepEqual(nextStep(approved, PROFILE, now(13)), { kind: 'open', expiresAt: now(42) });
    const tooLate = nextStep(approved, PROFILE, now(42));
    assert.equal(tooLate.kind, 'expire');
    assert.equal(tooLate.kind === 'expire' && tooLate.status.phase, 'Expired');
  });

  it('final phases, Active and Denied do nothing; an unreadable duration is reported, not acted on', () => {
    for (const phase of ['Active', 'Denied', 'Lapsed', 'Expired', 'Revoked', 'Withdrawn'] as const) {
      assert.deepEqual(nextStep(grantRequest({ phase, approvals: [approval('bob', 1), approval('dave', 2)] }), PROFILE, now(3)), { kind: 'none' }, phase);
    }
    assert.equal(nextStep(grantRequest(undefined, { duration: 'forever' }), PROFILE, now(3)).kind, 'invalid');
    const filed = nextStep(grantRequest({}), PROFILE, now(3));
    assert.equal(filed.kind, 'accept', 'just filed: the controller writes Pending with the count required');
    assert.deepEqual(filed.kind === 'accept' && [filed.status.phase, filed.status.requiredApprovals], ['Pending', 2]);
    const filedWithApprovals = nextStep(grantRequest({ approvals: [approval('bob', 1), approval('dave', 2)] }), PROFILE, now(3));
    assert.equal(filedWithApprovals.kind, 'approve', 'approvals that came first are not held up by the bookkeeping');
  });

  it('closing: expired, revoked by someone, deleted outside, the request deleted', () => {
    const active = grantRequest({ phase: 'Active', policyName: 'db-debug', approvedAt: at(12) });
    assert.equal(closedStatus(active, { how: 'expired' }, now(42))?.phase, 'Expired');
    const revoked = closedStatus(active, { how: 'revoked', by: 'carol' }, now(20));
    assert.equal(revoked?.phase, 'Revoked');
    assert.match(revoked?.message ?? '', /revoked by carol/);
    assert.equal(revoked?.closedAt, at(20));
    assert.match(closedStatus(active, { how: 'deleted' }, now(20))?.message ?? '', /outside netpol-guard/);
    assert.equal(closedStatus(grantRequest({ phase: 'Denied' }), { how: 'expired' }, now(20)), undefined, 'a closed request stays closed');
  });
});

describe('approvals: the policy of an approved request', () => {
  const request = grantRequest({ phase: 'Approved', requiredApprovals: 2, approvedAt: at(12), approvals: [approval('bob', 5), approval('dave', 12)] });

  it('is the request\'s spec, stamped with requester, ticket, approvers in order, expiry from approval, temporary label and owner', () => {
    const policy = approvedPolicy(request, 'db-debug', ['bob', 'dave'], now(42), keys);
    assert.deepEqual(policy.spec, request.spec!.policy);
    assert.notEqual(policy.spec, request.spec!.policy, 'a copy, not the request\'s object');
    assert.deepEqual(policy.metadata?.annotations, {
      'netpol-guard.io/expires-at': at(42),
      'netpol-guard.io/ticket': 'INC-4242',
      'netpol-guard.io/approved-by': 'bob,dave',
      'netpol-guard.io/grant-request': 'db-debug',
      'netpol-guard.io/requested-by': 'alice',
    });
    assert.deepEqual(policy.metadata?.labels, { 'netpol-guard.io/temporary': 'true' });
    assert.deepEqual(policy.metadata?.ownerReferences, [{ apiVersion: 'netpol-guard.io/v1alpha1', kind: 'GrantRequest', name: 'db-debug', uid: REQUEST_UID, controller: true }]);
    assert.equal(owningRequestUid(policy), REQUEST_UID);
    assert.equal(owningRequestUid({ metadata: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'GrantRequest', name: 'x', uid: 'u', controller: true }] } }), undefined);
  });

  it('names: the request\'s, then a deterministic one with its uid (same for every leader)', () => {
    assert.deepEqual(policyNameCandidates(request), ['db-debug', 'db-debug-7c1e2d3f4a']);
    const long = grantRequest({}, { name: 'x'.repeat(253) });
    assert.ok(policyNameCandidates(long).every((n) => n.length <= 253));
  });
});
