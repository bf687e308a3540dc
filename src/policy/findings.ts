import type { RuleId } from './ruleIds.js';

/** What the config says to do when a rule fires. `off` findings are never produced. */
export type RuleAction = 'deny' | 'warn' | 'off';

/**
 * One problem with one field of a NetworkPolicy. `path` is a dotted JSON path into the object
 * (`spec.egress[0].to[1].ipBlock.cidr`) so a person can find the field without reading code.
 */
export interface Finding {
  ruleId: RuleId;
  path: string;
  /** One line: what is wrong, naming the offending value. */
  reason: string;
  /** One line: how to fix it. */
  hint: string;
  /** The effective action after config (per-rule action and global mode) is applied. */
  action: Exclude<RuleAction, 'off'>;
}

/** `[rule-id] path reason; hint` — the line format used in denial messages, warnings and `check`. */
export function formatFinding(finding: Finding): string {
  return `[${finding.ruleId}] ${finding.path} ${finding.reason}; ${finding.hint}`;
}
