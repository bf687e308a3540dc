// Approvals, the admission half, against a real kube-apiserver: the GrantRequest CRD, the shipped
// webhook registration (grantrequests and grantrequests/status) and RBAC (netpol-guard-approver,
// the webhook's SubjectAccessReviews), three people and a break-glass on-call. Profile prod
// (namespaces prod-*) requires two approvers. The controller's half (creating the grant, lapsing,
// expiry) is exercised where the controller is built.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { startControlPlane, type ControlPlane } from './harness/controlPlane.js';
import { startNetpolGuard, type JsonObject, type NetpolGuard } from './harness/guard.js';
import {
  APPROVAL_PREFIX,
  APPROVAL_USERS,
  appendApproval,
  approvalConfig,
  createApprovalNamespace,
  ensureApprovalRoles,
  fileGrantRequest,
  grantRequestManifest,
  installApprovalCrds,
  NARROW_POLICY_SPEC,
  readGrantRequest,
  runCliAs,
} from './harness/approvals.js';
import { grantAnnotations, narrowPolicy } from './harness/policies.js';
import { waitForAccess } from './harness/tenants.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

describe('approvals: requests, approvals and approval-required through the real API server', () => {
  let cp: ControlPlane | undefined;
  let guard: NetpolGuard | undefined;
  let namespace = '';

  before(async () => {
    cp = await startControlPlane({ users: APPROVAL_USERS });
    await installApprovalCrds(cp);
    await ensureApprovalRoles(cp);
    guard = await startNetpolGuard(cp, { configYaml: approvalConfig({ required: 2 }), clusterView: true });
    namespace = await createApprovalNamespace(cp);
  });

  after(async () => {
    await guard?.stop().catch((err: unknown) => process.stderr.write(`guard stop: ${String(err)}\n`));
    await cp?.stop();
  });

  const plane = (): ControlPlane => {
    assert.ok(cp, 'control plane did not start');
    return cp;
  };
  const cli = (user: string, args: string[]) => runCliAs(plane(), user, guard!.configFile, args);
  const status = (request: JsonObject): JsonObject => (request['status'] as JsonObject | undefined) ?? {};

  it('alice files a request: stored with her as the requester, whatever she wrote there', async () => {
    const filed = await fileGrantRequest(plane(), 'alice', namespace, 'debug-checkout', { requestedBy: 'the-ceo' });
    assert.equal(filed.code, 0, filed.stderr);
    const stored = await readGrantRequest(plane(), namespace, 'debug-checkout');
    assert.equal((stored['spec'] as JsonObject)['requestedBy'], 'alice');
  });

  it('a request filed with a status of its own (pre-approved) keeps none of it', async () => {
    const manifest = { ...(YAML.parse(grantRequestManifest(namespace, 'pre-approved')) as JsonObject), status: { phase: 'Approved', approvals: [{ by: 'bob', at: '2026-01-01T00:00:00Z' }, { by: 'dave', at: '2026-01-01T00:00:00Z' }] } };
    const filed = await plane().kubectl(['create', '-f', '-'], { asUser: 'alice', stdin: JSON.stringify(manifest) });
    // The API server drops status on CREATE (status subresource on) before admission; the webhook
    // would refuse one that kept it (unit-tested). Either way nothing is approved.
    assert.equal(filed.code, 0, filed.stderr);
    assert.deepEqual(status(await readGrantRequest(plane(), namespace, 'pre-approved')), {});
  });

  it('a request the rules would deny is refused at once, with the findings at paths into the request', async () => {
    const broad = { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] };
    const refused = await fileGrantRequest(plane(), 'alice', namespace, 'too-broad', { policy: broad, duration: '6h' });
    assert.notEqual(refused.code, 0, refused.stdout);
    assert.match(refused.stderr, new RegExp(`netpol-guard denied GrantRequest ${namespace}/too-broad \\(profile prod\\): \\d+ problem\\(s\\)`));
    assert.match(refused.stderr, /\[ipblock-all-addresses\] spec\.policy\.ingress\[0\]\.from/);
    assert.match(refused.stderr, /\[target-all-pods\] spec\.policy\.podSelector/);
    assert.match(refused.stderr, /\[expiry-too-far\] spec\.duration/);
  });

  it('alice\'s own approval is refused: she holds the verb, but nobody approves their own access', async () => {
    const r = await cli('alice', ['approve', 'debug-checkout', '-n', namespace]);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /you \(alice\) filed this request; nobody approves their own access \(two-person rule\)/);
    assert.deepEqual(status(await readGrantRequest(plane(), namespace, 'debug-checkout'))['approvals'] ?? [], []);
  });

  it('carol, who may write the status but holds no approve verb, is refused by the SubjectAccessReview', async () => {
    const r = await cli('carol', ['approve', 'debug-checkout', '-n', namespace, '--comment', 'sure']);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`carol may not approve grantrequests\\.netpol-guard\\.io in namespace ${namespace} \\(RBAC verb "approve"; a platform team grants it with the ClusterRole netpol-guard-approver\\)`));
  });

  it('bob approves: by and at are stamped by the webhook, his forged `by` replaced', async () => {
    const before = Date.now();
    const r = await appendApproval(plane(), 'bob', namespace, 'debug-checkout', { by: 'the-ceo', at: '2001-01-01T00:00:00Z', comment: 'checked the ticket' });
    assert.equal(r.code, 0, r.stderr);
    const approvals = status(await readGrantRequest(plane(), namespace, 'debug-checkout'))['approvals'] as JsonObject[];
    assert.equal(approvals.length, 1);
    assert.equal(approvals[0]!['by'], 'bob');
    assert.equal(approvals[0]!['comment'], 'checked the ticket');
    const at = String(approvals[0]!['at']);
    assert.match(at, RFC3339);
    assert.ok(Math.abs(Date.parse(at) - before) < 60_000, `stamped at ${at}, the request was sent at ${new Date(before).toISOString()}`);
  });

  it('bob again: "already approved by you"; an altered approval is refused', async () => {
    const again = await cli('bob', ['approve', 'debug-checkout', '-n', namespace]);
    assert.equal(again.code, 1, again.stdout);
    assert.match(again.stderr, /already approved by you \(bob, at /);
    const altered = await plane().kubectl(
      ['patch', 'grantrequests.netpol-guard.io', 'debug-checkout', '-n', namespace, '--subresource=status', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/status/approvals/0/by', value: 'dave' }])],
      { asUser: 'dave' },
    );
    assert.notEqual(altered.code, 0, altered.stdout);
    assert.match(altered.stderr, /status\.approvals\[0\]: the approval by bob was altered; approvals are append-only/);
  });

  it('dave approves with the CLI, which says who approved and what happens next', async () => {
    const r = await cli('dave', ['approve', 'debug-checkout', '-n', namespace, '--comment', 'ok for 1h']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^approved GrantRequest ${namespace}/debug-checkout \\(ticket INC-4242, requested by alice\\)`));
    assert.match(r.stdout, /by: +dave at \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z \("ok for 1h"\)/);
    assert.match(r.stdout, /count: +2 of 2 distinct approver\(s\): bob, dave/);
    assert.match(r.stdout, /next: +enough approvals; the netpol-guard controller now creates the grant, open for 1h from this approval until /);
  });

  it('the spec never changes after it is filed', async () => {
    const r = await plane().kubectl(['patch', 'grantrequests.netpol-guard.io', 'debug-checkout', '-n', namespace, '--type=merge', '-p', '{"spec":{"duration":"4h"}}']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /spec\.duration changed; a request's spec never changes after it is filed/);
  });

  it('the controller\'s creation for the approved request is admitted, stamped with the requester and approvers; a changed spec is not', async () => {
    // The controller itself is built elsewhere: its ServiceAccount stands in here, with a test-only
    // role for the two writes it makes (status, then the NetworkPolicy).
    const identity = guard!.sweeperIdentity;
    const role = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'e2e-controller-stand-in' },
          rules: [
            { apiGroups: ['netpol-guard.io'], resources: ['grantrequests/status'], verbs: ['get', 'patch'] },
            { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['create'] },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: 'e2e-controller-stand-in' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'e2e-controller-stand-in' },
          subjects: [{ kind: 'ServiceAccount', name: identity.serviceAccount, namespace: identity.namespace }],
        },
      ],
    };
    await plane().kubectlOk(['apply', '-f', '-'], { stdin: JSON.stringify(role) });
    await waitForAccess(plane(), { token: identity.token }, { verb: 'create', resource: 'networkpolicies', group: 'networking.k8s.io', namespace });

    const request = await readGrantRequest(plane(), namespace, 'debug-checkout');
    const approvals = status(request)['approvals'] as JsonObject[];
    const approvedAt = String(approvals[1]!['at']);
    const moved = await plane().kubectl(
      ['patch', 'grantrequests.netpol-guard.io', 'debug-checkout', '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Approved', requiredApprovals: 2, approvedAt } })],
      { token: identity.token },
    );
    assert.equal(moved.code, 0, moved.stderr);
    const expiresAt = new Date(Date.parse(approvedAt) + 3_600_000).toISOString().replace('.000Z', 'Z');
    const policy = (name: string, spec: JsonObject) =>
      JSON.stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: {
          name,
          namespace,
          annotations: {
            [`${APPROVAL_PREFIX}/grant-request`]: 'debug-checkout',
            [`${APPROVAL_PREFIX}/approved-by`]: 'bob,dave',
            [`${APPROVAL_PREFIX}/expires-at`]: expiresAt,
            [`${APPROVAL_PREFIX}/ticket`]: 'INC-4242',
          },
          ownerReferences: [{ apiVersion: 'netpol-guard.io/v1alpha1', kind: 'GrantRequest', name: 'debug-checkout', uid: (request['metadata'] as JsonObject)['uid'], controller: true }],
        },
        spec,
      });
    const wider = structuredClone(NARROW_POLICY_SPEC) as { ingress: { ports: { port: number }[] }[] };
    wider.ingress[0]!.ports[0]!.port = 8081;
    const tampered = await plane().kubectl(['create', '-f', '-'], { token: identity.token, stdin: policy('debug-checkout-wider', wider as unknown as JsonObject) });
    assert.notEqual(tampered.code, 0, tampered.stdout);
    assert.match(tampered.stderr, new RegExp(`\\[approval-required\\] metadata profile prod requires 2 approver\\(s\\), and this write by the controller does not match an approved GrantRequest: spec: differs from GrantRequest ${namespace}/debug-checkout spec\\.policy`));

    const created = await plane().kubectl(['create', '-f', '-'], { token: identity.token, stdin: policy('debug-checkout', NARROW_POLICY_SPEC) });
    assert.equal(created.code, 0, created.stderr);
    const stored = JSON.parse(await plane().kubectlOk(['get', 'networkpolicy', 'debug-checkout', '-n', namespace, '-o', 'json'])) as JsonObject;
    const annotations = (stored['metadata'] as JsonObject)['annotations'] as Record<string, string>;
    assert.equal(annotations[`${APPROVAL_PREFIX}/requested-by`], 'alice', 'the requester, not the controller');
    assert.equal(annotations[`${APPROVAL_PREFIX}/approved-by`], 'bob,dave');
    assert.equal(annotations[`${APPROVAL_PREFIX}/expires-at`], expiresAt);
  });

  it('deny needs a reason and the approve verb; bob denies another request once', async () => {
    assert.equal((await fileGrantRequest(plane(), 'alice', namespace, 'second')).code, 0);
    const noReason = await cli('bob', ['deny', 'second', '-n', namespace]);
    assert.equal(noReason.code, 2, noReason.stderr);
    assert.match(noReason.stderr, /--reason is required/);
    const carol = await cli('carol', ['deny', 'second', '-n', namespace, '--reason', 'no']);
    assert.equal(carol.code, 1);
    assert.match(carol.stderr, /carol may not approve/);
    const denied = await cli('bob', ['deny', 'second', '-n', namespace, '--reason', 'use the read replica']);
    assert.equal(denied.code, 0, denied.stderr);
    assert.match(denied.stdout, /denied GrantRequest .*\/second .*\n {2}by: +bob at .*\n {2}reason: +use the read replica/);
    const twice = await cli('dave', ['deny', 'second', '-n', namespace, '--reason', 'again']);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /already denied by bob/);
  });

  it('a raw kubectl apply of a grant in that namespace is denied as approval-required, with the command that files a request', async () => {
    const r = await plane().kubectl(['apply', '-f', '-'], { asUser: 'alice', stdin: narrowPolicy(namespace, 'direct', grantAnnotations(APPROVAL_PREFIX, '1h', 'INC-9')) });
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, new RegExp(`netpol-guard denied NetworkPolicy ${namespace}/direct \\(profile prod\\): 1 problem\\(s\\)`));
    assert.match(r.stderr, /\[approval-required\] metadata profile prod requires 2 distinct approver\(s\) for every grant/);
    assert.match(r.stderr, new RegExp(`file a request: netpol-guard grant -n ${namespace} --to app=backend --from-pods app=frontend --port 8080/TCP --for 1h --ticket INC-9`));
  });

  it('a break-glass apply is admitted, stamped with who and when (a forged stamp replaced), and audited', async () => {
    const annotations = { ...grantAnnotations(APPROVAL_PREFIX, '1h', 'INC-10'), [`${APPROVAL_PREFIX}/break-glass-by`]: 'somebody-else' };
    const r = await plane().kubectl(['apply', '-f', '-'], { asUser: 'oscar', stdin: narrowPolicy(namespace, 'break-glass', annotations) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /break-glass: oscar \(group e2e-break-glass\) writes a grant in profile prod, which requires approval; stamped and audited/);
    const stored = JSON.parse(await plane().kubectlOk(['get', 'networkpolicy', 'break-glass', '-n', namespace, '-o', 'json'])) as JsonObject;
    const stamped = (stored['metadata'] as JsonObject)['annotations'] as Record<string, string>;
    assert.equal(stamped[`${APPROVAL_PREFIX}/break-glass-by`], 'oscar');
    assert.match(stamped[`${APPROVAL_PREFIX}/break-glass-at`] ?? '', RFC3339);
    assert.equal(stamped[`${APPROVAL_PREFIX}/requested-by`], 'oscar');
    const audit = guard!.webhook.decisions().find((d) => d['endpoint'] === 'validate' && d['name'] === 'break-glass' && d['namespace'] === namespace);
    assert.equal(audit?.['disposition'], 'break-glass');
    // The namespace has no backend pods, so the view's pod part adds its typo warning; nothing else.
    assert.deepEqual([...((audit?.['rules'] as string[] | undefined) ?? [])].sort(), ['approval-required', 'target-selects-nothing']);
  });

  it('outside the profile, a request is refused (approval is off there) and a grant applies directly', async () => {
    const staging = await createApprovalNamespace(plane(), { prefix: 'staging' });
    const refused = await fileGrantRequest(plane(), 'alice', staging, 'not-here');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /approval is off here \(profile default has approval\.required 0\): apply the grant directly/);
    const direct = await plane().kubectl(['apply', '-f', '-'], { asUser: 'alice', stdin: narrowPolicy(staging, 'direct', grantAnnotations(APPROVAL_PREFIX, '1h', 'INC-11')) });
    assert.equal(direct.code, 0, direct.stderr);
  });
});
