import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decisiveApproval, distinctApprovers, hasEnoughApprovals } from '../../../src/approval/approvals.js';
import type { GrantApproval, GrantRequest, GrantRequestStatus } from '../../../src/approval/grantRequest.js';
import { classifyStatusWrite, decideStatusWrite, stampStatusWrite, type StatusWriteInput } from '../../../src/approval/statusWrites.js';
import { applyPatch, CONTROLLER } from './support.js';

const NOW = new Date('2026-12-01T10:00:00.400Z');
const STAMPED_NOW = '2026-12-01T10:00:00Z';

function request(status: GrantRequestStatus = {}): GrantRequest {
  return {
    apiVersion: 'netpol-guard.io/v1alpha1',
    kind: 'GrantRequest',
    metadata: { name: 'debug-db', namespace: 'prod-pay', uid: 'u-1' },
    spec: { policy: { podSelector: { matchLabels: { app: 'db' } } }, duration: '1h', ticket: 'INC-1', requestedBy: 'alice' },
    status,
  };
}

function input(old: GrantRequest, updated: GrantRequest, username: string): StatusWriteInput {
  return { namespace: 'prod-pay', name: 'debug-db', old, updated, username, controllerUsers: new Set([CONTROLLER]) };
}

/** What the API server sends /validate: the client's write after the mutating webhook stamped it. */
function stamped(old: GrantRequest, written: GrantRequest, username: string): StatusWriteInput {
  const first = input(old, written, username);
  return input(old, applyPatch(written, stampStatusWrite(first, NOW)), username);
}

const pending = (approvals: GrantApproval[] = []): GrantRequest => request({ phase: 'Pending', approvals });
const withApproval = (old: GrantRequest, entry: Partial<GrantApproval>): GrantRequest => {
  const updated = structuredClone(old);
  updated.status = { ...updated.status, approvals: [...(updated.status?.approvals ?? []), entry as GrantApproval] };
  return updated;
};

describe('approvals: the mutating webhook stamps by and at', () => {
  it('replaces a forged by/at on the appended approval with the user and now, keeping the comment', () => {
    const old = pending([{ by: 'bob', at: '2026-12-01T09:00:00Z' }]);
    const written = withApproval(old, { by: 'the-ceo', at: '2020-01-01T00:00:00Z', comment: 'looks fine' });
    const decided = stamped(old, written, 'dave');
    assert.deepEqual(decided.updated.status?.approvals?.[1], { by: 'dave', at: STAMPED_NOW, comment: 'looks fine' });
    assert.deepEqual(decided.updated.status?.approvals?.[0], { by: 'bob', at: '2026-12-01T09:00:00Z' }, 'the earlier entry is untouched');
    assert.equal(decideStatusWrite(decided, true).allowed, true);
  });

  it('adds by/at when the client wrote none, and stamps a denial the same way', () => {
    const old = pending();
    const approval = stamped(old, withApproval(old, {}), 'bob');
    assert.deepEqual(approval.updated.status?.approvals, [{ by: 'bob', at: STAMPED_NOW }]);
    const denied = structuredClone(old);
    denied.status!.denial = { by: 'alice', at: 'yesterday', reason: 'too broad' };
    const denial = stamped(old, denied, 'bob');
    assert.deepEqual(denial.updated.status?.denial, { by: 'bob', at: STAMPED_NOW, reason: 'too broad' });
    assert.equal(decideStatusWrite(denial, true).allowed, true);
  });

  it('leaves the controller\'s writes and unchanged writes without a patch', () => {
    const old = pending([{ by: 'bob', at: '2026-12-01T09:00:00Z' }]);
    const moved = structuredClone(old);
    moved.status!.phase = 'Approved';
    assert.deepEqual(stampStatusWrite(input(old, moved, CONTROLLER), NOW), []);
    assert.deepEqual(stampStatusWrite(input(old, structuredClone(old), 'bob'), NOW), []);
  });

  it('without the mutating webhook (by not the user, at missing), the approval is refused', () => {
    const old = pending();
    const forged = decideStatusWrite(input(old, withApproval(old, { by: 'bob', at: STAMPED_NOW }), 'carol'), true);
    assert.equal(forged.allowed, false);
    assert.match(forged.message!, /status\.approvals\[0\]\.by: must be the authenticated user carol/);
    const noTime = decideStatusWrite(input(old, withApproval(old, { by: 'carol' }), 'carol'), true);
    assert.match(noTime.message!, /status\.approvals\[0\]\.at: must be the time/);
  });
});

describe('approvals: who may approve', () => {
  const old = pending();

  it('the requester never approves their own request (two-person rule), even holding the verb', () => {
    const verdict = decideStatusWrite(stamped(old, withApproval(old, {}), 'alice'), true);
    assert.equal(verdict.allowed, false);
    assert.equal(verdict.message, 'netpol-guard refused the approval of GrantRequest prod-pay/debug-db: you (alice) filed this request; nobody approves their own access (two-person rule)');
  });

  it('without the RBAC verb approve (the SubjectAccessReview says no) the approval is refused, naming the role', () => {
    const verdict = decideStatusWrite(stamped(old, withApproval(old, {}), 'carol'), false);
    assert.equal(verdict.allowed, false);
    assert.match(verdict.message!, /carol may not approve grantrequests\.netpol-guard\.io in namespace prod-pay \(RBAC verb "approve"; .*netpol-guard-approver\)/);
  });

  it('when the SubjectAccessReview could not be asked, it fails closed', () => {
    const verdict = decideStatusWrite(stamped(old, withApproval(old, {}), 'bob'), undefined);
    assert.equal(verdict.allowed, false);
    assert.match(verdict.message!, /could not ask the API server whether bob may approve/);
  });

  it('a second approval by the same person is refused: "already approved by you"', () => {
    const once = pending([{ by: 'bob', at: '2026-12-01T09:00:00Z' }]);
    const verdict = decideStatusWrite(stamped(once, withApproval(once, {}), 'bob'), true);
    assert.equal(verdict.allowed, false);
    assert.match(verdict.message!, /already approved by you \(bob, at 2026-12-01T09:00:00Z\)/);
  });

  it('only while Pending (a request without a phase is Pending)', () => {
    const fresh = request();
    assert.equal(decideStatusWrite(stamped(fresh, withApproval(fresh, {}), 'bob'), true).allowed, true);
    for (const phase of ['Approved', 'Active', 'Denied', 'Lapsed', 'Expired', 'Revoked', 'Withdrawn'] as const) {
      const closed = request({ phase, approvals: [] });
      const verdict = decideStatusWrite(stamped(closed, withApproval(closed, {}), 'bob'), true);
      assert.equal(verdict.allowed, false, phase);
      assert.match(verdict.message!, new RegExp(`the request is ${phase}; approvals and denials are taken only while it is Pending`));
    }
  });

  it('a pending request already denied takes no more approvals', () => {
    const denied = request({ phase: 'Pending', approvals: [], denial: { by: 'dave', at: STAMPED_NOW, reason: 'no' } });
    const verdict = decideStatusWrite(stamped(denied, withApproval(denied, {}), 'bob'), true);
    assert.match(verdict.message!, /already denied by dave/);
  });
});

describe('approvals: append-only', () => {
  const two = pending([
    { by: 'bob', at: '2026-12-01T09:00:00Z' },
    { by: 'dave', at: '2026-12-01T09:05:00Z', comment: 'ok' },
  ]);

  it('an earlier approval removed is refused', () => {
    const updated = structuredClone(two);
    updated.status!.approvals = [two.status!.approvals![1]!];
    const verdict = decideStatusWrite(input(two, updated, 'carol'), true);
    assert.equal(verdict.allowed, false);
    assert.match(verdict.message!, /status\.approvals\[0\]: the approval by bob was altered; approvals are append-only/);
    const truncated = structuredClone(two);
    truncated.status!.approvals = [];
    assert.match(decideStatusWrite(input(two, truncated, 'carol'), true).message!, /status\.approvals\[0\]: the approval by bob was removed/);
  });

  it('an earlier approval altered (by, at or comment) is refused, whoever writes', () => {
    for (const change of [{ by: 'eve' }, { at: '2026-12-01T11:00:00Z' }, { comment: 'not ok' }]) {
      const updated = structuredClone(two);
      Object.assign(updated.status!.approvals![1]!, change);
      for (const user of ['bob', 'carol', 'dave']) {
        const verdict = decideStatusWrite(input(two, updated, user), true);
        assert.equal(verdict.allowed, false, `${JSON.stringify(change)} by ${user}`);
        assert.match(verdict.message!, /status\.approvals\[1\]: the approval by dave was altered/);
      }
    }
  });

  it('an alteration hidden behind a new approval is still refused', () => {
    const updated = withApproval(two, {});
    updated.status!.approvals![0]!.at = '2026-12-01T08:00:00Z';
    assert.equal(decideStatusWrite(stamped(two, updated, 'erin'), true).allowed, false);
  });

  it('two approvals in one write (one person padding the count) are refused', () => {
    const padded = withApproval(withApproval(two, { by: 'x' }), { by: 'y' });
    const verdict = decideStatusWrite(stamped(two, padded, 'erin'), true);
    assert.match(verdict.message!, /2 approvals added in one write; each person appends one/);
  });

  it('property: any change to a stored approval is refused, for any writer but none passes as an approval', () => {
    const approval = fc.record({ by: fc.constantFrom('bob', 'dave', 'erin'), at: fc.constant('2026-12-01T09:00:00Z'), comment: fc.option(fc.string({ maxLength: 5 }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(approval, { minLength: 1, maxLength: 5 }), fc.nat(), fc.constantFrom('by', 'at', 'comment', 'drop'), fc.constantFrom('bob', 'carol', 'frank', CONTROLLER), (approvals, pick, field, user) => {
        const stored = pending(approvals.map((a) => (a.comment === undefined ? { by: a.by, at: a.at } : a)));
        const updated = structuredClone(stored);
        const index = pick % approvals.length;
        if (field === 'drop') updated.status!.approvals!.splice(index, 1);
        else (updated.status!.approvals![index] as unknown as Record<string, string>)[field] = 'changed';
        return decideStatusWrite(input(stored, updated, user), true).allowed === false;
      }),
    );
  });
});

describe('denials', () => {
  const old = pending([{ by: 'bob', at: '2026-12-01T09:00:00Z' }]);
  const deny = (reason: string | undefined): GrantRequest => {
    const updated = structuredClone(old);
    updated.status!.denial = { by: '', at: '', reason } as never;
    return updated;
  };

  it('needs a reason', () => {
    for (const reason of [undefined, '', '   ']) {
      const verdict = decideStatusWrite(stamped(old, deny(reason), 'dave'), true);
      assert.equal(verdict.allowed, false);
      assert.match(verdict.message!, /netpol-guard refused the denial of GrantRequest prod-pay\/debug-db: status\.denial\.reason: a denial needs a reason/);
    }
  });

  it('the same checks as an approval: requester, RBAC verb, Pending', () => {
    assert.match(decideStatusWrite(stamped(old, deny('x'), 'alice'), true).message!, /you \(alice\) filed this request; withdraw it instead/);
    assert.match(decideStatusWrite(stamped(old, deny('x'), 'carol'), false).message!, /carol may not approve/);
    const approved = request({ phase: 'Approved', approvals: [] });
    const late = structuredClone(approved);
    late.status!.denial = { by: 'dave', at: STAMPED_NOW, reason: 'x' };
    assert.match(decideStatusWrite(input(approved, late, 'dave'), true).message!, /the request is Approved/);
  });

  it('only once: a denial is never changed or removed', () => {
    const denied = request({ phase: 'Pending', approvals: [], denial: { by: 'dave', at: STAMPED_NOW, reason: 'too broad' } });
    const changed = structuredClone(denied);
    changed.status!.denial!.reason = 'fine after all';
    assert.match(decideStatusWrite(input(denied, changed, 'bob'), true).message!, /already denied by dave; a denial is never changed or removed/);
    const removed = structuredClone(denied);
    delete removed.status!.denial;
    assert.equal(decideStatusWrite(input(denied, removed, 'dave'), true).allowed, false);
  });

  it('approve and deny in one write is refused', () => {
    const both = withApproval(deny('x'), {});
    assert.match(decideStatusWrite(stamped(old, both, 'dave'), true).message!, /approve or deny, not both/);
  });
});

describe('controller fields and withdrawal', () => {
  const old = pending([{ by: 'bob', at: '2026-12-01T09:00:00Z' }]);

  it('the controller may move the phase and write what follows from it', () => {
    const updated = structuredClone(old);
    Object.assign(updated.status!, { phase: 'Active', requiredApprovals: 1, approvedAt: '2026-12-01T09:00:00Z', policyName: 'debug-db', expiresAt: '2026-12-01T10:00:00Z', message: 'active' });
    const verdict = decideStatusWrite(input(old, updated, CONTROLLER), undefined);
    assert.equal(verdict.allowed, true);
    assert.equal(verdict.write.kind, 'controller');
  });

  it('the controller never writes approvals or the denial', () => {
    const approving = withApproval(old, { by: 'bob', at: STAMPED_NOW });
    assert.match(decideStatusWrite(input(old, approving, CONTROLLER), true).message!, /the controller \(system:serviceaccount:netpol-guard:netpol-guard\) never writes approvals/);
    const denying = structuredClone(old);
    denying.status!.denial = { by: CONTROLLER, at: STAMPED_NOW, reason: 'x' };
    assert.match(decideStatusWrite(input(old, denying, CONTROLLER), true).message!, /never writes a denial/);
  });

  it('nobody else changes the controller\'s fields, not even alongside an approval', () => {
    for (const [field, value] of [
      ['phase', 'Approved'],
      ['approvedAt', STAMPED_NOW],
      ['policyName', 'x'],
      ['expiresAt', STAMPED_NOW],
      ['closedAt', STAMPED_NOW],
      ['message', 'hi'],
      ['requiredApprovals', 0],
    ] as const) {
      const updated = withApproval(old, {});
      (updated.status as Record<string, unknown>)[field] = value;
      const verdict = decideStatusWrite(stamped(old, updated, 'dave'), true);
      assert.equal(verdict.allowed, false, field);
      assert.match(verdict.message!, new RegExp(`status\\.${field}: written only by the netpol-guard controller`));
    }
  });

  it('the requester withdraws a Pending request by setting phase Withdrawn, and nothing else', () => {
    const withdrawn = structuredClone(old);
    withdrawn.status!.phase = 'Withdrawn';
    const verdict = decideStatusWrite(input(old, withdrawn, 'alice'), undefined);
    assert.equal(verdict.allowed, true);
    assert.equal(verdict.write.kind, 'withdrawal');
    assert.match(decideStatusWrite(input(old, withdrawn, 'bob'), true).message!, /only the requester \(alice\) may withdraw/);
    const approved = request({ phase: 'Approved', approvals: [] });
    const late = structuredClone(approved);
    late.status!.phase = 'Withdrawn';
    assert.match(decideStatusWrite(input(approved, late, 'alice'), undefined).message!, /the request is Approved; only a Pending request can be withdrawn/);
    const sneaky = structuredClone(withdrawn);
    sneaky.status!.message = 'withdrawn';
    assert.equal(decideStatusWrite(input(old, sneaky, 'alice'), undefined).allowed, false);
  });

  it('an unchanged status write is admitted (it changes nothing)', () => {
    assert.equal(classifyStatusWrite(input(old, structuredClone(old), 'carol')).kind, 'unchanged');
    assert.equal(decideStatusWrite(input(old, structuredClone(old), 'carol'), undefined).allowed, true);
  });
});

describe('counting distinct approvers (shared with the controller)', () => {
  const a = (by: string, at = STAMPED_NOW): GrantApproval => ({ by, at });

  it('one person counts once, the requester never, blanks never', () => {
    assert.deepEqual(distinctApprovers([a('bob'), a('bob'), a('alice'), a(''), a('dave')], 'alice'), ['bob', 'dave']);
    assert.equal(hasEnoughApprovals({ spec: { requestedBy: 'alice' } as never, status: { approvals: [a('bob'), a('bob')] } }, 2), false);
    assert.equal(hasEnoughApprovals({ spec: { requestedBy: 'alice' } as never, status: { approvals: [a('bob'), a('dave')] } }, 2), true);
  });

  it('the decisive approval is the one that made the distinct count enough', () => {
    const approvals = [a('bob', '2026-12-01T09:00:00Z'), a('bob', '2026-12-01T09:01:00Z'), a('dave', '2026-12-01T09:02:00Z'), a('erin', '2026-12-01T09:03:00Z')];
    assert.equal(decisiveApproval(approvals, 'alice', 2)?.at, '2026-12-01T09:02:00Z');
    assert.equal(decisiveApproval(approvals, 'alice', 4), undefined);
    assert.equal(decisiveApproval(approvals, 'alice', 0), undefined);
  });

  it('property: never the requester, never twice, order of first approval kept', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('alice', 'bob', 'carol', 'dave', ''), { maxLength: 12 }), (names) => {
        const got = distinctApprovers(names.map((n) => a(n)), 'alice');
        const expected = [...new Set(names.filter((n) => n !== 'alice' && n !== ''))];
        return JSON.stringify(got) === JSON.stringify(expected);
      }),
    );
  });
});
