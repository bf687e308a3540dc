import { DEFAULT_ANNOTATION_PREFIX } from '../lifecycle/annotations.js';
import type { RuleAction } from '../policy/findings.js';
import { RULE_IDS, type RuleId } from '../policy/ruleIds.js';
import type { ConfigFile } from './types.js';

/**
 * The embedded default: what runs when no config file is given. Every rule denies; grants may live
 * a day and be extended up to three days from when they were first granted.
 */
export const DEFAULT_CONFIG: Required<ConfigFile> = {
  mode: 'enforce',
  annotationPrefix: DEFAULT_ANNOTATION_PREFIX,
  limits: {
    minIPv4PrefixLength: 16,
    minIPv6PrefixLength: 48,
    maxPortRange: 100,
    maxTTL: '24h',
    maxLifetime: '72h',
  },
  defaultTTL: null,
  ticket: {
    pattern: '^[A-Z][A-Z0-9_]*-[0-9]+$',
    urlTemplate: null,
  },
  exemptNamespaces: ['kube-system', 'kube-public', 'kube-node-lease'],
  permanentPrincipals: { users: [], groups: [], serviceAccounts: [] },
  breakGlassGroups: [],
  rules: Object.fromEntries(RULE_IDS.map((id) => [id, 'deny'])) as Record<RuleId, RuleAction>,
  history: { retention: '90d' },
};
