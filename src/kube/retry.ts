import { headerOf, httpStatusOf, isTransientNetworkError } from './apiErrors.js';
import { realSleep, type Sleep } from './clock.js';

/**
 * How calls to the API server are retried. 429 means the server's priority-and-fairness queue is
 * full and it says when to come back (Retry-After, seconds): wait exactly that. 5xx (except 501)
 * and dropped connections are transient: back off exponentially with jitter so several sweeper
 * replicas do not retry in lockstep. Everything else (403, 404, 409, 422, ...) is an answer, not a
 * hiccup, and goes straight back to the caller.
 */
export interface RetryPolicy {
  /** Total tries including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Upper bound on an honoured Retry-After, so a bogus header cannot park the sweeper for hours. */
  maxRetryAfterMs: number;
  sleep: Sleep;
  /** Uniform in [0, 1); injectable so tests can pin the jitter. */
  random: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 15_000,
  maxRetryAfterMs: 120_000,
  sleep: realSleep,
  random: Math.random,
};

export interface RetryNotice {
  /** The attempt that just failed, from 1. */
  attempt: number;
  delayMs: number;
  status: number | undefined;
  cause: 'throttled' | 'server-error' | 'network';
}

export type RetryVerdict = { retry: false } | { retry: true; delayMs: number; cause: RetryNotice['cause'] };

/**
 * Pure: whether the failure of attempt number `attempt` (from 1) should be retried, and after how
 * long. Does not look at maxAttempts; withRetry does.
 */
export function retryVerdict(err: unknown, attempt: number, policy: Omit<RetryPolicy, 'sleep'>): RetryVerdict {
  const status = httpStatusOf(err);
  const retryAfterMs = parseRetryAfter(headerOf(err, 'retry-after'), policy.maxRetryAfterMs);
  if (status === 429) {
    return { retry: true, cause: 'throttled', delayMs: retryAfterMs ?? backoffDelay(attempt, policy) };
  }
  if (status !== undefined && status >= 500 && status !== 501) {
    // An overloaded server may say when to come back on a 503 as well; believe it.
    return { retry: true, cause: 'server-error', delayMs: retryAfterMs ?? backoffDelay(attempt, policy) };
  }
  if (status === undefined && isTransientNetworkError(err)) {
    return { retry: true, cause: 'network', delayMs: backoffDelay(attempt, policy) };
  }
  return { retry: false };
}

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random. Delays still grow
 * attempt over attempt (unlike full jitter, which can retry at once), yet replicas spread out.
 */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  const exponent = Math.min(Math.max(0, attempt - 1), 30);
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  return Math.round(step / 2 + policy.random() * (step / 2));
}

/** Retry-After as delta-seconds (what the API server sends) or an HTTP date; undefined if absent/garbled. */
export function parseRetryAfter(value: string | undefined, maxMs: number, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^[0-9]+$/.test(text)) {
    ms = Number(text) * 1_000;
  } else {
    const at = Date.parse(text);
    if (Number.isNaN(at) || !/[A-Za-z]/.test(text)) return undefined;
    ms = Math.max(0, at - nowMs);
  }
  return Math.min(ms, maxMs);
}

/**
 * Run `operation` until it succeeds, fails with something not worth retrying (rethrown as is), or
 * runs out of attempts (the last error is rethrown, so callers see the real status). An abort
 * stops waiting and rethrows the last error.
 */
export async function withRetry<T>(
  operation: () => Promise<T>,
  policy: RetryPolicy,
  options: { signal?: AbortSignal; onRetry?: (notice: RetryNotice, err: unknown) => void } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (err) {
      const verdict = retryVerdict(err, attempt, policy);
      if (!verdict.retry || attempt >= policy.maxAttempts || options.signal?.aborted) throw err;
      options.onRetry?.({ attempt, delayMs: verdict.delayMs, status: httpStatusOf(err), cause: verdict.cause }, err);
      await policy.sleep(verdict.delayMs, options.signal);
      if (options.signal?.aborted) throw err;
    }
  }
}
