import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { GrantRequestLookup } from '../approval/approvedPolicy.js';
import type { ClusterView } from '../cluster/view.js';
import type { GuardConfig } from '../config/types.js';
import { readGrantAnnotations, stringEntry } from '../lifecycle/annotations.js';
import { resolveExpiry } from '../lifecycle/expiry.js';
import { normalizeTicket } from '../lifecycle/ticket.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import { sameButRevocation } from '../lifecycle/updateChanges.js';
import { grantsAccess } from './breadth.js';
import type { PolicyEffect } from './effect/analyze.js';
import { isExemptNamespace } from './exempt.js';
import { type Finding, formatFinding, type RuleAction } from './findings.js';
import type { RuleId } from './rules/index.js';
import type { RuleDefinition } from './rules/types.js';
import { ANALYSIS_TOO_LARGE, type AnalysisTooLarge, CATALOG_RULES, PolicyWalk, type RawFinding, type RuleSet, type SkippedRule } from './walk.js';

export interface RequestUser {
  username: string;
  groups: readonly string[];
}

/**
 * Who asks, when, under which config and with what view of the cluster: built once per admission
 * request (or per `check`/`grant` run) and shared by every decision made for it.
 */
export interface DecisionContext {
  config: GuardConfig;
  now: Date;
  user: RequestUser;
  /** Cluster state for rules that need it; without it (or when stale) those rules are skipped. */
  cluster?: ClusterView;
  /**
   * The config requires the cluster view: a rule that needs it but cannot run (no view, or a stale
   * one) then denies the request instead of being skipped. Same as `onClusterUnavailable: 'deny'`.
   */
  clusterViewRequired?: boolean;
  /**
   * What a rule that needs the view does when it cannot run: deny (fail closed) or warn (admit with
   * a warning saying it was not checked). Unset: skipped and listed in skippedRules only, as in
   * `check` and in a webhook started without a cluster (which logs that once at start).
   */
  onClusterUnavailable?: 'deny' | 'warn';
  /**
   * The profile could not be chosen for sure: some profile matches on namespace labels and the
   * view does not know them (stale, or the namespace is newer than the view). Treated like a rule
   * that could not run.
   */
  profileUndetermined?: boolean;
  /**
   * The GrantRequest a controller-written grant names, read live by the webhook's shell (rule
   * approval-required); absent when it was not read.
   */
  grantRequest?: GrantRequestLookup;
}

export interface EvaluationInput extends DecisionContext {
  operation: 'CREATE' | 'UPDATE';
  policy: V1NetworkPolicy;
  /** The stored object on UPDATE. */
  oldPolicy?: V1NetworkPolicy;
  /** Namespace of the request (object.metadata.namespace may be empty on CREATE). */
  namespace: string;
  /** The rules to run; the catalog unless a test supplies its own. */
  rules?: RuleSet;
}

export type EvaluationDisposition =
  | 'evaluated'
  | 'exempt-namespace'
  | 'break-glass'
  | 'permanent-principal'
  | 'no-access-granted'
  /** An UPDATE that only carries the requesting user's revocation stamp (`revoke`, before it deletes). */
  | 'revocation-only';

export interface Evaluation {
  allowed: boolean;
  disposition: EvaluationDisposition;
  grantsAccess: boolean;
  /** Every finding whose rule is not `off`, with its effective action. */
  findings: Finding[];
  /** Admission warnings (kubectl prints them), already formatted. */
  warnings: string[];
  /** Denial message when not allowed: a headline then one `[rule-id] …` line per deny finding. */
  message?: string;
  expiresAt?: string;
  ticket?: string;
  /** Rules that did not run for lack of a usable cluster view; present only when there are any. */
  skippedRules?: SkippedRule[];
  /** The profile whose config judged the request (`default`: the top level). */
  profile: string;
  /** What admitting the policy changes; present when a usable cluster view was given and the policy was judged. */
  effect?: PolicyEffect;
  /** The effect analysis ran out of limits.maxAnalysisWork: the rules reading it are in skippedRules. */
  analysisTooLarge?: AnalysisTooLarge;
}

/**
 * The guardrail decision for one NetworkPolicy. Pure: same input, same output; no clock, I/O or
 * logging. Used by /validate, by /mutate (for warnings) and by `netpol-guard check`.
 */
export function evaluatePolicy(input: EvaluationInput): Evaluation {
  const { policy, config, namespace, user, now } = input;
  const granting = grantsAccess(policy);
  const grant = readGrantAnnotations(policy, config.keys);
  const rawTicket = grant.ticket === undefined ? undefined : normalizeTicket(grant.ticket);
  const ticket = rawTicket === '' ? undefined : rawTicket;
  const expiry = resolveExpiry(grant, config.defaultTTL?.ms, now);
  const expiresAt = 'at' in expiry ? formatTimestamp(expiry.at) : undefined;
  // Every return goes through here, so each verdict carries the same grant details. Built field
  // by field: an object spread here measured as the costliest line of a whole admission request.
  let skipped: readonly SkippedRule[] = [];
  let effect: PolicyEffect | undefined;
  let tooLarge: AnalysisTooLarge | undefined;
  const verdict = (fields: Omit<Evaluation, 'grantsAccess' | 'ticket' | 'expiresAt' | 'profile'>): Evaluation => {
    const { allowed, disposition, findings, warnings, message } = fields;
    const evaluation: Evaluation = { allowed, disposition, grantsAccess: granting, findings, warnings, profile: config.profile };
    if (message !== undefined) evaluation.message = message;
    if (ticket !== undefined) evaluation.ticket = ticket;
    if (expiresAt !== undefined) evaluation.expiresAt = expiresAt;
    if (skipped.length > 0) evaluation.skippedRules = [...skipped];
    if (effect !== undefined) evaluation.effect = effect;
    if (tooLarge !== undefined) evaluation.analysisTooLarge = tooLarge;
    return evaluation;
  };

  if (isExemptNamespace(config, namespace)) {
    return verdict({ allowed: true, disposition: 'exempt-namespace', findings: [], warnings: [] });
  }
  if (isRevocationOnly(input)) {
    // Revoking only takes access away, so it is never judged: a grant past its expiry, or one the
    // config has since tightened against, must still be revocable. Any other change in the same
    // UPDATE makes it an ordinary one, judged below.
    return verdict({ allowed: true, disposition: 'revocation-only', findings: [], warnings: [] });
  }
  if (!granting) {
    return verdict({ allowed: true, disposition: 'no-access-granted', findings: [], warnings: [] });
  }

  const permanent = isPermanentPrincipal(user, config);
  const walk = new PolicyWalk(input, input.rules ?? CATALOG_RULES);
  skipped = activeSkipped(walk.skipped, config, input.rules, permanent);
  walk.walkPolicy();
  effect = walk.effect();
  tooLarge = walk.analysisTooLarge;
  if (!permanent) walk.checkLifecycle({ grant, expiry, ticket });
  // Rules that wanted the effect analysis past its budget did not judge: never a silent pass.
  const unjudged = activeSkipped(walk.unjudged, config, input.rules, permanent);
  if (unjudged.length > 0) skipped = [...skipped, ...unjudged];

  const findings: Finding[] = [];
  for (const f of walk.findings) {
    // A rule the config cannot name (only a test's own rule set has those) keeps its default.
    const configured = config.rules[f.ruleId] ?? ruleDefault(input.rules, f.ruleId);
    if (configured === 'off') continue;
    const softened = permanent && configured === 'deny' && ruleDefinition(input.rules, f.ruleId)?.forPermanentPrincipals === 'warn';
    findings.push(withAction(f, config.mode === 'warn' || softened ? 'warn' : configured));
  }

  const breakGlass = user.groups.find((g) => config.breakGlassGroups.has(g));
  if (breakGlass !== undefined) {
    return verdict({
      allowed: true,
      disposition: 'break-glass',
      findings: findings.map((f) => withAction(f, 'warn')),
      warnings: [
        `netpol-guard: break-glass admission by ${user.username} (group ${breakGlass}); ${findings.length} finding(s) bypassed and audited`,
        ...findings.map(formatFinding),
      ],
    });
  }

  const denied: Finding[] = [];
  const warnings: string[] = [];
  for (const f of findings) {
    if (f.action === 'deny') denied.push(f);
    else warnings.push(formatFinding(f));
  }
  const disposition = permanent ? 'permanent-principal' : 'evaluated';
  // Never silently allowed: a rule the config says must run, and could not, is a problem too.
  const onUnavailable = input.clusterViewRequired === true ? 'deny' : input.onClusterUnavailable;
  // Where the view is optional (`check`), only an analysis too large to finish is reported (as a warning).
  const unchecked = uncheckedLines(input, skipped, onUnavailable !== undefined);
  // An undecided profile is never passed over in silence, even where the view is optional (`check`).
  if (onUnavailable === undefined && input.profileUndetermined === true) warnings.push(`netpol-guard: ${profileLine(input)}`);
  const refuse = onUnavailable === 'deny' && config.mode !== 'warn';
  if (!refuse) warnings.push(...unchecked.map((line) => `netpol-guard: ${line}`));
  const refused = refuse ? unchecked : [];
  if (denied.length === 0 && refused.length === 0) return verdict({ allowed: true, disposition, findings, warnings });
  const name = policy.metadata?.name ?? policy.metadata?.generateName ?? '<unnamed>';
  const problems = denied.map(formatFinding);
  problems.push(...refused);
  const profile = config.profile === DEFAULT_PROFILE ? '' : ` (profile ${config.profile})`;
  const message = `netpol-guard denied NetworkPolicy ${namespace}/${name}${profile}: ${problems.length} problem(s)\n` + problems.join('\n');
  return verdict({ allowed: false, disposition, findings, warnings, message });
}

const DEFAULT_PROFILE = 'default';

/**
 * One line per rule (or the profile choice) that could not be judged, saying it is the view or the
 * analysis's size, not the grant. `viewRequired` false: only the analysis's size (the view is optional).
 */
function uncheckedLines(input: EvaluationInput, skipped: readonly SkippedRule[], viewRequired: boolean): string[] {
  const stale = input.cluster !== undefined && input.cluster.stale();
  const lines: string[] = [];
  if (viewRequired && input.profileUndetermined === true) lines.push(profileLine(input));
  for (const rule of skipped) {
    if (rule.reason === ANALYSIS_TOO_LARGE) {
      lines.push(
        `[${rule.ruleId}] not checked: the effect analysis of this policy needs more than limits.maxAnalysisWork (${input.config.limits.maxAnalysisWork}) steps in namespace ${input.namespace}, so it was stopped; nothing is known to be wrong with the grant, but it is too large to judge at admission: narrow spec.podSelector or the peers, or raise limits.maxAnalysisWork for profile ${input.config.profile}`,
      );
      continue;
    }
    if (!viewRequired) continue;
    // A part the view was built without is not a moment's staleness: listed in skippedRules only.
    if (rule.reason !== 'needs a cluster view') continue;
    lines.push(
      stale
        ? `[${rule.ruleId}] not checked: netpol-guard's cluster view is stale (not yet synced, or a watch broken longer than clusterView.maxStaleness); nothing is known to be wrong with the grant: retry in a moment`
        : `[${rule.ruleId}] not checked: the rule ${rule.reason}, which is required but missing or stale; retry when netpol-guard has synced`,
    );
  }
  return lines;
}

/**
 * Skipped rules that could have fired: not off, active under the config (see
 * RuleDefinition.activeUnder), and for a permanent principal not one that only judges grants
 * (lifecycle hook alone), which would not have run for them anyway.
 */
function activeSkipped(skipped: readonly SkippedRule[], config: GuardConfig, rules: RuleSet | undefined, permanent: boolean): readonly SkippedRule[] {
  if (skipped.length === 0) return skipped;
  return skipped.filter((s) => {
    if (config.rules[s.ruleId] === 'off') return false;
    const definition = (rules ?? CATALOG_RULES).rules.find((rule) => rule.id === s.ruleId);
    if (permanent && definition !== undefined && Object.keys(definition.check).every((hook) => hook === 'lifecycle')) return false;
    return definition?.activeUnder?.(config) ?? true;
  });
}

function profileLine(input: EvaluationInput): string {
  const why = input.cluster === undefined ? 'there is no cluster view' : input.cluster.stale() ? 'the cluster view is stale' : 'the namespace is newer than the cluster view';
  return `[profile] not chosen for sure: a profile matches on namespace labels and the labels of namespace ${input.namespace} are unknown (${why}); judged by profile ${input.config.profile}. Nothing is known to be wrong with the grant: retry in a moment, or give --namespace-labels offline`;
}

function ruleDefinition(rules: RuleSet | undefined, id: RuleId): RuleDefinition<RuleId> | undefined {
  return (rules ?? CATALOG_RULES).rules.find((rule) => rule.id === id);
}

function ruleDefault(rules: RuleSet | undefined, id: RuleId): RuleAction {
  return ruleDefinition(rules, id)?.defaultAction ?? 'deny';
}

function withAction(finding: RawFinding, action: Finding['action']): Finding {
  return { ruleId: finding.ruleId, path: finding.path, reason: finding.reason, hint: finding.hint, action };
}

/**
 * The UPDATE `revoke` sends, as the mutator left it: nothing changed but the revocation stamps, and
 * revoked-by names the requesting user. A stamp naming anyone else, which only a missing mutator
 * lets through, gets no free pass. (An UPDATE that changes nothing at all on an object this user
 * revoked passes too: it changes nothing.)
 */
function isRevocationOnly(input: EvaluationInput): boolean {
  if (input.operation !== 'UPDATE' || input.oldPolicy === undefined) return false;
  const keys = input.config.keys;
  if (stringEntry(input.policy.metadata?.annotations, keys.revokedBy) !== input.user.username) return false;
  return sameButRevocation(input.oldPolicy, input.policy, keys);
}

export function isPermanentPrincipal(user: RequestUser, config: GuardConfig): boolean {
  const p = config.permanentPrincipals;
  return p.users.has(user.username) || p.serviceAccountUsernames.has(user.username) || user.groups.some((g) => p.groups.has(g));
}
