import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { readLivePolicy } from '../cluster/snapshotLoader.js';
import { loadKubeContext } from '../kube/kubeConfig.js';
import { MetadataClient } from '../kube/metadataClient.js';
import { chooseConfig } from '../operator/runtime.js';
import { EFFECT_OUTPUTS, isEffectOutput, printEffectReport } from './effectReport.js';
import { CONFIG_OPTION, defineCommand, KUBECONFIG_OPTION, NAMESPACE_OPTION, OUTPUT_OPTION } from './command.js';

/**
 * `netpol-guard explain`: what a NetworkPolicy would open if admitted now — its targets, peers and
 * ports, the pods it newly isolates, the connections it newly allows, and every finding the
 * webhook would give — read from the cluster with the user's kubeconfig, before anything is
 * applied. Exit 0 the webhook would admit it, 1 it would deny it, 2 usage, read or API error.
 */
export const DEFAULT_EXPLAIN_USER = 'netpol-guard-explain';

function usage(prog: string): string {
  return `usage: ${prog} explain -f FILE [options]
       ${prog} explain NAME -n NAMESPACE [options]

What the NetworkPolicy in FILE (- for stdin), or the live one NAME, opens if admitted now:
targets, peers, ports, the pods it newly isolates (cutting their other traffic), the connections
it newly allows compared with the namespace's other policies, and every finding the webhook
would give, judged under the config's profile for the namespace's live labels (as the webhook
chooses it). Reads namespaces and pods (metadata only, cluster-wide: peers may be anywhere) and
the namespace's NetworkPolicies with your kubeconfig; changes nothing. '${prog} grant --dry-run'
prints this report for the grant its flags build.

options:
  -f, --filename FILE   the policy to explain (YAML or JSON, one NetworkPolicy)
  -n, --namespace NS    its namespace (default: the manifest's, else the kubeconfig context's)
  -o, --output FORMAT   text (default), json or dot (Graphviz: dot -Tsvg)
  --config FILE         platform config; default: $NETPOL_GUARD_CONFIG, else the built-in config
  --kubeconfig FILE     default: $KUBECONFIG, else ~/.kube/config
  --user NAME           username to judge as (default: ${DEFAULT_EXPLAIN_USER})
  -h, --help            show this help

exit status: 0 the webhook would admit it, 1 it would deny it, 2 usage, read or API error (or
the namespace does not exist)
`;
}

export const explainCommand = defineCommand({
  name: 'explain',
  summary: 'show what a NetworkPolicy opens and isolates in the live cluster',
  usage,
  options: {
    filename: { type: 'string', short: 'f' },
    ...NAMESPACE_OPTION,
    ...OUTPUT_OPTION,
    ...CONFIG_OPTION,
    ...KUBECONFIG_OPTION,
    user: { type: 'string', default: DEFAULT_EXPLAIN_USER },
  },
  positionals: { name: 'NAME', min: 0 },
  onUsageError: { pointTo: 'options' },
  run: async ({ flags, positionals, io, say, usageError }) => {
    const output = flags.output ?? 'text';
    if (!isEffectOutput(output)) return usageError(`-o/--output must be one of ${EFFECT_OUTPUTS.join(', ')}, not "${output}"`);
    if ((flags.filename === undefined) === (positionals.length === 0)) return usageError('give either -f FILE or the NAME of a live policy');
    if (positionals.length > 1) return usageError('explain one policy at a time');
    const chosen = chooseConfig(flags.config, io.env);
    if (!chosen.ok) {
      say(`invalid config:\n${chosen.errors.map((e) => `  ${e}`).join('\n')}`);
      return 2;
    }
    const loaded = loadKubeContext(flags.kubeconfig);
    if (!loaded.ok) {
      say(loaded.error);
      return 2;
    }
    const client = new MetadataClient(loaded.context.kubeConfig);

    let policy: V1NetworkPolicy;
    let namespace: string;
    try {
      if (flags.filename !== undefined) {
        const text = flags.filename === '-' ? await io.readStdin() : readFileSync(resolve(io.cwd(), flags.filename), 'utf8');
        const parsed = onePolicy(text);
        if (typeof parsed === 'string') {
          say(`${flags.filename}: ${parsed}`);
          return 2;
        }
        policy = parsed;
        namespace = flags.namespace ?? policy.metadata?.namespace ?? loaded.context.namespace;
      } else {
        namespace = flags.namespace ?? loaded.context.namespace;
        const live = await readLivePolicy(client, namespace, positionals[0]!);
        if (live === undefined) {
          say(`NetworkPolicy ${namespace}/${positionals[0]} not found`);
          return 2;
        }
        policy = live;
      }
    } catch (err) {
      say(err instanceof Error ? err.message : String(err));
      return 2;
    }

    return printEffectReport(
      { client, server: loaded.context.server, policy, namespace, config: chosen.config, user: { username: flags.user, groups: [] }, now: io.now(), output },
      { stdout: (text) => io.stdout(text), say },
    );
  },
});

/** The one NetworkPolicy of a manifest, or why there is none. */
function onePolicy(text: string): V1NetworkPolicy | string {
  const docs = parseAllDocuments(text);
  const policies: V1NetworkPolicy[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) return `not valid YAML: ${doc.errors[0]!.message}`;
    const value = doc.toJS() as { kind?: unknown } | null;
    if (value !== null && typeof value === 'object' && value.kind === 'NetworkPolicy') policies.push(value as V1NetworkPolicy);
  }
  if (policies.length === 0) return 'no NetworkPolicy in the file';
  if (policies.length > 1) return `${policies.length} NetworkPolicies in the file; explain one at a time`;
  return policies[0]!;
}
