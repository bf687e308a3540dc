import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { GuardConfig } from '../config/types.js';
import { type GrantAnnotations, readGrantAnnotations, readGrantedAt } from '../lifecycle/annotations.js';
import { formatDuration } from '../lifecycle/duration.js';
import { type ExpirySource, resolveExpiry } from '../lifecycle/expiry.js';
import { normalizeTicket } from '../lifecycle/ticket.js';
import { formatTimestamp } from '../lifecycle/timestamp.js';
import { breadthFindings, grantsAccess, type RawFinding } from './breadth.js';
import { type Finding, formatFinding } from './findings.js';
import type { LifecycleRuleId, RuleId } from './ruleIds.js';

export interface RequestUser {
  username: string;
  groups: readonly string[];
}

export interface EvaluationInput {
  operation: 'CREATE' | 'UPDATE';
  policy: V1NetworkPolicy;
  /** The stored object on UPDATE. */
  oldPolicy?: V1NetworkPolicy;
  /** Namespace of the request (object.metadata.namespace may be empty on CREATE). */
  namespace: string;
  user: RequestUser;
  config: GuardConfig;
  now: Date;
}

export type EvaluationDisposition =
  | 'evaluated'
  | 'exempt-namespace'
  | 'break-glass'
  | 'permanent-principal'
  | 'no-access-granted';

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
  const verdict = (fields: Omit<Evaluation, 'grantsAccess' | 'ticket' | 'expiresAt'>): Evaluation => {
    const { allowed, disposition, findings, warnings, message } = fields;
    const evaluation: Evaluation = { allowed, disposition, grantsAccess: granting, findings, warnings };
    if (message !== undefined) evaluation.message = message;
    if (ticket !== undefined) evaluation.ticket = ticket;
    if (expiresAt !== undefined) evaluation.expiresAt = expiresAt;
    return evaluation;
  };

  if (config.exemptNamespaces.has(namespace)) {
    return verdict({ allowed: true, disposition: 'exempt-namespace', findings: [], warnings: [] });
  }
  if (!granting) {
    return verdict({ allowed: true, disposition: 'no-access-granted', findings: [], warnings: [] });
  }

  const permanent = isPermanentPrincipal(user, config);
  const raw: RawFinding<RuleId>[] = breadthFindings(policy, config);
  if (!permanent) raw.push(...lifecycleFindings(input, grant, expiry, ticket));

  const findings: Finding[] = [];
  for (const f of raw) {
    const configured = config.rules[f.ruleId];
    if (configured === 'off') continue;
    findings.push(withAction(f, config.mode === 'warn' ? 'warn' : configured));
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
  if (denied.length === 0) return verdict({ allowed: true, disposition, findings, warnings });
  const name = policy.metadata?.name ?? policy.metadata?.generateName ?? '<unnamed>';
  const message =
    `netpol-guard denied NetworkPolicy ${namespace}/${name}: ${denied.length} problem(s)\n` +
    denied.map(formatFinding).join('\n');
  return verdict({ allowed: false, disposition, findings, warnings, message });
}

function withAction(finding: RawFinding<RuleId>, action: Finding['action']): Finding {
  return { ruleId: finding.ruleId, path: finding.path, reason: finding.reason, hint: finding.hint, action };
}

export function isPermanentPrincipal(user: RequestUser, config: GuardConfig): boolean {
  const p = config.permanentPrincipals;
  return p.users.has(user.username) || p.serviceAccountUsernames.has(user.username) || user.groups.some((g) => p.groups.has(g));
}

function annotationPath(key: string): string {
  return `metadata.annotations["${key}"]`;
}

function lifecycleFindings(
  input: EvaluationInput,
  grant: GrantAnnotations,
  expiry: ExpirySource,
  ticket: string | undefined,
): RawFinding<LifecycleRuleId>[] {
  const { config, now, oldPolicy, operation } = input;
  const keys = config.keys;
  const out: RawFinding<LifecycleRuleId>[] = [];
  // Formatted only for a message that shows it: most requests produce no lifecycle finding.
  const maxTTL = (): string => formatDuration(config.limits.maxTTLms);

  switch (expiry.kind) {
    case 'none':
      out.push({
        ruleId: 'expiry-missing',
        path: `metadata.annotations`,
        reason: `has neither "${keys.ttl}" nor "${keys.expiresAt}", so the grant would never expire`,
        hint: `add the annotation ${keys.ttl}: "2h" (at most ${maxTTL()})`,
      });
      break;
    case 'invalid': {
      const key = expiry.field === 'ttl' ? keys.ttl : keys.expiresAt;
      out.push({
        ruleId: 'expiry-invalid',
        path: annotationPath(key),
        reason: expiry.error,
        hint: expiry.field === 'ttl' ? 'write a duration like 90m, 2h or 1h30m' : 'write an RFC 3339 UTC time like 2026-11-23T18:00:00Z',
      });
      break;
    }
    default: {
      const path = annotationPath(expiry.kind === 'expires-at' ? keys.expiresAt : keys.ttl);
      const at = expiry.at.getTime();
      if (at <= now.getTime()) {
        out.push({
          ruleId: 'expiry-in-past',
          path,
          reason: `expiry ${formatTimestamp(expiry.at)} is not in the future`,
          hint: `set ${keys.ttl} to the time still needed, e.g. "1h"`,
        });
      } else if (at > now.getTime() + config.limits.maxTTLms) {
        out.push({
          ruleId: 'expiry-too-far',
          path,
          reason: `expiry ${formatTimestamp(expiry.at)} is more than the allowed ${maxTTL()} from now`,
          hint: `request at most ${maxTTL()}; extend later if the work takes longer`,
        });
      }
      if (operation === 'UPDATE') {
        const grantedAt = originalGrantTime(oldPolicy, grant, config);
        if (grantedAt !== undefined && at > grantedAt.getTime() + config.limits.maxLifetimeMs) {
          out.push({
            ruleId: 'lifetime-exceeded',
            path,
            reason: `expiry ${formatTimestamp(expiry.at)} is more than ${formatDuration(config.limits.maxLifetimeMs)} after the grant was made (${formatTimestamp(grantedAt)})`,
            hint: 'let this grant expire and request a new one under a new ticket',
          });
        }
      }
    }
  }

  if (ticket === undefined) {
    out.push({
      ruleId: 'ticket-missing',
      path: annotationPath(keys.ticket),
      reason: 'is missing; every grant must name the change or incident that justifies it',
      hint: `add ${keys.ticket}: "INC-1234"`,
    });
  } else if (!config.ticket.pattern.test(ticket)) {
    out.push({
      ruleId: 'ticket-invalid',
      path: annotationPath(keys.ticket),
      reason: `"${ticket.length > 40 ? `${ticket.slice(0, 40)}…` : ticket}" does not match the ticket pattern ${config.ticket.pattern.source}`,
      hint: 'use the ticket key, e.g. INC-1234',
    });
  }
  return out;
}

/** granted-at of the stored object (the mutator restores it), else of the new one (already read). */
function originalGrantTime(oldPolicy: V1NetworkPolicy | undefined, grant: GrantAnnotations, config: GuardConfig): Date | undefined {
  const stored = readGrantedAt(oldPolicy, config.keys);
  if (stored.state === 'valid') return stored.value;
  return grant.grantedAt.state === 'valid' ? grant.grantedAt.value : undefined;
}
