import type { V1LabelSelector, V1NetworkPolicy } from '@kubernetes/client-node';

/**
 * A read-only picture of cluster state handed to the pure decision core. Every read is a plain
 * synchronous lookup in memory (an informer cache in the webhook, files or flags in `check` and
 * `grant`), so a rule that consults the cluster stays pure and fast: no I/O inside a decision.
 */
export interface ClusterView {
  /** Labels of the namespace, or undefined when the namespace is not known to the view. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /** Every namespace the view knows (namespaceSelector peers are resolved against these). */
  namespaceNames(): readonly string[];
  /** Pods of `namespace` whose labels the selector matches (Kubernetes label-selector semantics). */
  podsMatching(namespace: string, selector: V1LabelSelector): readonly PodMeta[];
  /** NetworkPolicies stored in `namespace`. */
  policiesIn(namespace: string): readonly V1NetworkPolicy[];
  /** Grant records (active and past grants) matching the query. */
  grantRecords(query: GrantRecordQuery): readonly GrantRecordSummary[];
  /**
   * True when the view cannot be trusted to be current (not yet synced, or its watches have
   * failed for too long). Rules that need the view treat a stale view like a missing one.
   */
  stale(): boolean;
}

/** The projection of a Pod that rules need: identity and labels, nothing else (memory). */
export interface PodMeta {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  /**
   * status.phase when the source knows it. Partial-metadata lists carry no status, so the
   * webhook's pod source leaves it out and excludes Succeeded/Failed pods server-side instead.
   */
  phase?: string;
  /**
   * The pod's container ports, when the source has the spec (a file, a test, a full list). Absent:
   * unknown, and a named port in a policy stays unresolved for this pod.
   */
  containerPorts?: readonly ContainerPortMeta[];
}

/** One container port, as named ports in a NetworkPolicy resolve against it. */
export interface ContainerPortMeta {
  name?: string;
  containerPort: number;
  /** TCP when absent, as the API server defaults it. */
  protocol?: string;
}

/** What a grant-record lookup may filter on; every given field must match. */
export interface GrantRecordQuery {
  namespace?: string;
  ticket?: string;
  requestedBy?: string;
}

/** The projection of one grant (a temporary NetworkPolicy, live or recorded after expiry). */
export interface GrantRecordSummary {
  namespace: string;
  name: string;
  ticket: string | undefined;
  requestedBy: string | undefined;
  /** RFC 3339 UTC, as stamped by the mutator. */
  grantedAt: string | undefined;
  expiresAt: string | undefined;
}
