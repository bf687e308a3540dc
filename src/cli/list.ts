import { CONFIG_OPTION, defineCommand, KUBECONFIG_OPTION, NAMESPACE_OPTION, OUTPUT_OPTION } from './command.js';
import { reportFailure } from '../operator/apiFailure.js';
import { formatGrantJson, formatGrantTable, grantRow, sortGrantRows } from '../operator/listTable.js';
import { createGrantApi } from '../operator/kube.js';
import { openSession } from '../operator/runtime.js';
import { isDnsLabel } from '../operator/selectors.js';

function usage(prog: string): string {
  return `usage: ${prog} list [-n NAMESPACE | -A] [-o wide|json]

Show the temporary grants that are live right now (NetworkPolicies labelled
<prefix>/temporary=true), soonest expiry first. A grant whose expiry has passed but which the
sweeper has not deleted yet shows as "EXPIRED 3m ago".

options:
  -n, --namespace NS     only this namespace (default: the kubeconfig context's)
  -A, --all-namespaces   every namespace
  -o, --output FORMAT    wide (adds absolute expiry and grant time, full access) or json
  --config FILE          platform config, for its annotation prefix (default: $NETPOL_GUARD_CONFIG,
                         else the built-in config)
  --kubeconfig FILE      kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)
  -h, --help             show this help

exit status: 0 listed (also when there are none), 2 usage or connection error, 1 forbidden
`;
}

export const listCommand = defineCommand({
  name: 'list',
  summary: 'show the live temporary grants, soonest expiry first',
  usage,
  options: {
    ...NAMESPACE_OPTION,
    'all-namespaces': { type: 'boolean', short: 'A' },
    ...OUTPUT_OPTION,
    ...CONFIG_OPTION,
    ...KUBECONFIG_OPTION,
  },
  onUsageError: { pointTo: 'flags' },
  connect: createGrantApi,
  run: async ({ flags, io, say }) => {
    if (flags.namespace !== undefined && flags['all-namespaces']) {
      say('choose -n NAMESPACE or -A, not both');
      return 2;
    }
    if (flags.namespace !== undefined && !isDnsLabel(flags.namespace)) {
      say(`-n/--namespace "${flags.namespace}" is not a valid namespace name`);
      return 2;
    }
    const output = flags.output ?? 'table';
    if (output !== 'table' && output !== 'wide' && output !== 'json') {
      say(`-o/--output must be wide or json, not "${output}"`);
      return 2;
    }
    const session = openSession(flags, io, say);
    if (session === undefined) return 2;
    const namespace = flags['all-namespaces'] ? undefined : session.namespace;
    const api = session.api;
    const keys = session.config.keys;
    let policies;
    try {
      policies = await api.list(namespace, `${keys.temporaryLabel}=true`);
    } catch (err) {
      return reportFailure(err, { verb: 'list', resource: 'networkpolicies', namespace }, api.server, say);
    }
    const now = io.now();
    const rows = sortGrantRows(policies.map((p) => grantRow(p, keys)));
    if (output === 'json') {
      io.stdout(formatGrantJson(rows, now));
      return 0;
    }
    if (rows.length === 0) {
      io.stderr(namespace === undefined ? 'No temporary grants in any namespace.\n' : `No temporary grants in namespace ${namespace}.\n`);
      return 0;
    }
    io.stdout(formatGrantTable(rows, now, { wide: output === 'wide' }));
    return 0;
  },
});
