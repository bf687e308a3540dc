/**
 * What the Kubernetes client throws, reduced to what the sweeper acts on. @kubernetes/client-node
 * 1.x reports API errors as ApiException (`code`, `body`, lower-cased `headers`); its Watch reports
 * a non-200 response as an Error with `statusCode`; transport failures arrive as node-fetch
 * FetchErrors or system errors with an errno `code` string.
 */

export function httpStatusOf(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number' && Number.isInteger(e.code)) return e.code;
  if (typeof e.statusCode === 'number' && Number.isInteger(e.statusCode)) return e.statusCode;
  return undefined;
}

/**
 * A failed call to one resource's API, with the HTTP status when the API server answered and
 * undefined when it did not; callers branch on `status` (404, 409). Each client names its own
 * subclass so a log or a test says which API failed.
 */
export class ApiStatusError extends Error {
  readonly status: number | undefined;

  /**
   * `what` names the call (`get lease ns/name`); the message adds `HTTP 409` or `no answer`. The
   * status is read from the client's error unless given (test doubles have no client error).
   */
  constructor(what: string, cause: unknown, status: number | undefined = httpStatusOf(cause)) {
    super(`${what}: ${status === undefined ? 'no answer' : `HTTP ${status}`}`, { cause });
    this.status = status;
  }
}

export function headerOf(err: unknown, name: string): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const headers = (err as { headers?: unknown }).headers;
  if (headers === null || typeof headers !== 'object') return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() === wanted && typeof value === 'string') return value;
  }
  return undefined;
}

const TRANSIENT_ERRNO = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

/** A transport failure (no HTTP response at all) that is worth trying again. */
export function isTransientNetworkError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as { code?: unknown; errno?: unknown; type?: unknown; name?: unknown };
  if (typeof e.code === 'string' && TRANSIENT_ERRNO.has(e.code)) return true;
  if (typeof e.errno === 'string' && TRANSIENT_ERRNO.has(e.errno)) return true;
  // node-fetch wraps socket errors as FetchError type "system"; a reset socket mid-body is one.
  if (e.name === 'FetchError' && e.type === 'system') return true;
  // The per-request deadline (an AbortSignal timeout) fired: the server or the path to it stalled.
  return e.name === 'AbortError' || e.name === 'TimeoutError';
}

/**
 * One short line for logs: status, the Status reason and message when the body is a
 * metav1.Status, otherwise the error message's first line. Never the request, headers or body
 * object, which could carry a whole NetworkPolicy.
 */
export function describeApiError(err: unknown): string {
  const status = httpStatusOf(err);
  if (status !== undefined) {
    const body = (err as { body?: unknown }).body;
    let detail = '';
    if (body !== null && typeof body === 'object') {
      const s = body as { reason?: unknown; message?: unknown };
      const parts = [typeof s.reason === 'string' ? s.reason : '', typeof s.message === 'string' ? s.message : '']
        .filter((p) => p !== '');
      detail = parts.join(': ');
    }
    return clip(`HTTP ${status}${detail === '' ? '' : ` ${detail}`}`);
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const first = err.message.split('\n')[0] ?? '';
    return clip(typeof code === 'string' && !first.includes(code) ? `${code}: ${first}` : first);
  }
  return clip(String(err));
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
