/**
 * Stable rule identifiers. Configs, dashboards and alerting rules key on these strings, so they
 * are part of the public contract: never rename one, only add.
 */
export const BREADTH_RULE_IDS = [
  'ipblock-all-addresses',
  'ipblock-too-wide',
  'ipblock-total-too-wide',
  'ipblock-forbidden',
  'namespace-selector-all',
  'pod-selector-all-peer',
  'target-all-pods',
  'peer-any',
  'port-any',
  'port-range-too-wide',
  'ports-total-too-wide',
] as const;

export const LIFECYCLE_RULE_IDS = [
  'expiry-missing',
  'expiry-invalid',
  'expiry-in-past',
  'expiry-too-far',
  'lifetime-exceeded',
  'ticket-missing',
  'ticket-invalid',
] as const;

export const RULE_IDS = [...BREADTH_RULE_IDS, ...LIFECYCLE_RULE_IDS] as const;

export type BreadthRuleId = (typeof BREADTH_RULE_IDS)[number];
export type LifecycleRuleId = (typeof LIFECYCLE_RULE_IDS)[number];
export type RuleId = (typeof RULE_IDS)[number];

export function isRuleId(value: string): value is RuleId {
  return (RULE_IDS as readonly string[]).includes(value);
}
