import { httpStatusOf } from '../kube/apiErrors.js';
import { isJsonObject } from '../schema/json.js';

/**
 * Turns whatever the Kubernetes client threw into lines a person at a terminal can act on, and
 * the exit code: 1 when the cluster answered "no" (RBAC, the webhook, validation, a name clash),
 * 2 when it could not be asked (unreachable, bad credentials, webhook down). Pure.
 */
export interface Attempt {
  verb: 'create' | 'get' | 'list' | 'patch' | 'delete';
  /** e.g. `networkpolicies` or `pods`. */
  resource: string;
  /** Undefined for a list across all namespaces. */
  namespace: string | undefined;
  name?: string;
}

export type FailureKind =
  | 'unreachable'
  | 'unauthorized'
  | 'forbidden'
  | 'webhook-denied'
  | 'webhook-unavailable'
  | 'invalid'
  | 'already-exists'
  | 'conflict'
  | 'not-found'
  | 'server-error'
  | 'other';

export interface FailureReport {
  kind: FailureKind;
  exitCode: 1 | 2;
  /** First line is the headline; the rest are details, already indented. */
  lines: string[];
}

/** The metav1.Status fields we read. client-node hands error bodies over as text or as objects. */
export interface StatusBody {
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: Array<{ field?: string; message?: string; reason?: string }> };
}

export function statusBodyOf(err: unknown): StatusBody | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  let body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      return undefined;
    }
  }
  if (!isJsonObject(body)) return undefined;
  const b = body;
  if (b.kind !== undefined && b.kind !== 'Status') return undefined;
  const out: StatusBody = {};
  if (typeof b.message === 'string') out.message = b.message;
  if (typeof b.reason === 'string') out.reason = b.reason;
  if (typeof b.code === 'number') out.code = b.code;
  if (b.details !== null && typeof b.details === 'object') out.details = b.details as StatusBody['details'];
  return out;
}

const WEBHOOK_DENIED = /^admission webhook "([^"]+)" denied the request:?\s*([\s\S]*)$/;
const WEBHOOK_CALL_FAILED = /failed calling webhook "([^"]+)"/;
const RBAC =
  /User "([^"]*)" cannot (\S+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]+)"| at the cluster scope)?/;

/** Tells the user what went wrong (through `say`) and returns the command's exit status. */
export function reportFailure(err: unknown, attempt: Attempt, server: string, say: (text: string) => void): 1 | 2 {
  const report = describeFailure(err, attempt, server);
  say(report.lines.join('\n'));
  return report.exitCode;
}

export function describeFailure(err: unknown, attempt: Attempt, server: string): FailureReport {
  const status = httpStatusOf(err);
  const what = describeAttempt(attempt);
  if (status === undefined) return transportFailure(err, what, server);

  const body = statusBodyOf(err);
  const message = (body?.message ?? '').trim();

  const denied = WEBHOOK_DENIED.exec(message);
  if (denied) {
    const detail = denied[2]!.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    return {
      kind: 'webhook-denied',
      exitCode: 1,
      lines: [`denied by admission webhook "${denied[1]}":`, ...detail.map((l) => `  ${l}`)],
    };
  }
  const callFailed = WEBHOOK_CALL_FAILED.exec(message);
  if (callFailed) {
    return {
      kind: 'webhook-unavailable',
      exitCode: 2,
      lines: [
        `the API server could not call admission webhook "${callFailed[1]}", so it refused to ${what}`,
        `  ${message}`,
        '  the webhook is down or unreachable from the API server; nothing can be changed until it is back (or ask the platform team)',
      ],
    };
  }

  switch (status) {
    case 401:
      return {
        kind: 'unauthorized',
        exitCode: 2,
        lines: [
          `the API server at ${server} did not accept your credentials (401 Unauthorized)`,
          '  log in again or check the user of the current kubeconfig context',
        ],
      };
    case 403: {
      const rbac = RBAC.exec(message);
      const user = rbac?.[1];
      const verb = rbac?.[2] ?? attempt.verb;
      const resource = rbac ? `${rbac[3]}${rbac[4] ? `.${rbac[4]}` : ''}` : attempt.resource;
      const scope = rbac ? (rbac[5] !== undefined ? `in namespace "${rbac[5]}"` : attempt.namespace !== undefined ? `in namespace "${attempt.namespace}"` : 'across all namespaces') : scopeOf(attempt);
      return {
        kind: 'forbidden',
        exitCode: 1,
        lines: [
          `forbidden: ${user !== undefined ? `user "${user}"` : 'you'} may not ${verb} ${resource} ${scope}`,
          ...(message !== '' ? [`  API server: ${message}`] : []),
          `  ask for a Role that allows "${verb}" on ${resource} there, or check that the kubeconfig context is the one you meant`,
        ],
      };
    }
    case 404:
      return {
        kind: 'not-found',
        exitCode: 1,
        lines: [message !== '' ? `not found: ${message}` : `not found: cannot ${what}`],
      };
    case 409:
      if (body?.reason === 'AlreadyExists') {
        return {
          kind: 'already-exists',
          exitCode: 1,
          lines: [message !== '' ? message : `cannot ${what}: it already exists`, '  choose another --name, or revoke the existing grant first'],
        };
      }
      return {
        kind: 'conflict',
        exitCode: 1,
        lines: [message !== '' ? message : `cannot ${what}: it changed meanwhile`, '  someone changed it meanwhile; run the command again'],
      };
    case 422: {
      const causes = (body?.details?.causes ?? [])
        .map((c) => [c.field, c.message].filter((p) => typeof p === 'string' && p !== '').join(': '))
        .filter((l) => l !== '');
      return {
        kind: 'invalid',
        exitCode: 1,
        lines: [`the API server rejected the object as invalid`, ...(causes.length > 0 ? causes : [message]).map((l) => `  ${l}`)],
      };
    }
    default:
      if (status === 400) {
        return { kind: 'invalid', exitCode: 1, lines: [`the API server rejected the request: ${message || 'Bad Request'}`] };
      }
      return {
        kind: status >= 500 || status === 429 ? 'server-error' : 'other',
        exitCode: 2,
        lines: [`the API server at ${server} answered HTTP ${status}${body?.reason ? ` ${body.reason}` : ''} to ${what}${message ? `: ${message}` : ''}`],
      };
  }
}

function transportFailure(err: unknown, what: string, server: string): FailureReport {
  const e = (err ?? {}) as { name?: unknown; message?: unknown; code?: unknown };
  let cause: string;
  if (e.name === 'AbortError' || e.name === 'TimeoutError') {
    cause = 'no answer before the request deadline';
  } else {
    const text = typeof e.message === 'string' ? e.message.split('\n')[0]! : String(err);
    // node-fetch: "request to https://… failed, reason: connect ECONNREFUSED 127.0.0.1:6443"
    const reason = /, reason: (.*)$/.exec(text);
    cause = reason ? reason[1]! : text;
    if (typeof e.code === 'string' && !cause.includes(e.code)) cause = `${e.code}: ${cause}`;
  }
  return {
    kind: 'unreachable',
    exitCode: 2,
    lines: [`cannot reach the Kubernetes API server at ${server} to ${what}: ${cause}`, '  check the network, the VPN and the kubeconfig context (--kubeconfig, $KUBECONFIG)'],
  };
}

function describeAttempt(a: Attempt): string {
  const target = a.name !== undefined ? `${a.resource}/${a.name}` : a.resource;
  return `${a.verb} ${target} ${scopeOf(a)}`;
}

function scopeOf(a: Attempt): string {
  return a.namespace !== undefined ? `in namespace "${a.namespace}"` : 'across all namespaces';
}
