import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { planMutation } from '../lifecycle/mutation.js';
import type { AdmissionHandler } from './types.js';
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
  const plan = planMutation({
    operation: request.operation,
    policy,
    ...(request.oldObject !== undefined && request.oldObject !== null && { oldPolicy: request.oldObject as V1NetworkPolicy }),
    namespace,
    username: request.userInfo?.username ?? '',
    config,
    now,
  });
  return {
    allowed: true,
    warnings: plan.warnings,
    auditAnnotations: plan.patch.length > 0 ? plan.auditAnnotations : {},
    patch: plan.patch,
    findings: [],
    disposition: 'evaluated',
    ...(plan.ticket !== undefined && { ticket: plan.ticket }),
    ...(plan.expiresAt !== undefined && { expiresAt: plan.expiresAt }),
  };
};
