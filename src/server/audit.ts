import type { AdmissionDecision, AdmissionRequest } from '../admission/types.js';
import type { Endpoint, Verdict } from './metrics.js';

/** Cap on groups copied into one log line; an OIDC user can carry hundreds. */
const MAX_LOGGED_GROUPS = 100;

/**
 * The fields of the "admission decision" audit line. Identifiers and the outcome only: never the
 * object, its annotations, or anything from the request beyond who asked for what.
 */
export function auditFields(
  endpoint: Endpoint,
  request: AdmissionRequest,
  verdict: Verdict,
  latencyMs: number,
  decision: AdmissionDecision | undefined,
): Record<string, unknown> {
  const groups = request.userInfo.groups ?? [];
  const fields: Record<string, unknown> = {
    uid: request.uid,
    endpoint,
    operation: request.operation,
    resource: `${request.kind.group || 'core'}/${request.kind.version}/${request.kind.kind}`,
    namespace: request.namespace,
    name: request.name,
    user: {
      username: request.userInfo.username,
      groups: groups.length > MAX_LOGGED_GROUPS ? [...groups.slice(0, MAX_LOGGED_GROUPS), `…${groups.length - MAX_LOGGED_GROUPS} more`] : groups,
    },
    dryRun: request.dryRun === true,
    verdict,
    latencyMs: Math.round(latencyMs * 1000) / 1000,
  };
  if (decision) {
    fields.disposition = decision.disposition;
    if (decision.profile !== undefined) fields.profile = decision.profile;
    fields.rules = distinctRuleIds(decision);
    if (decision.ticket !== undefined) fields.ticket = decision.ticket;
    if (decision.expiresAt !== undefined) fields.expiresAt = decision.expiresAt;
    if (decision.effect !== undefined) fields.effect = decision.effect;
    if (decision.warnings.length > 0) fields.warnings = decision.warnings.length;
    if (decision.patch.length > 0) fields.patchOperations = decision.patch.length;
  }
  return fields;
}

/** Rule ids in order of first appearance; most decisions have no findings at all. */
function distinctRuleIds(decision: AdmissionDecision): string[] {
  const ids: string[] = [];
  for (const finding of decision.findings) if (!ids.includes(finding.ruleId)) ids.push(finding.ruleId);
  return ids;
}
