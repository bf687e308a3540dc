import type { V1ConfigMap, V1Lease, V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';

/** What `doctor` found out about an installation; every field fetched independently. */

/** A read from the cluster (or a TLS connect): its value, or why there is none. */
export type Fetched<T> = { ok: true; value: T } | { ok: false; notFound: boolean; error: string };

/** Ready addresses of a Service, from its EndpointSlices. */
export interface ServiceEndpoints {
  serviceExists: boolean;
  /** `ip:port` of each ready endpoint for the webhook's port. */
  ready: string[];
  notReady: number;
}

/** What the webhook really serves, seen from here with the caBundle as the only trust anchor. */
export interface ServedCertificate {
  /** host:port that was dialled. */
  target: string;
  /** The name verified against the certificate (service DNS name or the URL's host). */
  serverName: string;
  /** The caBundle verifies the chain. */
  chainVerified: boolean;
  chainError?: string;
  /** The certificate is for serverName. */
  hostnameError?: string;
  subject: string;
  notAfter: Date;
}

export interface AccessAnswer {
  /** What was asked, e.g. "delete networking.k8s.io/networkpolicies (all namespaces)". */
  what: string;
  /** True: it must be allowed (as shipped); false: it must be denied (least privilege). */
  expected: boolean;
  allowed: boolean;
}

export interface WebhookTarget {
  /** The webhook's name, e.g. validate.netpol-guard.io. */
  webhook: string;
  endpoints?: Fetched<ServiceEndpoints>;
  served: Fetched<ServedCertificate>;
}

export interface DoctorFacts {
  now: Date;
  /** Where netpol-guard is installed (Service, ConfigMap, Lease, ServiceAccount). */
  namespace: string;
  mutating: Fetched<V1MutatingWebhookConfiguration>;
  validating: Fetched<V1ValidatingWebhookConfiguration>;
  targets: WebhookTarget[];
  lease: Fetched<V1Lease>;
  configMap: Fetched<V1ConfigMap>;
  access: Fetched<AccessAnswer[]>;
}

export type CheckStatus = 'ok' | 'problem' | 'unknown';

export interface CheckResult {
  id: string;
  status: CheckStatus;
  /** One line: what was found. */
  detail: string;
  /** For a problem or an unknown: what to do. */
  fix?: string;
}

/** 0 all good, 1 a problem found, 2 nothing wrong found but something could not be checked. */
export function exitCodeOf(results: readonly CheckResult[]): number {
  if (results.some((r) => r.status === 'problem')) return 1;
  if (results.some((r) => r.status === 'unknown')) return 2;
  return 0;
}
