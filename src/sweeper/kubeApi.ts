import {
  CoreV1Api,
  NetworkingV1Api,
  Observable,
  Watch,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type CoreV1Event,
  type KubeConfig,
  type V1NetworkPolicy,
} from '@kubernetes/client-node';
import { httpStatusOf } from './apiErrors.js';
import { createAgentReuser } from './connectionReuse.js';
import { withRetry, type RetryNotice, type RetryPolicy } from './retry.js';

/** One page of a paginated list. */
export interface PolicyPage {
  items: V1NetworkPolicy[];
  continueToken: string | undefined;
  resourceVersion: string | undefined;
}

export interface ListPageParams {
  /** Undefined lists every namespace. */
  namespace: string | undefined;
  labelSelector: string;
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

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchParams {
  namespace: string | undefined;
  labelSelector: string;
  resourceVersion: string;
  /** Asks the server to end the stream after this long, so connections are recycled. */
  timeoutSeconds: number;
}

export interface WatchStream {
  /** true once the server answered 200 and events can flow; false if the stream failed first. Never rejects. */
  connected: Promise<boolean>;
  /** Resolves when the stream ends: null for a clean close, else the error (status in .statusCode). */
  ended: Promise<unknown>;
  abort(): void;
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
}

const WATCH_EVENT_TYPES = new Set<string>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

export function createPolicyApi(kubeConfig: KubeConfig, options: PolicyApiOptions): PolicyApi {
  const networking = kubeConfig.makeApiClient(NetworkingV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const watcher = new Watch(kubeConfig);
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const agents = createAgentReuser({ maxSockets: options.connectionPoolSize ?? 8, retireAfterMs: timeoutMs });
  // The object-parameter API runs per-call middleware as Observables (client-node's own stub).
  const requestDeadline: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(AbortSignal.timeout(timeoutMs));
      const agent = agents.reuse(context.getAgent());
      if (agent !== undefined) context.setAgent(agent);
      return new Observable(Promise.resolve(context));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  const callOptions: ConfigurationOptions = { middleware: [requestDeadline], middlewareMergeStrategy: 'append' };

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
      let controller: AbortController | undefined;
      let abortRequested = false;
      let markConnected!: (ok: boolean) => void;
      const connected = new Promise<boolean>((resolve) => {
        markConnected = resolve;
      });
      let markEnded!: (err: unknown) => void;
      const ended = new Promise<unknown>((resolve) => {
        markEnded = resolve;
      });
      let finished = false;
      const finish = (err: unknown): void => {
        if (finished) return;
        finished = true;
        markConnected(false);
        markEnded(err ?? null);
      };
      watcher
        .watch(
          path,
          {
            labelSelector: params.labelSelector,
            resourceVersion: params.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: params.timeoutSeconds,
          },
          (type, object) => {
            if (!finished && WATCH_EVENT_TYPES.has(type)) onEvent(type as WatchEventType, object);
          },
          finish,
        )
        .then(
          (c) => {
            controller = c;
            if (abortRequested) c.abort();
            // watch() resolves after the response headers; a failed request has already called finish.
            markConnected(true);
          },
          (err: unknown) => finish(err),
        );
      return {
        connected,
        ended,
        abort() {
          abortRequested = true;
          // Settle first: aborting makes the stream report an AbortError, which is not a failure here.
          finish(null);
          controller?.abort();
        },
      };
    },
  };
}
