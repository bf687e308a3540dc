import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { GuardConfig } from '../config/types.js';
import { grantsAccess } from '../policy/breadth.js';
import { isExemptNamespace } from '../policy/exempt.js';
import { type AnnotationKeys, type GrantAnnotations, readGrantAnnotations, stringEntry, TEMPORARY_LABEL_VALUE } from './annotations.js';
import { addMs } from './expiry.js';
import { type JsonPatchOperation, mapPatch } from './patch.js';
import { normalizeTicket, ticketUrl } from './ticket.js';
import { formatTimestamp } from './timestamp.js';
import { gitOpsWarning } from './gitops.js';
import { onlyRevocationChanged, revocationRequested, sameExpiry, sameSpec } from './updateChanges.js';
import { isJsonObject } from '../schema/json.js';

export interface MutationInput {
  operation: 'CREATE' | 'UPDATE';
  policy: V1NetworkPolicy;
  oldPolicy?: V1NetworkPolicy;
  namespace: string;
  username: string;
  config: GuardConfig;
  now: Date;
  /**
   * The requester to stamp on CREATE instead of `username`: set only by the shell for the
   * controller's creation of an approved GrantRequest it verified (src/approval/approvedPolicy.ts),
   * whose requester is the request's, never the controller.
   */
  requestedBy?: string;
  /** Annotations the approval module owns (src/approval/policyStamps.ts): written, or removed. */
  extraStamps?: { set: Record<string, string>; remove: readonly string[] };
}

export interface MutationPlan {
  patch: JsonPatchOperation[];
  warnings: string[];
  /** Kept by the API server's audit log after the policy itself is gone. */
  auditAnnotations: Record<string, string>;
  expiresAt?: string;
  ticket?: string;
}

const EMPTY: MutationPlan = { patch: [], warnings: [], auditAnnotations: {} };

/**
 * Plan the patch that turns what a person wrote into what the cluster can enforce and audit:
 * an absolute expiry, the requester and grant time (never taken from the user), a normalized
 * ticket and the temporary label; on UPDATE the changed-by/revoked-by stamps (historyStamps).
 * Pure, and idempotent: planning again on the patched object with the same `now` yields an empty
 * patch (safe under reinvocationPolicy IfNeeded).
 */
export function planMutation(input: MutationInput): MutationPlan {
  const { policy, config, now } = input;
  if (isExemptNamespace(config, input.namespace)) return EMPTY;
  const keys = config.keys;
  if (input.operation === 'UPDATE' && input.oldPolicy !== undefined && onlyRevocationChanged(input.oldPolicy, policy, keys)) {
    // `revoke`'s UPDATE: stamp it and touch nothing else, so the validator sees a revocation-only
    // UPDATE even of a grant written before this mutator ran (no granted-at, an old ticket form).
    return revocationPlan(input);
  }
  const grant = readGrantAnnotations(policy, keys);
  const old = input.operation === 'UPDATE' && input.oldPolicy ? readGrantAnnotations(input.oldPolicy, keys) : undefined;
  const granting = grantsAccess(policy);
  const warnings: string[] = [];

  const expiry = expiryToStamp(input, grant, old, granting, warnings);
  if (expiry !== undefined && granting) {
    // Never take on GitOps ownership silently: an expired grant still in Git comes back.
    const gitOps = gitOpsWarning(policy);
    if (gitOps !== undefined) warnings.push(gitOps);
  }
  const hasLifecycle = expiry !== undefined || grant.ttl.state !== 'absent' || grant.ticket !== undefined;
  // Deny-only policies without any lifecycle annotation are none of our business, unless they
  // carry (or carried) a history stamp: those are restored or removed whatever the policy is.
  const lifecycle = granting || hasLifecycle;
  const extra = input.extraStamps;
  const extraChanges = extra !== undefined && extraStampsChange(policy, extra);
  if (!lifecycle && !extraChanges && !mentionsStamps(policy, keys) && !mentionsStamps(input.oldPolicy, keys)) return EMPTY;

  const stamps = historyStamps(input, expiry?.expiresAt ?? stringEntry(policy.metadata?.annotations, keys.expiresAt));
  // Entries are added in key order (changed-*, expires-at, granted-at, requested-by, revoked-*,
  // ticket, ticket-url, ttl under any prefix), which spares mapPatch a sort on every request; it
  // still sorts if not.
  const annotations: Record<string, string> = {};
  copyEntry(stamps.set, annotations, keys.changedAt);
  copyEntry(stamps.set, annotations, keys.changedBy);
  if (expiry !== undefined) annotations[keys.expiresAt] = expiry.expiresAt;
  if (lifecycle) {
    // Stamps are never trusted from the request: on UPDATE they come back from the stored object.
    const restoredBy = old?.requestedBy;
    const restoredAt = old?.grantedAt.state === 'valid' ? old.grantedAt.raw : undefined;
    annotations[keys.grantedAt] = restoredAt ?? formatTimestamp(now);
    annotations[keys.requestedBy] = restoredBy ?? input.requestedBy ?? input.username;
  }
  copyEntry(stamps.set, annotations, keys.revokedAt);
  copyEntry(stamps.set, annotations, keys.revokedBy);

  let ticket: string | undefined;
  if (grant.ticket !== undefined) {
    ticket = normalizeTicket(grant.ticket);
    if (ticket !== '') {
      annotations[keys.ticket] = ticket;
      if (config.ticket.urlTemplate !== undefined) annotations[keys.ticketUrl] = ticketUrl(config.ticket.urlTemplate, ticket);
    } else {
      ticket = undefined;
    }
  }
  if (expiry?.ttl !== undefined) annotations[keys.ttl] = expiry.ttl;

  if (extra !== undefined) Object.assign(annotations, extra.set);
  const unwanted = extra === undefined || extra.remove.length === 0 ? stamps.remove : [...stamps.remove, ...extra.remove];

  const labels: Record<string, string> = {};
  if (expiry !== undefined) labels[keys.temporaryLabel] = TEMPORARY_LABEL_VALUE;

  const metadata = policy.metadata as Record<string, unknown> | undefined;
  let patch: JsonPatchOperation[];
  if (metadata === undefined) {
    patch = Object.keys(annotations).length === 0 && Object.keys(labels).length === 0 ? [] : [{ op: 'add', path: '/metadata', value: { annotations: sortMap(annotations), ...(Object.keys(labels).length > 0 && { labels }) } }];
  } else {
    patch = mapPatch('/metadata', 'annotations', asMap(metadata.annotations), annotations, unwanted);
    patch.push(...mapPatch('/metadata', 'labels', asMap(metadata.labels), labels));
  }

  const auditAnnotations: Record<string, string> = {};
  const requestedBy = annotations[keys.requestedBy];
  if (requestedBy !== undefined) auditAnnotations['requested-by'] = requestedBy;
  if (ticket !== undefined) auditAnnotations.ticket = ticket;
  if (expiry !== undefined) auditAnnotations['expires-at'] = expiry.expiresAt;
  if (stamps.changed) auditAnnotations['changed-by'] = input.username;
  if (stamps.revoked) auditAnnotations['revoked-by'] = input.username;
  // Optional fields are assigned, not spread in: spreads measured as a large share of a request.
  const plan: MutationPlan = { patch, warnings, auditAnnotations };
  if (expiry !== undefined) plan.expiresAt = expiry.expiresAt;
  if (ticket !== undefined) plan.ticket = ticket;
  return plan;
}

interface StampPlan {
  /** Stamp annotations to write (fresh, or restored from the stored object). */
  set: Record<string, string>;
  /** Stamp annotations to remove: the stored object has none, so the client's must go. */
  remove: string[];
  /** This UPDATE moved the expiry or the spec: changed-by/changed-at are fresh. */
  changed: boolean;
  /** This UPDATE asked for the revocation stamp: revoked-by/revoked-at are fresh. */
  revoked: boolean;
}

/**
 * The changed-by/changed-at and revoked-by/revoked-at annotations after this request. None of them
 * is ever taken from the request: on CREATE there is nothing to stamp (all four are removed); on
 * UPDATE changed-* is the request's user and `now` when the expiry (as stamped, `expiresAt`) or the
 * spec moved, revoked-* is the request's user and `now` when revocationRequested; otherwise each is
 * restored from the stored object, or removed when it has none.
 */
function historyStamps(input: MutationInput, expiresAt: string | undefined): StampPlan {
  const keys = input.config.keys;
  const stored = input.operation === 'UPDATE' ? input.oldPolicy : undefined;
  const plan: StampPlan = { set: {}, remove: [], changed: false, revoked: false };
  if (stored === undefined) {
    plan.remove.push(keys.changedAt, keys.changedBy, keys.revokedAt, keys.revokedBy);
    return plan;
  }
  const storedAnnotations = stored.metadata?.annotations;
  const restore = (key: string): void => {
    const value = stringEntry(storedAnnotations, key);
    if (value === undefined) plan.remove.push(key);
    else plan.set[key] = value;
  };
  const stampedNow = formatTimestamp(input.now);
  plan.changed = !sameExpiry(stringEntry(storedAnnotations, keys.expiresAt), expiresAt) || !sameSpec(stored, input.policy);
  if (plan.changed) {
    plan.set[keys.changedBy] = input.username;
    plan.set[keys.changedAt] = stampedNow;
  } else {
    restore(keys.changedAt);
    restore(keys.changedBy);
  }
  plan.revoked = revocationRequested(stored, input.policy, keys);
  if (plan.revoked) {
    plan.set[keys.revokedBy] = input.username;
    plan.set[keys.revokedAt] = stampedNow;
  } else {
    restore(keys.revokedAt);
    restore(keys.revokedBy);
  }
  return plan;
}

function revocationPlan(input: MutationInput): MutationPlan {
  const keys = input.config.keys;
  const annotations = { [keys.revokedAt]: formatTimestamp(input.now), [keys.revokedBy]: input.username };
  const patch = mapPatch('/metadata', 'annotations', asMap(input.policy.metadata?.annotations), annotations);
  return { patch, warnings: [], auditAnnotations: { 'revoked-by': input.username } };
}

/** Whether the approval stamps would change anything: a value to write that differs, or one to remove that is there. */
function extraStampsChange(policy: V1NetworkPolicy, extra: { set: Record<string, string>; remove: readonly string[] }): boolean {
  const annotations = policy.metadata?.annotations;
  for (const key in extra.set) if (stringEntry(annotations, key) !== extra.set[key]) return true;
  return isJsonObject(annotations) && extra.remove.some((k) => Object.prototype.hasOwnProperty.call(annotations, k));
}

function mentionsStamps(policy: V1NetworkPolicy | undefined, keys: AnnotationKeys): boolean {
  const annotations = policy?.metadata?.annotations;
  if (!isJsonObject(annotations)) return false;
  return [keys.changedBy, keys.changedAt, keys.revokedBy, keys.revokedAt].some((k) => Object.prototype.hasOwnProperty.call(annotations, k));
}

function copyEntry(from: Record<string, string>, to: Record<string, string>, key: string): void {
  const value = from[key];
  if (value !== undefined) to[key] = value;
}

interface ExpiryDecision {
  expiresAt: string;
  /** A ttl annotation to write (only when a configured default was injected). */
  ttl?: string;
}

/**
 * The absolute expiry the mutator stamps (and a ttl to write when the default was applied), or
 * undefined to leave the expiry as written. Not the sweeper's decision (src/sweeper/decide.ts).
 */
function expiryToStamp(
  input: MutationInput,
  grant: GrantAnnotations,
  old: GrantAnnotations | undefined,
  granting: boolean,
  warnings: string[],
): ExpiryDecision | undefined {
  const { config, now } = input;
  const keys = config.keys;
  // An unparseable annotation is left as written: validation denies it with a precise message.
  if (grant.expiresAt.state === 'invalid' || grant.ttl.state === 'invalid') return undefined;

  if (old !== undefined) {
    const oldExpiry = old.expiresAt.state === 'valid' ? old.expiresAt.value.getTime() : undefined;
    const newExpiry = grant.expiresAt.state === 'valid' ? grant.expiresAt.value.getTime() : undefined;
    const ttlChanged = grant.ttl.state === 'valid' && (old.ttl.state === 'absent' || old.ttl.raw !== grant.ttl.raw);
    const explicitNewExpiry = newExpiry !== undefined && newExpiry !== oldExpiry;
    if (explicitNewExpiry) return { expiresAt: formatTimestamp(new Date(newExpiry)) };
    if (ttlChanged && grant.ttl.state === 'valid') return { expiresAt: formatTimestamp(addMs(now, grant.ttl.value)) };
    // A re-apply of the same manifest (same ttl, expires-at kept or dropped) must not move the expiry.
    if (oldExpiry !== undefined && (grant.ttl.state === 'valid' || newExpiry !== undefined)) {
      return { expiresAt: formatTimestamp(new Date(oldExpiry)) };
    }
  }

  if (grant.expiresAt.state === 'valid') {
    if (grant.ttl.state === 'valid' && !isOwnEarlierStamp(grant)) {
      warnings.push(`netpol-guard: both ${keys.ttl} and ${keys.expiresAt} are set; ${keys.expiresAt} wins`);
    }
    return { expiresAt: formatTimestamp(grant.expiresAt.value) };
  }
  if (grant.ttl.state === 'valid') return { expiresAt: formatTimestamp(addMs(now, grant.ttl.value)) };
  if (granting && config.defaultTTL !== undefined) {
    const expiresAt = formatTimestamp(addMs(now, config.defaultTTL.ms));
    warnings.push(`netpol-guard: no ${keys.ttl} given; the default of ${config.defaultTTL.text} was applied, so this grant expires at ${expiresAt}`);
    return { expiresAt, ttl: config.defaultTTL.text };
  }
  return undefined;
}

/**
 * True when expires-at equals granted-at + ttl: the object already went through this mutator
 * (a reinvocation, or a re-submitted stored object), so "both are set" is not the user's doing.
 */
function isOwnEarlierStamp(grant: GrantAnnotations): boolean {
  return (
    grant.grantedAt.state === 'valid' &&
    grant.ttl.state === 'valid' &&
    grant.expiresAt.state === 'valid' &&
    grant.grantedAt.value.getTime() + grant.ttl.value === grant.expiresAt.value.getTime()
  );
}

function asMap(value: unknown): Record<string, unknown> | undefined {
  return isJsonObject(value) ? value : undefined;
}

function sortMap(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(map).sort().map((k) => [k, map[k]!]));
}
