import { CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type RbacV1Subject } from '@kubernetes/client-node';
import { GRANT_REQUEST_GROUP, GRANT_REQUEST_PLURAL, GRANT_REQUEST_VERSION, type GrantRequest } from '../approval/grantRequest.js';
import { httpStatusOf } from '../kube/apiErrors.js';
import type { KubeContext } from '../kube/kubeConfig.js';
import { requestOptions } from '../kube/requestOptions.js';

/** The ClusterRole platform teams bind to approvers (manifests/rbac.yaml). */
export const APPROVER_CLUSTER_ROLE = 'netpol-guard-approver';

/**
 * The GrantRequest calls of `grant` (in a profile that requires approval), `list --pending` and
 * `revoke --request`. Each is sent once: a person is waiting, and the commands say what failed.
 */
export interface RequestClient {
  readonly server: string;
  /** Every request in `namespace` (undefined: all namespaces). */
  list(namespace: string | undefined): Promise<GrantRequest[]>;
  /** Undefined when there is none. */
  read(namespace: string, name: string): Promise<GrantRequest | undefined>;
  create(namespace: string, request: GrantRequest): Promise<GrantRequest>;
  /** The namespace's labels; undefined when it does not exist. */
  namespaceLabels(namespace: string): Promise<Record<string, string> | undefined>;
  /**
   * Who is bound to netpol-guard-approver in `namespace` (its RoleBindings and every
   * ClusterRoleBinding), as `User alice`, `Group sre`, `ServiceAccount ns/name`; undefined when the
   * caller may not read bindings (the usual case for a requester).
   */
  approvers(namespace: string): Promise<string[] | undefined>;
}

const TIMEOUT_MS = 20_000;

export function createRequestClient(context: KubeContext): RequestClient {
  const kc = context.kubeConfig;
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const options = requestOptions({ timeoutMs: TIMEOUT_MS });
  const where = { group: GRANT_REQUEST_GROUP, version: GRANT_REQUEST_VERSION, plural: GRANT_REQUEST_PLURAL } as const;
  const missingAs404 = async <T>(call: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await call();
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  };
  return {
    server: context.server,
    async list(namespace) {
      const items: GrantRequest[] = [];
      let token: string | undefined;
      do {
        const params = { ...where, limit: 250, ...(token !== undefined ? { _continue: token } : {}) };
        const page = (await (namespace === undefined
          ? custom.listClusterCustomObject(params, options)
          : custom.listNamespacedCustomObject({ ...params, namespace }, options))) as { items?: GrantRequest[]; metadata?: { continue?: string } };
        items.push(...(page.items ?? []));
        token = page.metadata?.continue || undefined;
      } while (token !== undefined);
      return items;
    },
    read: (namespace, name) => missingAs404(async () => (await custom.getNamespacedCustomObject({ ...where, namespace, name }, options)) as GrantRequest),
    async create(namespace, request) {
      return (await custom.createNamespacedCustomObject({ ...where, namespace, body: request }, options)) as GrantRequest;
    },
    namespaceLabels: (namespace) => missingAs404(async () => (await core.readNamespace({ name: namespace }, options)).metadata?.labels ?? {}),
    async approvers(namespace) {
      try {
        const [local, cluster] = await Promise.all([rbac.listNamespacedRoleBinding({ namespace }, options), rbac.listClusterRoleBinding({}, options)]);
        const subjects: string[] = [];
        for (const binding of [...local.items, ...cluster.items]) {
          if (binding.roleRef.kind !== 'ClusterRole' || binding.roleRef.name !== APPROVER_CLUSTER_ROLE) continue;
          for (const subject of binding.subjects ?? []) subjects.push(subjectText(subject));
        }
        return [...new Set(subjects)].sort();
      } catch (err) {
        const status = httpStatusOf(err);
        if (status === 403 || status === 401) return undefined;
        throw err;
      }
    },
  };
}

function subjectText(subject: RbacV1Subject): string {
  return subject.kind === 'ServiceAccount' ? `ServiceAccount ${subject.namespace ?? '?'}/${subject.name}` : `${subject.kind} ${subject.name}`;
}
