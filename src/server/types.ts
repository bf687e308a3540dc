import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { AdmissionDecision, AdmissionRequest } from '../admission/types.js';
import type { ClusterView } from '../cluster/view.js';
import type { GuardConfig } from '../config/types.js';

/** The fastify instance netpol-guard runs: always HTTPS. */
export type GuardFastify = FastifyInstance<HttpsServer, IncomingMessage, ServerResponse, FastifyBaseLogger>;

/**
 * A handler as the server calls it. The shared AdmissionHandler (pure and synchronous) fits; the
 * server also awaits a promise so a handler may do asynchronous work without changing the server.
 */
export type ServerAdmissionHandler = (
  request: AdmissionRequest,
  config: GuardConfig,
  now: Date,
  cluster?: ClusterView,
) => AdmissionDecision | Promise<AdmissionDecision>;

export interface AdmissionHandlers {
  validate: ServerAdmissionHandler;
  mutate: ServerAdmissionHandler;
}
