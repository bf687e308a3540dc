import { AuthorizationV1Api, CustomObjectsApi, Observable, type ConfigurationOptions, type KubeConfig, type ObservableMiddleware } from '@kubernetes/client-node';
import { APPROVE_VERB, GRANT_REQUEST_GROUP, GRANT_REQUEST_PLURAL, GRANT_REQUEST_VERSION, type GrantRequest } from '../approval/grantRequest.js';
import { httpStatusOf } from '../kube/apiErrors.js';
import type { AdmissionUserInfo } from './types.js';

/**
 * The two questions the webhook asks the API server for approvals (RBAC: ClusterRole
 * netpol-guard-webhook-approvals). The decisions that use the answers are pure (src/approval).
 */
export interface ApprovalApi {
  /**
   * SubjectAccessReview: may this user (with the groups, uid and extra the API server
   * authenticated) `approve` grantrequests.netpol-guard.io in `namespace`?
   */
  canApprove(user: AdmissionUserInfo, namespace: string): Promise<boolean>;
  /** A live read (never a cache: an approval stamped a moment ago must count); undefined when absent. */
  readGrantRequest(namespace: string, name: string): Promise<GrantRequest | undefined>;
}

/**
 * Each call gets this long: the validating webhook has 3 s (timeoutSeconds) for the whole review,
 * and a hung API server must make it refuse in time (failurePolicy Fail) rather than time out.
 */
const CALL_TIMEOUT_MS = 1_500;

export function createKubeApprovalApi(kubeConfig: KubeConfig): ApprovalApi {
  const authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const deadline: ObservableMiddleware = {
    pre: (request) => {
      request.setSignal(AbortSignal.timeout(CALL_TIMEOUT_MS));
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  const options: ConfigurationOptions = { middleware: [deadline], middlewareMergeStrategy: 'append' };
  return {
    async canApprove(user, namespace) {
      const review = await authorization.createSubjectAccessReview(
        {
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user: user.username ?? '',
              ...(user.uid !== undefined && { uid: user.uid }),
              groups: user.groups ?? [],
              ...(user.extra !== undefined && { extra: user.extra }),
              resourceAttributes: { verb: APPROVE_VERB, group: GRANT_REQUEST_GROUP, resource: GRANT_REQUEST_PLURAL, namespace },
            },
          },
        },
        options,
      );
      return review.status?.allowed === true && review.status.denied !== true;
    },
    async readGrantRequest(namespace, name) {
      try {
        return (await custom.getNamespacedCustomObject(
          { group: GRANT_REQUEST_GROUP, version: GRANT_REQUEST_VERSION, namespace, plural: GRANT_REQUEST_PLURAL, name },
          options,
        )) as GrantRequest;
      } catch (err) {
        if (httpStatusOf(err) === 404) return undefined;
        throw err;
      }
    },
  };
}
