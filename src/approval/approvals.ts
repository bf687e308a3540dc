import type { GrantApproval, GrantRequestStatus } from './grantRequest.js';

/**
 * The approvals that count, in the order they were written: the first entry of each distinct
 * approver, never the requester's own. The webhook already refuses a self-approval and a second
 * approval by the same person; counting here again means a request written around the webhook
 * (a restored backup, a webhook that was down in warn mode) still cannot open on one person's say.
 * (h-apadm writes the shared counting function for the webhook; the integrator keeps one.)
 */
export function distinctApprovers(status: GrantRequestStatus | undefined, requester?: string): GrantApproval[] {
  const seen = new Set<string>();
  const out: GrantApproval[] = [];
  for (const approval of status?.approvals ?? []) {
    const by = typeof approval?.by === 'string' ? approval.by : '';
    if (by.trim() === '' || by === requester || seen.has(by)) continue;
    seen.add(by);
    out.push(approval);
  }
  return out;
}
