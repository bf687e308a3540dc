import { DEFAULT_ANNOTATION_PREFIX } from '../lifecycle/annotations.js';
import type { RuleAction } from '../policy/findings.js';
import type { RuleId } from '../policy/ruleIds.js';
import { RULES } from '../policy/rules/index.js';
import type { RuleDefinition } from '../policy/rules/types.js';
import type { ConfigFile } from './types.js';

/**
 * The embedded default: what runs when no config file is given. Every rule takes its catalog
 * default (all deny but target-selects-nothing, a warning); grants may live a day and be extended up to three days from when they were first granted.
 */
export const DEFAULT_CONFIG: Required<ConfigFile> = {
  mode: 'enforce',
  annotationPrefix: DEFAULT_ANNOTATION_PREFIX,
  limits: {
    minIPv4PrefixLength: 16,
    minIPv6PrefixLength: 48,
    maxPortRange: 100,
    // The cloud instance-metadata endpoints (AWS, GCP, Azure, and AWS's IPv6 one): pod credentials are stolen there.
    forbiddenCIDRs: ['169.254.169.254/32', 'fd00:ec2::254/128'],
    maxTTL: '24h',
    maxLifetime: '72h',
    // Real policies have tens of elements, generated allowlists hundreds; judging one element costs
    // about 3 µs, so the largest policy evaluated costs about 6 ms (README: "Server bounds").
    maxPolicyElements: 2_000,
    // null: as long as maxLifetime, so an ended grant cannot come back before it could have lived out its whole lifetime.
    recreateCooldown: null,
    // What one grant may reach among live pods (rules blast-radius-targets and blast-radius-peers).
    maxTargetPods: 50,
    maxPeerPods: 200,
    maxPeerNamespaces: 10,
    // Steps the effect analysis may take per admission (src/policy/effect/workMeter.ts). A typical
    // grant in a namespace of 1,000 pods and 200 policies takes about 5,000; one over all 1,000 pods
    // about 200,000; a step is 1-3 µs on a busy 2-core machine, so the cap is about a second.
    maxAnalysisWork: 1_000_000,
  },
  defaultTTL: null,
  ticket: {
    pattern: '^[A-Z][A-Z0-9_]*-[0-9]+$',
    urlTemplate: null,
  },
  exemptNamespaces: ['kube-system', 'kube-public', 'kube-node-lease'],
  permanentPrincipals: { users: [], groups: [], serviceAccounts: [] },
  breakGlassGroups: [],
  rules: Object.fromEntries((RULES as readonly RuleDefinition<RuleId>[]).map((rule) => [rule.id, rule.defaultAction])) as Record<RuleId, RuleAction>,
  history: { retention: '90d' },
  quotas: { maxLiveGrantsPerNamespace: null, maxLiveGrantsPerRequester: null },
  // Off by default: only profiles that need a second person pay the friction.
  approval: { required: 0, pendingTTL: '1h', controllerUsers: ['system:serviceaccount:netpol-guard:netpol-guard'] },
  // onUnavailable null: deny in enforce mode, warn in warn mode.
  clusterView: { maxStaleness: '30s', onUnavailable: null, pods: true },
  profiles: [],
  notify: { beforeExpiry: '10m', webhooks: [] },
};
