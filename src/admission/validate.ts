import { chooseProfile } from '../config/profiles.js';
import { effectSummary } from '../policy/effect/summary.js';
import { type EvaluationInput, evaluatePolicy } from '../policy/evaluate.js';
import type { Finding } from '../policy/findings.js';
import type { GrantRequestLookup } from '../approval/approvedPolicy.js';
import type { ClusterView } from '../cluster/view.js';
import type { GuardConfig } from '../config/types.js';
import { admissionSubject, isGrantRequestRequest } from './review.js';
import type { AdmissionDecision, AdmissionHandler, AdmissionRequest } from './types.js';

/**
 * /validate: the guardrail verdict. It sees the object after every mutating webhook ran, so an
 * expiry the mutator computed from a ttl is judged as stored. `grantRequest`: the GrantRequest a
 * controller-written grant names, read by the shell (src/admission/grantRequests.ts) for the rule
 * approval-required.
 */
export const validateHandler: AdmissionHandler & ((request: AdmissionRequest, config: GuardConfig, now: Date, cluster?: ClusterView, grantRequest?: GrantRequestLookup) => AdmissionDecision) = (
  request,
  config,
  now,
  cluster,
  grantRequest?: GrantRequestLookup,
) => {
  // Never judged here: a GrantRequest admitted as "not a NetworkPolicy" would skip every approval check.
  if (isGrantRequestRequest(request)) throw new Error('GrantRequest reviews are judged by validateGrantRequest (src/admission/grantRequests.ts)');
  const subject = admissionSubject(request);
  if (subject === undefined) return passThrough('operation-ignored');
  // The request's one decision context (config, now, user, cluster) plus what is judged.
  const choice = chooseProfile(config, subject.namespace, cluster);
  const input: EvaluationInput = {
    operation: subject.operation,
    policy: subject.policy,
    namespace: subject.namespace,
    user: subject.user,
    config: choice.config,
    now,
  };
  if (cluster !== undefined) {
    // A webhook with a view must never pass over what it cannot see: deny or warn, per the config.
    input.cluster = cluster;
    input.onClusterUnavailable = choice.config.clusterView.onUnavailable;
  }
  if (choice.labelsUnknown) input.profileUndetermined = true;
  if (subject.oldPolicy !== undefined) input.oldPolicy = subject.oldPolicy;
  if (grantRequest !== undefined) input.grantRequest = grantRequest;
  const evaluation = evaluatePolicy(input);

  const auditAnnotations: Record<string, string> = { verdict: evaluation.allowed ? 'allowed' : 'denied' };
  if (evaluation.findings.length > 0) auditAnnotations.rules = distinctRuleIds(evaluation.findings);
  if (evaluation.disposition === 'break-glass') auditAnnotations['break-glass'] = 'true';
  // Only where profiles exist: a config without them has one judge, and the audit stays as it was.
  if (config.profiles.length > 0) auditAnnotations.profile = evaluation.profile;
  // What the grant opens, when the server has a cluster view (key: validate.<webhook>/effect).
  const summary = evaluation.effect === undefined ? undefined : effectSummary(evaluation.effect);
  if (summary !== undefined) auditAnnotations.effect = summary;
  const decision: AdmissionDecision = {
    allowed: evaluation.allowed,
    warnings: evaluation.warnings,
    auditAnnotations,
    patch: [],
    findings: evaluation.findings,
    disposition: evaluation.disposition,
    profile: evaluation.profile,
  };
  if (evaluation.message !== undefined) decision.message = evaluation.message;
  if (evaluation.ticket !== undefined) decision.ticket = evaluation.ticket;
  if (evaluation.expiresAt !== undefined) decision.expiresAt = evaluation.expiresAt;
  if (summary !== undefined) decision.effect = summary;
  return decision;
};

/** The rule ids that fired, each once, in the order first seen. There are only a few distinct ids. */
function distinctRuleIds(findings: readonly Finding[]): string {
  const ids: string[] = [];
  for (const f of findings) if (!ids.includes(f.ruleId)) ids.push(f.ruleId);
  return ids.join(',');
}

export { requestNamespace, requestUser } from './review.js';

export function passThrough(disposition: AdmissionDecision['disposition']): AdmissionDecision {
  return { allowed: true, warnings: [], auditAnnotations: {}, patch: [], findings: [], disposition };
}
