import { chooseProfile } from '../config/profiles.js';
import { type MutationInput, planMutation } from '../lifecycle/mutation.js';
import { isExemptNamespace } from '../policy/exempt.js';
import { verifyApprovedPolicy, type GrantRequestLookup } from '../approval/approvedPolicy.js';
import { approvalStamps, type ApprovalStampInput } from '../approval/policyStamps.js';
import type { ClusterView } from '../cluster/view.js';
import type { GuardConfig } from '../config/types.js';
import { admissionSubject, isGrantRequestRequest } from './review.js';
import type { AdmissionDecision, AdmissionHandler, AdmissionRequest } from './types.js';
import { passThrough } from './validate.js';

/**
 * /mutate: stamps and absolute expiry as a JSON Patch. It never denies; the verdict belongs to
 * /validate, which sees the mutated object.
 */
export const mutateHandler: AdmissionHandler & ((request: AdmissionRequest, config: GuardConfig, now: Date, cluster?: ClusterView, grantRequest?: GrantRequestLookup) => AdmissionDecision) = (
  request,
  config,
  now,
  cluster,
  grantRequest?: GrantRequestLookup,
) => {
  if (isGrantRequestRequest(request)) throw new Error('GrantRequest reviews are stamped by mutateGrantRequest (src/admission/grantRequests.ts)');
  const subject = admissionSubject(request);
  if (subject === undefined) return passThrough('operation-ignored');
  if (isExemptNamespace(config, subject.namespace)) return passThrough('exempt-namespace');
  // The profile's defaultTTL and ticket link apply. When it cannot be chosen for sure, the
  // mutator (which never denies) stamps with the fallback and /validate refuses the request.
  const profile = chooseProfile(config, subject.namespace, cluster).config;
  const input: MutationInput = {
    operation: subject.operation,
    policy: subject.policy,
    namespace: subject.namespace,
    username: subject.user.username,
    config: profile,
    now,
  };
  if (subject.oldPolicy !== undefined) input.oldPolicy = subject.oldPolicy;
  // The controller's creation for an approved request carries the request's requester, approvers
  // and grant-request name; only once verified against the request (read live by the shell).
  const approved =
    grantRequest === undefined
      ? undefined
      : verifyApprovedPolicy({ policy: subject.policy, namespace: subject.namespace, username: subject.user.username, config: profile, lookup: grantRequest, checkRequestedBy: false });
  const verified = approved !== undefined && approved.ok;
  if (verified && subject.operation === 'CREATE') input.requestedBy = approved.requestedBy;
  const stampInput: ApprovalStampInput = { operation: subject.operation, policy: subject.policy, user: subject.user, config: profile, verified, now };
  if (subject.oldPolicy !== undefined) stampInput.oldPolicy = subject.oldPolicy;
  const stamps = approvalStamps(stampInput);
  input.extraStamps = stamps;
  const plan = planMutation(input);
  let warnings = plan.warnings;
  let auditAnnotations = plan.patch.length > 0 ? plan.auditAnnotations : {};
  if (stamps.breakGlassGroup !== undefined) {
    // New objects: planMutation may return a shared empty plan.
    auditAnnotations = { ...auditAnnotations, 'break-glass-by': subject.user.username };
    warnings = [
      ...warnings,
      `netpol-guard: break-glass: ${subject.user.username} (group ${stamps.breakGlassGroup}) writes a grant in profile ${profile.profile}, which requires approval; stamped and audited`,
    ];
  }
  const decision: AdmissionDecision = {
    allowed: true,
    warnings,
    auditAnnotations,
    patch: plan.patch,
    findings: [],
    disposition: 'evaluated',
    profile: profile.profile,
  };
  if (plan.ticket !== undefined) decision.ticket = plan.ticket;
  if (plan.expiresAt !== undefined) decision.expiresAt = plan.expiresAt;
  return decision;
};
