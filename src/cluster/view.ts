import type { V1LabelSelector } from '@kubernetes/client-node';
import type { CloseHow } from '../controller/grantRecord.js';

/**
 * A read-only picture of cluster state handed to the pure decision core. Every read is a plain
 * synchronous lookup in memory (an informer cache in the webhook, files or flags in `check` and
 * `grant`), so a rule that consults the cluster stays pure and fast: no I/O inside a decision.
 */
export interface ClusterView {
  /** Labels of the namespace, or undefined when the namespace is not known to the view. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /**
   * Pods of `namespace` whose labels the selector matches (Kubernetes label-selector semantics).
   * The webhook's view answers only with a pod source plugged in (see PodMetaSource).
   */
  podsMatching(namespace: string, selector: V1LabelSelector): readonly PodMeta[];
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
}

/**
 * Where a view's pods come from. The webhook's InformerClusterView takes one as an optional part
 * (a pod informer kept by the effect analysis); the view is stale while its pod source is.
 */
export interface PodMetaSource {
  podsMatching(namespace: string, selector: V1LabelSelector): readonly PodMeta[];
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
