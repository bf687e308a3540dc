import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { GuardConfig } from '../config/types.js';
import { stringEntry } from '../lifecycle/annotations.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import { grantsAccess } from '../policy/breadth.js';
import type { RequestUser } from '../policy/evaluate.js';

/**
 * The approval-related annotations the mutating webhook owns on a NetworkPolicy. Pure. None of
 * them is ever taken from a client:
 *   grant-request, approved-by   kept only on the controller's writes (which the validator checks
 *                                 against the request they name); anyone else's are restored from
 *                                 the stored object, or removed.
 *   break-glass-by, break-glass-at  stamped (user, now) when a break-glass group member writes a
 *                                 grant in a profile that requires approval, bypassing it, so the
 *                                 controller can notify; otherwise restored or removed.
 */
export interface ApprovalStampInput {
  operation: 'CREATE' | 'UPDATE';
  policy: V1NetworkPolicy;
  oldPolicy?: V1NetworkPolicy;
  user: RequestUser;
  /** The profile's config. */
  config: GuardConfig;
  /** The write is the controller's creation for an approved request, verified against it. */
  verified: boolean;
  now: Date;
}

export interface ApprovalStamps {
  set: Record<string, string>;
  remove: string[];
  /** The break-glass group that bypassed approval, when stamped now. */
  breakGlassGroup?: string;
}

export function approvalStamps(input: ApprovalStampInput): ApprovalStamps {
  const { config, policy } = input;
  const keys = config.keys;
  const stored = input.operation === 'UPDATE' ? input.oldPolicy?.metadata?.annotations : undefined;
  const stamps: ApprovalStamps = { set: {}, remove: [] };
  const restore = (key: string): void => {
    const value = stringEntry(stored, key);
    if (value === undefined) stamps.remove.push(key);
    else stamps.set[key] = value;
  };
  // The controller's own writes keep what it wrote: the validator judges them against the request
  // (and names what does not match); anyone else's copy of these stamps is never kept.
  if (!input.verified && !config.approval.controllerUsers.has(input.user.username)) {
    restore(keys.grantRequest);
    restore(keys.approvedBy);
  }
  const group = input.verified || !(config.approval.required > 0) || !grantsAccess(policy) ? undefined : input.user.groups.find((g) => config.breakGlassGroups.has(g));
  if (group !== undefined) {
    stamps.set[keys.breakGlassBy] = input.user.username;
    stamps.set[keys.breakGlassAt] = formatTimestamp(input.now);
    stamps.breakGlassGroup = group;
  } else {
    restore(keys.breakGlassBy);
    restore(keys.breakGlassAt);
  }
  return stamps;
}
