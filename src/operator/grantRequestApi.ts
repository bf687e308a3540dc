import { CustomObjectsApi, Observable, PatchStrategy, setHeaderMiddleware, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';
import { GRANT_REQUEST_GROUP, GRANT_REQUEST_PLURAL, GRANT_REQUEST_VERSION, type GrantRequest } from '../approval/grantRequest.js';
import { httpStatusOf } from '../kube/apiErrors.js';
import type { KubeContext } from '../kube/kubeConfig.js';

/**
 * The GrantRequest calls `approve` and `deny` make: read one request, and write its status
 * subresource with an RFC 7386 merge patch carrying metadata.resourceVersion (so an approval
 * appended by someone else in between makes it fail with 409 instead of being overwritten).
 * Sent once each: a person is waiting, and the command re-reads and retries on a conflict.
 */
export interface GrantRequestApi {
  readonly server: string;
  /** Undefined when it does not exist. */
  read(namespace: string, name: string): Promise<GrantRequest | undefined>;
  mergePatchStatus(namespace: string, name: string, patch: Record<string, unknown>): Promise<GrantRequest>;
}

export function createGrantRequestApi(context: KubeContext, requestTimeoutMs = 20_000): GrantRequestApi {
  const custom = context.kubeConfig.makeApiClient(CustomObjectsApi);
  const deadline: ObservableMiddleware = {
    pre: (request) => {
      request.setSignal(AbortSignal.timeout(requestTimeoutMs));
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  const plain: ConfigurationOptions = { middleware: [deadline], middlewareMergeStrategy: 'append' };
  const mergePatch: ConfigurationOptions = { middleware: [deadline, setHeaderMiddleware('Content-Type', PatchStrategy.MergePatch)], middlewareMergeStrategy: 'append' };
  const where = (namespace: string, name: string) => ({ group: GRANT_REQUEST_GROUP, version: GRANT_REQUEST_VERSION, plural: GRANT_REQUEST_PLURAL, namespace, name });
  return {
    server: context.server,
    async read(namespace, name) {
      try {
        return (await custom.getNamespacedCustomObject(where(namespace, name), plain)) as GrantRequest;
      } catch (err) {
        if (httpStatusOf(err) === 404) return undefined;
        throw err;
      }
    },
    async mergePatchStatus(namespace, name, patch) {
      return (await custom.patchNamespacedCustomObjectStatus({ ...where(namespace, name), body: patch }, mergePatch)) as GrantRequest;
    },
  };
}
