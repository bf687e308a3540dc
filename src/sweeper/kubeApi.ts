import { CoreV1Api, NetworkingV1Api, Watch, type CoreV1Event, type KubeConfig, type V1NetworkPolicy } from '@kubernetes/client-node';
import { httpStatusOf } from '../kube/apiErrors.js';
import { createAgentReuser } from '../kube/connectionReuse.js';
import { requestOptions } from '../kube/requestOptions.js';
import { withRetry, type RetryNotice, type RetryPolicy } from '../kube/retry.js';
import type { ListWatchSource } from '../kube/informer.js';
import type { ListPage } from '../kube/pagedList.js';
import type { ServerClock } from '../kube/serverClock.js';
import { openWatch, type WatchEventType, type WatchParams as KubeWatchParams, type WatchStream } from '../kube/watchStream.js';

export type { WatchEventType, WatchStream } from '../kube/watchStream.js';

/** One page of a paginated list of NetworkPolicies. */
export type PolicyPage = ListPage<V1NetworkPolicy>;

export interface ListPageParams {
  /** Undefined lists every namespace. */
  namespace: string | undefined;
  labelSelector: string;
  fieldSelector?: string;
  limit: number;
  continueToken: string | undefined;
}

export interface DeletePreconditions {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
}

/** `gone`: 404, someone else deleted it first. `conflict`: 409, uid or resourceVersion moved on. */
export type DeleteResult = 'deleted' | 'gone' | 'conflict';
/** `exists`: 409 AlreadyExists; the sweeper names Events deterministically so this means "already recorded". */
export type EventResult = 'created' | 'exists';

export interface WatchParams extends KubeWatchParams {
  namespace: string | undefined;
  labelSelector: string;
}

/** The API calls the sweeper makes, each already retried per the retry policy. */
export interface PolicyApi {
  listPage(params: ListPageParams): Promise<PolicyPage>;
  /** Undefined when the policy no longer exists. */
  read(namespace: string, name: string): Promise<V1NetworkPolicy | undefined>;
  deleteWithPreconditions(target: DeletePreconditions): Promise<DeleteResult>;
  createEvent(event: CoreV1Event): Promise<EventResult>;
  watch(params: WatchParams, onEvent: (type: WatchEventType, object: unknown) => void): WatchStream;
  /** Release pooled connections. */
  close(): void;
}

export interface PolicyApiOptions {
  retry: RetryPolicy;
  /** Abort in-progress retry waits (on shutdown). */
  signal?: AbortSignal;
  onRetry?: (operation: string, notice: RetryNotice, err: unknown) => void;
  /** Per-request deadline for non-watch calls; a hung connection must not hold a worker forever. */
  requestTimeoutMs?: number;
  /** Kept-alive connections to the API server for non-watch calls (default 8). */
  connectionPoolSize?: number;
  /** Fed the Date header of every response, to measure clock skew. */
  serverClock?: ServerClock;
}

export function createPolicyApi(kubeConfig: KubeConfig, options: PolicyApiOptions): PolicyApi {
  const networking = kubeConfig.makeApiClient(NetworkingV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const watcher = new Watch(kubeConfig);
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const agents = createAgentReuser({ maxSockets: options.connectionPoolSize ?? 8, retireAfterMs: timeoutMs });
  const callOptions = requestOptions({
    timeoutMs,
    agents,
    ...(options.serverClock ? { onDateHeader: (value: string | undefined) => options.serverClock!.observeDateHeader(value) } : {}),
  });

  const retried = <T>(operation: string, call: () => Promise<T>): Promise<T> =>
    withRetry(call, options.retry, {
      ...(options.signal ? { signal: options.signal } : {}),
      onRetry: (notice, err) => options.onRetry?.(operation, notice, err),
    });

  return {
    close: () => agents.close(),

    async listPage(params) {
      const common = {
        labelSelector: params.labelSelector,
        ...(params.fieldSelector !== undefined ? { fieldSelector: params.fieldSelector } : {}),
        limit: params.limit,
        ...(params.continueToken !== undefined ? { _continue: params.continueToken } : {}),
      };
      const list = await retried('list', () =>
        params.namespace === undefined
          ? networking.listNetworkPolicyForAllNamespaces(common, callOptions)
          : networking.listNamespacedNetworkPolicy({ namespace: params.namespace, ...common }, callOptions),
      );
      const token = list.metadata?._continue;
      return {
        items: list.items ?? [],
        continueToken: token === undefined || token === '' ? undefined : token,
        resourceVersion: list.metadata?.resourceVersion,
      };
    },

    async read(namespace, name) {
      try {
        return await retried('read', () => networking.readNamespacedNetworkPolicy({ namespace, name }, callOptions));
      } catch (err) {
        if (httpStatusOf(err) === 404) return undefined;
        throw err;
      }
    },

    async deleteWithPreconditions(target) {
      try {
        await retried('delete', () =>
          networking.deleteNamespacedNetworkPolicy(
            {
              namespace: target.namespace,
              name: target.name,
              body: { preconditions: { uid: target.uid, resourceVersion: target.resourceVersion } },
            },
            callOptions,
          ),
        );
        return 'deleted';
      } catch (err) {
        const status = httpStatusOf(err);
        if (status === 404) return 'gone';
        if (status === 409) return 'conflict';
        throw err;
      }
    },

    async createEvent(event) {
      const namespace = event.metadata.namespace;
      if (namespace === undefined) throw new Error('event has no metadata.namespace');
      try {
        await retried('event', () => core.createNamespacedEvent({ namespace, body: event }, callOptions));
        return 'created';
      } catch (err) {
        if (httpStatusOf(err) === 409) return 'exists';
        throw err;
      }
    },

    watch(params, onEvent) {
      const path =
        params.namespace === undefined
          ? '/apis/networking.k8s.io/v1/networkpolicies'
          : `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(params.namespace)}/networkpolicies`;
      return openWatch(watcher, path, params, onEvent);
    },
  };
}

/** NetworkPolicies in `namespace` (undefined: all namespaces) as an Informer's source. */
export function policySource(api: PolicyApi, namespace: string | undefined): ListWatchSource<V1NetworkPolicy> {
  return {
    list: (request) =>
      api.listPage({
        namespace,
        labelSelector: request.labelSelector ?? '',
        ...(request.fieldSelector !== undefined ? { fieldSelector: request.fieldSelector } : {}),
        limit: request.limit,
        continueToken: request.continueToken,
      }),
    watch: (params, onEvent) => api.watch({ ...params, namespace, labelSelector: params.labelSelector ?? '' }, onEvent),
  };
}
