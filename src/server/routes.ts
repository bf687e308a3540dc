import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  allowUntouched,
  decodeAdmissionReview,
  encodeAdmissionResponse,
  type EnvelopeLimits,
} from '../admission/review.js';
import { denyOversized } from '../admission/oversized.js';
import type { AdmissionDecision, AdmissionRequest, AdmissionReview } from '../admission/types.js';
import type { ClusterView } from '../cluster/view.js';
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
  /** The webhook's cluster view; absent when it runs without one. */
  cluster?: ClusterView;
}

export const ADMISSION_ENDPOINTS: readonly Endpoint[] = ['validate', 'mutate'];

/** POST /validate and POST /mutate: AdmissionReview in, AdmissionReview out. */
export async function admissionRoutes(app: GuardFastify, options: AdmissionRoutesOptions): Promise<void> {
  for (const endpoint of ADMISSION_ENDPOINTS) {
    // The handler answers through reply.send and returns nothing: a returned value would be sent.
    app.post(`/${endpoint}`, (request, reply) => {
      review(endpoint, request, reply, options);
    });
    methodNotAllowed(app, `/${endpoint}`, ['POST']);
  }
}

/**
 * Answers with reply.send rather than by returning a promise: the built-in handlers are
 * synchronous, and on this path (every apply in the cluster) an async function would add promise
 * and microtask work per request for nothing. A handler that does return a promise is awaited.
 */
function review(endpoint: Endpoint, request: FastifyRequest, reply: FastifyReply, options: AdmissionRoutesOptions): void {
  // One config for the whole request: the size limit checked while decoding and the rules judged.
  const config = options.config.current();
  const decoded = decodeAdmissionReview(request.body, options.limits, config.limits);
  if (!decoded.ok) {
    options.metrics.invalidRequest(endpoint, decoded.error.reason);
    request.log.warn({ endpoint, reason: decoded.error.reason, error: decoded.error.error }, 'rejected malformed AdmissionReview');
    const body: ErrorBody = { error: decoded.error.error, reason: decoded.error.reason, details: decoded.error.details };
    reply.code(400).send(body);
    return;
  }

  const admission = decoded.request;
  let outcome: AdmissionDecision | Promise<AdmissionDecision>;
  try {
    // Bypassed requests never reach a handler: a misrouted webhook must not judge other objects.
    // Oversized ones neither: judging them is the cost the size limit exists to avoid.
    outcome = decoded.bypass
      ? allowUntouched(decoded.bypass)
      : decoded.oversized
        ? denyOversized(admission, decoded.oversized)
        : options.handlers[endpoint](admission, config, options.now(), options.cluster);
  } catch (err) {
    answerError(endpoint, admission, request, reply, options, err);
    return;
  }
  if (outcome instanceof Promise) {
    outcome.then(
      (decision) => answer(endpoint, admission, decision, request, reply, options),
      (err: unknown) => answerError(endpoint, admission, request, reply, options, err),
    );
    return;
  }
  answer(endpoint, admission, outcome, request, reply, options);
}

function answer(
  endpoint: Endpoint,
  admission: AdmissionRequest,
  decision: AdmissionDecision,
  request: FastifyRequest,
  reply: FastifyReply,
  options: AdmissionRoutesOptions,
): void {
  let body: AdmissionReview;
  let audit: Record<string, unknown>;
  const verdict = decision.allowed === true ? 'allowed' : 'denied';
  const latencyMs = reply.elapsedTime;
  try {
    body = encodeAdmissionResponse(admission.uid, decision, { includePatch: endpoint === 'mutate' });
    // Built before anything is recorded, so a malformed decision (a handler bug) is one error.
    audit = auditFields(endpoint, admission, verdict, latencyMs, decision);
  } catch (err) {
    answerError(endpoint, admission, request, reply, options, err);
    return;
  }
  options.metrics.observeDecision(endpoint, admission.operation, verdict, latencyMs / 1000, decision.findings, decision.analysisTooLarge === true);
  request.log.info(audit, 'admission decision');
  reply.send(body);
}

function answerError(
  endpoint: Endpoint,
  admission: AdmissionRequest,
  request: FastifyRequest,
  reply: FastifyReply,
  options: AdmissionRoutesOptions,
  err: unknown,
): void {
  const latencyMs = reply.elapsedTime;
  options.metrics.observeDecision(endpoint, admission.operation, 'error', latencyMs / 1000, []);
  request.log.error({ ...auditFields(endpoint, admission, 'error', latencyMs, undefined), err }, 'admission decision');
  const body: ErrorBody = { error: 'internal error while evaluating the AdmissionReview', reason: 'internal-error' };
  reply.code(500).send(body);
}
