import type { V1LabelSelector, V1NetworkPolicy } from '@kubernetes/client-node';
import { selectorMatches } from '../policy/selector.js';
import type { ClusterView, GrantRecordQuery, GrantRecordSummary, PodMeta } from './view.js';

/** Plain data a MemoryClusterView answers from: what a test, a file or `grant`'s flags provide. */
export interface ClusterSnapshot {
  /** Namespace name → its labels. */
  namespaces?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  pods?: readonly PodMeta[];
  policies?: readonly V1NetworkPolicy[];
  grants?: readonly GrantRecordSummary[];
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

  grantRecords(query: GrantRecordQuery): readonly GrantRecordSummary[] {
    return (this.snapshot.grants ?? []).filter(
      (g) =>
        (query.namespace === undefined || g.namespace === query.namespace) &&
        (query.ticket === undefined || g.ticket === query.ticket) &&
        (query.requestedBy === undefined || g.requestedBy === query.requestedBy),
    );
  }

  stale(): boolean {
    return this.snapshot.stale === true;
  }
}
