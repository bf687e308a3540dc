import { KubeConfig } from '@kubernetes/client-node';

/** The kubeconfig in effect: where requests go, and the namespace kubectl would default to. */
export interface KubeContext {
  kubeConfig: KubeConfig;
  server: string;
  namespace: string;
}

export type KubeContextResult = { ok: true; context: KubeContext } | { ok: false; error: string };

/**
 * The one way every command finds its API server: `file` when given, else what kubectl would use
 * ($KUBECONFIG, ~/.kube/config), else the pod's service account (in-cluster). Errors are one line
 * naming the file; the wording keeps both phrasings the sweep and operator commands have always
 * printed, since scripts and tests match on them.
 */
export function loadKubeContext(file: string | undefined): KubeContextResult {
  const kc = new KubeConfig();
  try {
    if (file !== undefined) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (err) {
    const cause = (err as Error).message.split('\n')[0];
    return {
      ok: false,
      error:
        file !== undefined
          ? `cannot load Kubernetes client configuration from ${file}: cannot load the kubeconfig ${file}: ${cause}`
          : `cannot load Kubernetes client configuration: ${cause}`,
    };
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) return { ok: false, error: 'the kubeconfig has no current cluster; set current-context or pass --kubeconfig' };
  // loadFromDefault's last resort is an unauthenticated http://localhost:8080: never talk to that.
  if (file === undefined && cluster.server === 'http://localhost:8080' && kc.getCurrentUser()?.name === 'user') {
    return {
      ok: false,
      error: 'no Kubernetes API configuration found: pass --kubeconfig FILE, set KUBECONFIG, or run in a pod with a service account token',
    };
  }
  const namespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return {
    ok: true,
    context: { kubeConfig: kc, server: cluster.server, namespace: namespace !== undefined && namespace !== '' ? namespace : 'default' },
  };
}
