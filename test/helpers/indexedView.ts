import type { V1LabelSelector, V1NetworkPolicy } from '@kubernetes/client-node';
import type { PodIndex } from '../../src/cluster/podIndex.js';
import type { ClusterView, EndedGrant, LiveGrant, PodMeta } from '../../src/cluster/view.js';

/**
 * The webhook's shape of view for the effect analysis alone: pods in a PodIndex (the indexed
 * lookup the webhook does), namespaces and every policy from maps, no grants or records. Used
 * where the analysis's cost matters (the work-budget tests, the effect benchmark), since
 * MemoryClusterView scans its pods linearly.
 */
export class IndexedView implements ClusterView {
  constructor(
    private readonly pods: PodIndex,
    private readonly namespaces: Map<string, Readonly<Record<string, string>>>,
    private readonly policies: Map<string, V1NetworkPolicy[]>,
  ) {}
  namespaceLabels(namespace: string) {
    return this.namespaces.get(namespace);
  }
  namespaceNames() {
    return [...this.namespaces.keys()];
  }
  podsMatching(namespace: string, selector: V1LabelSelector): readonly PodMeta[] {
    return this.pods.podsMatching(namespace, selector);
  }
  policiesIn(namespace: string) {
    return this.policies.get(namespace) ?? [];
  }
  provides() {
    return true;
  }
  liveGrantsIn(): readonly LiveGrant[] {
    return [];
  }
  liveGrantsBy(): readonly LiveGrant[] {
    return [];
  }
  endedGrantsNamed(): readonly EndedGrant[] {
    return [];
  }
  endedGrantsWithTicket(): readonly EndedGrant[] {
    return [];
  }
  stale() {
    return false;
  }
}
