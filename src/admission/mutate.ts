import { chooseProfile } from '../config/profiles.js';
import { type MutationInput, planMutation } from '../lifecycle/mutation.js';
import { isExemptNamespace } from '../policy/exempt.js';
import { admissionSubject } from './review.js';
import type { AdmissionDecision, AdmissionHandler } from './types.js';
import { passThrough } from './validate.js';

/**
 * /mutate: stamps and absolute expiry as a JSON Patch. It never denies; the verdict belongs to
 * /validate, which sees the mutated object.
 */
export const mutateHandler: AdmissionHandler = (request, config, now, cluster) => {
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
  const plan = planMutation(input);
  const decision: AdmissionDecision = {
    allowed: true,
    warnings: plan.warnings,
    auditAnnotations: plan.patch.length > 0 ? plan.auditAnnotations : {},
    patch: plan.patch,
    findings: [],
    disposition: 'evaluated',
    profile: profile.profile,
  };
  if (plan.ticket !== undefined) decision.ticket = plan.ticket;
  if (plan.expiresAt !== undefined) decision.expiresAt = plan.expiresAt;
  return decision;
};
