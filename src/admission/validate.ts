import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { evaluatePolicy, type RequestUser } from '../policy/evaluate.js';
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
  const evaluation = evaluatePolicy({
    operation: request.operation,
    policy,
    ...(request.oldObject !== undefined && request.oldObject !== null && { oldPolicy: request.oldObject as V1NetworkPolicy }),
    namespace: requestNamespace(request, policy),
    user: requestUser(request),
    config,
    now,
  });
  const auditAnnotations: Record<string, string> = { verdict: evaluation.allowed ? 'allowed' : 'denied' };
  if (evaluation.findings.length > 0) auditAnnotations.rules = [...new Set(evaluation.findings.map((f) => f.ruleId))].join(',');
  if (evaluation.disposition === 'break-glass') auditAnnotations['break-glass'] = 'true';
  return {
    allowed: evaluation.allowed,
    ...(evaluation.message !== undefined && { message: evaluation.message }),
    warnings: evaluation.warnings,
    auditAnnotations,
    patch: [],
    findings: evaluation.findings,
    disposition: evaluation.disposition,
    ...(evaluation.ticket !== undefined && { ticket: evaluation.ticket }),
    ...(evaluation.expiresAt !== undefined && { expiresAt: evaluation.expiresAt }),
  };
};

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
