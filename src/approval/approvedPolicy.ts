import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { GuardConfig } from '../config/types.js';
import { stringEntry } from '../lifecycle/annotations.js';
import { parseDuration } from '../lifecycle/duration.js';
import { normalizeTicket } from '../lifecycle/ticket.js';
import { formatTimestamp, parseTimestamp } from '../lifecycle/timestamp.js';
import { sameExpiry, sameSpec } from '../lifecycle/updateChanges.js';
import { decisiveApproval, distinctApprovers, phaseOf } from './approvals.js';
import { GRANT_REQUEST_API_VERSION, GRANT_REQUEST_KIND, type GrantRequest } from './grantRequest.js';

/**
 * Is this NetworkPolicy write the controller's creation for an approved GrantRequest? Pure: the
 * shell reads the request the policy names (a live GET, so an approval stamped a moment ago is
 * seen) and hands the result in as `lookup`. Used by the rule approval-required (the verdict)
 * and by the mutating webhook (which stamps the request's requester, not the controller, only on
 * a creation this verifies).
 */

/** What the shell found when it read the request named by the policy's grant-request annotation. */
export type GrantRequestLookup =
  | { state: 'found'; request: GrantRequest }
  | { state: 'missing' }
  /** The read failed (API server unreachable, forbidden): never treated as approved. */
  | { state: 'failed'; error: string };

export interface ApprovedPolicyInput {
  policy: V1NetworkPolicy;
  namespace: string;
  username: string;
  /** The profile's config (approval.required, annotation keys, controllerUsers). */
  config: GuardConfig;
  lookup: GrantRequestLookup | undefined;
  /**
   * Also require requested-by to be the request's requester. The validating webhook does (it sees
   * the object the mutating webhook stamped); the mutating webhook does not, as it is about to stamp it.
   */
  checkRequestedBy: boolean;
}

export type ApprovedPolicyCheck =
  | { ok: true; request: GrantRequest; requestedBy: string; approvers: string[]; expiresAt: string }
  /** `fromController`: the writer is a controller user, so the problems say what did not match. */
  | { ok: false; fromController: boolean; problems: string[] };

/** True when the writer is the controller and the policy names a request: the shell should read it. */
export function claimsApprovedRequest(policy: V1NetworkPolicy, username: string, config: GuardConfig): string | undefined {
  if (!config.approval.controllerUsers.has(username)) return undefined;
  const name = stringEntry(policy.metadata?.annotations, config.keys.grantRequest);
  return name === undefined || name === '' ? undefined : name;
}

export function verifyApprovedPolicy(input: ApprovedPolicyInput): ApprovedPolicyCheck {
  const { policy, config, lookup } = input;
  const keys = config.keys;
  if (!config.approval.controllerUsers.has(input.username)) return { ok: false, fromController: false, problems: [] };
  const fail = (...problems: string[]): ApprovedPolicyCheck => ({ ok: false, fromController: true, problems });
  const annotations = policy.metadata?.annotations;
  const requestName = stringEntry(annotations, keys.grantRequest);
  if (requestName === undefined || requestName === '') return fail(`no ${keys.grantRequest} annotation naming the approved GrantRequest`);
  const where = `GrantRequest ${input.namespace}/${requestName}`;
  if (lookup === undefined) return fail(`${where} was not read`);
  if (lookup.state === 'missing') return fail(`${where} does not exist`);
  if (lookup.state === 'failed') return fail(`${where} could not be read (${lookup.error}); retry`);
  const request = lookup.request;
  if (request.metadata?.namespace !== undefined && request.metadata.namespace !== input.namespace) return fail(`${where} is in namespace ${request.metadata.namespace}`);

  const problems: string[] = [];
  const phase = phaseOf(request);
  const policyName = policy.metadata?.name;
  const retry = phase === 'Active' && request.status?.policyName !== undefined && request.status.policyName === policyName;
  if (phase !== 'Approved' && !retry) {
    problems.push(phase === 'Active' ? `${where} is Active with policy ${request.status?.policyName ?? '(none)'}, not ${policyName ?? '(unnamed)'}` : `${where} is ${phase}, not Approved`);
  }
  const requester = request.spec?.requestedBy;
  if (requester === undefined || requester === '') problems.push(`${where} has no spec.requestedBy`);
  const required = Math.max(config.approval.required, request.status?.requiredApprovals ?? 0);
  const approvers = distinctApprovers(request.status?.approvals, requester);
  if (approvers.length < required) problems.push(`${where} has ${approvers.length} distinct approver(s) (${approvers.join(', ') || 'none'}); ${required} required`);

  const uid = request.metadata?.uid;
  const owned = (policy.metadata?.ownerReferences ?? []).some(
    (ref) => ref?.uid === uid && ref.kind === GRANT_REQUEST_KIND && ref.apiVersion === GRANT_REQUEST_API_VERSION,
  );
  if (uid === undefined || !owned) problems.push(`metadata.ownerReferences: must name ${where} (uid ${uid ?? 'unknown'}), so deleting the request removes the access`);

  if (!sameSpec(policy, { spec: request.spec?.policy } as V1NetworkPolicy)) problems.push(`spec: differs from ${where} spec.policy (the access approved)`);

  let expiresAt: string | undefined;
  const approvedAt = request.status?.approvedAt === undefined ? undefined : parseTimestamp(request.status.approvedAt);
  const duration = typeof request.spec?.duration === 'string' ? parseDuration(request.spec.duration) : undefined;
  const decisive = decisiveApproval(request.status?.approvals, requester, required);
  if (approvedAt === undefined || !approvedAt.ok) {
    problems.push(`${where} has no valid status.approvedAt`);
  } else if (decisive === undefined || !sameExpiry(decisive.at, request.status?.approvedAt)) {
    problems.push(`${where} status.approvedAt ${request.status?.approvedAt} is not the time of the approval that made it enough (${decisive?.at ?? 'none yet'})`);
  } else if (duration === undefined || !duration.ok) {
    problems.push(`${where} has no valid spec.duration`);
  } else {
    expiresAt = formatTimestamp(new Date(approvedAt.date.getTime() + duration.ms));
    const written = stringEntry(annotations, keys.expiresAt);
    if (!sameExpiry(written, expiresAt)) problems.push(`${keys.expiresAt}: must be ${expiresAt} (approvedAt + spec.duration ${request.spec?.duration}), got ${written ?? 'none'}`);
  }

  if (input.checkRequestedBy) {
    const stamped = stringEntry(annotations, keys.requestedBy);
    if (stamped !== requester) problems.push(`${keys.requestedBy}: must be the requester ${requester ?? 'unknown'}, got ${stamped ?? 'none'}`);
  }
  const approvedBy = stringEntry(annotations, keys.approvedBy);
  if (approvedBy !== approvers.join(',')) problems.push(`${keys.approvedBy}: must be ${approvers.join(',') || '(none)'}, got ${approvedBy ?? 'none'}`);
  const ticket = stringEntry(annotations, keys.ticket);
  const wantedTicket = typeof request.spec?.ticket === 'string' ? normalizeTicket(request.spec.ticket) : undefined;
  if (ticket === undefined || normalizeTicket(ticket) !== wantedTicket) problems.push(`${keys.ticket}: must be the request's ticket ${wantedTicket ?? '(none)'}, got ${ticket ?? 'none'}`);

  if (problems.length > 0 || requester === undefined || expiresAt === undefined) return fail(...problems);
  return { ok: true, request, requestedBy: requester, approvers, expiresAt };
}
