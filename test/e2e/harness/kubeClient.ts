// @kubernetes/client-node against the e2e control plane, as the admin: how the suite reads back
// what kubectl (as alice) stored, and the Events the sweeper wrote.
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  type CoreV1Event,
  type V1NetworkPolicy,
} from '@kubernetes/client-node';
import type { ControlPlane } from './controlPlane.js';

export interface AdminApis {
  networking: NetworkingV1Api;
  core: CoreV1Api;
}

export function adminApis(cp: ControlPlane): AdminApis {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigAdmin);
  return { networking: kc.makeApiClient(NetworkingV1Api), core: kc.makeApiClient(CoreV1Api) };
}

/** The stored policy, or undefined when the API server says 404. */
export async function readPolicy(apis: AdminApis, namespace: string, name: string): Promise<V1NetworkPolicy | undefined> {
  try {
    return await apis.networking.readNamespacedNetworkPolicy({ namespace, name });
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

export async function mustReadPolicy(apis: AdminApis, namespace: string, name: string): Promise<V1NetworkPolicy> {
  const policy = await readPolicy(apis, namespace, name);
  if (policy === undefined) throw new Error(`NetworkPolicy ${namespace}/${name} does not exist`);
  return policy;
}

export async function eventsFor(apis: AdminApis, namespace: string, name: string, reason: string): Promise<CoreV1Event[]> {
  const list = await apis.core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.name=${name},reason=${reason}`,
  });
  return list.items;
}
