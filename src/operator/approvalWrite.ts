import { distinctApprovers, phaseOf } from '../approval/approvals.js';
import type { GrantApproval, GrantRequest } from '../approval/grantRequest.js';
import { parseDuration } from '../lifecycle/duration.js';
import { formatTimestamp, parseTimestamp } from '../lifecycle/timestamp.js';

/**
 * What `approve` and `deny` write and print. Pure. The entry's `by` and `at` are left blank: the
 * netpol-guard mutating webhook stamps them from the authenticated user and its clock, and would
 * replace anything written here.
 */
export type ApprovalKind = 'approve' | 'deny';

/**
 * The merge patch for the status subresource: the whole approvals list with one entry appended
 * (a merge patch replaces lists), or the denial; metadata.resourceVersion makes it conditional.
 */
export function approvalPatch(request: GrantRequest, kind: ApprovalKind, text: string | undefined): Record<string, unknown> {
  const metadata = { resourceVersion: request.metadata?.resourceVersion };
  if (kind === 'deny') return { metadata, status: { denial: { by: '', at: '', reason: text ?? '' } } };
  const entry: GrantApproval = { by: '', at: '' };
  if (text !== undefined && text !== '') entry.comment = text;
  return { metadata, status: { approvals: [...(request.status?.approvals ?? []), entry] } };
}

/** Why the request cannot take an approval or denial now, before asking the webhook; undefined: it can. */
export function notPendingReason(request: GrantRequest): string | undefined {
  const phase = phaseOf(request);
  if (phase !== 'Pending') return `it is ${phase}${request.status?.message !== undefined ? ` (${request.status.message})` : ''}; only a Pending request takes approvals or a denial`;
  if (request.status?.denial !== undefined) return `it was already denied by ${request.status.denial.by}: ${request.status.denial.reason}`;
  return undefined;
}

/**
 * The lines printed after the write: who was stamped, how many distinct approvers of how many,
 * and what happens next. `required`: the profile's count, as the controller stamped it on the
 * request (status.requiredApprovals) or, before it did, as the local config says; undefined when
 * neither knows (the local config is not the cluster's).
 */
export function describeApproval(after: GrantRequest, kind: ApprovalKind, required: number | undefined, prog: string): string[] {
  const namespace = after.metadata?.namespace ?? '';
  const name = after.metadata?.name ?? '';
  const where = `${namespace}/${name}`;
  const requester = after.spec?.requestedBy ?? 'unknown';
  const ticket = after.spec?.ticket ?? 'none';
  if (kind === 'deny') {
    const denial = after.status?.denial;
    return [
      `denied GrantRequest ${where} (ticket ${ticket}, requested by ${requester})`,
      `  by:      ${denial?.by || 'unknown'}${denial?.at ? ` at ${denial.at}` : ''}`,
      `  reason:  ${denial?.reason ?? ''}`,
      '  next:    nothing is opened; the netpol-guard controller closes the request as Denied',
    ];
  }
  const approvals = after.status?.approvals ?? [];
  const mine = approvals[approvals.length - 1];
  const approvers = distinctApprovers(approvals, after.spec?.requestedBy);
  const lines = [
    `approved GrantRequest ${where} (ticket ${ticket}, requested by ${requester})`,
    `  by:      ${mine?.by || 'unknown'}${mine?.at ? ` at ${mine.at}` : ''}${mine?.comment !== undefined ? ` ("${mine.comment}")` : ''}`,
    `  count:   ${approvers.length}${required === undefined ? '' : ` of ${required}`} distinct approver(s): ${approvers.join(', ') || 'none'}`,
  ];
  if (required === undefined) {
    lines.push(`  next:    the netpol-guard controller creates the grant once the profile's number of approvers is reached (${prog} approve ${name} -n ${namespace} for another)`);
    return lines;
  }
  if (approvers.length < required) {
    const missing = required - approvers.length;
    lines.push(`  next:    ${missing} more approver(s) needed, anyone but ${[requester, ...approvers].join(', ')}: ${prog} approve ${name} -n ${namespace}`);
    return lines;
  }
  const duration = after.spec?.duration;
  const parsed = duration === undefined ? undefined : parseDuration(duration);
  const at = mine?.at === undefined ? undefined : parseTimestamp(mine.at);
  const until = parsed?.ok && at?.ok ? ` until ${formatTimestamp(new Date(at.date.getTime() + parsed.ms))}` : '';
  lines.push(`  next:    enough approvals; the netpol-guard controller now creates the grant, open for ${duration ?? '?'} from this approval${until}`);
  return lines;
}
