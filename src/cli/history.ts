import type { KubeConfig } from '@kubernetes/client-node';
import { type GrantRecordClient, KubeGrantRecordClient } from '../controller/grantRecordClient.js';
import { formatHistory, historySelector, type HistoryFilter, type HistoryOutput, selectRecords } from '../controller/historyReport.js';
import { describeApiError } from '../kube/apiErrors.js';
import { loadKubeContext } from '../kube/kubeConfig.js';
import { parseDuration } from '../lifecycle/duration.js';
import { isDnsLabel } from '../operator/selectors.js';
import { type Command, defineCommand, KUBECONFIG_OPTION, NAMESPACE_OPTION, OUTPUT_OPTION } from './command.js';

function usage(prog: string): string {
  return `usage: ${prog} history [-n NAMESPACE | -A] [--ticket T] [--requester U] [--since 30d] [-o table|wide|json|csv]

Every grant the controller recorded (GrantRecords, kept for history.retention after they end):
who asked, under which ticket, who changed or revoked it, when it opened and closed, how it
ended and how long it was open. "list" shows the grants live now.

options:
  -n, --namespace NS     only grants of this namespace (default: the kubeconfig context's)
  -A, --all-namespaces   every namespace
  --ticket T             only grants under this ticket
  --requester U          only grants requested by this user
  --since DURATION       only grants open at some time in this span before now (e.g. 30d):
                         still open, or closed since
  -o, --output FORMAT    table (default), wide, json, or csv (a header row, RFC 4180 quoting)
  --kubeconfig FILE      kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)
  -h, --help             show this help

exit status: 0 listed (also when there are none), 1 the API refused or failed, 2 usage or
connection error
`;
}

const OUTPUTS: readonly string[] = ['table', 'wide', 'json', 'csv'];

/** The command with its cluster client; `historyCommand` is it with the real one. */
export function historyCommandWith(connect: (kubeConfig: KubeConfig) => GrantRecordClient): Command {
  return defineCommand({
    name: 'history',
    summary: 'export the recorded grants: who, ticket, opened, changed, closed, how',
    usage,
    options: {
      ...NAMESPACE_OPTION,
      'all-namespaces': { type: 'boolean', short: 'A' },
      ticket: { type: 'string' },
      requester: { type: 'string' },
      since: { type: 'string' },
      ...OUTPUT_OPTION,
      ...KUBECONFIG_OPTION,
    },
    onUsageError: { pointTo: 'flags' },
    run: async ({ flags, io, say, usageError }) => {
      if (flags.namespace !== undefined && flags['all-namespaces']) return usageError('choose -n NAMESPACE or -A, not both');
      if (flags.namespace !== undefined && !isDnsLabel(flags.namespace)) return usageError(`-n/--namespace "${flags.namespace}" is not a valid namespace name`);
      const output = flags.output ?? 'table';
      if (!OUTPUTS.includes(output)) return usageError(`-o/--output must be table, wide, json or csv, not "${output}"`);
      for (const flag of ['ticket', 'requester'] as const) {
        if (flags[flag] === '') return usageError(`--${flag} must not be empty`);
      }
      const filter: HistoryFilter = {};
      if (flags.since !== undefined) {
        const since = parseDuration(flags.since);
        if (!since.ok) return usageError(`--since: ${since.error}`);
        filter.sinceMs = since.ms;
      }
      if (flags.kubeconfig === '') return usageError('--kubeconfig must not be empty');
      const kube = loadKubeContext(flags.kubeconfig);
      if (!kube.ok) {
        say(kube.error);
        return 2;
      }
      if (!flags['all-namespaces']) filter.namespace = flags.namespace ?? kube.context.namespace;
      if (flags.ticket !== undefined) filter.ticket = flags.ticket;
      if (flags.requester !== undefined) filter.requester = flags.requester;

      let records;
      try {
        records = await connect(kube.context.kubeConfig).list(historySelector(filter));
      } catch (err) {
        say(`cannot list grantrecords.netpol-guard.io on ${kube.context.server}: ${describeApiError(err)}`);
        const status = (err as { status?: number }).status;
        if (status === 404) say('is the GrantRecord CRD installed (manifests/crds/)?');
        return 1;
      }
      const now = io.now();
      const selected = selectRecords(records, filter, now);
      if (selected.length === 0 && (output === 'table' || output === 'wide')) {
        io.stderr('No grant records match.\n');
        return 0;
      }
      io.stdout(formatHistory(selected, output as HistoryOutput, now));
      return 0;
    },
  });
}

export const historyCommand = historyCommandWith((kubeConfig) => KubeGrantRecordClient.fromKubeConfig(kubeConfig));
