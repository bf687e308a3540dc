import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { LiveGrant } from '../cluster/view.js';
import type { AnnotationKeys } from '../lifecycle/annotations.js';
import { stringEntry, TEMPORARY_LABEL_VALUE } from '../lifecycle/annotations.js';
import { formatDuration } from '../lifecycle/duration.js';

/** Open grants named in one quota message; more are counted, not listed (a denial stays readable). */
export const MAX_LISTED_GRANTS = 20;

/**
 * The live grants a request competes with: all of `grants` but the policy itself (an UPDATE must
 * not count against its own slot). Undefined when the request adds no grant to the count: an
 * UPDATE of a policy that was already a live grant keeps the total as it was, so lowering a quota
 * never blocks extending, stamping or revoking the grants already open.
 */
export function competingGrants(
  grants: readonly LiveGrant[],
  request: { operation: 'CREATE' | 'UPDATE'; namespace: string; policy: V1NetworkPolicy; oldPolicy: V1NetworkPolicy | undefined; config: { keys: AnnotationKeys } },
): LiveGrant[] | undefined {
  const label = request.config.keys.temporaryLabel;
  if (request.operation === 'UPDATE' && stringEntry(request.oldPolicy?.metadata?.labels, label) === TEMPORARY_LABEL_VALUE) return undefined;
  const name = request.policy.metadata?.name;
  return grants.filter((g) => !(g.namespace === request.namespace && g.name === name));
}

/** `ns/name (ticket INC-1, expires in 1h20m)`, soonest expiry first, at most MAX_LISTED_GRANTS. */
export function describeOpenGrants(grants: readonly LiveGrant[], nowMs: number, withNamespace: boolean): string {
  const sorted = [...grants].sort((a, b) => (a.expiresAtMs ?? Infinity) - (b.expiresAtMs ?? Infinity) || a.name.localeCompare(b.name));
  const shown = sorted.slice(0, MAX_LISTED_GRANTS).map((g) => {
    const expires = g.expiresAtMs === undefined ? 'no readable expiry' : g.expiresAtMs <= nowMs ? 'expired, awaiting deletion' : `expires in ${formatDuration(g.expiresAtMs - nowMs)}`;
    return `${withNamespace ? `${g.namespace}/` : ''}${g.name} (ticket ${g.ticket ?? 'none'}, ${expires})`;
  });
  const more = sorted.length - shown.length;
  return shown.join(', ') + (more > 0 ? ` and ${more} more` : '');
}
