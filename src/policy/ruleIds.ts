/**
 * Stable rule identifiers, derived from the rule catalog (src/policy/rules/index.ts). Configs,
 * dashboards and alerting rules key on these strings, so they are part of the public contract:
 * never rename one, only add.
 */
import { ruleIdsOf } from './rules/index.js';

export { isRuleId, RULE_IDS, type RuleId } from './rules/index.js';

export const BREADTH_RULE_IDS = ruleIdsOf('breadth');
export const LIFECYCLE_RULE_IDS = ruleIdsOf('lifecycle');
