import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { distinctApprovers, phaseOf } from '../approval/approvals.js';
import { approveCommand } from '../approval/commands.js';
import { GRANT_REQUEST_API_VERSION, GRANT_REQUEST_KIND, type GrantRequest } from '../approval/grantRequest.js';
import type { GuardConfig } from '../config/types.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import { reportFailure, statusBodyOf } from './apiFailure.js';
import { summarizeAccess } from './describe.js';
import { formatExpiresIn, formatSpan } from './relative.js';
import { APPROVER_CLUSTER_ROLE, type RequestClient } from './requestClient.js';
import type { CommandIo } from './runtime.js';

/**
 * `grant` where the profile requires approval (README: Approvals): instead of the NetworkPolicy,
 * a GrantRequest for exactly its spec, named like the policy would have been. Nothing opens until
 * enough distinct approvers approve; then the controller creates the policy.
 */

/** Exit statuses of `grant --wait` beyond 0 (active), 1 (refused) and 2 (usage/connection). */
export const WAIT_EXIT = { denied: 3, lapsed: 4, ended: 5 } as const;

/** The GrantRequest for `policy` (its spec, the duration and ticket of the flags). Pure. */
export function requestFor(policy: V1NetworkPolicy, duration: string, ticket: string, reason: string | undefined): GrantRequest {
  return {
    apiVersion: GRANT_REQUEST_API_VERSION,
    kind: GRANT_REQUEST_KIND,
    metadata: { name: policy.metadata!.name!, namespace: policy.metadata!.namespace! },
    spec: { policy: JSON.parse(JSON.stringify(policy.spec)) as NonNullable<V1NetworkPolicy['spec']>, duration, ticket, ...(reason !== undefined && { reason }) },
  };
}

/** True when the API server's answer is the webhook's approval-required denial of a NetworkPolicy. */
export function isApprovalRequiredDenial(err: unknown): boolean {
  const message = statusBodyOf(err)?.message ?? '';
  return /\bapproval-required\b/.test(message);
}

export interface FileRequestInput {
  policy: V1NetworkPolicy;
  duration: string;
  ticket: string;
  reason: string | undefined;
  /** Distinct approvers needed; 0 when only the webhook knows (its approval-required denial). */
  required: number;
  config: GuardConfig;
  client: RequestClient;
  io: CommandIo;
  prog: string;
  say: (text: string) => void;
  wait: boolean;
  /** Between reads while waiting (default 2 s). */
  pollMs?: number;
}

export async function fileRequest(input: FileRequestInput): Promise<number> {
  const { policy, client, io, prog, say } = input;
  const namespace = policy.metadata!.namespace!;
  const name = policy.metadata!.name!;
  let created: GrantRequest;
  try {
    created = await client.create(namespace, requestFor(policy, input.duration, input.ticket, input.reason));
  } catch (err) {
    return reportFailure(err, { verb: 'create', resource: 'grantrequests.netpol-guard.io', namespace, name }, client.server, say);
  }
  const approvers = await client.approvers(namespace).catch(() => undefined);
  const command = approveCommand(created, prog);
  const lines = [
    input.required > 0
      ? `requested ${namespace}/${name} (GrantRequest): profile ${input.config.profile} needs ${input.required} approval${input.required === 1 ? '' : 's'} from people other than you; nothing is open until then`
      : `requested ${namespace}/${name} (GrantRequest): the webhook's profile needs approval from people other than you; nothing is open until then`,
    `  access:    ${summarizeAccess(policy)}`,
    `  ticket:    ${input.ticket}`,
    `  for:       ${input.duration}, counted from the approval that makes it enough`,
    approvers === undefined
      ? `  approvers: anyone bound to ClusterRole ${APPROVER_CLUSTER_ROLE} in ${namespace} (you may not read the bindings; kubectl auth can-i approve grantrequests.netpol-guard.io -n ${namespace} --as USER tells)`
      : approvers.length === 0
        ? `  approvers: nobody is bound to ClusterRole ${APPROVER_CLUSTER_ROLE} in ${namespace}: ask your platform team to bind approvers`
        : `  approvers: ${approvers.join(', ')}`,
    `  approve:   ${command}`,
    `  queue:     ${prog} list --pending -n ${namespace}`,
  ];
  io.stdout(`${lines.join('\n')}\n`);
  if (!input.wait) return 0;
  return waitForRequest(client, namespace, name, io, say, input.pollMs ?? 2_000);
}

/**
 * `--wait`: read the request until it is Active (print the policy and its expiry, exit 0), Denied
 * (by whom and why, exit 3), Lapsed (exit 4) or otherwise ended (exit 5). Progress (approvals so
 * far, elapsed time) goes to stderr whenever it changes and at least every 30 s.
 */
export async function waitForRequest(client: RequestClient, namespace: string, name: string, io: CommandIo, say: (text: string) => void, pollMs: number): Promise<number> {
  const started = io.now().getTime();
  let lastLine = '';
  let lastLineAt = 0;
  let failures = 0;
  for (;;) {
    let request: GrantRequest | undefined;
    try {
      request = await client.read(namespace, name);
      failures = 0;
    } catch (err) {
      // A moment without the API server is no reason to give up waiting; a long one is.
      if (++failures >= 5) return reportFailure(err, { verb: 'get', resource: 'grantrequests.netpol-guard.io', namespace, name }, client.server, say);
    }
    const elapsed = formatSpan(io.now().getTime() - started);
    if (request === undefined && failures === 0) {
      say(`${namespace}/${name} was deleted while waiting (${elapsed} elapsed); nothing is open`);
      return WAIT_EXIT.ended;
    }
    if (request !== undefined) {
      const phase = phaseOf(request);
      const status = request.status ?? {};
      if (phase === 'Active') {
        const expires = status.expiresAt === undefined ? 'unknown' : `${status.expiresAt} (${formatExpiresIn(new Date(status.expiresAt), io.now())})`;
        const approvedBy = distinctApprovers(status.approvals, request.spec?.requestedBy);
        io.stdout(
          `active ${namespace}/${status.policyName ?? name} after ${elapsed}\n  approved: ${approvedBy.join(', ')} (at ${status.approvedAt ?? '?'})\n  expires:  ${expires}\n`,
        );
        return 0;
      }
      if (phase === 'Denied') {
        say(`denied after ${elapsed} by ${status.denial?.by ?? 'unknown'}${status.denial?.at !== undefined ? ` at ${status.denial.at}` : ''}: ${status.denial?.reason ?? status.message ?? 'no reason given'}`);
        return WAIT_EXIT.denied;
      }
      if (phase === 'Lapsed') {
        say(`lapsed after ${elapsed}: ${status.message ?? 'not approved in time'}; nothing was opened`);
        return WAIT_EXIT.lapsed;
      }
      if (phase !== 'Pending' && phase !== 'Approved') {
        say(`${namespace}/${name} ended ${phase} after ${elapsed}${status.message !== undefined ? `: ${status.message}` : ''}`);
        return WAIT_EXIT.ended;
      }
      const count = distinctApprovers(status.approvals, request.spec?.requestedBy).length;
      const line = phase === 'Approved' ? 'approved; waiting for the controller to open it' : `waiting for approval: ${count}/${status.requiredApprovals ?? '?'} approvals`;
      const nowMs = io.now().getTime();
      if (line !== lastLine || nowMs - lastLineAt >= 30_000) {
        io.stderr(`${line} (${elapsed} elapsed, ${formatTimestamp(io.now())})\n`);
        lastLine = line;
        lastLineAt = nowMs;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
