import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { stringEntry, stringMap, TEMPORARY_LABEL_VALUE } from '../lifecycle/annotations.js';
import { formatTimestamp, parseTimestamp } from '../lifecycle/timestamp.js';
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
 *
 * Only the label and expires-at are read (not the whole annotation contract): this runs for every
 * grant of every pass, and nothing else on the policy can change the decision.
 */
export function sweepDecisionFor(
  policy: V1NetworkPolicy,
  config: Pick<GuardConfig, 'keys'>,
  now: Date,
): SweepDecision {
  const keys = config.keys;
  const metadata = policy.metadata;
  const temporaryLabel = stringEntry(metadata?.labels, keys.temporaryLabel);
  if (temporaryLabel !== TEMPORARY_LABEL_VALUE) {
    const found = temporaryLabel === undefined ? 'absent' : `"${truncate(temporaryLabel)}"`;
    return { action: 'keep', reason: `label ${keys.temporaryLabel} is ${found}, not "${TEMPORARY_LABEL_VALUE}": not a temporary grant` };
  }
  if (metadata?.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null) {
    // Already on its way out (a finalizer holds it); deleting again would only repeat the audit.
    return { action: 'keep', reason: 'already being deleted (deletionTimestamp is set)' };
  }
  const raw = stringEntry(metadata?.annotations, keys.expiresAt);
  if (raw === undefined) {
    return { action: 'invalid', reason: `labelled ${keys.temporaryLabel}=${TEMPORARY_LABEL_VALUE} but has no ${keys.expiresAt} annotation` };
  }
  const parsed = parseTimestamp(raw);
  if (!parsed.ok) {
    return { action: 'invalid', reason: `${keys.expiresAt}: ${parsed.error}` };
  }
  const at = parsed.date;
  if (at.getTime() <= now.getTime()) {
    return { action: 'delete', reason: `expired at ${formatTimestamp(at)}`, expiresAt: at };
  }
  return { action: 'keep', reason: `expires at ${formatTimestamp(at)}`, expiresAt: at };
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}

/**
 * The part of a policy sweepDecisionFor reads, plus what deleting it with preconditions needs:
 * what watch mode keeps per grant, so memory does not grow with the size of policies' specs.
 * Must name every field sweepDecisionFor looks at (decisionFields.test.ts checks the two agree).
 */
export function decisionFields(policy: V1NetworkPolicy, config: Pick<GuardConfig, 'keys'>): V1NetworkPolicy {
  const m = policy.metadata;
  const label = stringEntry(m?.labels, config.keys.temporaryLabel);
  const expiresAt = stringEntry(m?.annotations, config.keys.expiresAt);
  return {
    metadata: {
      ...(m?.name !== undefined ? { name: m.name } : {}),
      ...(m?.namespace !== undefined ? { namespace: m.namespace } : {}),
      ...(m?.uid !== undefined ? { uid: m.uid } : {}),
      ...(m?.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
      ...(m?.deletionTimestamp !== undefined && m.deletionTimestamp !== null ? { deletionTimestamp: m.deletionTimestamp } : {}),
      labels: label === undefined ? {} : { [config.keys.temporaryLabel]: label },
      annotations: expiresAt === undefined ? {} : { [config.keys.expiresAt]: expiresAt },
    },
  };
}

/** True when the policy carries the temporary label (false: the server ignored the selector). */
export function hasTemporaryLabel(policy: V1NetworkPolicy, config: Pick<GuardConfig, 'keys'>): boolean {
  return stringMap(policy.metadata?.labels)[config.keys.temporaryLabel] === TEMPORARY_LABEL_VALUE;
}

/**
 * What a grant's history needs besides the decision: identity, labels, annotations and spec (not
 * managedFields or status). A superset of decisionFields, so decisions on it are the same.
 */
export function recordFields(policy: V1NetworkPolicy): V1NetworkPolicy {
  const { managedFields: _managedFields, ...metadata } = policy.metadata ?? {};
  return { metadata, ...(policy.spec !== undefined ? { spec: policy.spec } : {}) };
}
