// Tenant namespaces for the e2e suite: a fresh namespace per test (nothing ever finishes deleting
// without a kube-controller-manager) in which a named user may manage NetworkPolicies, like a
// development team would in a real cluster.
import * as crypto from 'node:crypto';
import YAML from 'yaml';
import type { ControlPlane } from './controlPlane.js';

/** ClusterRole bound per namespace: what a team needs to manage its own NetworkPolicies and see their Events. */
export const NETWORKPOLICY_EDITOR_ROLE = 'e2e-networkpolicy-editor';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function ensureNetworkPolicyEditorRole(cp: ControlPlane): Promise<void> {
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: NETWORKPOLICY_EDITOR_ROLE },
    rules: [
      {
        apiGroups: ['networking.k8s.io'],
        resources: ['networkpolicies'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
      },
      // To see the sweeper's Expired events for their own grants.
      { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] },
    ],
  };
  await cp.kubectlOk(['apply', '-f', '-'], { stdin: YAML.stringify(role) });
}

/** A DNS-label-safe unique name: `<prefix>-<8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

export interface AccessCheck {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
}

/** Asks the API server (SelfSubjectAccessReview) whether the caller may do `check`. */
export async function canI(cp: ControlPlane, who: { asUser?: string; token?: string }, check: AccessCheck): Promise<boolean> {
  const r = await cp.request('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    ...who,
    method: 'POST',
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: {
        resourceAttributes: {
          verb: check.verb,
          resource: check.resource,
          group: check.group ?? '',
          ...(check.namespace !== undefined && { namespace: check.namespace }),
        },
      },
    },
  });
  if (r.status !== 201 && r.status !== 200) throw new Error(`SelfSubjectAccessReview failed: HTTP ${r.status} ${r.body}`);
  return (r.json as { status?: { allowed?: boolean } }).status?.allowed === true;
}

/**
 * Waits until `who` is allowed `check`: the RBAC authorizer reads bindings from an informer, so a
 * binding that was just created takes a moment to count.
 */
export async function waitForAccess(
  cp: ControlPlane,
  who: { asUser?: string; token?: string },
  check: AccessCheck,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canI(cp, who, check))) {
    if (Date.now() > deadline) {
      throw new Error(`still not allowed to ${check.verb} ${check.resource} in ${check.namespace ?? '(cluster)'} after ${timeoutMs} ms`);
    }
    await sleep(200);
  }
}

/**
 * Creates `namespace` if missing and lets `user` manage NetworkPolicies in it (and only there).
 * Returns once the binding is in effect.
 */
export async function createNamespaceFor(cp: ControlPlane, namespace: string, user = 'alice'): Promise<void> {
  const objects = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: `${user}-networkpolicy-editor`, namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NETWORKPOLICY_EDITOR_ROLE },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      },
    ],
  };
  await cp.kubectlOk(['apply', '-f', '-'], { stdin: YAML.stringify(objects) });
  await waitForAccess(cp, { asUser: user }, { verb: 'create', resource: 'networkpolicies', group: 'networking.k8s.io', namespace });
}

/** A fresh namespace `<prefix>-<random>` where `user` may manage NetworkPolicies. */
export async function createTenantNamespace(cp: ControlPlane, prefix: string, user = 'alice'): Promise<string> {
  const namespace = uniqueName(prefix);
  await createNamespaceFor(cp, namespace, user);
  return namespace;
}
