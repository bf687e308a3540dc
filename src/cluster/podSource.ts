/**
 * The live pods of the cluster for the effect analysis: a metadata-only list+watch of every Pod
 * (src/kube/metadataClient.ts), projected to {namespace, name, labels} and indexed (PodIndex).
 *
 * Phase: PartialObjectMetadata has no status, so status.phase cannot be read from it. Succeeded
 * and Failed pods are excluded by the API server instead, with the field selector
 * `status.phase!=Succeeded,status.phase!=Failed` on both the list and the watch (pods support
 * that field selector). A pod that terminates then leaves the selection, and the watch sends it
 * as DELETED, so the index holds Pending, Running and Unknown pods only — exactly the ones that
 * count as targets and peers. PodMeta.phase is therefore left out.
 *
 * RBAC: list and watch on pods (cluster-wide: peers may be in any namespace). Nothing else.
 */
import type { KubeConfig, V1LabelSelector } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Informer, type InformerHooks, type ListWatchSource } from '../kube/informer.js';
import { MetadataClient, type PartialObjectMetadata } from '../kube/metadataClient.js';
import { PodIndex } from './podIndex.js';
import type { PodMeta, PodMetaSource } from './view.js';

export const LIVE_POD_FIELD_SELECTOR = 'status.phase!=Succeeded,status.phase!=Failed';

const PODS_PATH = '/api/v1/pods';

/** Every pod of the cluster, metadata only, as an Informer's source. */
export function podMetadataSource(client: MetadataClient): ListWatchSource<PartialObjectMetadata> {
  return {
    list: (request) => client.listPage(PODS_PATH, request),
    watch: (params, onEvent) => client.watch(PODS_PATH, params, onEvent),
  };
}

/** {namespace, name, labels} of one pod's metadata; undefined when it has no name or namespace. */
export function projectPod(object: PartialObjectMetadata): PodMeta | undefined {
  const meta = object.metadata;
  if (!meta?.name || !meta.namespace) return undefined;
  return { namespace: meta.namespace, name: meta.name, labels: meta.labels ?? {} };
}

export interface PodSourceOptions {
  kubeConfig?: KubeConfig;
  /** Instead of kubeConfig: any source (tests, benchmarks). */
  source?: ListWatchSource<PartialObjectMetadata>;
  pageSize?: number;
  resyncMs?: number;
  maxStalenessMs?: number;
  logger?: Logger;
  hooks?: InformerHooks;
}

/**
 * The pod half of a ClusterView: start(), then read podsMatching (its `index`) while synced() and
 * not stale(). The webhook's InformerClusterView takes it as its PodMetaSource.
 */
export class PodSource implements PodMetaSource {
  readonly index = new PodIndex();
  private readonly informer: Informer<PartialObjectMetadata, PodMeta>;

  constructor(options: PodSourceOptions) {
    const source = options.source ?? (options.kubeConfig ? podMetadataSource(new MetadataClient(options.kubeConfig)) : undefined);
    if (source === undefined) throw new Error('PodSource needs a kubeConfig or a source');
    this.informer = new Informer<PartialObjectMetadata, PodMeta>({
      source,
      keyOf: (object) => (object?.metadata?.namespace && object.metadata.name ? `${object.metadata.namespace}/${object.metadata.name}` : undefined),
      // keyOf skipped objects without a namespace or name, so projectPod has both. The store and
      // the index share the one canonical object per pod.
      project: (object) => this.index.canonical(projectPod(object)!),
      fieldSelector: LIVE_POD_FIELD_SELECTOR,
      name: 'pods',
      ...(options.pageSize !== undefined && { pageSize: options.pageSize }),
      ...(options.resyncMs !== undefined && { resyncMs: options.resyncMs }),
      ...(options.maxStalenessMs !== undefined && { maxStalenessMs: options.maxStalenessMs }),
      ...(options.logger !== undefined && { logger: options.logger }),
      ...(options.hooks !== undefined && { hooks: options.hooks }),
    });
    this.informer.subscribe((event) => {
      if (event.type === 'delete') this.index.remove(event.object.namespace, event.object.name);
      else this.index.upsert(event.object);
    });
  }

  start(): void {
    this.informer.start();
  }

  podsMatching(namespace: string, selector: V1LabelSelector): readonly PodMeta[] {
    return this.index.podsMatching(namespace, selector);
  }

  /** Pods held (live ones: Pending, Running, Unknown). */
  get size(): number {
    return this.informer.size;
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  whenSynced(): Promise<void> {
    return this.informer.whenSynced();
  }

  synced(): boolean {
    return this.informer.synced();
  }

  stale(): boolean {
    return this.informer.stale();
  }
}
