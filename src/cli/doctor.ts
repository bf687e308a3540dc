import { defineCommand, KUBECONFIG_OPTION, NAMESPACE_OPTION, OUTPUT_OPTION } from './command.js';
import { runChecks } from '../doctor/checks.js';
import { formatJson, formatText } from '../doctor/format.js';
import { gatherFacts } from '../doctor/gather.js';
import { DEFAULT_INSTALL_NAMESPACE, SERVICE_ACCOUNT } from '../doctor/shipped.js';
import { exitCodeOf } from '../doctor/types.js';
import { loadKubeContext } from '../kube/kubeConfig.js';
import { isDnsLabel, isDnsSubdomain } from '../operator/selectors.js';

function usage(prog: string): string {
  return `usage: ${prog} doctor [--kubeconfig FILE] [-n NAMESPACE] [-o json]

Checks an installation the way a platform engineer would by hand, one line per check with
✓ (good), ✗ (a problem, with the fix) or ? (could not check, with why):
  - both webhook configurations are registered, with failurePolicy, timeouts, namespaceSelector
    and operations as shipped;
  - their Service has ready endpoints;
  - the caBundle verifies the certificate the webhook really serves (a TLS handshake to a ready
    endpoint, or to clientConfig.url), and that certificate's days left;
  - the controller Lease is held and fresh;
  - the ConfigMap's config.yaml is valid (the same loader as serve and controller);
  - the ServiceAccount has the shipped permissions and no more (SubjectAccessReview).
No Secret is read. The TLS check needs the webhook pods reachable from where doctor runs (in the
cluster, or a network that routes to pod IPs); elsewhere it reports "could not check".

options:
  --kubeconfig FILE        kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)
  -n, --namespace NS       where netpol-guard is installed (default ${DEFAULT_INSTALL_NAMESPACE})
  --service-account NAME   the controller's ServiceAccount (default ${SERVICE_ACCOUNT})
  -o, --output json        the checks as JSON
  -h, --help               show this help

exit status: 0 all good, 1 a problem found, 2 something could not be checked (or a usage error)
`;
}

export const doctorCommand = defineCommand({
  name: 'doctor',
  summary: 'check an installation: webhooks, certificate, controller lease, config, RBAC',
  usage,
  options: { ...KUBECONFIG_OPTION, ...NAMESPACE_OPTION, ...OUTPUT_OPTION, 'service-account': { type: 'string' } },
  onUsageError: { pointTo: 'flags' },
  run: async ({ flags, io, say }) => {
    const namespace = flags.namespace ?? DEFAULT_INSTALL_NAMESPACE;
    if (!isDnsLabel(namespace)) return usageProblem(say, `-n/--namespace "${namespace}" is not a valid namespace name`);
    const serviceAccount = flags['service-account'] ?? SERVICE_ACCOUNT;
    if (!isDnsSubdomain(serviceAccount)) return usageProblem(say, `--service-account "${serviceAccount}" is not a valid name`);
    if (flags.output !== undefined && flags.output !== 'json') return usageProblem(say, `-o/--output must be json, not "${flags.output}"`);
    const loaded = loadKubeContext(flags.kubeconfig);
    if (!loaded.ok) {
      say(loaded.error);
      return 2;
    }
    const facts = await gatherFacts({ kubeConfig: loaded.context.kubeConfig, namespace, serviceAccount, now: () => io.now() });
    const results = runChecks(facts, serviceAccount);
    const code = exitCodeOf(results);
    io.stdout(flags.output === 'json' ? formatJson(results, code) : formatText(results));
    return code;
  },
});

function usageProblem(say: (text: string) => void, text: string): number {
  say(text);
  return 2;
}
