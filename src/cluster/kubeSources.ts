import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Namespace, Watch } from '@kubernetes/client-node';
import { GRANT_RECORD_GROUP, GRANT_RECORD_PLURAL, GRANT_RECORD_VERSION, type GrantRecord } from '../controller/grantRecord.js';
import { createAgentReuser } from '../kube/connectionReuse.js';
import type { ListWatchSource } from '../kube/informer.js';
import { requestOptions } from '../kube/requestOptions.js';
import { DEFAULT_RETRY_POLICY } from '../kube/retry.js';
import { openWatch } from '../kube/watchStream.js';
import { createPolicyApi, policySource } from '../sweeper/kubeApi.js';
import type { ClusterViewSources } from './informerView.js';

/**
 * The cluster view's list+watch sources over the API server: namespaces, NetworkPolicies in all
 * namespaces, and the cluster-scoped GrantRecords. Read-only (get/list/watch is all the webhook's
 * ServiceAccount may do; manifests/rbac.yaml). Lists are not retried here: the Informer retries a
 * failed list with backoff and counts it.
 */
export function kubeClusterViewSources(kubeConfig: KubeConfig, options: { requestTimeoutMs?: number } = {}): { sources: ClusterViewSources; close(): void } {
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const agents = createAgentReuser({ maxSockets: 4, retireAfterMs: timeoutMs });
  const callOptions = requestOptions({ timeoutMs, agents });
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const watcher = new Watch(kubeConfig);
  const policyApi = createPolicyApi(kubeConfig, { retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 }, requestTimeoutMs: timeoutMs, connectionPoolSize: 2 });

  const namespaces: ListWatchSource<V1Namespace> = {
    async list(request) {
      const list = await core.listNamespace(
        {
          limit: request.limit,
          ...(request.labelSelector !== undefined && { labelSelector: request.labelSelector }),
          ...(request.continueToken !== undefined && { _continue: request.continueToken }),
        },
        callOptions,
      );
      const token = list.metadata?._continue;
      return { items: list.items ?? [], continueToken: token === undefined || token === '' ? undefined : token, resourceVersion: list.metadata?.resourceVersion };
    },
    watch: (params, onEvent) => openWatch(watcher, '/api/v1/namespaces', params, onEvent),
  };

  const grantRecords: ListWatchSource<GrantRecord> = {
    async list(request) {
      const page = (await custom.listClusterCustomObject(
        {
          group: GRANT_RECORD_GROUP,
          version: GRANT_RECORD_VERSION,
          plural: GRANT_RECORD_PLURAL,
          limit: request.limit,
          ...(request.labelSelector !== undefined && { labelSelector: request.labelSelector }),
          ...(request.continueToken !== undefined && { _continue: request.continueToken }),
        },
        callOptions,
      )) as { items?: GrantRecord[]; metadata?: { continue?: string; _continue?: string; resourceVersion?: string } };
      const token = page.metadata?.continue ?? page.metadata?._continue;
      return { items: page.items ?? [], continueToken: token === undefined || token === '' ? undefined : token, resourceVersion: page.metadata?.resourceVersion };
    },
    watch: (params, onEvent) => openWatch(watcher, `/apis/${GRANT_RECORD_GROUP}/${GRANT_RECORD_VERSION}/${GRANT_RECORD_PLURAL}`, params, onEvent),
  };

  return {
    sources: { namespaces, policies: policySource(policyApi, undefined), grantRecords },
    close() {
      agents.close();
      policyApi.close();
    },
  };
}
