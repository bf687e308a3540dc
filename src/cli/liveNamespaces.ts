/**
 * `--cluster` for `check` and `grant`: the live labels of the namespaces being judged, read with
 * the user's kubeconfig (one GET per namespace, nothing else), so the profile is chosen as the
 * webhook would choose it. Every failure is said naming what could not be read and why.
 */
import { readNamespaceLabels } from '../cluster/snapshotLoader.js';
import { loadKubeContext } from '../kube/kubeConfig.js';
import { MetadataClient } from '../kube/metadataClient.js';
import { describeFailure } from '../operator/apiFailure.js';

export type NamespaceLabels = ReadonlyMap<string, Readonly<Record<string, string>>>;

/** Undefined after `say` told what failed: the command exits 2. */
export async function readLiveNamespaceLabels(
  client: MetadataClient,
  server: string,
  namespaces: readonly string[],
  say: (text: string) => void,
): Promise<NamespaceLabels | undefined> {
  const out = new Map<string, Readonly<Record<string, string>>>();
  for (const namespace of namespaces) {
    let labels: Record<string, string> | undefined;
    try {
      labels = await readNamespaceLabels(client, namespace);
    } catch (err) {
      const [headline, ...details] = describeFailure(err, { verb: 'get', resource: 'namespaces', namespace: undefined, name: namespace }, server).lines;
      say([`--cluster: cannot read the labels of namespace "${namespace}": ${headline}`, ...details].join('\n'));
      return undefined;
    }
    if (labels === undefined) {
      say(`--cluster: namespace "${namespace}" not found in the cluster at ${server}`);
      return undefined;
    }
    out.set(namespace, labels);
  }
  return out;
}

/** The same, with the kubeconfig at `file` (else $KUBECONFIG, ~/.kube/config, in-cluster). */
export async function readLiveNamespaceLabelsWith(
  file: string | undefined,
  namespaces: readonly string[],
  say: (text: string) => void,
): Promise<NamespaceLabels | undefined> {
  const loaded = loadKubeContext(file);
  if (!loaded.ok) {
    say(`--cluster: ${loaded.error}`);
    return undefined;
  }
  return readLiveNamespaceLabels(new MetadataClient(loaded.context.kubeConfig), loaded.context.server, namespaces, say);
}
