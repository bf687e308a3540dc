import { chooseProfile } from '../config/profiles.js';
import { httpStatusOf } from '../kube/apiErrors.js';
import { loadKubeContext, type KubeContext } from '../kube/kubeConfig.js';
import { reportFailure } from '../operator/apiFailure.js';
import { approvalPatch, describeApproval, notPendingReason, type ApprovalKind } from '../operator/approvalWrite.js';
import { createGrantRequestApi, type GrantRequestApi } from '../operator/grantRequestApi.js';
import { chooseConfig } from '../operator/runtime.js';
import { isDnsLabel, isDnsSubdomain } from '../operator/selectors.js';
import { type Command, CONFIG_OPTION, defineCommand, KUBECONFIG_OPTION, NAMESPACE_OPTION } from './command.js';

function approveUsage(prog: string): string {
  return `usage: ${prog} approve NAME -n NAMESPACE [--comment TEXT]

Approve a GrantRequest (kubectl get grantrequests -n NAMESPACE shows the queue). The approval is
appended through the status subresource; the netpol-guard webhook stamps who you are and when,
and admits it only if RBAC lets you \`approve\` grantrequests in that namespace (ClusterRole
netpol-guard-approver), you did not file the request, and it is still Pending. Once the profile's
number of distinct approvers is reached, the netpol-guard controller creates the grant, open for
the requested duration counted from the approval that made it enough.

options:
  -n, --namespace NS     namespace of the request (default: the kubeconfig context's)
  --comment TEXT         a note for the record, shown with your approval
  --config FILE          platform config, for the approvals a profile requires (default:
                         $NETPOL_GUARD_CONFIG, else the built-in config)
  --kubeconfig FILE      kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)
  -h, --help             show this help

exit status: 0 approved, 1 refused (by RBAC, the webhook, or the request's state), 2 usage or connection error
`;
}

function denyUsage(prog: string): string {
  return `usage: ${prog} deny NAME -n NAMESPACE --reason TEXT

Deny a Pending GrantRequest: nothing is opened and the request ends as Denied. Written through
the status subresource like an approval, with the same checks (RBAC verb \`approve\`, not your own
request, still Pending); a request is denied once.

options:
  -n, --namespace NS     namespace of the request (default: the kubeconfig context's)
  --reason TEXT          why (required; the requester sees it)
  --config FILE          platform config (default: $NETPOL_GUARD_CONFIG, else the built-in config)
  --kubeconfig FILE      kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)
  -h, --help             show this help

exit status: 0 denied, 1 refused, 2 usage or connection error
`;
}

const MAX_ATTEMPTS = 3;

/** `approve` or `deny`; `connect` is the client (tests pass a fake). */
export function approvalCommand(kind: ApprovalKind, connect: (context: KubeContext) => GrantRequestApi = (c) => createGrantRequestApi(c)): Command {
  const textOption = kind === 'approve' ? 'comment' : 'reason';
  return defineCommand({
    name: kind,
    summary: kind === 'approve' ? 'approve a GrantRequest (two-person rule)' : 'deny a GrantRequest, with a reason',
    usage: kind === 'approve' ? approveUsage : denyUsage,
    options: { ...NAMESPACE_OPTION, [textOption]: { type: 'string' }, ...CONFIG_OPTION, ...KUBECONFIG_OPTION } as const,
    positionals: { name: 'NAME', min: 0 },
    onUsageError: { pointTo: 'flags' },
    run: async ({ flags, positionals, io, prog, say, usageError }) => {
      const values = flags as Record<string, string | undefined>;
      if (positionals.length !== 1) return usageError(`${positionals.length === 0 ? 'name the request' : `${kind} one request at a time`}: ${prog} ${kind} NAME -n NAMESPACE`);
      const name = positionals[0]!;
      if (!isDnsSubdomain(name)) return usageError(`"${name}" is not a valid GrantRequest name`);
      if (values.namespace !== undefined && !isDnsLabel(values.namespace)) return usageError(`-n/--namespace "${values.namespace}" is not a valid namespace name`);
      const text = values[textOption];
      if (kind === 'deny' && (text === undefined || text.trim() === '')) return usageError('--reason is required: say why, the requester sees it');
      const chosen = chooseConfig(values.config, io.env);
      if (!chosen.ok) {
        say(`invalid config:\n${chosen.errors.map((e) => `  ${e}`).join('\n')}`);
        return 2;
      }
      const loaded = loadKubeContext(values.kubeconfig);
      if (!loaded.ok) {
        say(loaded.error);
        return 2;
      }
      const namespace = values.namespace ?? loaded.context.namespace;
      const api = connect(loaded.context);
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        let current;
        try {
          current = await api.read(namespace, name);
        } catch (err) {
          return reportFailure(err, { verb: 'get', resource: 'grantrequests', namespace, name }, api.server, say);
        }
        if (current === undefined) {
          say(`no GrantRequest ${namespace}/${name} (kubectl get grantrequests -n ${namespace} lists them)`);
          return 1;
        }
        const notPending = notPendingReason(current);
        if (notPending !== undefined) {
          say(`cannot ${kind} GrantRequest ${namespace}/${name}: ${notPending}`);
          return 1;
        }
        let after;
        try {
          after = await api.mergePatchStatus(namespace, name, approvalPatch(current, kind, text));
        } catch (err) {
          if (httpStatusOf(err) === 409) continue; // someone else wrote in between: read again
          return reportFailure(err, { verb: 'patch', resource: 'grantrequests/status', namespace, name }, api.server, say);
        }
        const local = chooseProfile(chosen.config, namespace, undefined).config.approval.required;
        const required = after.status?.requiredApprovals ?? (local > 0 ? local : undefined);
        io.stdout(`${describeApproval(after, kind, required, prog).join('\n')}\n`);
        return 0;
      }
      say(`GrantRequest ${namespace}/${name} changed ${MAX_ATTEMPTS} times while writing; nothing was written. Run the command again.`);
      return 1;
    },
  });
}

export const approveCommand = approvalCommand('approve');
export const denyCommand = approvalCommand('deny');
