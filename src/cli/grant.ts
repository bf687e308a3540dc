import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { resolveProfile } from '../config/profiles.js';
import YAML from 'yaml';
import { type AnnotationKeys, readGrantAnnotations } from '../lifecycle/annotations.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import { reportFailure } from '../operator/apiFailure.js';
import { buildGrantPolicy, podSelectorFromLabels } from '../operator/buildGrant.js';
import { summarizeAccess } from '../operator/describe.js';
import { GRANT_OPTIONS, type GrantReportFormat, type GrantRequest, grantRequestFrom } from '../operator/grantFlags.js';
import { loadKubeContext, type KubeContext } from '../kube/kubeConfig.js';
import { createGrantApi, type GrantApi } from '../operator/kube.js';
import { checkLocally, findingLines, grantFlagsToChange, LOCAL_CHECK_USER } from '../operator/localCheck.js';
import { formatExpiresIn } from '../operator/relative.js';
import { chooseConfig, type CommandIo } from '../operator/runtime.js';
import { formatSelector } from '../operator/selectors.js';
import type { GuardConfig } from '../config/types.js';
import { MetadataClient } from '../kube/metadataClient.js';
import { checkNetworkPolicyShape } from '../policy/shape.js';
import { fileRequest, isApprovalRequiredDenial, WAIT_EXIT } from '../operator/fileRequest.js';
import { createRequestClient } from '../operator/requestClient.js';
import { defineCommand } from './command.js';
import { printEffectReport } from './effectReport.js';
import { readLiveNamespaceLabels } from './liveNamespaces.js';

function usage(prog: string): string {
  return `usage: ${prog} grant -n NAMESPACE --to k=v --from-cidr CIDR --port PORT --for DURATION --ticket TICKET [options]

Create a temporary, ticketed NetworkPolicy that opens exactly one kind of access, after checking
it with the same rules as the admission webhook. Nothing is sent when the check denies it.

what the grant opens (ingress, the default: traffic INTO the selected pods):
  --to k=v[,k=v]            the pods receiving the traffic (spec.podSelector)
  --to-pod POD              ... or: the pods carrying POD's labels (looked up in the cluster;
                            per-replica labels such as pod-template-hash are left out)
  --from-cidr CIDR          a source address range; repeatable (e.g. 198.51.100.0/24)
  --from-pods k=v[,k=v]     source pods (in NAMESPACE, or in --from-namespace)
  --from-namespace NS|k=v   source namespaces: a name, or a namespace label selector. With
                            --from-pods both must match (those pods in those namespaces)

with --egress (traffic OUT OF the selected pods):
  --from k=v[,k=v]          the pods sending the traffic (spec.podSelector)
  --from-pod POD            ... or: the pods carrying POD's labels
  --to-cidr CIDR            a destination address range; repeatable
  --to-pods k=v[,k=v]       destination pods
  --to-namespace NS|k=v     destination namespaces (with --to-pods: those pods in those namespaces)

  --port N[/PROTO]          a port to open; repeatable. N-M/PROTO for a range, a name (http/TCP)
                            for a named container port. PROTO is TCP (default), UDP or SCTP
  --for DURATION            how long the grant lives, e.g. 30m, 2h, 1h30m (the webhook stamps
                            the absolute expiry; the sweeper deletes it then)
  --ticket TICKET           the incident or change that justifies it, e.g. INC-1234

options:
  -n, --namespace NS        namespace of the grant (default: the kubeconfig context's)
  --name NAME               policy name (default: grant-<ticket>-<random>)
  --dry-run                 send nothing; print what the grant would open in the live cluster,
                            the report of '${prog} explain' (targets, peers, ports, pods it
                            newly isolates, new connections, every finding the webhook would
                            give), read with your kubeconfig. Exit 1 when the webhook would deny
  -o, --output FORMAT       with --dry-run: text (default), json or dot (Graphviz), or yaml for
                            the manifest; without it: yaml or json, print the manifest and send
                            nothing (no cluster needed)
  --config FILE             platform config for the local check (default: $NETPOL_GUARD_CONFIG,
                            else the built-in config); should match the webhook's
  --kubeconfig FILE         kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)
  --skip-local-check        send even when the local check denies, and let the webhook decide
                            (for break-glass or permanent principals, whom a CLI cannot know)
  --namespace-labels K=V,.. the namespace's labels, to check under the profile the webhook will
                            choose (profiles matching on namespace labels)
  --cluster                 read those labels from the live namespace instead (with your
                            kubeconfig; --dry-run always does)
  -h, --help                show this help

where the namespace's profile requires approval (approval.required > 0; README: Approvals), grant
files a GrantRequest for exactly this access instead, prints who can approve it and the approve
command, and the controller opens it once enough other people approved; the --for clock starts
at that approval. With --wait it waits (showing the time elapsed) until the access is open.
  --reason TEXT             why, for the approvers
  --wait                    wait until the request is active, denied or lapsed

exit status: 0 granted, filed (or manifest or admitted report printed), or with --wait active;
1 refused or denied; 2 usage, connection or read error; with --wait: ${WAIT_EXIT.denied} denied,
${WAIT_EXIT.lapsed} lapsed, ${WAIT_EXIT.ended} ended otherwise (withdrawn, deleted)
`;
}

export const grantCommand = defineCommand({
  name: 'grant',
  summary: 'create a narrow, ticketed, temporary NetworkPolicy grant',
  usage,
  options: GRANT_OPTIONS,
  validate: (values) => {
    const parsed = grantRequestFrom(values);
    return parsed.ok ? { ok: true, flags: parsed.request } : parsed;
  },
  onUsageError: { pointTo: 'flags' },
  connect: createGrantApi,
  run: async ({ flags: request, io, prog, say }) => {
    const chosen = chooseConfig(request.configPath, io.env);
    if (!chosen.ok) {
      say(`invalid config:\n${chosen.errors.map((e) => `  ${e}`).join('\n')}`);
      return 2;
    }
    const config = chosen.config;

    // The cluster is needed to send, to look up --to-pod, to read the live namespace (--cluster,
    // --dry-run), or to learn the default namespace.
    const sends = request.output === 'apply';
    const readsCluster = sends || request.podName !== undefined || request.cluster || request.output === 'report';
    let context: KubeContext | undefined;
    if (readsCluster || request.namespace === undefined) {
      const loaded = loadKubeContext(request.kubeconfig);
      if (!loaded.ok) {
        say(readsCluster ? loaded.error : `${loaded.error} (or pass -n NAMESPACE)`);
        return 2;
      }
      context = loaded.context;
    }
    const namespace = request.namespace ?? context!.namespace;
    let api: GrantApi | undefined;
    const connect = (): GrantApi => (api ??= io.connect(context!));

    let podSelector = request.podSelector;
    if (request.podName !== undefined) {
      const resolved = await resolvePodSelector(connect(), namespace, request, say);
      if (typeof resolved === 'number') return resolved;
      podSelector = resolved;
    }

    const policy = buildGrantPolicy({ ...request, namespace, podSelector }, config.keys, io.randomSuffix());
    const name = policy.metadata!.name!;
    const now = io.now();
    if (request.output === 'report') return printDryRunReport({ policy, namespace, config, context: context!, now, format: request.reportFormat }, io, say);
    // The profile the webhook would choose: by name here, by labels when --namespace-labels or --cluster gives them.
    let namespaceLabels = request.namespaceLabels;
    if (request.cluster) {
      const live = await readLiveNamespaceLabels(new MetadataClient(context!.kubeConfig), context!.server, [namespace], say);
      if (live === undefined) return 2;
      namespaceLabels = live.get(namespace);
    }
    let profile = resolveProfile(config, namespace, namespaceLabels);
    // To send, the live namespace's labels say which profile (and whether approval is required).
    if (profile.labelsUnknown && sends) {
      const labels = await createRequestClient(context!).namespaceLabels(namespace).catch(() => undefined);
      if (labels !== undefined) profile = resolveProfile(config, namespace, labels);
    }
    if (profile.labelsUnknown) say(`warning: a profile of ${chosen.label} matches on namespace labels; without --namespace-labels or --cluster the local check uses profile ${profile.config.profile}`);
    const approval = approvalFor(profile.config);
    const check = checkLocally({ operation: 'CREATE', policy, namespace, config: approval.judgeWith, now });
    if (check.kind === 'invalid') {
      say(`refused: the flags make an invalid NetworkPolicy; nothing was sent\n${check.errors.map((e) => `  ${e}`).join('\n')}`);
      return 1;
    }
    const evaluation = check.evaluation;
    if (!evaluation.allowed) {
      const lines = findingLines(evaluation.findings);
      const change = grantFlagsToChange(evaluation.findings, request.direction);
      if (!request.skipLocalCheck) {
        say(
          `refused: ${namespace}/${name} would be denied under ${chosen.label}; nothing was sent\n${lines.join('\n')}\n` +
            `change: ${change.join(', ')}`,
        );
        return 1;
      }
      say(`warning: the local check (${chosen.label}) denies this grant; sending it anyway (--skip-local-check), the webhook decides\n${lines.join('\n')}`);
    } else if (evaluation.findings.length > 0) {
      say(`warnings under ${chosen.label}:\n${findingLines(evaluation.findings).join('\n')}`);
    }

    if (request.output === 'yaml') {
      io.stdout(YAML.stringify(policy));
      return 0;
    }
    if (request.output === 'json') {
      io.stdout(`${JSON.stringify(policy, null, 2)}\n`);
      return 0;
    }

    const file = (required: number): Promise<number> =>
      fileRequest({
        policy,
        duration: request.ttl!,
        ticket: request.ticket!,
        reason: request.reason,
        required,
        config: profile.config,
        client: createRequestClient(context!),
        io,
        prog,
        say,
        wait: request.wait === true,
      });
    if (approval.required > 0) return file(approval.required);
    if (request.wait === true) say('warning: --wait applies where approval is required; this grant opens at once');
    let created: V1NetworkPolicy;
    try {
      created = await connect().create(namespace, policy);
    } catch (err) {
      // The webhook's profile requires approval where the local config did not know it: file instead.
      if (isApprovalRequiredDenial(err) && request.ttl !== undefined && request.ticket !== undefined) {
        say(`the webhook requires approval in ${namespace} (approval-required); filing a GrantRequest instead`);
        return file(0);
      }
      return reportFailure(err, { verb: 'create', resource: 'networkpolicies', namespace, name }, connect().server, say);
    }
    io.stdout(grantReceipt(created, namespace, name, request, config.keys, now, prog));
    return 0;
  },
});

/**
 * --dry-run: explain's report for the grant built from the flags, through explain's own code path.
 * A manifest the API server would reject is refused first, as without --dry-run.
 */
async function printDryRunReport(
  grant: { policy: V1NetworkPolicy; namespace: string; config: GuardConfig; context: KubeContext; now: Date; format: GrantReportFormat },
  io: CommandIo,
  say: (text: string) => void,
): Promise<number> {
  const { policy, namespace } = grant;
  const shape = checkNetworkPolicyShape(policy, { strictCidrs: true });
  if (!shape.ok) {
    say(`refused: the flags make an invalid NetworkPolicy; nothing was sent\n${shape.errors.map((e) => `  ${e}`).join('\n')}`);
    return 1;
  }
  return printEffectReport(
    {
      client: new MetadataClient(grant.context.kubeConfig),
      server: grant.context.server,
      policy,
      namespace,
      config: grant.config,
      user: LOCAL_CHECK_USER,
      now: grant.now,
      output: grant.format,
    },
    { stdout: (text) => io.stdout(text), say },
  );
}

/**
 * Where the profile requires approval, the grant is filed as a GrantRequest: its local check then
 * judges the access itself (approval-required, which only the controller's creation passes, is
 * what filing a request answers).
 */
function approvalFor(config: GuardConfig): { required: number; judgeWith: GuardConfig } {
  const required = config.approval.required;
  if (!(required > 0)) return { required: 0, judgeWith: config };
  return { required, judgeWith: { ...config, rules: { ...config.rules, 'approval-required': 'off' } } };
}

async function resolvePodSelector(
  api: GrantApi,
  namespace: string,
  request: GrantRequest,
  say: (text: string) => void,
): Promise<Record<string, string> | number> {
  const pod = request.podName!;
  const flag = request.direction === 'ingress' ? '--to-pod' : '--from-pod';
  let labels: Record<string, string> | undefined;
  try {
    labels = await api.readPodLabels(namespace, pod);
  } catch (err) {
    return reportFailure(err, { verb: 'get', resource: 'pods', namespace, name: pod }, api.server, say);
  }
  if (labels === undefined) {
    say(`${flag}: pod "${pod}" not found in namespace "${namespace}"`);
    return 2;
  }
  const { selector, dropped } = podSelectorFromLabels(labels);
  if (Object.keys(selector).length === 0) {
    say(`${flag}: pod "${pod}" has no labels to select it by; use ${request.direction === 'ingress' ? '--to' : '--from'} k=v instead`);
    return 2;
  }
  say(
    `${flag} ${pod}: selecting pods labelled ${formatSelector({ matchLabels: selector })}` +
      (dropped.length > 0 ? ` (left out per-replica labels ${dropped.join(', ')})` : ''),
  );
  return selector;
}

/** What was granted, until when, and the exact command that takes it back. */
function grantReceipt(
  created: V1NetworkPolicy,
  namespace: string,
  requestedName: string,
  request: GrantRequest,
  keys: AnnotationKeys,
  now: Date,
  prog: string,
): string {
  const name = created.metadata?.name ?? requestedName;
  const grant = readGrantAnnotations(created, keys);
  let expires: string;
  if (grant.expiresAt.state === 'valid') {
    expires = `${formatTimestamp(grant.expiresAt.value)} (${formatExpiresIn(grant.expiresAt.value, now)})`;
  } else if (grant.ttl.state === 'valid') {
    expires =
      `about ${formatExpiresIn(new Date(now.getTime() + grant.ttl.value), now)} (ttl ${grant.ttl.raw}); no ${keys.expiresAt} was stamped, ` +
      'so the netpol-guard webhook did not run and nothing will delete this grant on time: revoke it when done';
  } else {
    expires = 'unknown (no expiry annotations on the stored object)';
  }
  const lines = [
    `granted ${namespace}/${name}`,
    `  access:   ${summarizeAccess(created)}`,
    `  ticket:   ${grant.ticket ?? request.ticket ?? '<none>'}`,
    `  expires:  ${expires}`,
    `  revoke:   ${prog} revoke ${name} -n ${namespace}`,
  ];
  return `${lines.join('\n')}\n`;
}
