import type { V1LabelSelector, V1NetworkPolicy } from '@kubernetes/client-node';
import { selectorMatches } from '../policy/selector.js';
import type { ClusterView, ClusterViewPart, EndedGrant, LiveGrant, PodMeta } from './view.js';

/** Plain data a MemoryClusterView answers from: what a test, a file or `grant`'s flags provide. */
export interface ClusterSnapshot {
  /** Namespace name → its labels. */
  namespaces?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  pods?: readonly PodMeta[];
  /** Every NetworkPolicy of the snapshot (the effect analysis reads a namespace's others). */
  policies?: readonly V1NetworkPolicy[];
  liveGrants?: readonly LiveGrant[];
  endedGrants?: readonly EndedGrant[];
  /**
   * The optional parts the snapshot stands for (default both): `[]` models the webhook's view,
   * which holds neither pods nor every NetworkPolicy, so the rules reading them are skipped.
   */
  holds?: readonly ClusterViewPart[];
  /** Mark the snapshot as out of date (tests of the stale path). */
  stale?: boolean;
}

/**
 * A ClusterView over a fixed snapshot, for tests and for `check`/`grant`. Reads are linear scans:
 * snapshots given by hand are small; the webhook's informer-backed view indexes by namespace.
 */
export class MemoryClusterView implements ClusterView {
  private readonly snapshot: ClusterSnapshot;

  constructor(snapshot: ClusterSnapshot = {}) {
    this.snapshot = snapshot;
  }

  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined {
    const namespaces = this.snapshot.namespaces ?? {};
    return Object.prototype.hasOwnProperty.call(namespaces, namespace) ? namespaces[namespace] : undefined;
  }

  namespaceNames(): readonly string[] {
    return Object.keys(this.snapshot.namespaces ?? {});
  }

  podsMatching(namespace: string, selector: V1LabelSelector): readonly PodMeta[] {
    return (this.snapshot.pods ?? []).filter((pod) => pod.namespace === namespace && selectorMatches(selector, pod.labels));
  }

  policiesIn(namespace: string): readonly V1NetworkPolicy[] {
    return (this.snapshot.policies ?? []).filter((policy) => (policy.metadata?.namespace ?? 'default') === namespace);
  }

  /** By default a snapshot holds every part: what it does not list is known to be absent. */
  provides(part: ClusterViewPart): boolean {
    return this.snapshot.holds === undefined || this.snapshot.holds.includes(part);
  }

  liveGrantsIn(namespace: string): readonly LiveGrant[] {
    return (this.snapshot.liveGrants ?? []).filter((g) => g.namespace === namespace);
  }

  liveGrantsBy(requestedBy: string): readonly LiveGrant[] {
    return (this.snapshot.liveGrants ?? []).filter((g) => g.requestedBy === requestedBy);
  }

  endedGrantsNamed(namespace: string, name: string): readonly EndedGrant[] {
    return (this.snapshot.endedGrants ?? []).filter((g) => g.namespace === namespace && g.name === name);
  }

  endedGrantsWithTicket(ticket: string): readonly EndedGrant[] {
    return (this.snapshot.endedGrants ?? []).filter((g) => g.ticket === ticket);
  }

  stale(): boolean {
    return this.snapshot.stale === true;
  }
}
