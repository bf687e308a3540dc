/**
 * A one-shot ClusterSnapshot for `explain`: every namespace (metadata), every live pod (metadata,
 * Succeeded/Failed excluded by the server) and the NetworkPolicies of the one namespace the policy
 * lives in, read with the user's own credentials. Peers may sit in any namespace, so pods and
 * namespaces are listed cluster-wide; only metadata travels, a few hundred bytes per pod.
 */
import type { V1NetworkPolicy, V1NetworkPolicyList } from '@kubernetes/client-node';
import { listPages } from '../kube/pagedList.js';
import type { MetadataClient } from '../kube/metadataClient.js';
import type { ClusterSnapshot } from './memoryView.js';
import { LIVE_POD_FIELD_SELECTOR, projectPod } from './podSource.js';
import type { PodMeta } from './view.js';

const PAGE = 500;

export async function loadClusterSnapshot(client: MetadataClient, namespace: string): Promise<ClusterSnapshot> {
  const namespaces: Record<string, Record<string, string>> = {};
  for await (const page of listPages((token) => client.listPage('/api/v1/namespaces', { limit: PAGE, continueToken: token }))) {
    for (const item of page.items) if (item.metadata?.name) namespaces[item.metadata.name] = item.metadata.labels ?? {};
  }
  const pods: PodMeta[] = [];
  for await (const page of listPages((token) => client.listPage('/api/v1/pods', { limit: PAGE, continueToken: token, fieldSelector: LIVE_POD_FIELD_SELECTOR }))) {
    for (const item of page.items) {
      const pod = projectPod(item);
      if (pod !== undefined) pods.push(pod);
    }
  }
  const list = (await client.getJson(`/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/networkpolicies`)) as V1NetworkPolicyList | undefined;
  const policies: V1NetworkPolicy[] = (list?.items ?? []).map((p) => ({ ...p, metadata: { ...p.metadata, namespace } }));
  return { namespaces, pods, policies };
}

/** A live NetworkPolicy by name, as stored (wire format); undefined when there is none. */
export async function readLivePolicy(client: MetadataClient, namespace: string, name: string): Promise<V1NetworkPolicy | undefined> {
  return (await client.getJson(`/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/networkpolicies/${encodeURIComponent(name)}`)) as V1NetworkPolicy | undefined;
}

/**
 * The labels of one live namespace (`check --cluster`, `grant --cluster`): a single GET, so a user
 * allowed to read their own namespace but not to list all of them can still use it. Undefined
 * when the namespace does not exist.
 */
export async function readNamespaceLabels(client: MetadataClient, namespace: string): Promise<Record<string, string> | undefined> {
  const found = (await client.getJson(`/api/v1/namespaces/${encodeURIComponent(namespace)}`)) as { metadata?: { labels?: Record<string, string> | null } } | undefined;
  return found === undefined ? undefined : { ...(found.metadata?.labels ?? {}) };
}
