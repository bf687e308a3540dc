import {
  CoreV1Api,
  NetworkingV1Api,
  Observable,
  PatchStrategy,
  setHeaderMiddleware,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type V1NetworkPolicy,
} from '@kubernetes/client-node';
import { httpStatusOf } from '../kube/apiErrors.js';
import { createPolicyApi, type DeletePreconditions, type DeleteResult } from '../sweeper/kubeApi.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../kube/retry.js';
import type { KubeContext } from '../kube/kubeConfig.js';
import { toModel, toWire } from './wire.js';

/**
 * The API calls the operator commands make. Every NetworkPolicy in or out is wire JSON. Reads
 * and the precondition delete are the sweeper's (retried on throttling and transient failures);
 * create and patch are sent once, because a person is waiting and a retried create can collide
 * with its own first attempt.
 */
export interface GrantApi {
  readonly server: string;
  list(namespace: string | undefined, labelSelector: string): Promise<V1NetworkPolicy[]>;
  read(namespace: string, name: string): Promise<V1NetworkPolicy | undefined>;
  create(namespace: string, policy: V1NetworkPolicy): Promise<V1NetworkPolicy>;
  /** RFC 7386 merge patch; put metadata.resourceVersion in it to make it conditional. */
  mergePatch(namespace: string, name: string, patch: Record<string, unknown>): Promise<V1NetworkPolicy>;
  deleteWithPreconditions(target: DeletePreconditions): Promise<DeleteResult>;
  /** Undefined when the pod does not exist. */
  readPodLabels(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

export interface GrantApiOptions {
  requestTimeoutMs?: number;
  retry?: RetryPolicy;
}

/** A person is waiting: a few quick retries, never minutes of backoff. */
export const CLI_RETRY_POLICY: RetryPolicy = {
  ...DEFAULT_RETRY_POLICY,
  maxAttempts: 3,
  baseDelayMs: 200,
  maxDelayMs: 2_000,
  maxRetryAfterMs: 5_000,
};

const PAGE_SIZE = 250;

export function createGrantApi(context: KubeContext, options: GrantApiOptions = {}): GrantApi {
  const kc = context.kubeConfig;
  const timeoutMs = options.requestTimeoutMs ?? 20_000;
  const policies = createPolicyApi(kc, { retry: options.retry ?? CLI_RETRY_POLICY, requestTimeoutMs: timeoutMs });
  const networking = kc.makeApiClient(NetworkingV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const deadline: ObservableMiddleware = {
    pre: (request) => {
      request.setSignal(AbortSignal.timeout(timeoutMs));
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  const plain: ConfigurationOptions = { middleware: [deadline], middlewareMergeStrategy: 'append' };
  const mergePatchOptions: ConfigurationOptions = {
    middleware: [deadline, setHeaderMiddleware('Content-Type', PatchStrategy.MergePatch)],
    middlewareMergeStrategy: 'append',
  };

  return {
    server: context.server,
    async list(namespace, labelSelector) {
      const items: V1NetworkPolicy[] = [];
      let continueToken: string | undefined;
      do {
        const page = await policies.listPage({ namespace, labelSelector, limit: PAGE_SIZE, continueToken });
        items.push(...page.items.map(toWire));
        continueToken = page.continueToken;
      } while (continueToken !== undefined);
      return items;
    },
    async read(namespace, name) {
      const policy = await policies.read(namespace, name);
      return policy === undefined ? undefined : toWire(policy);
    },
    async create(namespace, policy) {
      const created = await networking.createNamespacedNetworkPolicy({ namespace, body: toModel(policy) }, plain);
      return toWire(created);
    },
    async mergePatch(namespace, name, patch) {
      const patched = await networking.patchNamespacedNetworkPolicy({ namespace, name, body: patch }, mergePatchOptions);
      return toWire(patched);
    },
    deleteWithPreconditions: (target) => policies.deleteWithPreconditions(target),
    async readPodLabels(namespace, name) {
      try {
        const pod = await core.readNamespacedPod({ namespace, name }, plain);
        return { ...(pod.metadata?.labels ?? {}) };
      } catch (err) {
        if (httpStatusOf(err) === 404) return undefined;
        throw err;
      }
    },
  };
}
