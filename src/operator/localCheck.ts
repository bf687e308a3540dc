import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { GuardConfig } from '../config/types.js';
import { evaluatePolicy, type Evaluation } from '../policy/evaluate.js';
import { type Finding, formatFinding } from '../policy/findings.js';
import type { RuleId } from '../policy/ruleIds.js';
import { ruleById } from '../policy/rules/index.js';
import { checkNetworkPolicyShape } from '../policy/shape.js';
import { DIRECTION_FLAGS, type GrantDirection } from './grantFlags.js';

/**
 * The webhook's verdict, computed before anything is sent. It runs as an ordinary requester (no
 * permanent-principal or break-glass group), because a CLI cannot know the groups the API server
 * will see; such users pass --skip-local-check and let the webhook decide.
 */
export interface LocalCheckInput {
  operation: 'CREATE' | 'UPDATE';
  policy: V1NetworkPolicy;
  oldPolicy?: V1NetworkPolicy;
  namespace: string;
  config: GuardConfig;
  now: Date;
}

export type LocalCheck =
  | { kind: 'invalid'; allowed: false; errors: string[] }
  | { kind: 'evaluated'; allowed: boolean; evaluation: Evaluation };

export const LOCAL_CHECK_USER = { username: '', groups: [] as string[] };

export function checkLocally(input: LocalCheckInput): LocalCheck {
  if (input.operation === 'CREATE') {
    const shape = checkNetworkPolicyShape(input.policy, { strictCidrs: true });
    if (!shape.ok) return { kind: 'invalid', allowed: false, errors: shape.errors };
  }
  const evaluation = evaluatePolicy({
    operation: input.operation,
    policy: input.policy,
    ...(input.oldPolicy !== undefined && { oldPolicy: input.oldPolicy }),
    namespace: input.namespace,
    user: LOCAL_CHECK_USER,
    config: input.config,
    now: input.now,
  });
  return { kind: 'evaluated', allowed: evaluation.allowed, evaluation };
}

/** Finding lines, deny first, as `check` prints them: `[rule-id] path reason; hint`. */
export function findingLines(findings: readonly Finding[]): string[] {
  const ordered = [...findings].sort((a, b) => (a.action === b.action ? 0 : a.action === 'deny' ? -1 : 1));
  return ordered.map((f) => `  ${f.action === 'warn' ? 'warning: ' : ''}${formatFinding(f)}`);
}

/**
 * Which `grant` flag changes the field a rule complains about, so the fix is one edit away. The
 * rule's definition names the flag; the direction decides its spelling (--from-cidr, --to-cidr).
 */
export function grantFlagFor(ruleId: RuleId, direction: GrantDirection): string {
  const flags = DIRECTION_FLAGS[direction];
  return ruleById(ruleId)
    .grant.map((ref) => `--${ref === 'port' || ref === 'for' || ref === 'ticket' ? ref : flags[ref]}`)
    .join('/');
}

export function grantFlagsToChange(findings: readonly Finding[], direction: GrantDirection): string[] {
  const out: string[] = [];
  for (const f of findings) {
    if (f.action !== 'deny') continue;
    const flag = grantFlagFor(f.ruleId, direction);
    if (!out.includes(flag)) out.push(flag);
  }
  return out;
}
