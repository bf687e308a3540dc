// The approvals (two-person rule) setup shared by the e2e files that exercise it: the users, the
// GrantRequest CRD, a platform config whose `prod-*` namespaces require two approvers, namespaces
// where a requester, approvers and a bystander each hold what a real team would, and small
// helpers to file a request and write an approval as a given user through the status subresource.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import type { ControlPlane, KubectlResult, UserSpec } from './controlPlane.js';
import { cliPath, manifestsDir, readManifestDocuments, type JsonObject } from './guard.js';
import { runToCompletion, type CommandResult } from './processes.js';
import { ensureNetworkPolicyEditorRole, createNamespaceFor, uniqueName, waitForAccess } from './tenants.js';

export const APPROVAL_PREFIX = 'netpol-guard.io';
/** Members of this group bypass the guardrails (and approval-required), audited and stamped. */
export const BREAK_GLASS_GROUP = 'e2e-break-glass';
/**
 * The cast. alice (static user of every control plane, group developers) files requests and may
 * also approve other people's; bob and dave are approvers; carol may read requests and write their
 * status but holds no `approve`; oscar is on call in the break-glass group.
 */
export const APPROVAL_USERS: UserSpec[] = [
  { name: 'bob', groups: ['developers'] },
  { name: 'carol', groups: ['developers'] },
  { name: 'dave', groups: ['developers'] },
  { name: 'oscar', groups: ['developers', BREAK_GLASS_GROUP] },
];

/** Namespaces named like this fall in profile `prod`, which requires `required` approvers. */
export const APPROVAL_NAMESPACE_PREFIX = 'prod';

/** Platform config: profile prod (namespaces prod-*) requires `required` approvers; elsewhere off. */
export function approvalConfig(opts: { required?: number; pendingTTL?: string; controllerUsers?: string[]; extra?: string } = {}): string {
  const controllerUsers = opts.controllerUsers ?? ['system:serviceaccount:netpol-guard:netpol-guard'];
  return `mode: enforce
annotationPrefix: ${APPROVAL_PREFIX}
limits: {maxTTL: 24h}
breakGlassGroups: [${BREAK_GLASS_GROUP}]
clusterView: {maxStaleness: 5s}
approval:
  required: 0
  pendingTTL: ${opts.pendingTTL ?? '1h'}
  controllerUsers: ${JSON.stringify(controllerUsers)}
profiles:
  - name: prod
    match: {namespaces: ['${APPROVAL_NAMESPACE_PREFIX}-*']}
    limits: {maxTTL: 4h}
    approval: {required: ${opts.required ?? 2}}
${opts.extra ?? ''}`;
}

/** Installs (and waits for) the GrantRequest and GrantRecord CRDs of manifests/crds. */
export async function installApprovalCrds(cp: ControlPlane): Promise<void> {
  for (const crd of ['grantrequests.netpol-guard.io', 'grantrecords.netpol-guard.io']) {
    await cp.kubectlOk(['apply', '-f', path.join(manifestsDir(), 'crds', `${crd}.yaml`)]);
    await cp.kubectlOk(['wait', '--for=condition=established', '--timeout=30s', `crd/${crd}`]);
  }
}

/** ClusterRole bound per namespace to requesters: file, read and withdraw their requests. */
export const GRANTREQUEST_REQUESTER_ROLE = 'e2e-grantrequest-requester';
/** ClusterRole for a bystander: read requests and write their status, but no `approve`. */
export const GRANTREQUEST_STATUS_WRITER_ROLE = 'e2e-grantrequest-status-writer';
/** The shipped approver role (manifests/rbac.yaml). */
export const APPROVER_ROLE = 'netpol-guard-approver';

/** Applies the e2e roles and the shipped netpol-guard-approver ClusterRole (idempotent). */
export async function ensureApprovalRoles(cp: ControlPlane): Promise<void> {
  await ensureNetworkPolicyEditorRole(cp);
  const shipped = readManifestDocuments(path.join(manifestsDir(), 'rbac.yaml')).filter(
    (d) => d['kind'] === 'ClusterRole' && (d['metadata'] as JsonObject | undefined)?.['name'] === APPROVER_ROLE,
  );
  if (shipped.length !== 1) throw new Error(`manifests/rbac.yaml: expected one ClusterRole ${APPROVER_ROLE}, found ${shipped.length}`);
  const roles = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: GRANTREQUEST_REQUESTER_ROLE },
      rules: [
        { apiGroups: ['netpol-guard.io'], resources: ['grantrequests'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
        { apiGroups: ['netpol-guard.io'], resources: ['grantrequests/status'], verbs: ['get', 'patch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: GRANTREQUEST_STATUS_WRITER_ROLE },
      rules: [
        { apiGroups: ['netpol-guard.io'], resources: ['grantrequests'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['netpol-guard.io'], resources: ['grantrequests/status'], verbs: ['get', 'patch', 'update'] },
      ],
    },
    shipped[0]!,
  ];
  await cp.kubectlOk(['apply', '-f', '-'], { stdin: YAML.stringify({ apiVersion: 'v1', kind: 'List', items: roles }) });
}

export interface ApprovalNamespaceOptions {
  /** Files requests and edits NetworkPolicies (default alice). */
  requester?: string;
  /** Bound to netpol-guard-approver here (default alice, bob, dave: the requester may approve others). */
  approvers?: string[];
  /** May read requests and write their status, without `approve` (default carol). */
  bystanders?: string[];
  /** Name prefix; `prod` (default) puts the namespace in the approval-requiring profile. */
  prefix?: string;
}

/**
 * A fresh namespace `<prefix>-<random>` with the cast's bindings; returns once they are in effect
 * (RBAC reads bindings from an informer, so a new one takes a moment to count).
 */
export async function createApprovalNamespace(cp: ControlPlane, opts: ApprovalNamespaceOptions = {}): Promise<string> {
  const requester = opts.requester ?? 'alice';
  const approvers = opts.approvers ?? ['alice', 'bob', 'dave'];
  const bystanders = opts.bystanders ?? ['carol'];
  const namespace = uniqueName(opts.prefix ?? APPROVAL_NAMESPACE_PREFIX);
  await createNamespaceFor(cp, namespace, requester);
  const binding = (name: string, role: string, users: string[]) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: users.map((user) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user })),
  });
  const items = [binding('requester', GRANTREQUEST_REQUESTER_ROLE, [requester])];
  if (approvers.length > 0) items.push(binding('approvers', APPROVER_ROLE, approvers));
  if (bystanders.length > 0) items.push(binding('bystanders', GRANTREQUEST_STATUS_WRITER_ROLE, bystanders));
  // The break-glass user edits NetworkPolicies like any team member.
  items.push(binding('on-call', 'e2e-networkpolicy-editor', APPROVAL_USERS.filter((u) => u.groups.includes(BREAK_GLASS_GROUP)).map((u) => u.name)));
  await cp.kubectlOk(['apply', '-f', '-'], { stdin: YAML.stringify({ apiVersion: 'v1', kind: 'List', items }) });
  await waitForAccess(cp, { asUser: requester }, { verb: 'create', resource: 'grantrequests', group: 'netpol-guard.io', namespace });
  for (const user of approvers) await waitForAccess(cp, { asUser: user }, { verb: 'approve', resource: 'grantrequests', group: 'netpol-guard.io', namespace });
  for (const user of bystanders) await waitForAccess(cp, { asUser: user }, { verb: 'patch', resource: 'grantrequests/status', group: 'netpol-guard.io', namespace });
  return namespace;
}

/** The access the suite asks for: frontend pods to backend pods on TCP 8080. */
export const NARROW_POLICY_SPEC: JsonObject = {
  podSelector: { matchLabels: { app: 'backend' } },
  policyTypes: ['Ingress'],
  ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
};

export interface GrantRequestManifestOptions {
  policy?: JsonObject;
  duration?: string;
  ticket?: string;
  reason?: string;
  /** A client-written requester (the webhook must replace it). */
  requestedBy?: string;
}

/** A GrantRequest as YAML for `kubectl apply/create -f -`. */
export function grantRequestManifest(namespace: string, name: string, opts: GrantRequestManifestOptions = {}): string {
  const spec: JsonObject = {
    policy: opts.policy ?? NARROW_POLICY_SPEC,
    duration: opts.duration ?? '1h',
    ticket: opts.ticket ?? 'INC-4242',
    reason: opts.reason ?? 'debug the checkout outage',
  };
  if (opts.requestedBy !== undefined) spec['requestedBy'] = opts.requestedBy;
  return YAML.stringify({ apiVersion: 'netpol-guard.io/v1alpha1', kind: 'GrantRequest', metadata: { name, namespace }, spec });
}

/** Files a request as `user` (kubectl create). */
export function fileGrantRequest(cp: ControlPlane, user: string, namespace: string, name: string, opts: GrantRequestManifestOptions = {}): Promise<KubectlResult> {
  return cp.kubectl(['create', '-f', '-'], { asUser: user, stdin: grantRequestManifest(namespace, name, opts) });
}

/** The stored request, as admin. */
export async function readGrantRequest(cp: ControlPlane, namespace: string, name: string): Promise<JsonObject> {
  return JSON.parse(await cp.kubectlOk(['get', 'grantrequests.netpol-guard.io', name, '-n', namespace, '-o', 'json'])) as JsonObject;
}

/** A JSON patch of the request's status subresource, as `user` (what `approve` does, minus the CLI). */
export function patchGrantRequestStatus(cp: ControlPlane, user: string, namespace: string, name: string, patch: unknown[]): Promise<KubectlResult> {
  return cp.kubectl(
    ['patch', 'grantrequests.netpol-guard.io', name, '-n', namespace, '--subresource=status', '--type=json', '-p', JSON.stringify(patch)],
    { asUser: user },
  );
}

/**
 * Appends one approval entry as `user` through the status subresource, with whatever `by`/`at`
 * the caller forges (the webhook must replace them). Creates the approvals list when absent.
 */
export async function appendApproval(
  cp: ControlPlane,
  user: string,
  namespace: string,
  name: string,
  entry: JsonObject = { by: user, at: new Date().toISOString() },
): Promise<KubectlResult> {
  const current = await readGrantRequest(cp, namespace, name);
  const status = (current['status'] as JsonObject | undefined) ?? {};
  const approvals = Array.isArray(status['approvals']) ? status['approvals'] : undefined;
  const patch: unknown[] = [];
  if (current['status'] === undefined) patch.push({ op: 'add', path: '/status', value: {} });
  patch.push(approvals === undefined ? { op: 'add', path: '/status/approvals', value: [entry] } : { op: 'add', path: '/status/approvals/-', value: entry });
  return patchGrantRequestStatus(cp, user, namespace, name, patch);
}

/**
 * Runs the CLI (`approve`, `deny`, …) as a static-token user with the guard's config, in a clean
 * environment (no KUBECONFIG or NETPOL_GUARD_CONFIG from the caller's shell).
 */
export function runCliAs(cp: ControlPlane, user: string, configFile: string, args: string[]): Promise<CommandResult> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'netpol-guard-e2e-cli-'));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  for (const key of ['KUBECONFIG', 'NETPOL_GUARD_CONFIG', 'NODE_TEST_CONTEXT']) delete env[key];
  return runToCompletion(process.execPath, [cliPath(), ...args, '--kubeconfig', cp.kubeconfigFor(user), '--config', configFile], {
    cwd: home,
    env,
    label: `netpol-guard ${args[0] ?? ''} as ${user}`,
  }).finally(() => fs.rmSync(home, { recursive: true, force: true }));
}
