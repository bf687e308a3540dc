import { CoreV1Api, CustomObjectsApi, NetworkingV1Api, Watch, type CoreV1Event, type KubeConfig, type V1NetworkPolicy } from '@kubernetes/client-node';
import { ApiStatusError } from '../kube/apiErrors.js';
import { createAgentReuser } from '../kube/connectionReuse.js';
import type { ListWatchSource } from '../kube/informer.js';
import { requestOptions } from '../kube/requestOptions.js';
import { openWatch } from '../kube/watchStream.js';
import { toModel, toWire } from '../operator/wire.js';
import type { DeletePreconditions, DeleteResult } from '../sweeper/kubeApi.js';
import { GRANT_REQUEST_GROUP, GRANT_REQUEST_PLURAL, GRANT_REQUEST_VERSION, type GrantRequest } from './grantRequest.js';

/** A failed approval-controller call; `status` 404/409 are what the controller branches on. */
export class ApprovalApiError extends ApiStatusError {
  override name = 'ApprovalApiError';
}

/**
 * The calls the approval controller makes (manifests/rbac.yaml says why each is granted). Every
 * NetworkPolicy in or out is wire JSON (`ingress[].from`), like the request's spec.policy.
 */
export interface ApprovalApi {
  /** GrantRequests in every namespace (or one), for the controller's informer. */
  requests: ListWatchSource<GrantRequest>;
  /** Replace the status subresource; carries metadata.resourceVersion, so a moved request is a 409. */
  replaceStatus(request: GrantRequest): Promise<GrantRequest>;
  /** Undefined when there is no such policy. */
  readPolicy(namespace: string, name: string): Promise<V1NetworkPolicy | undefined>;
  /** Throws ApprovalApiError with status 409 when the name is taken. */
  createPolicy(namespace: string, policy: V1NetworkPolicy): Promise<V1NetworkPolicy>;
  deletePolicy(target: DeletePreconditions): Promise<DeleteResult>;
  /** The namespace's labels (for profiles that match on them); undefined when it does not exist. */
  namespaceLabels(namespace: string): Promise<Record<string, string> | undefined>;
  createEvent(event: CoreV1Event): Promise<void>;
  close(): void;
}

const TIMEOUT_MS = 30_000;

export function createApprovalApi(kubeConfig: KubeConfig, namespace?: string): ApprovalApi {
  const agents = createAgentReuser({ maxSockets: 4, retireAfterMs: TIMEOUT_MS });
  const options = requestOptions({ timeoutMs: TIMEOUT_MS, agents });
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const networking = kubeConfig.makeApiClient(NetworkingV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const watcher = new Watch(kubeConfig);
  const where = { group: GRANT_REQUEST_GROUP, version: GRANT_REQUEST_VERSION, plural: GRANT_REQUEST_PLURAL } as const;
  const call = async <T>(what: string, send: () => Promise<T>): Promise<T> => {
    try {
      return await send();
    } catch (err) {
      throw new ApprovalApiError(what, err);
    }
  };
  const basePath = `/apis/${GRANT_REQUEST_GROUP}/${GRANT_REQUEST_VERSION}`;
  return {
    requests: {
      async list(request) {
        const params = {
          ...where,
          limit: request.limit,
          ...(request.labelSelector !== undefined && { labelSelector: request.labelSelector }),
          ...(request.continueToken !== undefined && { _continue: request.continueToken }),
        };
        const page = (await call('list grantrequests', () =>
          namespace === undefined ? custom.listClusterCustomObject(params, options) : custom.listNamespacedCustomObject({ ...params, namespace }, options),
        )) as { items?: GrantRequest[]; metadata?: { continue?: string; _continue?: string; resourceVersion?: string } };
        const token = page.metadata?.continue ?? page.metadata?._continue;
        return { items: page.items ?? [], continueToken: token === undefined || token === '' ? undefined : token, resourceVersion: page.metadata?.resourceVersion };
      },
      watch: (params, onEvent) =>
        openWatch(watcher, namespace === undefined ? `${basePath}/${GRANT_REQUEST_PLURAL}` : `${basePath}/namespaces/${encodeURIComponent(namespace)}/${GRANT_REQUEST_PLURAL}`, params, onEvent),
    },
    async replaceStatus(request) {
      const ns = request.metadata!.namespace!;
      const name = request.metadata!.name!;
      return (await call(`update grantrequests/${name}/status in ${ns}`, () =>
        custom.replaceNamespacedCustomObjectStatus({ ...where, namespace: ns, name, body: request }, options),
      )) as GrantRequest;
    },
    async readPolicy(ns, name) {
      try {
        return toWire(await call(`get networkpolicy ${ns}/${name}`, () => networking.readNamespacedNetworkPolicy({ namespace: ns, name }, options)));
      } catch (err) {
        if (err instanceof ApprovalApiError && err.status === 404) return undefined;
        throw err;
      }
    },
    async createPolicy(ns, policy) {
      const name = policy.metadata?.name ?? '';
      return toWire(await call(`create networkpolicy ${ns}/${name}`, () => networking.createNamespacedNetworkPolicy({ namespace: ns, body: toModel(policy) }, options)));
    },
    async deletePolicy(target) {
      try {
        await call(`delete networkpolicy ${target.namespace}/${target.name}`, () =>
          networking.deleteNamespacedNetworkPolicy(
            { namespace: target.namespace, name: target.name, body: { preconditions: { uid: target.uid, resourceVersion: target.resourceVersion } } },
            options,
          ),
        );
        return 'deleted';
      } catch (err) {
        if (err instanceof ApprovalApiError && err.status === 404) return 'gone';
        if (err instanceof ApprovalApiError && err.status === 409) return 'conflict';
        throw err;
      }
    },
    async namespaceLabels(ns) {
      try {
        const found = await call(`get namespace ${ns}`, () => core.readNamespace({ name: ns }, options));
        return found.metadata?.labels ?? {};
      } catch (err) {
        if (err instanceof ApprovalApiError && err.status === 404) return undefined;
        throw err;
      }
    },
    async createEvent(event) {
      const ns = event.metadata.namespace!;
      await call(`create event in ${ns}`, () => core.createNamespacedEvent({ namespace: ns, body: event }, options));
    },
    close: () => agents.close(),
  };
}
