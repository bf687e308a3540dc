import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { ClusterView } from '../cluster/view.js';
import { chooseProfile } from '../config/profiles.js';
import type { GuardConfig } from '../config/types.js';
import type { AnnotationKeys } from '../lifecycle/annotations.js';
import type { JsonPatchOperation } from '../lifecycle/patch.js';
import { sameJson } from '../lifecycle/updateChanges.js';
import { evaluatePolicy, type Evaluation, type EvaluationInput, type RequestUser } from '../policy/evaluate.js';
import type { Finding } from '../policy/findings.js';
import { annotationPath } from '../policy/rules/paths.js';
import { checkNetworkPolicyShape, MAX_LABEL_ENTRIES } from '../policy/shape.js';
import { policyElementsExceed } from '../policy/size.js';
import { isJsonObject } from '../schema/json.js';
import type { GrantRequest } from './grantRequest.js';

/**
 * Writes to a GrantRequest itself (not its status), decided without I/O: the requester stamp on
 * CREATE, the judgement of the access asked for, and the spec that never changes afterwards.
 */

/** The mutating webhook's CREATE patch: spec.requestedBy is the authenticated user, whatever was sent. */
export function stampRequester(request: GrantRequest, username: string): JsonPatchOperation[] {
  if (!isJsonObject(request.spec)) return [];
  if (request.spec.requestedBy === username) return [];
  return [{ op: 'add', path: '/spec/requestedBy', value: username }];
}

/**
 * The NetworkPolicy the request stands for, as the webhook judges it: spec.policy as its spec,
 * the duration as its ttl, the ticket and the requester as its annotations, the request's name.
 */
export function requestAsPolicy(request: GrantRequest, namespace: string, name: string, keys: AnnotationKeys): V1NetworkPolicy {
  const spec = request.spec;
  const annotations: Record<string, string> = {};
  if (typeof spec?.duration === 'string') annotations[keys.ttl] = spec.duration;
  if (typeof spec?.ticket === 'string') annotations[keys.ticket] = spec.ticket;
  if (typeof spec?.requestedBy === 'string') annotations[keys.requestedBy] = spec.requestedBy;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, annotations },
    spec: spec?.policy as V1NetworkPolicy['spec'],
  };
}

export interface RequestCreateInput {
  /** The request as stored will be (after the mutating webhook's stamp). */
  request: GrantRequest;
  namespace: string;
  name: string;
  user: RequestUser;
  /** The top-level config: the profile is chosen here, as for a NetworkPolicy in the namespace. */
  config: GuardConfig;
  now: Date;
  cluster?: ClusterView;
}

export interface RequestVerdict {
  allowed: boolean;
  message?: string;
  warnings: string[];
  /** Findings with paths into the GrantRequest (spec.policy…, spec.duration, spec.ticket). */
  findings: Finding[];
  /** The profile that judged it. */
  profile: string;
  evaluation?: Evaluation;
}

/**
 * The verdict on a new request: refused at once when the NetworkPolicy it asks for would be
 * denied (same engine, same profile, the same findings with paths into the request), when approval
 * is off in its namespace's profile, or when the requester stamp is not the user's.
 */
export function decideRequestCreate(input: RequestCreateInput): RequestVerdict {
  const { request, namespace, name, user } = input;
  const choice = chooseProfile(input.config, namespace, input.cluster);
  const profile = choice.config;
  const refuse = (problems: string[], findings: Finding[] = []): RequestVerdict => ({
    allowed: false,
    message: `netpol-guard denied GrantRequest ${namespace}/${name}${profileNote(profile)}: ${problems.length} problem(s)\n${problems.join('\n')}`,
    warnings: [],
    findings,
    profile: profile.profile,
  });

  if (request.spec?.requestedBy !== user.username) {
    return refuse([`spec.requestedBy: must be the requesting user ${user.username} (stamped by the netpol-guard mutating webhook, which did not run)`]);
  }
  if (choice.labelsUnknown) {
    return refuse([
      `[profile] not chosen for sure: a profile matches on namespace labels and the labels of namespace ${namespace} are unknown to netpol-guard's cluster view; it cannot tell how many approvals apply. Retry in a moment`,
    ]);
  }
  if (!(profile.approval.required > 0)) {
    return refuse([
      `approval is off here (profile ${profile.profile} has approval.required 0): apply the grant directly (netpol-guard grant …, or kubectl apply of a NetworkPolicy with a ttl and a ticket)`,
    ]);
  }

  const policy = requestAsPolicy(request, namespace, name, profile.keys);
  if (policyElementsExceed(policy, profile.limits.maxPolicyElements)) {
    return refuse([`[policy-too-large] spec.policy has more than limits.maxPolicyElements (${profile.limits.maxPolicyElements}) elements; ask for less access per request`]);
  }
  const shape = checkNetworkPolicyShape(policy, { maxLabels: MAX_LABEL_ENTRIES });
  if (!shape.ok) return refuse(shape.errors.map((e) => `spec.policy: ${e.replace(/^\/spec(?=\/|:)/, '')}`));

  // The request is the approval path itself: approval-required judges the NetworkPolicy the
  // controller creates from it, never the request.
  const judged: GuardConfig = { ...profile, approval: { ...profile.approval, required: 0 } };
  const evaluationInput: EvaluationInput = { operation: 'CREATE', policy: shape.policy, namespace, user, config: judged, now: input.now };
  if (input.cluster !== undefined) {
    evaluationInput.cluster = input.cluster;
    evaluationInput.onClusterUnavailable = profile.clusterView.onUnavailable;
  }
  const evaluation = evaluatePolicy(evaluationInput);
  const keys = profile.keys;
  const findings = evaluation.findings.map((f) => ({ ...f, path: requestPath(f.path, keys) }));
  const warnings = evaluation.warnings.map((w) => requestLine(w, keys));
  if (evaluation.allowed) return { allowed: true, warnings, findings, profile: profile.profile, evaluation };
  const lines = (evaluation.message ?? '').split('\n').slice(1).map((line) => requestLine(line, keys));
  return { ...refuse(lines, findings), warnings, evaluation };
}

/** The spec never changes after a request is filed: an approval must approve what was asked. */
export function decideRequestUpdate(old: GrantRequest, updated: GrantRequest, namespace: string, name: string): { allowed: boolean; message?: string } {
  if (sameJson(old.spec, updated.spec)) return { allowed: true };
  const fields = ['policy', 'duration', 'ticket', 'reason', 'requestedBy'].filter(
    (f) => !sameJson((old.spec as Record<string, unknown> | undefined)?.[f], (updated.spec as Record<string, unknown> | undefined)?.[f]),
  );
  const named = fields.length > 0 ? fields.map((f) => `spec.${f}`).join(', ') : 'spec';
  return {
    allowed: false,
    message: `netpol-guard denied the update of GrantRequest ${namespace}/${name}: ${named} changed; a request's spec never changes after it is filed (approvers approve what was asked). File a new request instead`,
  };
}

function profileNote(config: GuardConfig): string {
  return config.profile === 'default' ? '' : ` (profile ${config.profile})`;
}

/** A finding's path on the judged NetworkPolicy → the same field of the request. */
export function requestPath(path: string, keys: AnnotationKeys): string {
  if (path === 'spec' || path.startsWith('spec.') || path.startsWith('spec[')) return `spec.policy${path.slice(4)}`;
  if (path === annotationPath(keys.ttl) || path === annotationPath(keys.expiresAt)) return 'spec.duration';
  if (path === annotationPath(keys.ticket)) return 'spec.ticket';
  if (path === annotationPath(keys.requestedBy)) return 'spec.requestedBy';
  return path;
}

/** A `[rule-id] path reason; hint` line with its path moved into the request. */
function requestLine(line: string, keys: AnnotationKeys): string {
  const match = /^(\[[a-z0-9-]+\] )(\S+)( .*)$/s.exec(line);
  if (match === null) return line;
  return `${match[1]}${requestPath(match[2]!, keys)}${match[3]}`;
}
