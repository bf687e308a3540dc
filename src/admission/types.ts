import type { ClusterView } from '../cluster/view.js';
import type { GuardConfig } from '../config/types.js';
import type { JsonPatchOperation } from '../lifecycle/patch.js';
import type { Finding } from '../policy/findings.js';

/**
 * admission.k8s.io/v1 wire types. The API server's schema is the authority; these cover the fields
 * netpol-guard reads or writes. `object`/`oldObject` stay `unknown` until checked at the edge.
 */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface AdmissionUserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  requestSubResource?: string;
  name?: string;
  namespace?: string;
  operation: AdmissionOperation;
  userInfo: AdmissionUserInfo;
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
  options?: unknown;
}

export interface AdmissionStatus {
  code?: number;
  message?: string;
  reason?: string;
  status?: 'Success' | 'Failure';
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  patch?: string;
  patchType?: 'JSONPatch';
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

// The patch is built in src/lifecycle; re-exported because AdmissionDecision carries it.
export type { JsonPatchOperation } from '../lifecycle/patch.js';

/** Why a request got the verdict it got, for the audit line and metrics. */
export type Disposition =
  | 'evaluated'
  | 'not-networkpolicy'
  | 'operation-ignored'
  | 'exempt-namespace'
  | 'break-glass'
  | 'permanent-principal'
  | 'no-access-granted'
  | 'revocation-only'
  /** Denied by size (policy-too-large) before anything else was checked. */
  | 'policy-too-large';

/**
 * What a handler decided, before encoding. Handlers are pure: the server supplies config and `now`
 * and turns the decision into an AdmissionResponse (base64 patch, status 403 on denial).
 */
export interface AdmissionDecision {
  allowed: boolean;
  /** Denial message: every deny finding, one per line, each starting with its [rule-id]. */
  message?: string;
  warnings: string[];
  auditAnnotations: Record<string, string>;
  /** Empty when there is nothing to patch (the response then carries no patch or patchType). */
  patch: JsonPatchOperation[];
  findings: Finding[];
  disposition: Disposition;
  /** Ticket and expiry of the grant when present, for the audit log line. */
  ticket?: string;
  expiresAt?: string;
  /** The profile whose config judged the request, when a handler chose one. */
  profile?: string;
  /** What the policy opens (effect summary), when a cluster view was present; for the audit line. */
  effect?: string;
  /** The effect analysis ran out of limits.maxAnalysisWork (counted in metrics). */
  analysisTooLarge?: true;
}

/** `cluster`: the read-only cluster view when the server has one (absent: no view, its rules skipped). */
export type AdmissionHandler = (request: AdmissionRequest, config: GuardConfig, now: Date, cluster?: ClusterView) => AdmissionDecision;
