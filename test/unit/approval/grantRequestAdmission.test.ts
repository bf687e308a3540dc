/**
 * GrantRequest writes through the webhook's handlers (src/admission/grantRequests.ts), chained as
 * the API server chains them, with a fake ApprovalApi standing in for the SubjectAccessReview.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApprovalApi } from '../../../src/admission/approvalApi.js';
import { createAdmissionHandlers } from '../../../src/admission/grantRequests.js';
import { decodeAdmissionReview } from '../../../src/admission/review.js';
import type { AdmissionDecision, AdmissionRequest, AdmissionUserInfo } from '../../../src/admission/types.js';
import { validateHandler } from '../../../src/admission/validate.js';
import type { GrantRequest } from '../../../src/approval/grantRequest.js';
import { requestPath } from '../../../src/approval/requestWrites.js';
import { annotationKeys } from '../../../src/lifecycle/annotations.js';
import { applyPatch, approvalConfig, CONTROLLER } from './support.js';

const NOW = new Date('2026-12-01T09:00:00Z');
const NARROW = {
  podSelector: { matchLabels: { app: 'backend' } },
  policyTypes: ['Ingress'],
  ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
};

function grantRequest(spec: Record<string, unknown> = {}, namespace = 'prod-pay'): GrantRequest {
  return {
    apiVersion: 'netpol-guard.io/v1alpha1',
    kind: 'GrantRequest',
    metadata: { name: 'debug-db', namespace },
    spec: { policy: structuredClone(NARROW) as never, duration: '1h', ticket: 'INC-1', reason: 'outage', ...spec } as GrantRequest['spec'],
  };
}

function review(object: GrantRequest, user: AdmissionUserInfo, options: { oldObject?: GrantRequest; subResource?: string } = {}): AdmissionRequest {
  return {
    uid: 'u-1',
    kind: { group: 'netpol-guard.io', version: 'v1alpha1', kind: 'GrantRequest' },
    resource: { group: 'netpol-guard.io', version: 'v1alpha1', resource: 'grantrequests' },
    ...(options.subResource !== undefined && { subResource: options.subResource }),
    namespace: object.metadata?.namespace ?? 'prod-pay',
    name: object.metadata?.name ?? '',
    operation: options.oldObject === undefined ? 'CREATE' : 'UPDATE',
    userInfo: user,
    object,
    ...(options.oldObject !== undefined && { oldObject: options.oldObject }),
  };
}

interface SarCall {
  user: AdmissionUserInfo;
  namespace: string;
}

function fakeApi(allowed: (user: string) => boolean | Error): ApprovalApi & { calls: SarCall[] } {
  const calls: SarCall[] = [];
  return {
    calls,
    canApprove: async (user, namespace) => {
      calls.push({ user, namespace });
      const answer = allowed(user.username ?? '');
      if (answer instanceof Error) throw answer;
      return answer;
    },
    readGrantRequest: async () => undefined,
  };
}

async function chain(request: AdmissionRequest, api: ApprovalApi | undefined, config = approvalConfig(2)): Promise<{ verdict: AdmissionDecision; stored: GrantRequest }> {
  const handlers = createAdmissionHandlers(api);
  const mutation = await handlers.mutate(request, config, NOW);
  const stored = applyPatch(request.object as GrantRequest, mutation.patch);
  const verdict = await handlers.validate({ ...request, object: stored }, config, NOW);
  return { verdict, stored };
}

const alice = { username: 'alice', groups: ['developers', 'system:authenticated'] };

describe('GrantRequest CREATE', () => {
  it('stamps spec.requestedBy from userInfo, replacing the client\'s value, and admits a request the rules admit', async () => {
    const { verdict, stored } = await chain(review(grantRequest({ requestedBy: 'the-ceo' }), alice), undefined);
    assert.equal(stored.spec?.requestedBy, 'alice');
    assert.equal(verdict.allowed, true, verdict.message);
    assert.equal(verdict.profile, 'prod');
  });

  it('a request whose NetworkPolicy would be denied is refused at once, with the same findings at paths into the request', async () => {
    const broad = { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] };
    const { verdict } = await chain(review(grantRequest({ policy: broad, duration: '6h', ticket: '' }), alice), undefined);
    assert.equal(verdict.allowed, false);
    const lines = verdict.message!.split('\n');
    assert.match(lines[0]!, /^netpol-guard denied GrantRequest prod-pay\/debug-db \(profile prod\): \d+ problem\(s\)$/);
    assert.ok(lines.some((l) => l.startsWith('[ipblock-all-addresses] spec.policy.ingress[0].from')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('[target-all-pods] spec.policy.podSelector')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('[port-any] spec.policy.ingress[0].ports')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('[expiry-too-far] spec.duration')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('[ticket-missing] spec.ticket')), lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes('[approval-required]')), 'the request is the approval path, not subject to it');
    assert.ok(verdict.findings.every((f) => f.path.startsWith('spec.')), JSON.stringify(verdict.findings.map((f) => f.path)));
  });

  it('the same findings the NetworkPolicy itself gets (same engine, same profile)', async () => {
    const policy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'debug-db', namespace: 'staging-pay', annotations: { 'netpol-guard.io/ttl': '30h', 'netpol-guard.io/ticket': 'INC-1' } },
      spec: { podSelector: { matchLabels: { app: 'backend' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 1, endPort: 60000 }] }] },
    };
    const direct = validateHandler(
      { uid: 'x', kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' }, resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' }, namespace: 'staging-pay', operation: 'CREATE', userInfo: alice, object: policy },
      approvalConfig(2, { approval: { required: 1, controllerUsers: [CONTROLLER] } }),
      NOW,
    );
    const { verdict } = await chain(
      review(grantRequest({ policy: policy.spec, duration: '30h' }, 'staging-pay'), alice),
      undefined,
      approvalConfig(2, { approval: { required: 1, controllerUsers: [CONTROLLER] } }),
    );
    assert.equal(direct.allowed, false);
    const keys = annotationKeys();
    assert.deepEqual(
      verdict.findings.map((f) => [f.ruleId, f.path, f.reason]),
      direct.findings.filter((f) => f.ruleId !== 'approval-required').map((f) => [f.ruleId, requestPath(f.path, keys), f.reason]),
    );
  });

  it('refuses a request where approval is off: apply the grant directly', async () => {
    const { verdict } = await chain(review(grantRequest({}, 'staging-pay'), alice), undefined);
    assert.equal(verdict.allowed, false);
    assert.match(verdict.message!, /approval is off here \(profile default has approval\.required 0\): apply the grant directly/);
  });

  it('refuses a spec.policy that is not a NetworkPolicy spec, naming the path', async () => {
    const { verdict } = await chain(review(grantRequest({ policy: { podSelector: { matchLabels: { app: 'x' } }, ingress: [{ ports: [{ port: 'not a port!' }] }] } }), alice), undefined);
    assert.equal(verdict.allowed, false);
    assert.match(verdict.message!, /spec\.policy: \/ingress\/0\/ports\/0\/port/);
  });

  it('refuses a request the mutating webhook did not stamp', async () => {
    const handlers = createAdmissionHandlers(undefined);
    const verdict = await handlers.validate(review(grantRequest({ requestedBy: 'bob' }), alice), approvalConfig(2), NOW);
    assert.match(verdict.message!, /spec\.requestedBy: must be the requesting user alice/);
  });
});

describe('GrantRequest UPDATE of the spec', () => {
  it('the spec never changes after it is filed; metadata may', async () => {
    const stored = grantRequest({ requestedBy: 'alice' });
    const wider = structuredClone(stored);
    wider.spec!.duration = '4h';
    (wider.spec!.policy as Record<string, unknown>)['podSelector'] = {};
    const { verdict } = await chain(review(wider, alice, { oldObject: stored }), undefined);
    assert.equal(verdict.allowed, false);
    assert.match(verdict.message!, /spec\.policy, spec\.duration changed; a request's spec never changes after it is filed/);
    const requester = structuredClone(stored);
    requester.spec!.requestedBy = 'bob';
    assert.match((await chain(review(requester, alice, { oldObject: stored }), undefined)).verdict.message!, /spec\.requestedBy changed/);
    const labelled = structuredClone(stored);
    labelled.metadata!.labels = { team: 'pay' };
    assert.equal((await chain(review(labelled, alice, { oldObject: stored }), undefined)).verdict.allowed, true);
  });
});

describe('grantrequests/status through the shell', () => {
  const stored = (): GrantRequest => ({ ...grantRequest({ requestedBy: 'alice' }), status: { phase: 'Pending', approvals: [] } });
  const approve = (by = 'anyone'): GrantRequest => {
    const next = stored();
    next.status!.approvals = [{ by, at: '1999-01-01T00:00:00Z', comment: 'lgtm' }];
    return next;
  };

  it('asks the SubjectAccessReview with the user\'s groups and extra, in the request\'s namespace, and admits a stamped approval', async () => {
    const api = fakeApi((user) => user === 'bob');
    const bob = { username: 'bob', uid: 'b-1', groups: ['sre', 'system:authenticated'], extra: { scopes: ['x'] } };
    const { verdict, stored: after } = await chain(review(approve('mallory'), bob, { oldObject: stored(), subResource: 'status' }), api);
    assert.equal(verdict.allowed, true, verdict.message);
    assert.deepEqual(after.status?.approvals, [{ by: 'bob', at: '2026-12-01T09:00:00Z', comment: 'lgtm' }]);
    assert.deepEqual(api.calls, [{ user: bob, namespace: 'prod-pay' }]);
    assert.equal(verdict.auditAnnotations.approvers, 'bob');
  });

  it('refuses carol, whom the SubjectAccessReview does not allow, and fails closed when it errors', async () => {
    const denied = await chain(review(approve(), { username: 'carol', groups: [] }, { oldObject: stored(), subResource: 'status' }), fakeApi(() => false));
    assert.match(denied.verdict.message!, /carol may not approve grantrequests\.netpol-guard\.io in namespace prod-pay/);
    const broken = await chain(review(approve(), { username: 'bob', groups: [] }, { oldObject: stored(), subResource: 'status' }), fakeApi(() => new Error('timeout')));
    assert.match(broken.verdict.message!, /could not ask the API server whether bob may approve/);
    const none = await chain(review(approve(), { username: 'bob', groups: [] }, { oldObject: stored(), subResource: 'status' }), undefined);
    assert.equal(none.verdict.allowed, false);
  });

  it('never asks for writes that need no approve verb (the controller, a withdrawal)', async () => {
    const api = fakeApi(() => true);
    const moved = stored();
    moved.status!.phase = 'Lapsed';
    assert.equal((await chain(review(moved, { username: CONTROLLER, groups: [] }, { oldObject: stored(), subResource: 'status' }), api)).verdict.allowed, true);
    const withdrawn = stored();
    withdrawn.status!.phase = 'Withdrawn';
    assert.equal((await chain(review(withdrawn, alice, { oldObject: stored(), subResource: 'status' }), api)).verdict.allowed, true);
    assert.deepEqual(api.calls, []);
  });

  it('the requester is refused before anything is asked', async () => {
    const api = fakeApi(() => true);
    const { verdict } = await chain(review(approve(), alice, { oldObject: stored(), subResource: 'status' }), api);
    assert.match(verdict.message!, /you \(alice\) filed this request; nobody approves their own access/);
  });
});

describe('the edge', () => {
  const body = (request: Partial<AdmissionRequest>) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });

  it('sends GrantRequest writes (and status writes) to the handlers, and DELETE past them', () => {
    const base = review(grantRequest(), alice);
    const create = decodeAdmissionReview(body(base));
    assert.ok(create.ok && create.bypass === undefined);
    const status = decodeAdmissionReview(body({ ...base, subResource: 'status', operation: 'UPDATE', oldObject: grantRequest() }));
    assert.ok(status.ok && status.bypass === undefined);
    const del = decodeAdmissionReview(body({ ...base, operation: 'DELETE', object: undefined, oldObject: grantRequest() }));
    assert.ok(del.ok && del.bypass === 'operation-ignored');
  });

  it('an UPDATE without oldObject is a 400 naming the field', () => {
    const decoded = decodeAdmissionReview(body({ ...review(grantRequest(), alice), operation: 'UPDATE' }));
    assert.ok(!decoded.ok);
    assert.equal(decoded.error.reason, 'missing-object');
    assert.match(decoded.error.error, /request\.oldObject/);
  });

  it('the NetworkPolicy handlers refuse to judge a GrantRequest (never admitted unchecked)', () => {
    assert.throws(() => validateHandler(review(grantRequest(), alice), approvalConfig(2), NOW), /judged by validateGrantRequest/);
  });
});
