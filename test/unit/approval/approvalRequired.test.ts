/**
 * Rule approval-required through both handlers, chained as the API server chains them (/mutate's
 * patch applied, then /validate), with the GrantRequest read through a fake ApprovalApi.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { ApprovalApi } from '../../../src/admission/approvalApi.js';
import { createAdmissionHandlers } from '../../../src/admission/grantRequests.js';
import type { AdmissionDecision, AdmissionRequest } from '../../../src/admission/types.js';
import { fileRequestCommand } from '../../../src/approval/fileCommand.js';
import type { GrantRequest } from '../../../src/approval/grantRequest.js';
import type { GuardConfig } from '../../../src/config/types.js';
import { applyPatch, approvalConfig, BREAK_GLASS, CONTROLLER } from './support.js';

const NOW = new Date('2026-12-01T09:30:00.250Z');
const NS = 'prod-pay';
const K = {
  requestedBy: 'netpol-guard.io/requested-by',
  expiresAt: 'netpol-guard.io/expires-at',
  ticket: 'netpol-guard.io/ticket',
  ttl: 'netpol-guard.io/ttl',
  grantRequest: 'netpol-guard.io/grant-request',
  approvedBy: 'netpol-guard.io/approved-by',
  breakGlassBy: 'netpol-guard.io/break-glass-by',
  breakGlassAt: 'netpol-guard.io/break-glass-at',
  grantedAt: 'netpol-guard.io/granted-at',
};
const SPEC = {
  podSelector: { matchLabels: { app: 'backend' } },
  policyTypes: ['Ingress'],
  ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
};

/** The first ingress rule as wire JSON (`from`; the client model calls it `_from`). */
function rule0(policy: V1NetworkPolicy): Record<string, unknown> {
  return policy.spec!.ingress![0] as unknown as Record<string, unknown>;
}

/** A wire-JSON NetworkPolicy literal (`from`, as kubectl writes it). */
const wire = (policy: unknown): V1NetworkPolicy => policy as V1NetworkPolicy;

function approvedRequest(): GrantRequest {
  return {
    apiVersion: 'netpol-guard.io/v1alpha1',
    kind: 'GrantRequest',
    metadata: { name: 'debug-db', namespace: NS, uid: 'req-uid' },
    spec: { policy: structuredClone(SPEC) as never, duration: '1h', ticket: 'INC-1', reason: 'outage', requestedBy: 'alice' },
    status: {
      phase: 'Approved',
      requiredApprovals: 2,
      approvals: [
        { by: 'bob', at: '2026-12-01T09:00:00Z' },
        { by: 'dave', at: '2026-12-01T09:05:00Z', comment: 'ok' },
      ],
      approvedAt: '2026-12-01T09:05:00Z',
    },
  };
}

/** The NetworkPolicy the controller creates for approvedRequest(). */
function controllerPolicy(): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: 'debug-db',
      namespace: NS,
      annotations: { [K.grantRequest]: 'debug-db', [K.approvedBy]: 'bob,dave', [K.expiresAt]: '2026-12-01T10:05:00Z', [K.ticket]: 'INC-1', [K.requestedBy]: 'alice' },
      ownerReferences: [{ apiVersion: 'netpol-guard.io/v1alpha1', kind: 'GrantRequest', name: 'debug-db', uid: 'req-uid', controller: true }],
    },
    spec: structuredClone(SPEC) as never,
  };
}

function admission(object: V1NetworkPolicy, user: { username: string; groups?: string[] }, oldObject?: V1NetworkPolicy): AdmissionRequest {
  return {
    uid: 'u-1',
    kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
    resource: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' },
    namespace: object.metadata?.namespace ?? NS,
    name: object.metadata?.name ?? '',
    operation: oldObject === undefined ? 'CREATE' : 'UPDATE',
    userInfo: { username: user.username, groups: user.groups ?? ['system:authenticated'] },
    object,
    ...(oldObject !== undefined && { oldObject }),
  };
}

interface FakeApi extends ApprovalApi {
  reads: string[];
}

function fakeApi(stored: GrantRequest | undefined | Error): FakeApi {
  const reads: string[] = [];
  return {
    reads,
    canApprove: async () => {
      throw new Error('not asked for NetworkPolicies');
    },
    readGrantRequest: async (namespace, name) => {
      reads.push(`${namespace}/${name}`);
      if (stored instanceof Error) throw stored;
      return stored !== undefined && stored.metadata?.name === name ? structuredClone(stored) : undefined;
    },
  };
}

/** /mutate then /validate, as the API server chains them. */
async function admit(
  object: V1NetworkPolicy,
  user: { username: string; groups?: string[] },
  api: ApprovalApi | undefined,
  config: GuardConfig = approvalConfig(2),
  oldObject?: V1NetworkPolicy,
): Promise<{ mutated: V1NetworkPolicy; mutation: AdmissionDecision; verdict: AdmissionDecision }> {
  const handlers = createAdmissionHandlers(api);
  const mutation = await handlers.mutate(admission(object, user, oldObject), config, NOW);
  const mutated = applyPatch(object, mutation.patch);
  const verdict = await handlers.validate(admission(mutated, user, oldObject), config, NOW);
  return { mutated, mutation, verdict };
}

const controller = { username: CONTROLLER, groups: ['system:serviceaccounts', 'system:authenticated'] };

describe('approval-required: the controller\'s creation for an approved request', () => {
  it('is admitted, stamped with the requester (not the controller), its approvers and the expiry counted from approval', async () => {
    const api = fakeApi(approvedRequest());
    const { mutated, verdict } = await admit(controllerPolicy(), controller, api);
    assert.equal(verdict.allowed, true, verdict.message);
    const annotations = mutated.metadata!.annotations!;
    assert.equal(annotations[K.requestedBy], 'alice');
    assert.equal(annotations[K.approvedBy], 'bob,dave');
    assert.equal(annotations[K.grantRequest], 'debug-db');
    assert.equal(annotations[K.expiresAt], '2026-12-01T10:05:00Z');
    assert.equal(annotations[K.grantedAt], '2026-12-01T09:30:00Z');
    assert.equal(annotations[K.breakGlassBy], undefined);
    assert.deepEqual(api.reads, [`${NS}/debug-db`, `${NS}/debug-db`], 'read live by both webhooks');
  });

  it('null in an optional field is the field absent (canonical comparison)', async () => {
    const policy = controllerPolicy();
    (rule0(policy)['from'] as Record<string, unknown>[])[0]!['namespaceSelector'] = null;
    (policy.spec as Record<string, unknown>)['egress'] = null;
    const { verdict } = await admit(policy, controller, fakeApi(approvedRequest()));
    assert.equal(verdict.allowed, true, verdict.message);
  });

  it('an idempotent retry while the request is Active with the same policy name is admitted; another name is not', async () => {
    const active = approvedRequest();
    active.status = { ...active.status, phase: 'Active', policyName: 'debug-db', expiresAt: '2026-12-01T10:05:00Z' };
    assert.equal((await admit(controllerPolicy(), controller, fakeApi(active))).verdict.allowed, true);
    active.status.policyName = 'other';
    const { verdict } = await admit(controllerPolicy(), controller, fakeApi(active));
    assert.equal(verdict.allowed, false);
    assert.match(verdict.message!, /is Active with policy other, not debug-db/);
  });

  const mismatches: [string, (request: GrantRequest, policy: V1NetworkPolicy) => void, RegExp][] = [
    ['still Pending', (r) => (r.status!.phase = 'Pending'), /GrantRequest prod-pay\/debug-db is Pending, not Approved/],
    ['Denied', (r) => (r.status!.phase = 'Denied'), /is Denied, not Approved/],
    ['one approver twice', (r) => (r.status!.approvals![1]!.by = 'bob'), /has 1 distinct approver\(s\) \(bob\); 2 required/],
    ['the requester among the approvers', (r) => (r.status!.approvals![1]!.by = 'alice'), /has 1 distinct approver\(s\) \(bob\); 2 required/],
    ['no owner reference', (_r, p) => delete p.metadata!.ownerReferences, /metadata\.ownerReferences: must name GrantRequest prod-pay\/debug-db \(uid req-uid\)/],
    ['an owner reference to another uid', (_r, p) => (p.metadata!.ownerReferences![0]!.uid = 'other'), /metadata\.ownerReferences/],
    ['another port', (_r, p) => (p.spec!.ingress![0]!.ports![0]!.port = 8081), /spec: differs from GrantRequest prod-pay\/debug-db spec\.policy/],
    ['an extra peer', (_r, p) => (rule0(p)['from'] as unknown[]).push({ ipBlock: { cidr: '10.0.0.0/24' } }), /spec: differs/],
    ['an expiry an hour later', (_r, p) => (p.metadata!.annotations![K.expiresAt] = '2026-12-01T11:05:00Z'), /expires-at: must be 2026-12-01T10:05:00Z \(approvedAt \+ spec\.duration 1h\), got 2026-12-01T11:05:00Z/],
    ['a ttl instead of the expiry', (_r, p) => { delete p.metadata!.annotations![K.expiresAt]; p.metadata!.annotations![K.ttl] = '4h'; }, /expires-at: must be 2026-12-01T10:05:00Z/],
    ['approvedAt moved later than the decisive approval', (r) => (r.status!.approvedAt = '2026-12-01T09:25:00Z'), /status\.approvedAt 2026-12-01T09:25:00Z is not the time of the approval that made it enough \(2026-12-01T09:05:00Z\)/],
    ['approved-by naming someone else', (_r, p) => (p.metadata!.annotations![K.approvedBy] = 'bob,mallory'), /approved-by: must be bob,dave, got bob,mallory/],
    ['another ticket', (_r, p) => (p.metadata!.annotations![K.ticket] = 'INC-2'), /ticket: must be the request's ticket INC-1, got INC-2/],
    ['no grant-request annotation', (_r, p) => delete p.metadata!.annotations![K.grantRequest], /does not match an approved GrantRequest: no netpol-guard\.io\/grant-request annotation/],
    ['a request that does not exist', (_r, p) => (p.metadata!.annotations![K.grantRequest] = 'nope'), /GrantRequest prod-pay\/nope does not exist/],
  ];
  for (const [what, change, message] of mismatches) {
    it(`is denied as approval-required when ${what}`, async () => {
      const request = approvedRequest();
      const policy = controllerPolicy();
      change(request, policy);
      const { verdict, mutated } = await admit(policy, controller, fakeApi(request));
      assert.equal(verdict.allowed, false, what);
      assert.match(verdict.message!, /\[approval-required\] metadata profile prod requires 2 approver\(s\), and this write by the controller does not match an approved GrantRequest: /);
      assert.match(verdict.message!, message);
      // Never trusted unverified: the mutator stamped the controller, not the claimed requester.
      assert.equal(mutated.metadata!.annotations![K.requestedBy], CONTROLLER);
      assert.equal(mutated.metadata!.annotations![K.grantRequest], policy.metadata!.annotations![K.grantRequest], 'the controller\'s claim is kept for the validator to judge');
    });
  }

  it('a requested-by that skipped the mutator (forged) is denied by the validator', async () => {
    const handlers = createAdmissionHandlers(fakeApi(approvedRequest()));
    const forged = controllerPolicy();
    forged.metadata!.annotations![K.requestedBy] = 'mallory';
    forged.metadata!.annotations![K.grantedAt] = '2026-12-01T09:30:00Z';
    const verdict = await handlers.validate(admission(forged, controller), approvalConfig(2), NOW);
    assert.equal(verdict.allowed, false);
    assert.match(verdict.message!, /requested-by: must be the requester alice, got mallory/);
  });

  it('fails closed when the request cannot be read, or the webhook has no API access', async () => {
    const failed = await admit(controllerPolicy(), controller, fakeApi(new Error('connect ECONNREFUSED')));
    assert.equal(failed.verdict.allowed, false);
    assert.match(failed.verdict.message!, /could not be read \(connect ECONNREFUSED\); retry/);
    const none = await admit(controllerPolicy(), controller, undefined);
    assert.equal(none.verdict.allowed, false);
    assert.match(none.verdict.message!, /without API credentials/);
  });
});

describe('approval-required: everyone else', () => {
  const manual = (): V1NetworkPolicy => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'debug', namespace: NS, annotations: { [K.ttl]: '1h', [K.ticket]: 'INC-7' } },
    spec: structuredClone(SPEC) as never,
  });

  it('a grant applied directly in a profile that requires approval is denied with the command that files a request', async () => {
    const api = fakeApi(approvedRequest());
    const { verdict } = await admit(manual(), { username: 'alice', groups: ['developers'] }, api);
    assert.equal(verdict.allowed, false);
    assert.equal(
      verdict.message,
      'netpol-guard denied NetworkPolicy prod-pay/debug (profile prod): 1 problem(s)\n' +
        '[approval-required] metadata profile prod requires 2 distinct approver(s) for every grant: nobody applies one directly, the netpol-guard controller creates it once a GrantRequest is approved; ' +
        'file a request: netpol-guard grant -n prod-pay --to app=backend --from-pods app=frontend --port 8080/TCP --for 1h --ticket INC-7 (or kubectl netpol-guard grant …); then an approver runs netpol-guard approve NAME -n prod-pay',
    );
    assert.deepEqual(api.reads, [], 'nothing to read: the writer is not the controller');
  });

  it('even one that copies the controller\'s annotations and owner reference', async () => {
    const { verdict, mutated } = await admit(controllerPolicy(), { username: 'alice' }, fakeApi(approvedRequest()));
    assert.equal(verdict.allowed, false);
    assert.match(verdict.message!, /\[approval-required\] metadata profile prod requires 2 distinct approver\(s\)/);
    assert.equal(mutated.metadata!.annotations![K.requestedBy], 'alice');
  });

  it('an UPDATE of the controller\'s grant by someone else (an extension) is denied; its revocation is not', async () => {
    const stored = (await admit(controllerPolicy(), controller, fakeApi(approvedRequest()))).mutated;
    const extended = structuredClone(stored);
    extended.metadata!.annotations![K.expiresAt] = '2026-12-01T12:00:00Z';
    const extension = await admit(extended, { username: 'alice' }, fakeApi(approvedRequest()), approvalConfig(2), stored);
    assert.equal(extension.verdict.allowed, false);
    assert.match(extension.verdict.message!, /\[approval-required\]/);
    assert.equal(extension.mutated.metadata!.annotations![K.approvedBy], 'bob,dave', 'stored approval stamps are restored, not dropped');
    const revoke = structuredClone(stored);
    revoke.metadata!.annotations!['netpol-guard.io/revoked-by'] = 'requested';
    const revocation = await admit(revoke, { username: 'alice' }, undefined, approvalConfig(2), stored);
    assert.equal(revocation.verdict.allowed, true, revocation.verdict.message);
  });

  it('a policy that grants nothing (default deny) is not a grant and needs no approval', async () => {
    const deny: V1NetworkPolicy = { metadata: { name: 'deny', namespace: NS }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } };
    assert.equal((await admit(deny, { username: 'alice' }, undefined)).verdict.allowed, true);
  });

  it('outside the profile (approval off) a grant is applied directly, and forged approval stamps are stripped', async () => {
    const policy = manual();
    policy.metadata!.namespace = 'staging-pay';
    Object.assign(policy.metadata!.annotations!, { [K.approvedBy]: 'the-ceo', [K.grantRequest]: 'fake', [K.breakGlassBy]: 'nobody', [K.breakGlassAt]: '2020-01-01T00:00:00Z' });
    const { verdict, mutated } = await admit(policy, { username: 'alice' }, undefined);
    assert.equal(verdict.allowed, true, verdict.message);
    for (const key of [K.approvedBy, K.grantRequest, K.breakGlassBy, K.breakGlassAt]) assert.equal(mutated.metadata!.annotations![key], undefined, key);
  });

  it('break-glass bypasses it, with a warning, stamped with who and when (client values replaced), audited', async () => {
    const policy = manual();
    policy.metadata!.annotations![K.breakGlassBy] = 'someone-else';
    const oscar = { username: 'oscar', groups: ['developers', BREAK_GLASS] };
    const { verdict, mutated, mutation } = await admit(policy, oscar, undefined);
    assert.equal(verdict.allowed, true, verdict.message);
    assert.equal(verdict.disposition, 'break-glass');
    assert.equal(verdict.auditAnnotations['break-glass'], 'true');
    assert.ok(verdict.warnings.some((w) => w.startsWith('[approval-required] metadata profile prod requires 2')), verdict.warnings.join('\n'));
    assert.equal(mutated.metadata!.annotations![K.breakGlassBy], 'oscar');
    assert.equal(mutated.metadata!.annotations![K.breakGlassAt], '2026-12-01T09:30:00Z');
    assert.equal(mutation.auditAnnotations['break-glass-by'], 'oscar');
    assert.ok(mutation.warnings.some((w) => /break-glass: oscar \(group sre-break-glass\) writes a grant in profile prod, which requires approval/.test(w)));
  });

  it('the break-glass stamp survives a later UPDATE by someone else, who cannot forge a new one', async () => {
    const oscar = { username: 'oscar', groups: [BREAK_GLASS] };
    const stored = (await admit(manual(), oscar, undefined)).mutated;
    const edited = structuredClone(stored);
    edited.metadata!.annotations![K.breakGlassBy] = 'alice';
    edited.metadata!.labels = { ...edited.metadata!.labels, team: 'pay' };
    const { mutated } = await admit(edited, { username: 'alice' }, undefined, approvalConfig(2), stored);
    assert.equal(mutated.metadata!.annotations![K.breakGlassBy], 'oscar');
  });
});

describe('the command that files a request', () => {
  it('renders grant flags for what grant can express, per direction, quoting odd tickets', () => {
    const egress: V1NetworkPolicy = wire({
      spec: {
        podSelector: { matchLabels: { app: 'api', tier: 'web' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '198.51.100.0/24' } }, { ipBlock: { cidr: '203.0.113.0/28' } }], ports: [{ port: 5432 }, { protocol: 'UDP', port: 8000, endPort: 8010 }] }],
      },
    });
    assert.equal(
      fileRequestCommand(egress, 'prod-x', '2h', 'INC 1'),
      "netpol-guard grant -n prod-x --egress --from app=api,tier=web --to-cidr 198.51.100.0/24 --to-cidr 203.0.113.0/28 --port 5432/TCP --port 8000-8010/UDP --for 2h --ticket 'INC 1' (or kubectl netpol-guard grant …)",
    );
    const fromNamespace = wire({
      spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'web' } }, podSelector: { matchLabels: { app: 'api' } } }] }] },
    });
    assert.equal(fileRequestCommand(fromNamespace, 'p', undefined, undefined), 'netpol-guard grant -n p --to app=db --from-pods app=api --from-namespace web --for DURATION --ticket TICKET (or kubectl netpol-guard grant …)');
  });

  it('falls back to a GrantRequest manifest when flags cannot say it (never flags that open something else)', () => {
    const cases = [
      { spec: { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['a'] }] }, ingress: [{ from: [{ podSelector: { matchLabels: { a: 'b' } } }] }] } },
      { spec: { podSelector: { matchLabels: { a: 'b' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }] } },
      { spec: { podSelector: { matchLabels: { a: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { a: 'b' } } }] }, { from: [{ podSelector: { matchLabels: { c: 'd' } } }] }] } },
      { spec: { podSelector: { matchLabels: { a: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { a: 'b' } } }, { podSelector: { matchLabels: { c: 'd' } } }] }] } },
      { spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { a: 'b' } } }] }] } },
    ];
    for (const policy of cases) assert.match(fileRequestCommand(wire(policy), 'p', '1h', 'T'), /^kubectl create -n p -f REQUEST\.yaml with apiVersion netpol-guard\.io\/v1alpha1, kind GrantRequest/);
  });
});
