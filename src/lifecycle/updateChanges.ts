import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { withApiServerNulls } from '../policy/apiNulls.js';
import { isJsonObject } from '../schema/json.js';
import { type AnnotationKeys, stringEntry } from './annotations.js';
import { parseTimestamp } from './timestamp.js';

/**
 * What an UPDATE changed, compared the way the API server stores objects: a null in an optional
 * field is the field absent (apiNulls.ts), and a field set to undefined is not there at all.
 * Pure; used by the mutator (does this UPDATE earn a changed-by stamp?) and by the validator
 * (is this UPDATE nothing but a revocation request?).
 */

/** True when the two specs mean the same NetworkPolicy to the API server. */
export function sameSpec(oldPolicy: V1NetworkPolicy | undefined, newPolicy: V1NetworkPolicy | undefined): boolean {
  return sameJson(storedForm({ spec: oldPolicy?.spec }).spec, storedForm({ spec: newPolicy?.spec }).spec);
}

/**
 * True when two expires-at annotation values (as stored, absent as undefined) name the same
 * instant, or are the same text when either does not parse: `12:00:00Z` and `13:00:00+01:00` are
 * the same expiry, so re-normalizing a stored value does not count as moving it.
 */
export function sameExpiry(oldValue: string | undefined, newValue: string | undefined): boolean {
  if (oldValue === newValue) return true;
  if (oldValue === undefined || newValue === undefined) return false;
  const a = parseTimestamp(oldValue);
  const b = parseTimestamp(newValue);
  return a.ok && b.ok && a.date.getTime() === b.date.getTime();
}

/**
 * A revocation request: revoked-by is present on the new object and the revoked-by/revoked-at
 * pair differs from the stored one. Removing the stamps is not a request (a re-applied manifest
 * drops them; they are restored). Any change is answered with the truth (this user, now), so a
 * client cannot use it to name anyone but itself.
 */
export function revocationRequested(oldPolicy: V1NetworkPolicy | undefined, newPolicy: V1NetworkPolicy, keys: AnnotationKeys): boolean {
  const annotations = newPolicy.metadata?.annotations;
  const by = stringEntry(annotations, keys.revokedBy);
  if (by === undefined) return false;
  const stored = oldPolicy?.metadata?.annotations;
  return by !== stringEntry(stored, keys.revokedBy) || stringEntry(annotations, keys.revokedAt) !== stringEntry(stored, keys.revokedAt);
}

/**
 * Metadata the API server (not the client) changes on every write, or that cannot change: left
 * out when deciding whether an UPDATE changed anything else than the revocation stamps.
 */
const SERVER_MANAGED_METADATA = ['resourceVersion', 'generation', 'managedFields', 'creationTimestamp', 'uid', 'selfLink'] as const;

/**
 * True when the new object differs from the stored one in nothing but the revoked-by/revoked-at
 * annotations (and metadata the server manages), and those do differ: the UPDATE `revoke` sends.
 * Spec, labels, every other annotation, finalizers, owner references: any other change makes it
 * an ordinary UPDATE.
 */
export function onlyRevocationChanged(oldPolicy: V1NetworkPolicy, newPolicy: V1NetworkPolicy, keys: AnnotationKeys): boolean {
  return revocationRequested(oldPolicy, newPolicy, keys) && sameButRevocation(oldPolicy, newPolicy, keys);
}

/**
 * True when the objects are the same apart from the revocation stamps and server-managed metadata.
 * The validator asks this of the mutated object: a retried revocation within the same second is
 * stamped with the very pair already stored, so "the stamps differ" cannot be required there.
 */
export function sameButRevocation(oldPolicy: V1NetworkPolicy, newPolicy: V1NetworkPolicy, keys: AnnotationKeys): boolean {
  return sameJson(storedForm(withoutRevocation(oldPolicy, keys)), storedForm(withoutRevocation(newPolicy, keys)));
}

function withoutRevocation(policy: V1NetworkPolicy, keys: AnnotationKeys): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(policy as Record<string, unknown>) };
  delete copy['status'];
  if (!isJsonObject(copy['metadata'])) return copy;
  const metadata: Record<string, unknown> = { ...copy['metadata'] };
  for (const field of SERVER_MANAGED_METADATA) delete metadata[field];
  if (isJsonObject(metadata['annotations'])) {
    const annotations: Record<string, unknown> = { ...metadata['annotations'] };
    delete annotations[keys.revokedBy];
    delete annotations[keys.revokedAt];
    // An object that had no annotations before the stamps has none after them either.
    if (Object.keys(annotations).length === 0) delete metadata['annotations'];
    else metadata['annotations'] = annotations;
  }
  copy['metadata'] = metadata;
  return copy;
}

function storedForm(value: Record<string, unknown>): Record<string, unknown> {
  return withApiServerNulls(value) as Record<string, unknown>;
}

/**
 * Deep equality of JSON values, where a property that is undefined (or null) counts as absent.
 * Runs on every UPDATE over the whole spec, so it allocates nothing: keys are counted, not listed.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || !isJsonObject(a) || !isJsonObject(b)) return false;
  let present = 0;
  for (const k in a) {
    const value = a[k];
    if (value === undefined || value === null) continue;
    present++;
    if (!Object.prototype.hasOwnProperty.call(b, k) || !sameJson(value, b[k])) return false;
  }
  for (const k in b) {
    const value = b[k];
    if (value !== undefined && value !== null) present--;
  }
  return present === 0;
}
