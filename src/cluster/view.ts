import type { V1LabelSelector, V1NetworkPolicy } from '@kubernetes/client-node';
import type { CloseHow } from '../controller/grantRecord.js';

/**
 * A read-only picture of cluster state handed to the pure decision core. Every read is a plain
 * synchronous lookup in memory (an informer cache in the webhook, files or flags in `check` and
 * `grant`), so a rule that consults the cluster stays pure and fast: no I/O inside a decision.
 */
/** Optional parts of a view: pods, and every NetworkPolicy (not only the live grants). */
export type ClusterViewPart = 'pods' | 'policies';

export interface ClusterView {
  /** Labels of the namespace, or undefined when the namespace is not known to the view. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /** Every namespace the view knows (namespaceSelector peers are resolved against these). */
  namespaceNames(): readonly string[];
  /**
   * Pods of `namespace` whose labels the selector matches (Kubernetes label-selector semantics).
   * Only when provides('pods'): the webhook's view answers only with a pod source plugged in (see PodMetaSource).
   */
  podsMatching(namespace: string, selector: V1LabelSelector): readonly PodMeta[];
  /** Every NetworkPolicy stored in `namespace`, full spec. Only when provides('policies'). */
  policiesIn(namespace: string): readonly V1NetworkPolicy[];
  /**
   * Whether the view holds this optional part. A view without it throws when asked, and the rules
   * that need it (RuleDefinition.viewParts) are skipped, as without a view, never run on "nothing".
   */
  provides(part: ClusterViewPart): boolean;
  /** Live grants (NetworkPolicies labelled temporary) in `namespace`. */
  liveGrantsIn(namespace: string): readonly LiveGrant[];
  /** Live grants stamped as requested by `requestedBy`, in every namespace. */
  liveGrantsBy(requestedBy: string): readonly LiveGrant[];
  /** Ended grants (closed GrantRecords) once named `namespace`/`name`. */
  endedGrantsNamed(namespace: string, name: string): readonly EndedGrant[];
  /** Ended grants that carried `ticket` (normalized). */
  endedGrantsWithTicket(ticket: string): readonly EndedGrant[];
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

/**
 * Where a view's pods come from. The webhook's InformerClusterView takes one as an optional part
 * (a pod informer kept by the effect analysis); the view is stale while its pod source is.
 */
export interface PodMetaSource {
  podsMatching(namespace: string, selector: V1LabelSelector): readonly PodMeta[];
  synced(): boolean;
  stale(): boolean;
  /** Pods held, when the source counts them (the view's objects metric). */
  readonly size?: number;
  /** Resolves once synced, when the source can tell (the view's whenSynced waits for it). */
  whenSynced?(): Promise<void>;
}

/**
 * Where a view's complete NetworkPolicies come from (every policy of a namespace, not only the
 * temporary ones the webhook's view watches). Optional, like PodMetaSource.
 */
export interface NetworkPolicySource {
  policiesIn(namespace: string): readonly V1NetworkPolicy[];
  synced(): boolean;
  stale(): boolean;
}

/** The projection of one live grant: what quotas count and list. */
export interface LiveGrant {
  namespace: string;
  name: string;
  requestedBy: string | undefined;
  ticket: string | undefined;
  /** expires-at in epoch ms; undefined when absent or unreadable. */
  expiresAtMs: number | undefined;
  /** sha256 of the canonical spec (as GrantRecords hash it). */
  specSha256: string;
}

/** The projection of one closed GrantRecord: what grant-recreated compares a CREATE with. */
export interface EndedGrant {
  namespace: string;
  name: string;
  ticket: string | undefined;
  /** The admitted spec's hash and, when it changed while live, the last one (distinct). */
  specSha256s: readonly string[];
  how: CloseHow;
  /** Epoch ms. */
  closedAtMs: number;
  closedBy: string | undefined;
}
