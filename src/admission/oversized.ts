import { formatFinding, type Finding } from '../policy/findings.js';
import { policyTooLargeHint, policyTooLargeReason } from '../policy/rules/policy-too-large.js';
import type { OversizedPolicy } from '../policy/size.js';
import type { AdmissionDecision, AdmissionRequest } from './types.js';

/**
 * The answer to a NetworkPolicy write that is over limits.maxPolicyElements: a denial (not a 400:
 * the request is well-formed, the policy is only too large to judge) with the policy-too-large
 * finding, made without evaluating the policy. Always a denial, whatever the mode (see the rule).
 */
export function denyOversized(request: AdmissionRequest, oversized: OversizedPolicy): AdmissionDecision {
  const max = oversized.maxPolicyElements;
  const finding: Finding = {
    ruleId: 'policy-too-large',
    path: oversized.field === 'object' ? 'spec' : 'oldObject.spec',
    reason:
      oversized.field === 'object'
        ? policyTooLargeReason(max)
        : `(the stored policy this update replaces) ${policyTooLargeReason(max)}; delete it and create a smaller one`,
    hint: policyTooLargeHint(max),
    action: 'deny',
  };
  const name = request.name || '<unnamed>';
  return {
    allowed: false,
    message: `netpol-guard denied NetworkPolicy ${request.namespace ?? ''}/${name}: 1 problem(s)\n${formatFinding(finding)}`,
    warnings: [],
    auditAnnotations: { verdict: 'denied', rules: 'policy-too-large' },
    patch: [],
    findings: [finding],
    disposition: 'policy-too-large',
  };
}
