import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { GuardFastify } from './types.js';

/** The body of every non-2xx answer: what went wrong and a stable machine-readable code. */
export interface ErrorBody {
  error: string;
  reason: string;
  details?: string[];
}

/**
 * Maps fastify's body-parsing errors to a clear message and a stable reason. Anything else with
 * a 4xx status keeps its own message; anything without one is a bug and becomes a bare 500.
 */
function describeClientError(err: FastifyError, request: FastifyRequest, bodyLimit: number): ErrorBody {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const type = request.headers['content-type'];
      return {
        error: `content type ${type === undefined ? '(none)' : JSON.stringify(truncate(type, 100))} is not supported; send application/json`,
        reason: 'unsupported-media-type',
      };
    }
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: `request body exceeds the limit of ${bodyLimit} bytes`, reason: 'body-too-large' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { error: 'request body is not valid JSON (or uses a forbidden __proto__/constructor key)', reason: 'invalid-json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { error: 'request body is empty; expected an admission.k8s.io/v1 AdmissionReview', reason: 'empty-body' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { error: 'request body size does not match Content-Length', reason: 'invalid-content-length' };
    default:
      return { error: truncate(err.message, 300), reason: 'bad-request' };
  }
}

export interface ErrorHandlingOptions {
  bodyLimit: number;
  /** Told about every 4xx on a route, e.g. to count malformed admission requests. */
  onClientError: (request: FastifyRequest, reason: string) => void;
}

export function installErrorHandling(app: GuardFastify, options: ErrorHandlingOptions): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = err.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      const body = describeClientError(err, request, options.bodyLimit);
      options.onClientError(request, body.reason);
      request.log.warn({ route: request.routeOptions.url, status, reason: body.reason }, 'rejected request');
      return reply.code(status).send(body);
    }
    request.log.error({ err, route: request.routeOptions.url }, 'unhandled error while serving a request');
    return reply.code(500).send({ error: 'internal server error', reason: 'internal-error' } satisfies ErrorBody);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = truncate(request.url.split('?')[0] ?? '', 200);
    return reply.code(404).send({ error: `no route for ${request.method} ${path}`, reason: 'not-found' } satisfies ErrorBody);
  });
}

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** Answers every method `url` does not serve with 405 and an Allow header listing the ones it does. */
export function methodNotAllowed(app: GuardFastify, url: string, allowed: ReadonlyArray<(typeof ALL_METHODS)[number]>): void {
  const allow = allowed.join(', ');
  app.route({
    method: ALL_METHODS.filter((m) => !allowed.includes(m)),
    url,
    exposeHeadRoute: false,
    handler: (request, reply) =>
      reply
        .code(405)
        .header('allow', allow)
        .send({ error: `${request.method} is not allowed on ${url}; use ${allow}`, reason: 'method-not-allowed' } satisfies ErrorBody),
  });
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
