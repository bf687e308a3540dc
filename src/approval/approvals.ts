import type { GrantApproval, GrantRequest, GrantRequestPhase } from './grantRequest.js';

/**
 * Counting approvals, the one way the webhook and the controller both do it. Pure.
 *
 * Only distinct people count: a second entry by the same user (which the webhook refuses, but a
 * stored object written before it ran, or by a cluster admin editing etcd-backed status by hand,
 * could hold) counts once, and the requester never counts, whatever an entry says.
 */

/** The distinct approvers of `approvals`, in the order each first approved; never the requester. */
export function distinctApprovers(approvals: readonly GrantApproval[] | undefined, requester: string | undefined): string[] {
  const seen: string[] = [];
  for (const approval of approvals ?? []) {
    const by = typeof approval?.by === 'string' ? approval.by : '';
    if (by === '' || by === requester || seen.includes(by)) continue;
    seen.push(by);
  }
  return seen;
}

/**
 * The approval that made the count reach `required`: the access's clock starts at its `at`.
 * Undefined while there are fewer distinct approvers (or when `required` is 0: nothing to reach).
 */
export function decisiveApproval(approvals: readonly GrantApproval[] | undefined, requester: string | undefined, required: number): GrantApproval | undefined {
  if (!(required > 0)) return undefined;
  const seen: string[] = [];
  for (const approval of approvals ?? []) {
    const by = typeof approval?.by === 'string' ? approval.by : '';
    if (by === '' || by === requester || seen.includes(by)) continue;
    seen.push(by);
    if (seen.length === required) return approval;
  }
  return undefined;
}

/** True when `request` has `required` distinct approvers (never counting its requester). */
export function hasEnoughApprovals(request: GrantRequest, required: number): boolean {
  return distinctApprovers(request.status?.approvals, request.spec?.requestedBy).length >= required;
}

/** A request without a phase has just been filed: the controller has not yet written Pending. */
export function phaseOf(request: GrantRequest | undefined): GrantRequestPhase {
  return request?.status?.phase ?? 'Pending';
}
