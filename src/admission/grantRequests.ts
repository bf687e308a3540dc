import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { claimsApprovedRequest, type GrantRequestLookup } from '../approval/approvedPolicy.js';
import type { GrantRequest } from '../approval/grantRequest.js';
import { decideRequestCreate, decideRequestUpdate, stampRequester } from '../approval/requestWrites.js';
import { approversAfter, classifyStatusWrite, decideStatusWrite, needsApproveCheck, stampStatusWrite, type StatusWriteInput } from '../approval/statusWrites.js';
import type { ClusterView } from '../cluster/view.js';
import { chooseProfile } from '../config/profiles.js';
import type { GuardConfig } from '../config/types.js';
import type { ApprovalApi } from './approvalApi.js';
import { mutateHandler } from './mutate.js';
import { isGrantRequestRequest, isNetworkPolicyRequest, requestUser } from './review.js';
import type { AdmissionDecision, AdmissionRequest } from './types.js';
import { validateHandler } from './validate.js';

/**
 * The admission shells for approvals: GrantRequest writes (the request, its status) and the
 * NetworkPolicy writes that need the GrantRequest they name read first. Each asks the API server
 * what it must (a SubjectAccessReview, a live GET), then hands the answer to a pure decision in
 * src/approval. Without an ApprovalApi (no credentials) they fail closed.
 */

type Handler = (request: AdmissionRequest, config: GuardConfig, now: Date, cluster?: ClusterView) => AdmissionDecision | Promise<AdmissionDecision>;

export interface AdmissionHandlerPair {
  validate: Handler;
  mutate: Handler;
}

/**
 * /validate and /mutate for every kind the webhook configurations send. NetworkPolicy writes stay
 * synchronous unless the controller writes a grant naming a request in a profile that requires
 * approval: only then is the request read.
 */
export function createAdmissionHandlers(api: ApprovalApi | undefined): AdmissionHandlerPair {
  return {
    validate: (request, config, now, cluster) => {
      if (isGrantRequestRequest(request)) return validateGrantRequest(request, config, now, cluster, api);
      const named = namedGrantRequest(request, config, cluster);
      if (named === undefined) return validateHandler(request, config, now, cluster);
      return lookUp(api, named.namespace, named.name).then((lookup) => validateHandler(request, config, now, cluster, lookup));
    },
    mutate: (request, config, now, cluster) => {
      if (isGrantRequestRequest(request)) return mutateGrantRequest(request, config, now);
      const named = namedGrantRequest(request, config, cluster);
      if (named === undefined) return mutateHandler(request, config, now, cluster);
      return lookUp(api, named.namespace, named.name).then((lookup) => mutateHandler(request, config, now, cluster, lookup));
    },
  };
}

/** The request a controller-written grant names, where its profile requires approval. */
function namedGrantRequest(request: AdmissionRequest, config: GuardConfig, cluster: ClusterView | undefined): { namespace: string; name: string } | undefined {
  if (!isNetworkPolicyRequest(request) || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return undefined;
  const policy = request.object as V1NetworkPolicy;
  const namespace = request.namespace || policy.metadata?.namespace || 'default';
  const profile = chooseProfile(config, namespace, cluster).config;
  if (!(profile.approval.required > 0)) return undefined;
  const name = claimsApprovedRequest(policy, request.userInfo.username ?? '', profile);
  return name === undefined ? undefined : { namespace, name };
}

async function lookUp(api: ApprovalApi | undefined, namespace: string, name: string): Promise<GrantRequestLookup> {
  if (api === undefined) return { state: 'failed', error: 'the webhook runs without API credentials (serve --kubeconfig, or in-cluster)' };
  try {
    const request = await api.readGrantRequest(namespace, name);
    return request === undefined ? { state: 'missing' } : { state: 'found', request };
  } catch (err) {
    return { state: 'failed', error: (err as Error).message.split('\n')[0] ?? 'read failed' };
  }
}

function statusInput(request: AdmissionRequest, config: GuardConfig): StatusWriteInput {
  return {
    namespace: request.namespace ?? '',
    name: request.name ?? '',
    old: request.oldObject as GrantRequest,
    updated: request.object as GrantRequest,
    username: request.userInfo.username ?? '',
    controllerUsers: config.approval.controllerUsers,
  };
}

function isStatusWrite(request: AdmissionRequest): boolean {
  return request.subResource === 'status';
}

/** /mutate for GrantRequests: the requester on CREATE, `by`/`at` of an approval or denial. Pure. */
export function mutateGrantRequest(request: AdmissionRequest, config: GuardConfig, now: Date): AdmissionDecision {
  let patch: AdmissionDecision['patch'] = [];
  if (request.operation === 'CREATE' && !isStatusWrite(request)) patch = stampRequester(request.object as GrantRequest, request.userInfo.username ?? '');
  else if (request.operation === 'UPDATE' && isStatusWrite(request)) patch = stampStatusWrite(statusInput(request, config), now);
  return { allowed: true, warnings: [], auditAnnotations: {}, patch, findings: [], disposition: 'evaluated' };
}

/** /validate for GrantRequests. Asks the SubjectAccessReview only for an approval or a denial. */
export async function validateGrantRequest(
  request: AdmissionRequest,
  config: GuardConfig,
  now: Date,
  cluster: ClusterView | undefined,
  api: ApprovalApi | undefined,
): Promise<AdmissionDecision> {
  const namespace = request.namespace ?? '';
  const name = request.name || ((request.object as GrantRequest | undefined)?.metadata?.name ?? '<unnamed>');
  if (isStatusWrite(request)) {
    if (request.operation !== 'UPDATE') return decision(false, `netpol-guard refused ${request.operation} of grantrequests/status`, 'status');
    const input = statusInput(request, config);
    const write = classifyStatusWrite(input);
    let canApprove: boolean | undefined;
    if (needsApproveCheck(write) && api !== undefined) {
      try {
        canApprove = await api.canApprove(request.userInfo, namespace);
      } catch {
        canApprove = undefined;
      }
    }
    const verdict = decideStatusWrite(input, canApprove);
    const result = decision(verdict.allowed, verdict.message, verdict.write.kind);
    if (verdict.allowed && verdict.write.kind === 'approval') {
      const approvers = approversAfter(input);
      result.auditAnnotations.approvers = approvers.join(',');
    }
    return result;
  }
  if (request.operation === 'UPDATE') {
    const verdict = decideRequestUpdate(request.oldObject as GrantRequest, request.object as GrantRequest, namespace, name);
    return decision(verdict.allowed, verdict.message, 'spec');
  }
  const verdict = decideRequestCreate({ request: request.object as GrantRequest, namespace, name, user: requestUser(request), config, now, ...(cluster !== undefined && { cluster }) });
  const result: AdmissionDecision = {
    allowed: verdict.allowed,
    warnings: verdict.warnings,
    auditAnnotations: { verdict: verdict.allowed ? 'allowed' : 'denied', 'grant-request': 'filed' },
    patch: [],
    findings: verdict.findings,
    disposition: 'evaluated',
    profile: verdict.profile,
  };
  if (verdict.message !== undefined) result.message = verdict.message;
  const ticket = (request.object as GrantRequest).spec?.ticket;
  if (typeof ticket === 'string') result.ticket = ticket;
  return result;
}

function decision(allowed: boolean, message: string | undefined, write: string): AdmissionDecision {
  const result: AdmissionDecision = {
    allowed,
    warnings: [],
    auditAnnotations: { verdict: allowed ? 'allowed' : 'denied', 'grant-request': write },
    patch: [],
    findings: [],
    disposition: 'evaluated',
  };
  if (message !== undefined) result.message = message;
  return result;
}
