// NetworkPolicy manifests the e2e suite applies, as YAML for `kubectl apply -f -`.
import YAML from 'yaml';

export type Annotations = Record<string, string>;

function manifest(namespace: string, name: string, annotations: Annotations, spec: Record<string, unknown>): string {
  return YAML.stringify({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, ...(Object.keys(annotations).length > 0 && { annotations }) },
    spec,
  });
}

/** Opens the backend to every address, every namespace and every port. */
export function broadPolicy(namespace: string, name: string, annotations: Annotations = {}): string {
  return manifest(namespace, name, annotations, {
    podSelector: { matchLabels: { app: 'backend' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { namespaceSelector: {} }] }],
  });
}

/** The kind of access the guardrail is for: frontend pods to backend pods on TCP 8080. */
export function narrowPolicy(namespace: string, name: string, annotations: Annotations = {}): string {
  return manifest(namespace, name, annotations, {
    podSelector: { matchLabels: { app: 'backend' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
  });
}

/** Denies all ingress and egress for every pod: grants nothing. */
export function defaultDenyPolicy(namespace: string, name: string): string {
  return manifest(namespace, name, {}, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
}

/** Annotations of a temporary grant under `prefix`. */
export function grantAnnotations(prefix: string, ttl: string, ticket = 'INC-1234'): Annotations {
  return { [`${prefix}/ttl`]: ttl, [`${prefix}/ticket`]: ticket };
}
