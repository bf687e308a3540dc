import { resolveProfile } from '../config/profiles.js';
import type { GuardConfig } from '../config/types.js';
import { type EvaluationDisposition, evaluatePolicy, type RequestUser } from '../policy/evaluate.js';
import type { Finding } from '../policy/findings.js';
import { policyTooLargeHint, policyTooLargeReason } from '../policy/rules/policy-too-large.js';
import { checkNetworkPolicyShape } from '../policy/shape.js';
import type { RuleSet, SkippedRule } from '../policy/walk.js';
import type { ClusterView } from '../cluster/view.js';
import { policyElementsExceed } from '../policy/size.js';
import type { ManifestSource } from './discover.js';
import { type EntryLocation, type PolicyEntry, splitManifest } from './documents.js';
import { formatFieldPath, locatePath, parseFieldPath, parsePointer, type PathSegment } from './locate.js';

/**
 * `netpol-guard check` without the I/O: every NetworkPolicy in the given texts is evaluated the
 * way the admission webhook would judge a CREATE of it by `user` at `now`. Pure.
 */
export interface CheckOptions {
  config: GuardConfig;
  now: Date;
  user: RequestUser;
  /** Cluster state (from files or flags); rules that need it are skipped, with a note, without it. */
  cluster?: ClusterView;
  /** The rules to run; the catalog unless a test supplies its own. */
  rules?: RuleSet;
  /** Labels of every namespace checked (`--namespace-labels`), to choose the profile as the webhook would. */
  namespaceLabels?: Readonly<Record<string, string>>;
  /** Each namespace's live labels (`--cluster`), to choose the profile per namespace as the webhook would. */
  labelsByNamespace?: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/** Pseudo rule id for documents that never reach the engine: YAML errors and schema violations. */
export const INVALID_MANIFEST_RULE_ID = 'invalid-manifest';

export type CheckVerdict = 'allowed' | 'warn' | 'denied';

export interface LocatedFinding extends Finding {
  line: number;
  column: number;
}

/** Why a document could not be evaluated. `path` is a dotted field path, '' for the whole document. */
export interface StructuralError {
  path: string;
  message: string;
  line: number;
  column: number;
}

export interface PolicyResult extends EntryLocation {
  /** The namespace it was evaluated in: metadata.namespace, else "default". Undefined when unreadable. */
  namespace?: string;
  name?: string;
  verdict: CheckVerdict;
  /** Undefined for documents that failed structural checks. */
  disposition?: EvaluationDisposition;
  findings: LocatedFinding[];
  /** Non-empty means the document is invalid; such a document is always denied. */
  errors: StructuralError[];
  expiresAt?: string;
  ticket?: string;
  /** The profile that judged it; set only when the config has profiles. */
  profile?: string;
  /** Why the profile may be the wrong one (a profile matches on labels and none were given). */
  profileNote?: string;
}

export interface SkippedDocument extends EntryLocation {
  kind?: string;
}

export interface CheckSummary {
  files: number;
  /** Every NetworkPolicy (and every unparseable document), each counted once below. */
  policies: number;
  allowed: number;
  warned: number;
  /** Includes the invalid ones. */
  denied: number;
  invalid: number;
  skipped: number;
}

export interface CheckReport {
  results: PolicyResult[];
  skipped: SkippedDocument[];
  summary: CheckSummary;
  /** Rules that did not run on some policy (each once, catalog order); present only when any. */
  skippedRules?: SkippedRule[];
}

export function checkSources(sources: readonly ManifestSource[], options: CheckOptions): CheckReport {
  const results: PolicyResult[] = [];
  const skipped: SkippedDocument[] = [];
  const skippedRules: SkippedRule[] = [];
  for (const source of sources) {
    for (const entry of splitManifest(source)) {
      const location = locationOf(entry);
      if (entry.type === 'skipped') skipped.push({ ...location, ...(entry.kind !== undefined && { kind: entry.kind }) });
      else if (entry.type === 'invalid') {
        results.push({ ...location, verdict: 'denied', findings: [], errors: entry.errors });
      } else results.push(checkPolicy(entry, options, skippedRules));
    }
  }
  const count = (predicate: (r: PolicyResult) => boolean): number => results.filter(predicate).length;
  const report: CheckReport = {
    results,
    skipped,
    summary: {
      files: sources.length,
      policies: results.length,
      allowed: count((r) => r.verdict === 'allowed'),
      warned: count((r) => r.verdict === 'warn'),
      denied: count((r) => r.verdict === 'denied'),
      invalid: count((r) => r.errors.length > 0),
      skipped: skipped.length,
    },
  };
  if (skippedRules.length > 0) report.skippedRules = skippedRules;
  return report;
}

/** The namespace a policy is evaluated in: metadata.namespace, else "default" (as kubectl applies it). */
function namespaceOf(entry: PolicyEntry): string {
  const namespace = (entry.value as { metadata?: { namespace?: unknown } }).metadata?.namespace;
  return typeof namespace === 'string' && namespace !== '' ? namespace : 'default';
}

/**
 * The namespaces the NetworkPolicies of `sources` are evaluated in, each once, in order of first
 * appearance: what `check --cluster` reads the labels of before checking.
 */
export function policyNamespaces(sources: readonly ManifestSource[]): string[] {
  const out = new Set<string>();
  for (const source of sources) for (const entry of splitManifest(source)) if (entry.type === 'policy') out.add(namespaceOf(entry));
  return [...out];
}

function checkPolicy(entry: PolicyEntry, options: CheckOptions, skippedRules: SkippedRule[]): PolicyResult {
  const location = locationOf(entry);
  const metadata = (entry.value as { metadata?: { name?: unknown } }).metadata;
  const name = typeof metadata?.name === 'string' ? metadata.name : undefined;
  const namespace = namespaceOf(entry);
  const identity = { namespace, ...(name !== undefined && { name }) };

  // Before the schema and the engine, as at the admission edge: an oversized document is denied
  // for the price of counting to the limit (policy-too-large), whatever the mode.
  const max = options.config.limits.maxPolicyElements;
  if (policyElementsExceed(entry.value, max)) {
    const finding: Finding = { ruleId: 'policy-too-large', path: 'spec', reason: policyTooLargeReason(max), hint: policyTooLargeHint(max), action: 'deny' };
    return { ...location, ...identity, verdict: 'denied', findings: [{ ...finding, ...position(entry, parseFieldPath(finding.path)) }], errors: [] };
  }
  const shape = checkNetworkPolicyShape(entry.value, { strictCidrs: true });
  if (!shape.ok) {
    const errors = shape.errors.map((text) => structuralError(text, entry));
    return { ...location, ...identity, verdict: 'denied', findings: [], errors };
  }
  const labels = options.namespaceLabels ?? options.labelsByNamespace?.get(namespace) ?? options.cluster?.namespaceLabels(namespace);
  const choice = resolveProfile(options.config, namespace, labels);
  const evaluation = evaluatePolicy({
    operation: 'CREATE',
    policy: shape.policy,
    namespace,
    user: options.user,
    config: choice.config,
    // Offline a label-matched profile that could not be decided is said as a warning, never passed over silently.
    ...(choice.labelsUnknown && { profileUndetermined: true }),
    now: options.now,
    ...(options.cluster !== undefined && { cluster: options.cluster }),
    ...(options.rules !== undefined && { rules: options.rules }),
  });
  for (const rule of evaluation.skippedRules ?? []) {
    if (!skippedRules.some((s) => s.ruleId === rule.ruleId)) skippedRules.push(rule);
  }
  const findings = evaluation.findings.map((f): LocatedFinding => ({ ...f, ...position(entry, parseFieldPath(f.path)) }));
  const verdict: CheckVerdict = !evaluation.allowed ? 'denied' : findings.length > 0 ? 'warn' : 'allowed';
  return {
    ...location,
    ...identity,
    verdict,
    disposition: evaluation.disposition,
    findings,
    errors: [],
    ...(evaluation.expiresAt !== undefined && { expiresAt: evaluation.expiresAt }),
    ...(evaluation.ticket !== undefined && { ticket: evaluation.ticket }),
    ...(options.config.profiles.length > 0 && { profile: evaluation.profile }),
    ...(choice.labelsUnknown && {
      profileNote: `a profile matches on namespace labels and none are known for ${namespace}; judged by profile ${evaluation.profile}: give --namespace-labels or --cluster`,
    }),
  };
}

/** Shape errors read `/json/pointer: message`; the pointer becomes a dotted path and a line. */
function structuralError(text: string, entry: PolicyEntry): StructuralError {
  const match = /^(\/[^:]*): (.*)$/s.exec(text);
  if (!match) return { path: '', message: text, ...position(entry, []) };
  const segments = typedSegments(parsePointer(match[1]!), entry.value);
  return { path: formatFieldPath(segments), message: match[2]!, ...position(entry, segments) };
}

/** Pointer segments are all strings; the value says which of them are array indexes. */
function typedSegments(segments: readonly string[], value: unknown): PathSegment[] {
  const out: PathSegment[] = [];
  let node: unknown = value;
  for (const segment of segments) {
    if (Array.isArray(node) && /^[0-9]+$/.test(segment)) {
      out.push(Number(segment));
      node = node[Number(segment)];
    } else {
      out.push(segment);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return out;
}

function position(entry: PolicyEntry, segments: PathSegment[] | undefined): { line: number; column: number } {
  const found = locatePath(entry.node, segments ?? [], entry.lineCounter);
  return found ? { line: found.line, column: found.column } : { line: entry.line, column: 1 };
}

function locationOf(entry: EntryLocation): EntryLocation {
  return { source: entry.source, document: entry.document, ...(entry.item !== undefined && { item: entry.item }), line: entry.line };
}
