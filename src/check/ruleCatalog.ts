import type { RuleId } from '../policy/ruleIds.js';
import { RULES } from '../policy/rules/index.js';
import type { RuleDefinition } from '../policy/rules/types.js';

/**
 * Human descriptions of every rule, for SARIF's reportingDescriptor (code-scanning UIs show them
 * next to each result). Each rule's text lives in its file under src/policy/rules/; only the
 * pseudo rule for documents that never reach the engine is described here.
 */
export interface RuleDescription {
  short: string;
  full: string;
  help: string;
}

const INVALID_MANIFEST: RuleDescription = {
  short: 'document is not a valid NetworkPolicy',
  full: 'The document is not valid YAML, or does not match the networking.k8s.io/v1 NetworkPolicy schema (unknown fields, wrong types, malformed CIDRs), so the API server would reject it.',
  help: 'Fix the reported field; netpol-guard evaluates only what the API server would store.',
};

export const RULE_CATALOG: Readonly<Record<RuleId | 'invalid-manifest', RuleDescription>> = {
  ...(Object.fromEntries(
    (RULES as readonly RuleDefinition<RuleId>[]).map((rule) => [rule.id, { short: rule.summary, full: rule.explanation, help: rule.fix }]),
  ) as Record<RuleId, RuleDescription>),
  'invalid-manifest': INVALID_MANIFEST,
};
