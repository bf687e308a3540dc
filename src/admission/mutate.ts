import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { type MutationInput, planMutation } from '../lifecycle/mutation.js';
import type { AdmissionDecision, AdmissionHandler } from './types.js';
import { passThrough, requestNamespace } from './validate.js';

/**
 * /mutate: stamps and absolute expiry as a JSON Patch. It never denies; the verdict belongs to
 * /validate, which sees the mutated object.
 */
export const mutateHandler: AdmissionHandler = (request, config, now) => {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return passThrough('operation-ignored');
  const policy = request.object as V1NetworkPolicy;
  const namespace = requestNamespace(request, policy);
  if (config.exemptNamespaces.has(namespace)) return passThrough('exempt-namespace');
  const input: MutationInput = {
    operation: request.operation,
    policy,
    namespace,
    username: request.userInfo?.username ?? '',
    config,
    now,
  };
  if (request.oldObject !== undefined && request.oldObject !== null) input.oldPolicy = request.oldObject as V1NetworkPolicy;
  const plan = planMutation(input);
  const decision: AdmissionDecision = {
    allowed: true,
    warnings: plan.warnings,
    auditAnnotations: plan.patch.length > 0 ? plan.auditAnnotations : {},
    patch: plan.patch,
    findings: [],
    disposition: 'evaluated',
  };
  if (plan.ticket !== undefined) decision.ticket = plan.ticket;
  if (plan.expiresAt !== undefined) decision.expiresAt = plan.expiresAt;
  return decision;
};
