import type { V1LabelSelector } from '@kubernetes/client-node';
import type { AnnotationKeys } from '../lifecycle/annotations.js';
import type { RuleAction } from '../policy/findings.js';
import type { ForbiddenRange } from '../policy/openedTotals.js';
import type { RuleId } from '../policy/ruleIds.js';

/** The config file as a platform team writes it (every key optional; see defaults.ts). */
export interface ConfigFile {
  mode?: 'enforce' | 'warn';
  annotationPrefix?: string;
  limits?: {
    minIPv4PrefixLength?: number;
    minIPv6PrefixLength?: number;
    maxPortRange?: number;
    forbiddenCIDRs?: string[];
    maxTTL?: string;
    maxLifetime?: string;
    maxPolicyElements?: number;
    /** A CREATE matching a grant that ended within this is denied (grant-recreated); null: maxLifetime. */
    recreateCooldown?: string | null;
    maxTargetPods?: number;
    maxPeerPods?: number;
    maxPeerNamespaces?: number;
    maxAnalysisWork?: number;
  };
  defaultTTL?: string | null;
  ticket?: { pattern?: string; urlTemplate?: string | null };
  exemptNamespaces?: string[];
  permanentPrincipals?: { users?: string[]; groups?: string[]; serviceAccounts?: string[] };
  breakGlassGroups?: string[];
  rules?: Partial<Record<RuleId, RuleAction>>;
  /** GrantRecords: closed ones older than `retention` are pruned by the controller. */
  history?: { retention?: string };
  /** Caps on live grants, counted in the webhook's cluster view; null: unlimited. */
  quotas?: QuotasFile;
  /** The webhook's read-only cluster view (top level only; profiles inherit it). */
  clusterView?: { maxStaleness?: string; onUnavailable?: 'deny' | 'warn' | null; pods?: boolean };
  /** Ordered overrides for matching namespaces; the first match wins, none: the top level. */
  profiles?: ProfileFile[];
  /**
   * Two-person rule (README: Approvals): how many distinct approvers a GrantRequest needs before the
   * controller opens its access (0: off, grants are applied directly), and how long one may wait.
   */
  approval?: ApprovalFile;
  /** The controller's ExpiringSoon Event and outbound webhooks (README: Notifications). */
  notify?: { beforeExpiry?: string; webhooks?: WebhookTargetFile[] };
}

export interface ApprovalFile {
  /** Distinct approvers needed (0: approval off). */
  required?: number;
  /** A request still Pending this long after it was filed lapses. */
  pendingTTL?: string;
  /**
   * API server usernames allowed to create the NetworkPolicy of an approved request (the
   * controller's ServiceAccount). Top level only: a profile cannot widen who the controller is.
   */
  controllerUsers?: string[];
}

export interface QuotasFile {
  maxLiveGrantsPerNamespace?: number | null;
  maxLiveGrantsPerRequester?: number | null;
}

/** Which namespaces a profile applies to: every given part must match. */
export interface ProfileMatch {
  /** A Kubernetes label selector on the namespace's labels. */
  namespaceSelector?: V1LabelSelector;
  /** Namespace name globs: `*` any run of characters, `?` one character. */
  namespaces?: string[];
}

/** One profile as written: a name, a match, and the top-level keys it overrides. */
export interface ProfileFile extends Pick<ConfigFile, 'mode' | 'limits' | 'rules' | 'defaultTTL' | 'ticket' | 'quotas' | 'permanentPrincipals'> {
  /** required and pendingTTL only (controllerUsers is top level). */
  approval?: Omit<ApprovalFile, 'controllerUsers'>;
  name: string;
  match: ProfileMatch;
}

/** A compiled profile: when it applies, and the complete config it judges with. */
export interface Profile {
  name: string;
  match: ProfileMatch;
  /** Namespace globs compiled to anchored regular expressions (empty: no name condition). */
  namespacePatterns: readonly RegExp[];
  config: GuardConfig;
}

/**
 * What a grant notification is about: one per GrantRecord transition, plus `expiring`; `break-glass`
 * when a grant opens that a break-glass group admitted; and the GrantRequest transitions
 * (README: Approvals): `requested`, `approved`, `denied`, `lapsed`.
 */
export const NOTIFICATION_EVENTS = ['opened', 'changed', 'expiring', 'expired', 'revoked', 'deleted', 'break-glass', 'requested', 'approved', 'denied', 'lapsed'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** One outbound webhook as configured: the URL itself lives in a mounted Secret file, never in the config. */
export interface WebhookTargetFile {
  name: string;
  urlFile: string;
  /** PEM bundle of the CA(s) that sign the receiver's certificate, for a private CA; verification is always on. */
  caFile?: string;
  format: 'json' | 'slack';
  events: NotificationEvent[];
}

/**
 * The effective config the engine runs on: defaults merged in, durations parsed to milliseconds,
 * the ticket pattern compiled. Immutable once built; a reload builds a new one.
 */
export interface GuardConfig {
  mode: 'enforce' | 'warn';
  annotationPrefix: string;
  keys: AnnotationKeys;
  limits: {
    minIPv4PrefixLength: number;
    minIPv6PrefixLength: number;
    maxPortRange: number;
    /** Ranges no ipBlock may admit (rule ipblock-forbidden), parsed. */
    forbiddenCIDRs: readonly ForbiddenRange[];
    maxTTLms: number;
    maxLifetimeMs: number;
    /**
     * Largest policy evaluated, in rules, peers, ipBlocks and except entries, ports and selector
     * terms (see countPolicyElements); a larger one is denied as policy-too-large before any schema
     * or rule work.
     */
    maxPolicyElements: number;
    /** grant-recreated looks this far back for an ended grant. */
    recreateCooldownMs: number;
    /** Most live pods a grant may target (rule blast-radius-targets). */
    maxTargetPods: number;
    /** Most live peer pods / namespaces one direction may admit (rule blast-radius-peers). */
    maxPeerPods: number;
    maxPeerNamespaces: number;
    /**
     * Steps (counted operations, not time) the effect analysis may take for one policy; past it
     * the rules reading it follow clusterView.onUnavailable instead of judging.
     */
    maxAnalysisWork: number;
  };
  /** Injected by the mutator when a grant names neither ttl nor expires-at. */
  defaultTTL: { text: string; ms: number } | undefined;
  ticket: { pattern: RegExp; urlTemplate: string | undefined };
  exemptNamespaces: ReadonlySet<string>;
  permanentPrincipals: {
    users: ReadonlySet<string>;
    groups: ReadonlySet<string>;
    /** Stored as API server usernames: `system:serviceaccount:<ns>:<name>`. */
    serviceAccountUsernames: ReadonlySet<string>;
  };
  breakGlassGroups: ReadonlySet<string>;
  rules: Readonly<Record<RuleId, RuleAction>>;
  history: { retentionMs: number };
  quotas: { maxLiveGrantsPerNamespace: number | undefined; maxLiveGrantsPerRequester: number | undefined };
  approval: {
    /** Distinct approvers a GrantRequest needs; 0: approval is off in this profile. */
    required: number;
    pendingTtlMs: number;
    controllerUsers: ReadonlySet<string>;
  };
  clusterView: {
    maxStalenessMs: number;
    /** What rules that need the view do when it is stale or missing: deny (fail closed) or warn. */
    onUnavailable: 'deny' | 'warn';
    /** Pods and every NetworkPolicy in the view, for the effect rules (isolates-pods, blast radius). */
    pods: boolean;
  };
  /** The profile this config is: `default` for the top level. */
  profile: string;
  /** The top level's profiles in order (empty inside a profile's own config). */
  profiles: readonly Profile[];
  notify: { beforeExpiryMs: number; webhooks: readonly WebhookTargetFile[] };
  /** The merged file form, for `/readyz` detail and for printing the effective config. */
  source: Required<ConfigFile>;
}
