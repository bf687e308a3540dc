import { CONFIG_OPTION, defineCommand, KUBECONFIG_OPTION, NAMESPACE_OPTION, OUTPUT_OPTION } from './command.js';
import { reportFailure } from '../operator/apiFailure.js';
import { formatGrantJson, formatGrantTable, grantRow, sortGrantRows } from '../operator/listTable.js';
import { createGrantApi } from '../operator/kube.js';
import { type CommandIo, type CommandSession, openSession } from '../operator/runtime.js';
import type { GrantRequest } from '../approval/grantRequest.js';
import { requiredApprovals } from '../approval/requestDecision.js';
import { resolveProfile } from '../config/profiles.js';
import { createRequestClient } from '../operator/requestClient.js';
import { formatQueueTable, queueRows } from '../operator/requestQueue.js';
import { isDnsLabel } from '../operator/selectors.js';

function usage(prog: string): string {
  return `usage: ${prog} list [-n NAMESPACE | -A] [-o wide|json] [--pending]

Show the temporary grants that are live right now (NetworkPolicies labelled
<prefix>/temporary=true), soonest expiry first. A grant whose expiry has passed but which the
sweeper has not deleted yet shows as "EXPIRED 3m ago".

With --pending: the approval queue instead (README: Approvals): GrantRequests still Pending
(waiting for approvers) or Approved (waiting for the controller), oldest first, with their age,
requester, ticket and approvals so far out of those required (k/n).

options:
  --pending              show the GrantRequests waiting for approval
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
    pending: { type: 'boolean' },
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
    if (flags.pending) return listPending(session, namespace, output, io, say);
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

/** `list --pending`: the GrantRequests waiting for approvers or for the controller. */
async function listPending(session: CommandSession, namespace: string | undefined, output: string, io: CommandIo, say: (text: string) => void): Promise<number> {
  if (output === 'wide') {
    say('--pending shows every column already; use -o json for the requests themselves');
    return 2;
  }
  const client = createRequestClient(session.context);
  let requests;
  try {
    requests = await client.list(namespace);
  } catch (err) {
    return reportFailure(err, { verb: 'list', resource: 'grantrequests.netpol-guard.io', namespace }, client.server, say);
  }
  const labels = new Map<string, Record<string, string> | undefined>();
  if (session.config.profiles.some((p) => p.match.namespaceSelector !== undefined)) {
    for (const ns of new Set(requests.map((r) => r.metadata?.namespace ?? ''))) {
      // Without read access to namespaces the profile is chosen by name only; the count may then be low.
      labels.set(ns, await client.namespaceLabels(ns).catch(() => undefined));
    }
  }
  const requiredFor = (request: GrantRequest): number => {
    const ns = request.metadata?.namespace ?? '';
    return requiredApprovals(request, resolveProfile(session.config, ns, labels.get(ns)).config.approval);
  };
  const rows = queueRows(requests, requiredFor, io.now());
  if (output === 'json') {
    io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    io.stderr(namespace === undefined ? 'No grant requests waiting in any namespace.\n' : `No grant requests waiting in namespace ${namespace}.\n`);
    return 0;
  }
  io.stdout(formatQueueTable(rows, { namespaces: namespace === undefined }));
  return 0;
}
