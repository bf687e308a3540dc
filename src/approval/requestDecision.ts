import { formatDuration, parseDuration } from '../lifecycle/duration.js';
import { formatTimestamp, parseTimestamp } from '../lifecycle/timestamp.js';
import { decisiveApproval, distinctApprovers, phaseOf } from './approvals.js';
import { FINAL_GRANT_REQUEST_PHASES, type GrantRequest, type GrantRequestStatus } from './grantRequest.js';

/** What the controller needs of the request's namespace profile (GuardConfig.approval fits). */
export interface ApprovalProfile {
  required: number;
  pendingTtlMs: number;
}

/**
 * The one thing the controller does next for a request, decided from the request, its
 * namespace's profile and the time alone:
 *   approve  Pending with enough distinct approvers, the deciding one before the lapse: write
 *            status Approved with approvedAt (that approval's stamp) and expiresAt.
 *   deny     Pending with a denial (status.denial, written by an approver, stamped by the webhook)
 *            stamped before any approval made the count enough: write status Denied.
 *   lapse    Pending, not enough approvers by creation + pendingTTL: write status Lapsed.
 *   open     Approved and its access not opened yet: create the NetworkPolicy, then mark Active.
 *   expire   Approved, but its expiry passed before the access could be opened (no leader ran
 *            for longer than the duration): close as Expired without creating anything.
 *   accept   a request just filed (no phase or no requiredApprovals yet): write Pending with the
 *            count required, so `kubectl get grantrequests` and approvers see what is needed.
 *   wait     nothing to do yet; `until` when the answer changes by itself (the lapse time).
 *   none     nothing to do, ever or until someone else acts (final phases, Active, Denied).
 *   invalid  the request cannot be acted on (unparseable duration or creation time): say why.
 */
export type RequestStep =
  | { kind: 'approve'; status: GrantRequestStatus }
  | { kind: 'deny'; status: GrantRequestStatus }
  | { kind: 'lapse'; status: GrantRequestStatus }
  | { kind: 'open'; expiresAt: Date }
  | { kind: 'expire'; status: GrantRequestStatus }
  | { kind: 'accept'; status: GrantRequestStatus }
  | { kind: 'wait'; until: Date }
  | { kind: 'none' }
  | { kind: 'invalid'; reason: string };

/**
 * Distinct approvers a request needs: what the profile asks now or what it asked when the request
 * was filed (status.requiredApprovals), whichever is more, and never fewer than one: a request
 * exists to be approved, so even a profile with approval off cannot open one unreviewed.
 */
export function requiredApprovals(request: GrantRequest, profile: ApprovalProfile): number {
  return Math.max(1, profile.required, request.status?.requiredApprovals ?? 0);
}


export function nextStep(request: GrantRequest, profile: ApprovalProfile, now: Date): RequestStep {
  const phase = phaseOf(request);
  if (FINAL_GRANT_REQUEST_PHASES.has(phase) || phase === 'Active') return { kind: 'none' };
  const duration = parseDuration(request.spec?.duration ?? '');
  if (!duration.ok) return { kind: 'invalid', reason: `spec.duration ${JSON.stringify(request.spec?.duration)}: ${duration.error}` };
  const status = request.status ?? {};

  if (phase === 'Approved') {
    const approvedAt = parseTimestamp(status.approvedAt ?? '');
    if (!approvedAt.ok) return { kind: 'invalid', reason: `status.approvedAt ${JSON.stringify(status.approvedAt)}: ${approvedAt.error}` };
    const expiresAt = new Date(approvedAt.date.getTime() + duration.ms);
    if (expiresAt.getTime() <= now.getTime()) {
      return {
        kind: 'expire',
        status: {
          ...status,
          phase: 'Expired',
          expiresAt: formatTimestamp(expiresAt),
          closedAt: formatTimestamp(now),
          message: `approved at ${formatTimestamp(approvedAt.date)} for ${request.spec!.duration}, but the access could not be opened before it expired`,
        },
      };
    }
    return { kind: 'open', expiresAt };
  }

  // Pending.
  const createdAt = creationTime(request);
  if (!createdAt.ok) return { kind: 'invalid', reason: `metadata.creationTimestamp: ${createdAt.error}` };
  const lapsesAt = new Date(createdAt.date.getTime() + profile.pendingTtlMs);
  const required = requiredApprovals(request, profile);
  const counted = distinctApprovers(status.approvals, request.spec?.requestedBy);
  const deciding = decisiveApproval(status.approvals, request.spec?.requestedBy, required);
  const decidedAt = deciding === undefined ? undefined : parseTimestamp(deciding.at);
  // One person's no stops it, unless the approvals had already made it enough when it came.
  const denial = status.denial;
  if (denial !== undefined) {
    const deniedAt = parseTimestamp(denial.at ?? '');
    const approvedFirst = decidedAt?.ok === true && deniedAt.ok && decidedAt.date.getTime() < deniedAt.date.getTime() && decidedAt.date.getTime() < lapsesAt.getTime();
    if (!approvedFirst) {
      return {
        kind: 'deny',
        status: { ...status, phase: 'Denied', requiredApprovals: required, closedAt: formatTimestamp(now), message: `denied by ${denial.by}: ${denial.reason}` },
      };
    }
  }
  // An approval stamped after the lapse time came too late, even if the controller saw it first.
  if (decidedAt?.ok && decidedAt.date.getTime() < lapsesAt.getTime()) {
    const expiresAt = new Date(decidedAt.date.getTime() + duration.ms);
    return {
      kind: 'approve',
      status: {
        ...status,
        phase: 'Approved',
        requiredApprovals: required,
        approvedAt: formatTimestamp(decidedAt.date),
        expiresAt: formatTimestamp(expiresAt),
        message: `approved by ${counted.join(', ')}`,
      },
    };
  }
  if (now.getTime() >= lapsesAt.getTime()) {
    return {
      kind: 'lapse',
      status: {
        ...status,
        phase: 'Lapsed',
        requiredApprovals: required,
        closedAt: formatTimestamp(now),
        message: `${counted.length} of ${required} approvals within ${formatDuration(profile.pendingTtlMs)} (approval.pendingTTL); nothing was opened`,
      },
    };
  }
  if (status.phase === undefined || status.requiredApprovals === undefined) {
    return { kind: 'accept', status: { ...status, phase: 'Pending', requiredApprovals: required, message: `waiting for ${required} approval${required === 1 ? '' : 's'}` } };
  }
  return { kind: 'wait', until: lapsesAt };
}

/** The approvers the policy names (approved-by): every distinct approver, in approval order (what the webhook checks). */
export function approversOf(request: GrantRequest): string[] {
  return distinctApprovers(request.status?.approvals, request.spec?.requestedBy);
}

/** How the access of an Active request ended, as the controller saw its NetworkPolicy go. */
export type AccessEnd =
  | { how: 'expired' }
  | { how: 'revoked'; by?: string }
  | { how: 'deleted' }
  | { how: 'request-deleted' };

/** The status of an Active (or Approved) request whose access ended `end` at `at`. */
export function closedStatus(request: GrantRequest, end: AccessEnd, at: Date): GrantRequestStatus | undefined {
  const phase = phaseOf(request);
  if (phase !== 'Active' && phase !== 'Approved') return undefined;
  const base = { ...request.status, closedAt: formatTimestamp(at) };
  const policy = request.status?.policyName === undefined ? 'its NetworkPolicy' : `networkpolicy ${request.status.policyName}`;
  switch (end.how) {
    case 'expired':
      return { ...base, phase: 'Expired', message: `${policy} expired and was deleted` };
    case 'revoked':
      return { ...base, phase: 'Revoked', message: `${policy} was revoked${end.by !== undefined ? ` by ${end.by}` : ''}` };
    case 'deleted':
      return { ...base, phase: 'Revoked', message: `${policy} was deleted outside netpol-guard; see the API server audit log for who` };
    case 'request-deleted':
      return { ...base, phase: 'Revoked', message: 'the request was deleted' };
  }
}

/**
 * metadata.creationTimestamp: typed as a Date by client-node, but a string in the JSON a custom
 * resource arrives as.
 */
export function creationTime(request: GrantRequest): { ok: true; date: Date } | { ok: false; error: string } {
  const value: unknown = request.metadata?.creationTimestamp;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? { ok: false, error: 'invalid date' } : { ok: true, date: value };
  if (typeof value !== 'string') return { ok: false, error: 'missing' };
  return parseTimestamp(value);
}
