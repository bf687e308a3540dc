/**
 * The installation as shipped in manifests/ (webhooks.yaml, rbac.yaml, deployment.yaml,
 * kustomization.yaml), which `doctor` compares a cluster with. The manifests are not part of the
 * npm package, so the values live here; a unit test keeps them equal to the manifests.
 */

export const CONFIGURATION_NAME = 'netpol-guard';
export const SERVICE_NAME = 'netpol-guard';
export const SERVICE_ACCOUNT = 'netpol-guard';
export const CONFIG_MAP = 'netpol-guard-config';
export const CONFIG_KEY = 'config.yaml';
export const LEASE_NAME = 'netpol-guard-controller';
export const DEFAULT_INSTALL_NAMESPACE = 'netpol-guard';

export interface ShippedWebhook {
  name: string;
  kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';
  path: string;
  timeoutSeconds: number;
  failurePolicy: 'Fail';
  sideEffects: 'None';
  operations: readonly string[];
}

export const SHIPPED_WEBHOOKS: readonly ShippedWebhook[] = [
  { name: 'mutate.netpol-guard.io', kind: 'MutatingWebhookConfiguration', path: '/mutate', timeoutSeconds: 2, failurePolicy: 'Fail', sideEffects: 'None', operations: ['CREATE', 'UPDATE'] },
  { name: 'validate.netpol-guard.io', kind: 'ValidatingWebhookConfiguration', path: '/validate', timeoutSeconds: 3, failurePolicy: 'Fail', sideEffects: 'None', operations: ['CREATE', 'UPDATE'] },
];

/** The namespaces both webhooks never see; the install namespace is the second. */
export function shippedExcludedNamespaces(installNamespace: string): string[] {
  return ['kube-system', installNamespace];
}

export interface Permission {
  verb: string;
  group: string;
  /** `resource` or `resource/subresource`. */
  resource: string;
  /** Undefined: cluster-wide (ClusterRole); 'install': the install namespace (Role). */
  scope: 'cluster' | 'install';
}

/** What the ServiceAccount must be allowed (rbac.yaml), and why the controller needs it. */
export const SHIPPED_PERMISSIONS: readonly Permission[] = [
  ...['get', 'list', 'watch', 'delete'].map((verb): Permission => ({ verb, group: 'networking.k8s.io', resource: 'networkpolicies', scope: 'cluster' })),
  { verb: 'create', group: '', resource: 'events', scope: 'cluster' },
  ...['get', 'list', 'watch', 'create', 'update', 'delete'].map((verb): Permission => ({ verb, group: 'netpol-guard.io', resource: 'grantrecords', scope: 'cluster' })),
  ...['get', 'create', 'update'].map((verb): Permission => ({ verb, group: 'coordination.k8s.io', resource: 'leases', scope: 'install' })),
  // Approvals: open the access of an approved GrantRequest, follow and move the requests.
  { verb: 'create', group: 'networking.k8s.io', resource: 'networkpolicies', scope: 'cluster' },
  ...['get', 'list', 'watch'].map((verb): Permission => ({ verb, group: 'netpol-guard.io', resource: 'grantrequests', scope: 'cluster' })),
  { verb: 'update', group: 'netpol-guard.io', resource: 'grantrequests/status', scope: 'cluster' },
  { verb: 'get', group: '', resource: 'namespaces', scope: 'cluster' },
];

/** What it must not be allowed: the shipped RBAC reads no Secrets and edits no policies. */
export const FORBIDDEN_PERMISSIONS: readonly Permission[] = [
  { verb: 'get', group: '', resource: 'secrets', scope: 'install' },
  { verb: 'list', group: '', resource: 'secrets', scope: 'cluster' },
  { verb: 'update', group: 'networking.k8s.io', resource: 'networkpolicies', scope: 'cluster' },
];

export function describePermission(p: Permission, installNamespace: string): string {
  const resource = p.group === '' ? p.resource : `${p.group}/${p.resource}`;
  return `${p.verb} ${resource} (${p.scope === 'cluster' ? 'all namespaces' : `namespace ${installNamespace}`})`;
}
