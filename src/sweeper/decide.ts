import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { readGrantAnnotations, TEMPORARY_LABEL_VALUE } from '../lifecycle/annotations.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import type { GuardConfig } from '../config/types.js';

export type SweepAction = 'delete' | 'keep' | 'invalid';

export interface SweepDecision {
  action: SweepAction;
  /** One line for logs and Events: why this action. */
  reason: string;
  /** Present whenever expires-at parsed, whatever the action. */
  expiresAt?: Date;
}

/**
 * Whether one NetworkPolicy is an expired grant. Deletion needs all three of: the temporary label
 * equal to "true", an expires-at that parses, and that instant at or before `now`. The label is
 * re-checked here even though the list used a label selector, so a server (or proxy) that ignores
 * the selector can never make the sweeper delete a permanent policy.
 */
export function decideExpiry(
  policy: V1NetworkPolicy,
  config: Pick<GuardConfig, 'keys'>,
  now: Date,
): SweepDecision {
  const keys = config.keys;
  const grant = readGrantAnnotations(policy, keys);
  if (grant.temporaryLabel !== TEMPORARY_LABEL_VALUE) {
    const found = grant.temporaryLabel === undefined ? 'absent' : `"${truncate(grant.temporaryLabel)}"`;
    return { action: 'keep', reason: `label ${keys.temporaryLabel} is ${found}, not "${TEMPORARY_LABEL_VALUE}": not a temporary grant` };
  }
  if (policy.metadata?.deletionTimestamp !== undefined && policy.metadata.deletionTimestamp !== null) {
    // Already on its way out (a finalizer holds it); deleting again would only repeat the audit.
    return { action: 'keep', reason: 'already being deleted (deletionTimestamp is set)' };
  }
  const expiresAt = grant.expiresAt;
  if (expiresAt.state === 'absent') {
    return { action: 'invalid', reason: `labelled ${keys.temporaryLabel}=${TEMPORARY_LABEL_VALUE} but has no ${keys.expiresAt} annotation` };
  }
  if (expiresAt.state === 'invalid') {
    return { action: 'invalid', reason: `${keys.expiresAt}: ${expiresAt.error}` };
  }
  const at = expiresAt.value;
  if (at.getTime() <= now.getTime()) {
    return { action: 'delete', reason: `expired at ${formatTimestamp(at)}`, expiresAt: at };
  }
  return { action: 'keep', reason: `expires at ${formatTimestamp(at)}`, expiresAt: at };
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
