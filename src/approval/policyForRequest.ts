import type { V1NetworkPolicy, V1OwnerReference } from '@kubernetes/client-node';
import { type AnnotationKeys, TEMPORARY_LABEL_VALUE } from '../lifecycle/annotations.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import { GRANT_REQUEST_API_VERSION, GRANT_REQUEST_KIND, type GrantRequest } from './grantRequest.js';

/**
 * The NetworkPolicy the controller creates for an approved request, exactly as the webhook checks
 * it (approval-required): the request's spec.policy unchanged, the temporary label, expires-at
 * counted from the approval, the requester (not the controller), the ticket, the approvers in
 * approval order, the request's name, and an owner reference to the request so that deleting
 * the request deletes the access (garbage collection; the controller does it too).
 * Wire JSON (`ingress[].from`), as stored in the request.
 */
export function approvedPolicy(request: GrantRequest, name: string, approvers: readonly string[], expiresAt: Date, keys: AnnotationKeys): V1NetworkPolicy {
  const meta = request.metadata ?? {};
  const spec = request.spec;
  if (meta.name === undefined || meta.namespace === undefined || meta.uid === undefined || spec === undefined) {
    throw new TypeError('an approved policy needs the request\'s name, namespace, uid and spec');
  }
  const annotations: Record<string, string> = {
    [keys.expiresAt]: formatTimestamp(expiresAt),
    [keys.ticket]: spec.ticket,
    [keys.approvedBy]: approvers.join(','),
    [keys.grantRequest]: meta.name,
  };
  if (spec.requestedBy !== undefined) annotations[keys.requestedBy] = spec.requestedBy;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name,
      namespace: meta.namespace,
      labels: { [keys.temporaryLabel]: TEMPORARY_LABEL_VALUE },
      annotations,
      ownerReferences: [ownerReferenceTo(request)],
    },
    spec: JSON.parse(JSON.stringify(spec.policy)) as V1NetworkPolicy['spec'],
  };
}

/**
 * controller: true marks the request as the policy's managing owner. blockOwnerDeletion is left
 * out: setting it needs update on grantrequests/finalizers, a power the controller has no other
 * use for, and the request's deletion is followed by the controller anyway.
 */
export function ownerReferenceTo(request: GrantRequest): V1OwnerReference {
  return { apiVersion: GRANT_REQUEST_API_VERSION, kind: GRANT_REQUEST_KIND, name: request.metadata!.name!, uid: request.metadata!.uid!, controller: true };
}

/** The uid of the GrantRequest that owns `policy` (the controlling owner reference), if any. */
export function owningRequestUid(policy: V1NetworkPolicy | undefined): string | undefined {
  for (const ref of policy?.metadata?.ownerReferences ?? []) {
    if (ref.kind === GRANT_REQUEST_KIND && ref.apiVersion === GRANT_REQUEST_API_VERSION && ref.controller === true) return ref.uid;
  }
  return undefined;
}

/**
 * The names the policy may take, in order: the request's own name, and when a NetworkPolicy of that
 * name exists that is not this request's, the name with the request's uid appended. Deterministic,
 * so two leaders (or one retrying) try the same names and the second create meets the first's
 * policy (409) instead of opening the access twice.
 */
export function policyNameCandidates(request: GrantRequest): string[] {
  const name = request.metadata!.name!;
  const suffix = `-${(request.metadata!.uid ?? '').replace(/[^a-z0-9]/g, '').slice(0, 10)}`;
  return [name, `${name.slice(0, 253 - suffix.length)}${suffix}`];
}
