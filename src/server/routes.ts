import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  allowUntouched,
  decodeAdmissionReview,
  encodeAdmissionResponse,
  type EnvelopeLimits,
} from '../admission/review.js';
import type { AdmissionDecision, AdmissionReview } from '../admission/types.js';
import type { ConfigSource } from '../config/store.js';
import { auditFields } from './audit.js';
import { methodNotAllowed, type ErrorBody } from './errors.js';
import type { Endpoint, GuardMetrics } from './metrics.js';
import type { AdmissionHandlers, GuardFastify } from './types.js';

export interface AdmissionRoutesOptions {
  config: ConfigSource;
  handlers: AdmissionHandlers;
  now: () => Date;
  metrics: GuardMetrics;
  limits: EnvelopeLimits;
}

export const ADMISSION_ENDPOINTS: readonly Endpoint[] = ['validate', 'mutate'];

/** POST /validate and POST /mutate: AdmissionReview in, AdmissionReview out. */
export async function admissionRoutes(app: GuardFastify, options: AdmissionRoutesOptions): Promise<void> {
  for (const endpoint of ADMISSION_ENDPOINTS) {
    app.post(`/${endpoint}`, (request, reply) => review(endpoint, request, reply, options));
    methodNotAllowed(app, `/${endpoint}`, ['POST']);
  }
}

async function review(
  endpoint: Endpoint,
  request: FastifyRequest,
  reply: FastifyReply,
  options: AdmissionRoutesOptions,
): Promise<AdmissionReview | ErrorBody> {
  const decoded = decodeAdmissionReview(request.body, options.limits);
  if (!decoded.ok) {
    options.metrics.invalidRequest(endpoint, decoded.error.reason);
    request.log.warn({ endpoint, reason: decoded.error.reason, error: decoded.error.error }, 'rejected malformed AdmissionReview');
    reply.code(400);
    return { error: decoded.error.error, reason: decoded.error.reason, details: decoded.error.details };
  }

  const admission = decoded.request;
  try {
    // Bypassed requests never reach a handler: a misrouted webhook must not judge other objects.
    const decision: AdmissionDecision = decoded.bypass
      ? allowUntouched(decoded.bypass)
      : await options.handlers[endpoint](admission, options.config.current(), options.now());
    const answer = encodeAdmissionResponse(admission.uid, decision, { includePatch: endpoint === 'mutate' });
    const verdict = decision.allowed === true ? 'allowed' : 'denied';
    const latencyMs = reply.elapsedTime;
    // Built before anything is recorded, so a malformed decision (a handler bug) is one error.
    const audit = auditFields(endpoint, admission, verdict, latencyMs, decision);
    options.metrics.observeDecision(endpoint, admission.operation, verdict, latencyMs / 1000, decision.findings);
    request.log.info(audit, 'admission decision');
    return answer;
  } catch (err) {
    const latencyMs = reply.elapsedTime;
    options.metrics.observeDecision(endpoint, admission.operation, 'error', latencyMs / 1000, []);
    request.log.error({ ...auditFields(endpoint, admission, 'error', latencyMs, undefined), err }, 'admission decision');
    reply.code(500);
    return { error: 'internal error while evaluating the AdmissionReview', reason: 'internal-error' };
  }
}
