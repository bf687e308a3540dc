/**
 * Every NetworkPolicy of the cluster (full spec), by namespace, as the effect analysis reads them:
 * the `allPolicies` part of InformerClusterView, for the benchmark's webhook.
 *
 * A stand-in: the webhook's own source of every NetworkPolicy is being wired into `serve` on
 * another branch (h-wire); once it lands, the benchmark should construct that one instead, so the
 * figures are the shipped code's. This one is the obvious shape (one Informer over the same
 * list+watch source as the view's grant informer, without the label selector; the projection
 * keeps name, namespace and spec) so the measured cost is close to the real one.
 */
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { NetworkPolicySource } from '../../src/cluster/view.js';
import { Informer, type ListWatchSource } from '../../src/kube/informer.js';

export class BenchPolicySource implements NetworkPolicySource {
  private readonly informer: Informer<V1NetworkPolicy, V1NetworkPolicy>;
  private readonly byNamespace = new Map<string, { byName: Map<string, V1NetworkPolicy>; values: V1NetworkPolicy[] | undefined }>();

  constructor(source: ListWatchSource<V1NetworkPolicy>, maxStalenessMs: number) {
    this.informer = new Informer<V1NetworkPolicy, V1NetworkPolicy>({
      source,
      name: 'network policies',
      maxStalenessMs,
      keyOf: (p) => (p.metadata?.namespace && p.metadata.name ? `${p.metadata.namespace}/${p.metadata.name}` : undefined),
      project: (p): V1NetworkPolicy => ({ metadata: { namespace: p.metadata!.namespace!, name: p.metadata!.name! }, spec: p.spec! }),
    });
    this.informer.subscribe((event) => {
      const { namespace, name } = event.object.metadata as { namespace: string; name: string };
      let entry = this.byNamespace.get(namespace);
      if (entry === undefined) {
        entry = { byName: new Map(), values: undefined };
        this.byNamespace.set(namespace, entry);
      }
      if (event.type === 'delete') entry.byName.delete(name);
      else entry.byName.set(name, event.object);
      entry.values = undefined;
    });
  }

  start(): void {
    this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  whenSynced(): Promise<void> {
    return this.informer.whenSynced();
  }

  policiesIn(namespace: string): readonly V1NetworkPolicy[] {
    const entry = this.byNamespace.get(namespace);
    if (entry === undefined) return [];
    entry.values ??= [...entry.byName.values()];
    return entry.values;
  }

  /** Policies held. */
  get size(): number {
    return this.informer.size;
  }

  synced(): boolean {
    return this.informer.synced();
  }

  stale(): boolean {
    return this.informer.stale();
  }
}
