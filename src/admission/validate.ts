import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { type EvaluationInput, evaluatePolicy, type RequestUser } from '../policy/evaluate.js';
import type { Finding } from '../policy/findings.js';
import type { AdmissionDecision, AdmissionHandler, AdmissionRequest } from './types.js';

/**
 * /validate: the guardrail verdict. It sees the object after every mutating webhook ran, so an
 * expiry the mutator computed from a ttl is judged as stored.
 */
export const validateHandler: AdmissionHandler = (request, config, now) => {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') {
    return passThrough('operation-ignored');
  }
  const policy = request.object as V1NetworkPolicy;
  const input: EvaluationInput = {
    operation: request.operation,
    policy,
    namespace: requestNamespace(request, policy),
    user: requestUser(request),
    config,
    now,
  };
  if (request.oldObject !== undefined && request.oldObject !== null) input.oldPolicy = request.oldObject as V1NetworkPolicy;
  const evaluation = evaluatePolicy(input);

  const auditAnnotations: Record<string, string> = { verdict: evaluation.allowed ? 'allowed' : 'denied' };
  if (evaluation.findings.length > 0) auditAnnotations.rules = distinctRuleIds(evaluation.findings);
  if (evaluation.disposition === 'break-glass') auditAnnotations['break-glass'] = 'true';
  const decision: AdmissionDecision = {
    allowed: evaluation.allowed,
    warnings: evaluation.warnings,
    auditAnnotations,
    patch: [],
    findings: evaluation.findings,
    disposition: evaluation.disposition,
  };
  if (evaluation.message !== undefined) decision.message = evaluation.message;
  if (evaluation.ticket !== undefined) decision.ticket = evaluation.ticket;
  if (evaluation.expiresAt !== undefined) decision.expiresAt = evaluation.expiresAt;
  return decision;
};

/** The rule ids that fired, each once, in the order first seen. There are only a few distinct ids. */
function distinctRuleIds(findings: readonly Finding[]): string {
  const ids: string[] = [];
  for (const f of findings) if (!ids.includes(f.ruleId)) ids.push(f.ruleId);
  return ids.join(',');
}

/** request.namespace is authoritative; object.metadata.namespace may be empty on CREATE. */
export function requestNamespace(request: AdmissionRequest, policy: V1NetworkPolicy | undefined): string {
  return request.namespace || policy?.metadata?.namespace || 'default';
}

export function requestUser(request: AdmissionRequest): RequestUser {
  return {
    username: request.userInfo?.username ?? '',
    groups: Array.isArray(request.userInfo?.groups) ? request.userInfo.groups : [],
  };
}

export function passThrough(disposition: AdmissionDecision['disposition']): AdmissionDecision {
  return { allowed: true, warnings: [], auditAnnotations: {}, patch: [], findings: [], disposition };
}
