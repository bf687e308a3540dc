import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { type AnnotationKeys, readStamp, type Stamp } from '../lifecycle/annotations.js';

/**
 * What `revoke` writes into revoked-by to ask the mutating webhook for the revocation stamp. Any
 * value would do (the mutator replaces it with the request's user and the time); this one says
 * what it is to whoever finds it on an object the webhook did not see.
 */
export const REVOCATION_REQUEST = 'requested';

export interface RevocationRequestPatch extends Record<string, unknown> {
  metadata: { uid: string; resourceVersion: string; annotations: Record<string, string | null> };
}

/**
 * The merge patch that asks for the revocation stamp: revoked-by set to the request value and
 * revoked-at removed, so an object the webhook did not stamp never holds a whole stamp. uid and
 * resourceVersion make it apply only to the object that was read (409 otherwise).
 */
export function revocationRequestPatch(current: { uid: string; resourceVersion: string }, keys: AnnotationKeys): RevocationRequestPatch {
  return {
    metadata: {
      uid: current.uid,
      resourceVersion: current.resourceVersion,
      annotations: { [keys.revokedBy]: REVOCATION_REQUEST, [keys.revokedAt]: null },
    },
  };
}

/** The revocation stamp the mutator wrote into the UPDATE's response, or undefined when it did not. */
export function stampedRevocation(updated: V1NetworkPolicy, keys: AnnotationKeys): Stamp | undefined {
  const stamp = readStamp(updated, keys.revokedBy, keys.revokedAt);
  return stamp === undefined || stamp.by === REVOCATION_REQUEST ? undefined : stamp;
}
