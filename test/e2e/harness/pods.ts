// Pods for the effect analysis' e2e tests and `npm run cluster`. No kubelet runs, so a Pod stays
// Pending with its labels intact, which is all the analysis reads.
import YAML from 'yaml';
import type { ControlPlane } from './controlPlane.js';

export interface PodSpec {
  name: string;
  labels: Record<string, string>;
}

/** A Pod that never pulls anything (no node will take it) and mounts no token. */
export function podObject(namespace: string, name: string, labels: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/none:1' }] },
  };
}

/**
 * The namespace's "default" ServiceAccount, which the ServiceAccount admission plugin requires of
 * every Pod and which nothing creates here (no kube-controller-manager); the namespace too if missing.
 */
export async function ensureDefaultServiceAccount(cp: ControlPlane, namespace: string): Promise<void> {
  await cp.createServiceAccountToken(namespace, 'default');
}

/** Creates `pods` in `namespace` (as admin, in one apply), with the default ServiceAccount they need. */
export async function createPods(cp: ControlPlane, namespace: string, pods: readonly PodSpec[]): Promise<void> {
  await ensureDefaultServiceAccount(cp, namespace);
  const items = pods.map((p) => podObject(namespace, p.name, p.labels));
  await cp.kubectlOk(['apply', '-f', '-'], { stdin: YAML.stringify({ apiVersion: 'v1', kind: 'List', items }) });
}
