import type { V1NetworkPolicySpec, V1ObjectMeta } from '@kubernetes/client-node';

/**
 * A GrantRequest (grantrequests.netpol-guard.io, v1alpha1; its schema is
 * manifests/crds/grantrequests.netpol-guard.io.yaml): access somebody wants, waiting for the
 * approvals its namespace's profile requires (config `approval.required`). This file is the
 * contract the webhook, the controller and the CLI share; it holds no logic that decides.
 *
 * Life of a request:
 *   Pending   filed; the webhook judged the embedded policy like a NetworkPolicy and stamped
 *             spec.requestedBy from the CREATE's userInfo.
 *   Approved  enough distinct approvers (never the requester) wrote an approval through the
 *             status subresource; the webhook stamped each entry's `by` and `at`.
 *   Active    the controller created the NetworkPolicy (status.policyName), expiring
 *             status.approvedAt + spec.duration.
 *   Denied    one approver denied it (status.denial); nothing is created.
 *   Lapsed    still Pending approval.pendingTTL after creation; nothing is created.
 *   Expired   the NetworkPolicy reached its expiry and the controller deleted it.
 *   Revoked   the NetworkPolicy was revoked (or deleted) before its expiry.
 *   Withdrawn the requester withdrew it before it was approved.
 */

export const GRANT_REQUEST_GROUP = 'netpol-guard.io';
export const GRANT_REQUEST_VERSION = 'v1alpha1';
export const GRANT_REQUEST_API_VERSION = `${GRANT_REQUEST_GROUP}/${GRANT_REQUEST_VERSION}`;
export const GRANT_REQUEST_KIND = 'GrantRequest';
export const GRANT_REQUEST_PLURAL = 'grantrequests';
/**
 * The custom RBAC verb that lets a user approve or deny requests in a namespace; the webhook asks
 * the API server with a SubjectAccessReview (manifests/rbac.yaml: ClusterRole netpol-guard-approver).
 */
export const APPROVE_VERB = 'approve';

export const GRANT_REQUEST_PHASES = ['Pending', 'Approved', 'Active', 'Denied', 'Lapsed', 'Expired', 'Revoked', 'Withdrawn'] as const;
export type GrantRequestPhase = (typeof GRANT_REQUEST_PHASES)[number];
/** Phases after which nothing about the request changes any more. */
export const FINAL_GRANT_REQUEST_PHASES: ReadonlySet<GrantRequestPhase> = new Set(['Denied', 'Lapsed', 'Expired', 'Revoked', 'Withdrawn']);

export interface GrantRequestSpec {
  /** The access wanted, exactly as the NetworkPolicy's spec will be. */
  policy: V1NetworkPolicySpec;
  /** How long the access lasts, counted from the approval that made it enough (TTL syntax: 2h, 90m). */
  duration: string;
  ticket: string;
  /** Why, in the requester's words (shown to approvers). */
  reason?: string;
  /**
   * Who filed it: written by the mutating webhook from the CREATE's userInfo; a client's value is
   * replaced. The spec never changes after creation (the webhook denies any spec UPDATE).
   */
  requestedBy?: string;
}

/** One approval; `by` and `at` are stamped by the mutating webhook, never taken from the client. */
export interface GrantApproval {
  by: string;
  at: string;
  comment?: string;
}

/** The denial that ended a request; `by` and `at` stamped like an approval's. */
export interface GrantDenial {
  by: string;
  at: string;
  reason: string;
}

export interface GrantRequestStatus {
  phase?: GrantRequestPhase;
  /** Append-only: an approval once written is never removed or altered. */
  approvals?: GrantApproval[];
  denial?: GrantDenial;
  /** Distinct approvers the profile required when the request was filed. */
  requiredApprovals?: number;
  /** When the approval that made the count enough was stamped: the access's clock starts here. */
  approvedAt?: string;
  /** The NetworkPolicy the controller created for it (same namespace, owner reference to the request). */
  policyName?: string;
  /** approvedAt + spec.duration. */
  expiresAt?: string;
  /** When the request reached a final phase. */
  closedAt?: string;
  /** Human-readable reason for the current phase (lapsed after 1h, denied by …). */
  message?: string;
}

export interface GrantRequest {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: GrantRequestSpec;
  status?: GrantRequestStatus;
}

// The annotations the controller writes on the NetworkPolicy of an approved request are
// AnnotationKeys.grantRequest and AnnotationKeys.approvedBy (src/lifecycle/annotations.ts).
