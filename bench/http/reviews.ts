/**
 * The AdmissionReviews the load test sends, shaped like what a kube-apiserver sends for
 * `kubectl apply` of a new NetworkPolicy: full userInfo, CreateOptions, the last-applied annotation
 * kubectl adds and the managedFields entry the API server fills in before admission.
 */
import type { AdmissionReview } from '../../src/admission/types.js';

export type PolicyKind = 'narrow-grant' | 'rules-100';

export const REVIEW_UID = '705ab4f5-6393-11e8-b7cc-42010a800002';

interface WireRule {
  from: unknown[];
  ports: unknown[];
}

/** One ingress rule: a namespace+pod peer and one TCP port (the shape of a real grant). */
function narrowRule(index: number): WireRule {
  return {
    from: [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': index === 0 ? 'reporting' : `team-${index}` } },
        podSelector: { matchLabels: { app: index === 0 ? 'report-builder' : `client-${index}` } },
      },
    ],
    ports: [{ protocol: 'TCP', port: index === 0 ? 5432 : 5000 + index }],
  };
}

/** Every fourth rule of the big policy also names a /24, so the CIDR code runs too. */
function bigRule(index: number): WireRule {
  const rule = narrowRule(index);
  if (index % 4 === 3) rule.from.push({ ipBlock: { cidr: `10.${index}.${(index * 7) % 256}.0/24` } });
  return rule;
}

/** The NetworkPolicy as the user wrote it: ttl and ticket, no stamps yet. */
export function userPolicy(kind: PolicyKind): Record<string, unknown> {
  const ruleCount = kind === 'narrow-grant' ? 1 : 100;
  const ingress = Array.from({ length: ruleCount }, (_, i) => (kind === 'narrow-grant' ? narrowRule(i) : bigRule(i)));
  const name = kind === 'narrow-grant' ? 'allow-reporting-to-orders-db' : 'orders-db-partner-access';
  const annotations: Record<string, string> = {
    'netpol-guard.io/ttl': '2h',
    'netpol-guard.io/ticket': 'INC-4711',
    'netpol-guard.io/ticket-url': 'https://tracker.example/browse/INC-4711',
  };
  const spec = { podSelector: { matchLabels: { app: 'orders-db' } }, policyTypes: ['Ingress'], ingress };
  const lastApplied = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { annotations, name, namespace: 'payments' },
    spec,
  };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name,
      namespace: 'payments',
      creationTimestamp: null,
      annotations: { ...annotations, 'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(lastApplied)}\n` },
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'networking.k8s.io/v1',
          time: '2026-11-23T10:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': {
              'f:annotations': {
                '.': {},
                'f:kubectl.kubernetes.io/last-applied-configuration': {},
                'f:netpol-guard.io/ticket': {},
                'f:netpol-guard.io/ticket-url': {},
                'f:netpol-guard.io/ttl': {},
              },
            },
            'f:spec': { 'f:ingress': {}, 'f:podSelector': {}, 'f:policyTypes': {} },
          },
        },
      ],
    },
    spec,
  };
}

/** An AdmissionReview for CREATE of `object` by an on-call engineer. */
export function admissionReview(object: unknown): AdmissionReview {
  const metadata = (object as { metadata: { name: string; namespace: string } }).metadata;
  const gvk = { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' };
  const gvr = { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies' };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: REVIEW_UID,
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      name: metadata.name,
      namespace: metadata.namespace,
      operation: 'CREATE',
      userInfo: {
        username: 'alice@example.com',
        uid: 'b9a4e1c2-7d3f-4e8a-9c51-2f6d8e0a1b34',
        groups: ['oncall', 'payments-sre', 'system:authenticated'],
        extra: { 'authentication.kubernetes.io/credential-id': ['JTI=0b7d3c1e-5a2f-4c8e-9d61-3e7f9a2b4c50'] },
      },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', fieldManager: 'kubectl-client-side-apply', fieldValidation: 'Strict' },
    },
  };
}
